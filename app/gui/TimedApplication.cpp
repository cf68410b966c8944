#include "TimedApplication.h"

#include <QElapsedTimer>
#include <QEvent>
#include <QMetaEnum>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace mqb::gui {

TimedApplication::TimedApplication(int& argc, char** argv) : QApplication(argc, argv) {
  if (const char* v = std::getenv("MQB_SLOW_EVENTS")) thresholdMs_ = std::max(0.0, std::atof(v));
}

bool TimedApplication::notify(QObject* receiver, QEvent* event) {
  if (thresholdMs_ <= 0) return QApplication::notify(receiver, event);
  // Nested dispatches (children painted by their window, events of a nested event loop)
  // are reported too, indented by depth and printed before their parent.
  const QEvent::Type type = event->type();
  const QString cls = receiver ? receiver->metaObject()->className() : QStringLiteral("?");
  // A viewport or an inner widget names nothing by itself: say whose it is.
  QString name = receiver ? receiver->objectName() : QString();
  int up = 0;
  for (QObject* p = receiver ? receiver->parent() : nullptr; p && up < 3; p = p->parent(), ++up)
    name += QStringLiteral(" in ") + QString::fromLatin1(p->metaObject()->className()) +
            (p->objectName().isEmpty() ? QString() : QStringLiteral(" ") + p->objectName());
  QElapsedTimer t;
  t.start();
  ++depth_;
  const bool handled = QApplication::notify(receiver, event);
  --depth_;
  const double ms = t.nsecsElapsed() / 1e6;
  if (ms >= thresholdMs_) {
    const char* typeName = QMetaEnum::fromType<QEvent::Type>().valueToKey(type);
    std::fprintf(stderr, "slow event: %*s%.1f ms %s %s(%s)\n", 2 * depth_, "", ms, typeName ? typeName : "?",
                 qPrintable(cls), qPrintable(name));
  }
  return handled;
}

}  // namespace mqb::gui
