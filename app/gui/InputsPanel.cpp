#include "InputsPanel.h"

#include <QApplication>
#include <QHeaderView>
#include <QPointer>
#include <QThreadPool>

namespace mqb::gui {
namespace {

// Runs `scan` on the global pool and hands its result to `deliver` on the UI thread, unless
// `owner` is gone by then.
template <typename Result, typename Scan, typename Deliver>
void scanOffUiThread(QObject* owner, Scan scan, Deliver deliver) {
  QPointer<QObject> guard(owner);
  QThreadPool::globalInstance()->start([guard, scan, deliver] {
    Result result = scan();
    QMetaObject::invokeMethod(
        qApp,
        [guard, deliver, result] {
          if (guard) deliver(result);
        },
        Qt::QueuedConnection);
  });
}

}  // namespace

InputsPanel::InputsPanel(QWidget* parent) : QTreeWidget(parent) {
  setColumnCount(2);
  setHeaderLabels({tr("Property"), tr("Value")});
  header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
}

void InputsPanel::showInputs(std::shared_ptr<const ModelInfo> model, std::shared_ptr<const ImageVolume> volume,
                             const QString& volumePath, std::shared_ptr<const LabelVolume> truth,
                             const QString& truthPath, const QString& truthLabelMap) {
  model_ = std::move(model);
  volumePath_ = volumePath;
  truthPath_ = truthPath;
  truthLabelMap_ = truthLabelMap;
  if (volume != volume_) {
    volume_ = std::move(volume);
    range_.reset();
    if (volume_) {
      const auto v = volume_;
      scanOffUiThread<IntensityRange>(
          this, [v] { return intensityRange(*v); },
          [this, v](const IntensityRange& r) {
            if (v != volume_) return;  // another CT since
            range_ = r;
            rebuild();
          });
    }
  }
  if (truth != truth_) {
    truth_ = std::move(truth);
    labels_.reset();
    if (truth_) {
      const auto t = truth_;
      scanOffUiThread<std::vector<int>>(
          this, [t] { return labelsPresent(*t); },
          [this, t](const std::vector<int>& ids) {
            if (t != truth_) return;
            labels_ = ids;
            rebuild();
          });
    }
  }
  rebuild();
}

void InputsPanel::rebuild() {
  std::vector<InfoSection> sections;
  if (model_) sections.push_back(modelSection(*model_));
  if (volume_) sections.push_back(volumeSection(*volume_, volumePath_.toStdString(), range_));
  if (truth_) sections.push_back(truthSection(truthPath_.toStdString(), truthLabelMap_.toStdString(), labels_));
  clear();
  for (const InfoSection& s : sections) {
    auto* item = new QTreeWidgetItem(this, {QString::fromStdString(s.title)});
    QFont f = item->font(0);
    f.setBold(true);
    item->setFont(0, f);
    item->setExpanded(true);
    for (const InfoRow& r : s.rows) {
      const QString value = QString::fromStdString(r.value);
      auto* row = new QTreeWidgetItem(item, {QString::fromStdString(r.key), value});
      row->setToolTip(1, value);
    }
  }
}

}  // namespace mqb::gui
