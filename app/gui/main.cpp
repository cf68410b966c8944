// medquanbench: the desktop application (see MainWindow.h and AppOptions.h).
#include <QApplication>
#include <QIcon>
#include <QTimer>

#include <clocale>
#include <cstdio>

#include "AppOptions.h"
#include "CachingCpuAllocator.h"
#include "Benchmark.h"
#include "MainWindow.h"
#include "SessionController.h"
#include "TimedApplication.h"
#include "Resources.h"
#include "VtkOpenGLView.h"

int main(int argc, char** argv) {
  // Options first: --help / --version / errors need no display.
  QStringList arguments;
  for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);
  mqb::gui::AppOptions options;
  QString message;
  bool exitNow = false;
  if (!mqb::gui::parseAppOptions(arguments, options, message, &exitNow)) {
    std::fprintf(stderr, "medquanbench: %s\n", qPrintable(message));
    return 2;
  }
  if (exitNow) {
    std::printf("%s\n", qPrintable(message));
    return 0;
  }

  // Large activation blocks are reused instead of re-faulted (CachingCpuAllocator.h).
  mqb::installCachingCpuAllocator();
  // GLX + the default surface format before QApplication (NOTES-VTK-QT6.md).
  mqb::VtkOpenGLView::prepareApplication();
  mqb::gui::TimedApplication app(argc, argv);  // MQB_SLOW_EVENTS=<ms> logs UI stalls
  // ITK's NRRD / Meta readers parse numbers with the C locale.
  std::setlocale(LC_NUMERIC, "C");
  QApplication::setOrganizationName("MedQuanBench");
  QApplication::setApplicationName("medquanbench");
  QApplication::setApplicationVersion(QString::fromStdString(mqb::versionString()));
  const QString icon = QString::fromStdString(mqb::resourceDir()) + "/icons/medquanbench.svg";
  QApplication::setWindowIcon(QIcon(icon));

  mqb::gui::MainWindow window;
  if (options.threads > 0) window.controller()->setEngineThreads(options.threads);
  window.show();
  if (options.benchmark) {
    int code = 1;
    QTimer::singleShot(0, &window, [&] {
      code = mqb::gui::runBenchmark(window, options);
      QApplication::exit(code);
    });
    app.exec();
    return code;
  }
  int batchCode = -1;
  QObject::connect(&window, &mqb::gui::MainWindow::batchFinished, &app, [&](int code) {
    batchCode = code;
    QApplication::exit(code);
  });
  window.startup(options);
  const int code = app.exec();
  return batchCode >= 0 ? batchCode : code;
}
