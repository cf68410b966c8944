#include "SessionFiles.h"

#include <QDir>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>
#include <QStandardPaths>

namespace mqb::gui {

namespace {
constexpr int kMaxRecentFiles = 12;
}

SessionFiles::SessionFiles(QObject* parent) : QObject(parent) {}

QString SessionFiles::autosavePath() const {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/autosave.json";
}

QString SessionFiles::autosave(const SessionState& state) const {
  QDir().mkpath(QFileInfo(autosavePath()).absolutePath());
  try {
    state.save(autosavePath().toStdString());
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}

QStringList SessionFiles::recentFiles() const { return QSettings().value("recent/files").toStringList(); }

void SessionFiles::addRecent(const QString& kind, const QString& path) {
  const QString entry = kind + "|" + QFileInfo(path).absoluteFilePath();
  QStringList list = recentFiles();
  list.removeAll(entry);
  list.prepend(entry);
  while (list.size() > kMaxRecentFiles) list.removeLast();
  QSettings().setValue("recent/files", list);
  rebuildRecentMenu();
}

void SessionFiles::attachRecentMenu(QMenu* menu) {
  recentMenu_ = menu;
  rebuildRecentMenu();
}

void SessionFiles::rebuildRecentMenu() {
  if (!recentMenu_) return;
  recentMenu_->clear();
  const QStringList list = recentFiles();
  for (const QString& entry : list) {
    const QString kind = entry.section('|', 0, 0);
    const QString path = entry.section('|', 1);
    recentMenu_
        ->addAction(QString("%1: %2").arg(kind, QFileInfo(path).fileName()), this,
                    [this, kind, path] { emit openRequested(kind, path); })
        ->setToolTip(path);
  }
  if (list.isEmpty()) recentMenu_->addAction(tr("(none)"))->setEnabled(false);
  recentMenu_->addSeparator();
  recentMenu_->addAction(tr("Clear"), this, [this] {
    QSettings().remove("recent/files");
    rebuildRecentMenu();
  });
}

}  // namespace mqb::gui
