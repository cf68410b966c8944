#include "OrganLegend.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QStyle>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace mqb {
namespace {

QIcon swatch(const ClassInfo& c) {
  QPixmap pm(14, 14);
  pm.fill(QColor(c.color[0], c.color[1], c.color[2]));
  QPainter p(&pm);
  p.setPen(Qt::black);
  p.drawRect(0, 0, 13, 13);
  return QIcon(pm);
}

}  // namespace

OrganLegend::OrganLegend(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  tree_ = new QTreeWidget;
  tree_->setColumnCount(2);
  tree_->setHeaderLabels({tr("Organ"), tr("")});
  tree_->setRootIsDecorated(false);
  tree_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  // A fixed width fitted to the text (fitDetailColumn), not ResizeToContents: that mode
  // re-measured every item on each header paint after new scores, ~100 ms of UI stall
  // under a software-rendered display (MQB_SLOW_EVENTS).
  tree_->header()->setSectionResizeMode(1, QHeaderView::Fixed);
  tree_->header()->setStretchLastSection(false);
  layout->addWidget(tree_);
  fitDetailColumn(QStringLiteral("0.000 (00.0%)"));
  auto* buttons = new QHBoxLayout;
  auto* all = new QPushButton(tr("All"));
  auto* none = new QPushButton(tr("None"));
  buttons->addWidget(all);
  buttons->addWidget(none);
  buttons->addStretch();
  layout->addLayout(buttons);
  auto setAll = [this](bool visible) {
    for (const auto& c : classes_)
      if (c.id != 0) setOrganVisible(c.id, visible);
  };
  connect(all, &QPushButton::clicked, this, [setAll] { setAll(true); });
  connect(none, &QPushButton::clicked, this, [setAll] { setAll(false); });
  connect(tree_, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* item, int column) {
    if (updating_ || column != 0) return;
    emit visibilityChanged(item->data(0, Qt::UserRole).toInt(), item->checkState(0) == Qt::Checked);
  });
}

void OrganLegend::setClasses(const ClassList& classes) {
  updating_ = true;
  classes_ = classes;
  tree_->clear();
  for (const auto& c : classes) {
    if (c.id == 0) continue;
    auto* item = new QTreeWidgetItem(tree_);
    item->setText(0, QString::fromStdString(c.name));
    item->setIcon(0, swatch(c));
    item->setData(0, Qt::UserRole, c.id);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(0, Qt::Checked);
    item->setToolTip(0, tr("label %1").arg(c.id));
  }
  updating_ = false;
}

QTreeWidgetItem* OrganLegend::itemFor(int id) const {
  for (int i = 0; i < tree_->topLevelItemCount(); ++i)
    if (tree_->topLevelItem(i)->data(0, Qt::UserRole).toInt() == id) return tree_->topLevelItem(i);
  return nullptr;
}

void OrganLegend::setOrganVisible(int id, bool visible) {
  if (auto* item = itemFor(id)) item->setCheckState(0, visible ? Qt::Checked : Qt::Unchecked);
}

bool OrganLegend::isOrganVisible(int id) const {
  auto* item = itemFor(id);
  return !item || item->checkState(0) == Qt::Checked;
}

QList<int> OrganLegend::hiddenIds() const {
  QList<int> ids;
  for (int i = 0; i < tree_->topLevelItemCount(); ++i)
    if (tree_->topLevelItem(i)->checkState(0) != Qt::Checked)
      ids << tree_->topLevelItem(i)->data(0, Qt::UserRole).toInt();
  return ids;
}

void OrganLegend::setDetail(int id, const QString& text) {
  updating_ = true;
  if (auto* item = itemFor(id)) item->setText(1, text);
  updating_ = false;
  fitDetailColumn(text);
}

void OrganLegend::setDetailTitle(const QString& title) {
  tree_->headerItem()->setText(1, title);
  fitDetailColumn(title);
}

void OrganLegend::fitDetailColumn(const QString& text) {
  // Only ever widened: one measurement of the new text, not of every item.
  // The margins QItemDelegate puts around a cell's text.
  const int margins = 2 * (tree_->style()->pixelMetric(QStyle::PM_FocusFrameHMargin) + 1);
  const int wanted = tree_->fontMetrics().horizontalAdvance(text) + margins;
  if (wanted > tree_->header()->sectionSize(1)) tree_->header()->resizeSection(1, wanted);
}

void OrganLegend::clearDetails() {
  updating_ = true;
  for (int i = 0; i < tree_->topLevelItemCount(); ++i) tree_->topLevelItem(i)->setText(1, QString());
  updating_ = false;
}

}  // namespace mqb
