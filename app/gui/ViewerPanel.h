#pragma once
// The comparison viewer: linked SliceViews FP32 | quantized | difference | ground truth
// (the last only when loaded), each over the CT, with a toolbar for orientation,
// window/level presets, fill/outline, opacity and the 3D surface row (FP32 and quantized
// surfaces with one shared camera). Pure view code: it shows the volumes it is given.
#include <QWidget>

#include <array>
#include <memory>

#include "io/ClassInfo.h"
#include "SessionFile.h"
#include "SliceView.h"
#include "io/Volume.h"

class QCheckBox;
class QGridLayout;
class QComboBox;
class QLabel;
class QSlider;

namespace mqb {
class SurfaceView;
class ViewLink;
}  // namespace mqb

namespace mqb::gui {

class ViewerPanel : public QWidget {
  Q_OBJECT
 public:
  enum Pane { Fp32Pane = 0, QuantPane = 1, DiffPane = 2, TruthPane = 3 };

  explicit ViewerPanel(QWidget* parent = nullptr);
  ~ViewerPanel() override;

  void setImage(std::shared_ptr<const ImageVolume> image);
  void setClassList(const ClassList& classes);
  void setFp32(std::shared_ptr<const LabelVolume> labels, bool preview);
  void setQuantized(std::shared_ptr<const LabelVolume> labels, const QString& title, bool preview);
  void setDifference(std::shared_ptr<const LabelVolume> difference, int64_t count, bool preview);
  void setTruth(std::shared_ptr<const LabelVolume> labels);
  void clearResults();

  void setLabelVisible(int id, bool visible);
  QList<int> hiddenLabels() const;

  SliceView* view(Pane pane) const { return views_[pane]; }
  QList<SliceView*> views() const;
  SliceView* activeView() const;  // the last view the user interacted with (FP32 by default)
  QString paneTitle(Pane pane) const;

  // The slice on screen, for the fast preview: its index along `axis` (the index axis
  // normal to it: 2 axial, 1 coronal, 0 sagittal); slice -1 without an image.
  struct SliceOnScreen {
    int axis = 2;
    int slice = -1;
  };
  SliceOnScreen sliceOnScreen() const;
  // Moves the linked views to the slice (of the current orientation) with the most
  // labelled voxels in `labels`: the most informative picture for a non-interactive export.
  void showBusiestSlice(const LabelVolume& labels);
  ViewState viewState() const;
  void applyViewState(const ViewState& state);

  bool surfacesVisible() const;
  void setSurfacesVisible(bool on);
  SurfaceView* surfaceView(int i) const { return surfaces_[i]; }

  // Window grab of the whole viewer (all panes), for screenshots.
  QImage grabPanes();

 signals:
  void hovered(int x, int y, int z);  // x = -1: left the volume
  void viewStateChanged();

 private:
  void updateTitles();
  void relayout();
  void updateSurfaces();

  std::array<SliceView*, 4> views_{};
  std::array<QLabel*, 4> titles_{};
  std::array<QWidget*, 4> frames_{};
  std::array<SurfaceView*, 2> surfaces_{};
  QWidget* surfaceRow_ = nullptr;
  QGridLayout* grid_ = nullptr;
  ViewLink* link_ = nullptr;
  QComboBox* orientation_;
  QComboBox* preset_;
  QComboBox* mode_;
  QSlider* opacity_;
  QCheckBox* diff_;
  QCheckBox* surfacesCheck_;
  SliceView* active_ = nullptr;
  QString quantTitle_ = tr("Quantized");
  bool fp32Preview_ = false, quantPreview_ = false, diffPreview_ = false;
  int64_t diffCount_ = -1;
  std::shared_ptr<const LabelVolume> fp32_, quant_;
  ClassList classes_;
  bool surfacesDirty_ = true;
};

}  // namespace mqb::gui
