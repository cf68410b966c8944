#pragma once
// Per-organ legend of a segmentation: colour swatch, name, visibility checkbox and an
// optional text column (e.g. voxel counts or the Dice of that organ). Background (id 0)
// is not listed.
#include <QWidget>

#include "io/ClassInfo.h"

class QTreeWidget;
class QTreeWidgetItem;

namespace mqb {

class OrganLegend : public QWidget {
  Q_OBJECT
 public:
  explicit OrganLegend(QWidget* parent = nullptr);

  void setClasses(const ClassList& classes);
  const ClassList& classes() const { return classes_; }
  void setOrganVisible(int id, bool visible);
  bool isOrganVisible(int id) const;
  QList<int> hiddenIds() const;
  void setDetail(int id, const QString& text);
  void setDetailTitle(const QString& title);
  void clearDetails();
  QTreeWidget* tree() const { return tree_; }

 signals:
  void visibilityChanged(int id, bool visible);

 private:
  void fitDetailColumn(const QString& text);
  QTreeWidgetItem* itemFor(int id) const;
  QTreeWidget* tree_;
  ClassList classes_;
  bool updating_ = false;
};

}  // namespace mqb
