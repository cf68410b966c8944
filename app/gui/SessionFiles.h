#pragma once
// Where sessions live besides the file the user picks: the autosave file (written after
// every finished run and on close) and the recent-files list (QSettings "recent/files",
// entries "kind|absolute path", newest first, at most 12) with its File > Recent menu.
#include <QObject>
#include <QStringList>

#include "SessionFile.h"

class QMenu;

namespace mqb::gui {

class SessionFiles : public QObject {
  Q_OBJECT
 public:
  explicit SessionFiles(QObject* parent = nullptr);

  QString autosavePath() const;
  // Best effort: returns the error text, empty on success.
  QString autosave(const SessionState& state) const;

  QStringList recentFiles() const;
  // kind: "model", "volume", "labels" / "labels:<label map>", "session".
  void addRecent(const QString& kind, const QString& path);
  // The menu is rebuilt whenever the list changes; its actions emit openRequested.
  void attachRecentMenu(QMenu* menu);

 signals:
  void openRequested(const QString& kind, const QString& path);

 private:
  void rebuildRecentMenu();
  QMenu* recentMenu_ = nullptr;
};

}  // namespace mqb::gui
