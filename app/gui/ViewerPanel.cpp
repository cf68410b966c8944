#include "ViewerPanel.h"

#include <algorithm>
#include <vector>

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

#include "SliceCompositor.h"
#include "SurfaceView.h"
#include "ViewLink.h"

namespace mqb::gui {
namespace {

QString orientationId(SliceView::Orientation o) {
  switch (o) {
    case SliceView::Orientation::Sagittal: return "sagittal";
    case SliceView::Orientation::Coronal: return "coronal";
    default: return "axial";
  }
}

SliceView::Orientation orientationFromId(const std::string& s) {
  if (s == "sagittal") return SliceView::Orientation::Sagittal;
  if (s == "coronal") return SliceView::Orientation::Coronal;
  return SliceView::Orientation::Axial;
}

// Makes a SliceView the "active" one on any mouse press / focus.
class ActiveFilter : public QObject {
 public:
  ActiveFilter(std::function<void(SliceView*)> fn, QObject* parent) : QObject(parent), fn_(std::move(fn)) {}
  bool eventFilter(QObject* o, QEvent* e) override {
    if (e->type() == QEvent::MouseButtonPress || e->type() == QEvent::FocusIn)
      if (auto* v = qobject_cast<SliceView*>(o)) fn_(v);
    return false;
  }

 private:
  std::function<void(SliceView*)> fn_;
};

}  // namespace

ViewerPanel::ViewerPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(4, 2, 4, 2);
  orientation_ = new QComboBox;
  orientation_->addItem(tr("Axial"), static_cast<int>(SliceView::Orientation::Axial));
  orientation_->addItem(tr("Coronal"), static_cast<int>(SliceView::Orientation::Coronal));
  orientation_->addItem(tr("Sagittal"), static_cast<int>(SliceView::Orientation::Sagittal));
  preset_ = new QComboBox;
  for (auto p : SliceView::allPresets()) preset_->addItem(SliceView::presetName(p));
  mode_ = new QComboBox;
  mode_->addItems({tr("Fill"), tr("Outline")});
  opacity_ = new QSlider(Qt::Horizontal);
  opacity_->setRange(0, 100);
  opacity_->setValue(50);
  opacity_->setMaximumWidth(120);
  opacity_->setToolTip(tr("Label opacity"));
  diff_ = new QCheckBox(tr("Difference"));
  diff_->setChecked(true);
  diff_->setToolTip(tr("Voxels where FP32 and quantized labels differ (magenta, or a colour no organ uses)"));
  surfacesCheck_ = new QCheckBox(tr("3D"));
  surfacesCheck_->setToolTip(tr("Organ surfaces of FP32 and quantized predictions, cameras linked"));
  auto* reset = new QPushButton(tr("Reset view"));
  bar->addWidget(new QLabel(tr("Plane")));
  bar->addWidget(orientation_);
  bar->addWidget(new QLabel(tr("Window")));
  bar->addWidget(preset_);
  bar->addWidget(new QLabel(tr("Labels")));
  bar->addWidget(mode_);
  bar->addWidget(opacity_);
  bar->addWidget(diff_);
  bar->addWidget(surfacesCheck_);
  bar->addWidget(reset);
  bar->addStretch();
  layout->addLayout(bar);

  grid_ = new QGridLayout;
  grid_->setSpacing(2);
  auto* filter = new ActiveFilter([this](SliceView* v) { active_ = v; }, this);
  for (int i = 0; i < 4; ++i) {
    auto* frame = new QWidget;
    auto* fl = new QVBoxLayout(frame);
    fl->setContentsMargins(0, 0, 0, 0);
    fl->setSpacing(1);
    titles_[i] = new QLabel;
    titles_[i]->setAlignment(Qt::AlignCenter);
    QFont f = titles_[i]->font();
    f.setBold(true);
    titles_[i]->setFont(f);
    views_[i] = new SliceView;
    views_[i]->setMinimumSize(160, 160);
    views_[i]->installEventFilter(filter);
    fl->addWidget(titles_[i]);
    fl->addWidget(views_[i], 1);
    frames_[i] = frame;
    connect(views_[i], &SliceView::voxelHovered, this,
            [this](int x, int y, int z, double, int) { emit hovered(x, y, z); });
    connect(views_[i], &SliceView::sliceChanged, this, &ViewerPanel::viewStateChanged);
  }
  views_[DiffPane]->setLabelsVisible(false);
  frames_[TruthPane]->setVisible(false);
  relayout();
  layout->addLayout(grid_, 3);

  surfaceRow_ = new QWidget;
  auto* sl = new QHBoxLayout(surfaceRow_);
  sl->setContentsMargins(0, 0, 0, 0);
  sl->setSpacing(2);
  for (int i = 0; i < 2; ++i) {
    surfaces_[i] = new SurfaceView;
    surfaces_[i]->setMinimumSize(160, 160);
    surfaces_[i]->setTitle(i == 0 ? tr("FP32 surfaces") : tr("Quantized surfaces"));
    sl->addWidget(surfaces_[i], 1);
  }
  surfaces_[1]->linkCamera(surfaces_[0]);
  surfaceRow_->setVisible(false);
  layout->addWidget(surfaceRow_, 2);

  link_ = ViewLink::link({views_[0], views_[1], views_[2], views_[3]}, ViewLink::defaultOptions(), this);
  active_ = views_[Fp32Pane];

  connect(orientation_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    const auto o = static_cast<SliceView::Orientation>(orientation_->currentData().toInt());
    for (auto* v : views_) v->setOrientation(o);
    // Slices of the same orientation are linked; re-sync from the first view.
    for (auto* v : views_) v->setSlice(views_[0]->slice());
    emit viewStateChanged();
  });
  connect(preset_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { views_[0]->applyPreset(SliceView::allPresets()[static_cast<size_t>(i)]); });
  connect(mode_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    for (auto* v : views_) v->setLabelMode(i == 0 ? SliceView::LabelMode::Fill : SliceView::LabelMode::Outline);
  });
  connect(opacity_, &QSlider::valueChanged, this, [this](int v) {
    for (auto* view : views_) view->setLabelOpacity(v / 100.0);
  });
  connect(diff_, &QCheckBox::toggled, this, [this](bool on) { views_[DiffPane]->setDifferenceVisible(on); });
  connect(surfacesCheck_, &QCheckBox::toggled, this, [this](bool on) { setSurfacesVisible(on); });
  connect(reset, &QPushButton::clicked, this, [this] {
    views_[0]->resetView();
    for (auto* s : surfaces_) s->resetCamera();
  });
  updateTitles();
}

ViewerPanel::~ViewerPanel() = default;

QList<SliceView*> ViewerPanel::views() const { return {views_[0], views_[1], views_[2], views_[3]}; }

SliceView* ViewerPanel::activeView() const { return active_ ? active_ : views_[0]; }

void ViewerPanel::setImage(std::shared_ptr<const ImageVolume> image) {
  fp32_.reset();
  quant_.reset();
  for (auto* v : views_) v->setImage(image);
  // Views linked by slice follow the first one.
  if (image) views_[0]->setSlice(views_[0]->sliceCount() / 2);
  surfacesDirty_ = true;
  updateSurfaces();
  updateTitles();
}

void ViewerPanel::setClassList(const ClassList& classes) {
  classes_ = classes;
  for (auto* v : views_) v->setClassList(classes);
  views_[DiffPane]->setDifferenceColor(differenceColorFor(classes));
  for (auto* s : surfaces_) s->setClassList(classes);
}

void ViewerPanel::setFp32(std::shared_ptr<const LabelVolume> labels, bool preview) {
  fp32_ = labels;
  fp32Preview_ = preview;
  views_[Fp32Pane]->setLabels(labels);
  surfacesDirty_ = true;
  updateSurfaces();
  updateTitles();
}

void ViewerPanel::setQuantized(std::shared_ptr<const LabelVolume> labels, const QString& title, bool preview) {
  quant_ = labels;
  quantTitle_ = title;
  quantPreview_ = preview;
  views_[QuantPane]->setLabels(labels);
  // The difference pane keeps its label overlay hidden (only the difference is drawn) but
  // knows the labels for the status bar.
  views_[DiffPane]->setLabels(labels);
  surfacesDirty_ = true;
  updateSurfaces();
  updateTitles();
}

void ViewerPanel::setDifference(std::shared_ptr<const LabelVolume> difference, int64_t count, bool preview) {
  views_[DiffPane]->setDifference(difference);
  diffCount_ = difference ? count : -1;
  diffPreview_ = preview;
  updateTitles();
}

void ViewerPanel::setTruth(std::shared_ptr<const LabelVolume> labels) {
  views_[TruthPane]->setLabels(labels);
  frames_[TruthPane]->setVisible(labels != nullptr);
  relayout();
  updateTitles();
}

void ViewerPanel::relayout() {
  // Three panes in a row; four in a 2 x 2 grid (FP32 | quantized over difference | truth),
  // which keeps the panes close to square in a wide window.
  const bool four = !frames_[TruthPane]->isHidden();
  for (auto* f : frames_) grid_->removeWidget(f);
  for (int r = 0; r < 2; ++r) grid_->setRowStretch(r, 0);
  for (int c = 0; c < 3; ++c) grid_->setColumnStretch(c, 0);
  if (four) {
    for (int i = 0; i < 4; ++i) grid_->addWidget(frames_[i], i / 2, i % 2);
    grid_->setRowStretch(0, 1);
    grid_->setRowStretch(1, 1);
    grid_->setColumnStretch(0, 1);
    grid_->setColumnStretch(1, 1);
  } else {
    for (int i = 0; i < 4; ++i) grid_->addWidget(frames_[i], 0, i);
    for (int c = 0; c < 3; ++c) grid_->setColumnStretch(c, 1);
    grid_->setRowStretch(0, 1);
  }
}

void ViewerPanel::clearResults() {
  setFp32(nullptr, false);
  setQuantized(nullptr, tr("Quantized"), false);
  setDifference(nullptr, -1, false);
}

void ViewerPanel::setLabelVisible(int id, bool visible) {
  for (auto* v : views_) v->setLabelVisible(id, visible);
  for (auto* s : surfaces_) s->setLabelVisible(id, visible);
}

QList<int> ViewerPanel::hiddenLabels() const {
  QList<int> ids;
  for (int i = 1; i < 256; ++i)
    if (!views_[0]->isLabelVisible(i)) ids << i;
  return ids;
}

QString ViewerPanel::paneTitle(Pane pane) const { return titles_[pane]->text(); }

void ViewerPanel::updateTitles() {
  const QString previewTag = tr(" (preview)");
  titles_[Fp32Pane]->setText(tr("FP32") + (fp32_ && fp32Preview_ ? previewTag : QString()));
  titles_[QuantPane]->setText(quantTitle_ + (quant_ && quantPreview_ ? previewTag : QString()));
  QString diff = tr("Difference");
  if (diffCount_ >= 0)
    diff += diffPreview_ ? tr(" (%1 voxels on the previewed slice)").arg(diffCount_)
                         : tr(" (%1 voxels)").arg(diffCount_);
  titles_[DiffPane]->setText(diff);
  titles_[TruthPane]->setText(tr("Ground truth"));
}

ViewerPanel::SliceOnScreen ViewerPanel::sliceOnScreen() const {
  // The view the user works in; all panes show the same slice (linked).
  const SliceView* v = activeView();
  SliceOnScreen s;
  if (!v->image()) return s;
  s.axis = static_cast<int>(v->orientation());
  s.slice = v->slice();
  return s;
}

void ViewerPanel::showBusiestSlice(const LabelVolume& labels) {
  SliceView* v = views_[0];
  if (!v->image() || labels.geometry.size != v->image()->geometry.size) return;
  const int axis = static_cast<int>(v->orientation());
  const auto& size = labels.geometry.size;
  std::vector<int64_t> count(static_cast<size_t>(size[axis]), 0);
  size_t i = 0;
  for (int64_t z = 0; z < size[2]; ++z)
    for (int64_t y = 0; y < size[1]; ++y)
      for (int64_t x = 0; x < size[0]; ++x, ++i)
        if (labels.voxels[i]) ++count[static_cast<size_t>(axis == 0 ? x : axis == 1 ? y : z)];
  const auto best = std::max_element(count.begin(), count.end());
  if (best != count.end() && *best > 0) v->setSlice(static_cast<int>(best - count.begin()));
}

ViewState ViewerPanel::viewState() const {
  const SliceView* v = views_[0];
  ViewState s;
  s.orientation = orientationId(v->orientation()).toStdString();
  s.slice = v->slice();
  s.window = v->window();
  s.level = v->level();
  s.zoom = v->zoom();
  s.panX = v->pan().x();
  s.panY = v->pan().y();
  s.labelOpacity = v->labelOpacity();
  s.labelMode = v->labelMode() == SliceView::LabelMode::Outline ? "outline" : "fill";
  for (int id : hiddenLabels()) s.hiddenLabels.push_back(id);
  s.showDifference = diff_->isChecked();
  s.show3d = surfacesCheck_->isChecked();
  if (v->hasCursor()) s.cursor = v->cursorVoxel();
  return s;
}

void ViewerPanel::applyViewState(const ViewState& s) {
  const auto o = orientationFromId(s.orientation);
  orientation_->setCurrentIndex(orientation_->findData(static_cast<int>(o)));
  for (auto* v : views_) v->setOrientation(o);
  mode_->setCurrentIndex(s.labelMode == "outline" ? 1 : 0);
  opacity_->setValue(static_cast<int>(std::lround(s.labelOpacity * 100)));
  diff_->setChecked(s.showDifference);
  surfacesCheck_->setChecked(s.show3d);
  for (int i = 1; i < 256; ++i) setLabelVisible(i, true);
  for (int id : s.hiddenLabels) setLabelVisible(id, false);
  SliceView* v = views_[0];
  v->setWindowLevel(s.window, s.level);
  if (s.cursor) v->setCursorVoxel((*s.cursor)[0], (*s.cursor)[1], (*s.cursor)[2]);
  if (s.slice >= 0) v->setSlice(s.slice);
  v->setZoom(s.zoom);
  v->setPan(QPointF(s.panX, s.panY));
}

bool ViewerPanel::surfacesVisible() const { return surfaceRow_->isVisible(); }

void ViewerPanel::setSurfacesVisible(bool on) {
  if (surfacesCheck_->isChecked() != on) {
    surfacesCheck_->setChecked(on);  // re-enters through the toggled signal
    return;
  }
  surfaceRow_->setVisible(on);
  updateSurfaces();
}

void ViewerPanel::updateSurfaces() {
  if (!surfaceRow_->isVisible() || !surfacesDirty_) return;
  // Previews hold only a few slices: surfaces of final results only.
  surfaces_[0]->setLabels(fp32Preview_ ? nullptr : fp32_);
  surfaces_[1]->setLabels(quantPreview_ ? nullptr : quant_);
  surfacesDirty_ = false;
}

QImage ViewerPanel::grabPanes() { return grab().toImage(); }

}  // namespace mqb::gui
