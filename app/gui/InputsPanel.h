#pragma once
// The Inputs dock: model metadata, CT geometry and ground-truth facts (model/InputsInfo.h)
// in a two-column tree. The whole-volume scans (HU range, labels present) run on the global
// thread pool; their rows say "computing..." until the result arrives on the UI thread.
#include <QTreeWidget>

#include <memory>
#include <optional>

#include "InputsInfo.h"

namespace mqb::gui {

class InputsPanel : public QTreeWidget {
  Q_OBJECT
 public:
  explicit InputsPanel(QWidget* parent = nullptr);

  void showInputs(std::shared_ptr<const ModelInfo> model, std::shared_ptr<const ImageVolume> volume,
                  const QString& volumePath, std::shared_ptr<const LabelVolume> truth, const QString& truthPath,
                  const QString& truthLabelMap);
  // Whether a whole-volume scan is still running (tests wait for it).
  bool scanning() const { return (volume_ && !range_) || (truth_ && !labels_); }

 private:
  void rebuild();

  std::shared_ptr<const ModelInfo> model_;
  std::shared_ptr<const ImageVolume> volume_;
  std::shared_ptr<const LabelVolume> truth_;
  QString volumePath_, truthPath_, truthLabelMap_;
  std::optional<IntensityRange> range_;
  std::optional<std::vector<int>> labels_;
};

}  // namespace mqb::gui
