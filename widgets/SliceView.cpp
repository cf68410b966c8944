// Over 600 lines on purpose: one interactive view whose camera, lazy slice composition,
// cursor, annotations and mouse / key handling share the same private state (Axes, zoom,
// pan, slice); split, each part would need that state through accessors. The orientation
// math lives in SliceOrientation, the pixel composition in SliceCompositor.
#include "SliceView.h"

#include "SliceCompositor.h"
#include "SliceOrientation.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QResizeEvent>
#include <QWheelEvent>
#include <QElapsedTimer>
#include <cstdio>
#include <QtDebug>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkImageSlice.h>
#include <vtkImageSliceMapper.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mqb {

namespace {

using Vec3 = std::array<double, 3>;

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

Vec3 unit(int axis, double sign) {
  Vec3 v{0.0, 0.0, 0.0};
  v[static_cast<size_t>(axis)] = sign;
  return v;
}

bool sameSize(const ImageGeometry& a, const ImageGeometry& b) { return a.size == b.size; }

bool consistent(const ImageGeometry& g, size_t voxelCount) {
  return g.size[0] > 0 && g.size[1] > 0 && g.size[2] > 0 && g.size[0] < std::numeric_limits<int>::max() &&
         g.size[1] < std::numeric_limits<int>::max() && g.size[2] < std::numeric_limits<int>::max() &&
         static_cast<int64_t>(voxelCount) == g.voxelCount();
}

// Anatomical letter (LPS) of an index-space direction mapped through the direction matrix.
QString letterFor(const ImageGeometry& g, const Vec3& indexDir) {
  Vec3 phys{0.0, 0.0, 0.0};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) phys[r] += g.direction[static_cast<size_t>(r * 3 + c)] * indexDir[c];
  int best = 0;
  for (int r = 1; r < 3; ++r)
    if (std::abs(phys[r]) > std::abs(phys[best])) best = r;
  static const char* positive[3] = {"L", "P", "S"};
  static const char* negative[3] = {"R", "A", "I"};
  return QString::fromLatin1(phys[best] >= 0 ? positive[best] : negative[best]);
}

vtkSmartPointer<vtkTextActor> makeText(int hJustify, int vJustify, double x, double y, int size) {
  auto t = vtkSmartPointer<vtkTextActor>::New();
  t->SetTextScaleModeToNone();
  t->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  t->SetPosition(x, y);
  vtkTextProperty* p = t->GetTextProperty();
  p->SetFontSize(size);
  p->SetColor(0.95, 0.85, 0.3);
  p->SetFontFamilyToArial();
  p->SetBold(false);
  p->SetShadow(true);
  p->SetJustification(hJustify);
  p->SetVerticalJustification(vJustify);
  t->PickableOff();
  t->SetVisibility(false);
  return t;
}

}  // namespace

// ---- static helpers ---------------------------------------------------------------------

SliceView::WindowLevel SliceView::presetWindowLevel(WindowPreset preset) {
  switch (preset) {
    case WindowPreset::Abdomen: return {350.0, 40.0};
    case WindowPreset::Bone: return {1000.0, 400.0};
    case WindowPreset::Lung: return {1400.0, -500.0};
    case WindowPreset::Brain: return {80.0, 40.0};
  }
  return {};
}

QString SliceView::presetName(WindowPreset preset) {
  switch (preset) {
    case WindowPreset::Abdomen: return QStringLiteral("Abdomen");
    case WindowPreset::Bone: return QStringLiteral("Bone");
    case WindowPreset::Lung: return QStringLiteral("Lung");
    case WindowPreset::Brain: return QStringLiteral("Brain");
  }
  return {};
}

std::vector<SliceView::WindowPreset> SliceView::allPresets() {
  return {WindowPreset::Abdomen, WindowPreset::Bone, WindowPreset::Lung, WindowPreset::Brain};
}

QString SliceView::orientationName(Orientation orientation) {
  switch (orientation) {
    case Orientation::Axial: return QStringLiteral("Axial");
    case Orientation::Coronal: return QStringLiteral("Coronal");
    case Orientation::Sagittal: return QStringLiteral("Sagittal");
  }
  return {};
}

QColor SliceView::fallbackLabelColor(int labelId) { return mqb::fallbackLabelColor(labelId); }

// ---- construction -----------------------------------------------------------------------

SliceView::SliceView(QWidget* parent) : VtkOpenGLView(parent) {
  // All interaction is handled in the Qt event handlers below.
  interactor()->SetInteractorStyle(nullptr);
  labelVisible_.fill(true);

  // The composed slice is already RGBA: window 255 / level 127.5 and no lookup table make
  // VTK use the bytes as they are.
  sliceMapper_ = vtkSmartPointer<vtkImageSliceMapper>::New();
  sliceMapper_->BorderOn();  // show the full extent of the edge voxels
  sliceActor_ = vtkSmartPointer<vtkImageSlice>::New();
  sliceActor_->SetMapper(sliceMapper_);
  sliceActor_->GetProperty()->SetColorWindow(255.0);
  sliceActor_->GetProperty()->SetColorLevel(127.5);
  sliceActor_->GetProperty()->SetInterpolationTypeToLinear();
  sliceActor_->PickableOff();

  cursorPoints_ = vtkSmartPointer<vtkPoints>::New();
  cursorPoints_->SetNumberOfPoints(4);
  for (vtkIdType i = 0; i < 4; ++i) cursorPoints_->SetPoint(i, 0.0, 0.0, 0.0);
  vtkNew<vtkCellArray> lines;
  const vtkIdType l0[2] = {0, 1};
  const vtkIdType l1[2] = {2, 3};
  lines->InsertNextCell(2, l0);
  lines->InsertNextCell(2, l1);
  cursorPolyData_ = vtkSmartPointer<vtkPolyData>::New();
  cursorPolyData_->SetPoints(cursorPoints_);
  cursorPolyData_->SetLines(lines);
  vtkNew<vtkPolyDataMapper> cursorMapper;
  cursorMapper->SetInputData(cursorPolyData_);
  cursorActor_ = vtkSmartPointer<vtkActor>::New();
  cursorActor_->SetMapper(cursorMapper);
  cursorActor_->GetProperty()->SetColor(0.2, 0.9, 1.0);
  cursorActor_->GetProperty()->SetLineWidth(1.0f);
  cursorActor_->GetProperty()->LightingOff();
  cursorActor_->PickableOff();
  cursorActor_->SetVisibility(false);
  renderer()->AddActor(cursorActor_);

  edgeLetters_[0] = makeText(VTK_TEXT_LEFT, VTK_TEXT_CENTERED, 0.01, 0.5, 16);
  edgeLetters_[1] = makeText(VTK_TEXT_RIGHT, VTK_TEXT_CENTERED, 0.99, 0.5, 16);
  edgeLetters_[2] = makeText(VTK_TEXT_CENTERED, VTK_TEXT_TOP, 0.5, 0.99, 16);
  edgeLetters_[3] = makeText(VTK_TEXT_CENTERED, VTK_TEXT_BOTTOM, 0.5, 0.01, 16);
  sliceText_ = makeText(VTK_TEXT_LEFT, VTK_TEXT_BOTTOM, 0.01, 0.01, 12);
  windowText_ = makeText(VTK_TEXT_RIGHT, VTK_TEXT_BOTTOM, 0.99, 0.01, 12);
  for (auto& t : edgeLetters_) renderer()->AddViewProp(t);
  renderer()->AddViewProp(sliceText_);
  renderer()->AddViewProp(windowText_);
}

SliceView::~SliceView() = default;

// ---- geometry helpers -------------------------------------------------------------------

SliceView::Axes SliceView::axes() const {
  const ScreenAxes plane = screenAxes(static_cast<int>(orientation_), axisSign_);
  Axes a{};
  a.normal = plane.normal;
  a.horizontal = plane.horizontal;
  a.vertical = plane.vertical;
  a.right = unit(plane.horizontal, plane.rightSign);
  a.up = unit(plane.vertical, plane.upSign);
  return a;
}

int SliceView::sliceCount() const {
  if (!image_) return 0;
  return static_cast<int>(image_->geometry.size[static_cast<size_t>(orientation_)]);
}

double SliceView::worldPerDevicePixel() const {
  if (!image_) return 1.0;
  const Axes a = axes();
  const auto& g = image_->geometry;
  const double w = g.size[a.horizontal] * g.spacing[a.horizontal];
  const double h = g.size[a.vertical] * g.spacing[a.vertical];
  const QSize ds = deviceSize();
  const double dw = std::max(1, ds.width());
  const double dh = std::max(1, ds.height());
  // Parallel scale that fits the whole slice (2% margin), divided by the zoom.
  const double fitHalfHeight = 1.02 * std::max(h / 2.0, w / 2.0 * dh / dw);
  const double parallelScale = fitHalfHeight / zoom_;
  return 2.0 * parallelScale / dh;
}

std::array<double, 3> SliceView::focalPoint() const {
  Vec3 f{0.0, 0.0, 0.0};
  if (!image_) return f;
  const Axes a = axes();
  const auto& g = image_->geometry;
  f[a.horizontal] = (g.size[a.horizontal] - 1) * g.spacing[a.horizontal] / 2.0;
  f[a.vertical] = (g.size[a.vertical] - 1) * g.spacing[a.vertical] / 2.0;
  f[a.normal] = slice_ * g.spacing[a.normal];
  for (int i = 0; i < 3; ++i) f[i] += pan_.x() * a.right[i] + pan_.y() * a.up[i];
  return f;
}

void SliceView::updateCamera() {
  if (!image_) return;
  const Axes a = axes();
  const auto& g = image_->geometry;
  const Vec3 f = focalPoint();
  const Vec3 dop = cross(a.up, a.right);  // direction of projection: dop x up = right
  double diag = 0.0;
  for (int i = 0; i < 3; ++i) diag += std::pow(g.size[i] * g.spacing[i], 2);
  diag = std::sqrt(diag) + 10.0;
  const double distance = 2.0 * diag;
  vtkCamera* cam = renderer()->GetActiveCamera();
  cam->ParallelProjectionOn();
  cam->SetFocalPoint(f[0], f[1], f[2]);
  cam->SetPosition(f[0] - dop[0] * distance, f[1] - dop[1] * distance, f[2] - dop[2] * distance);
  cam->SetViewUp(a.up[0], a.up[1], a.up[2]);
  cam->SetParallelScale(worldPerDevicePixel() * std::max(1, deviceSize().height()) / 2.0);
  cam->SetClippingRange(distance - diag, distance + diag);
}

bool SliceView::voxelAtWidgetPos(const QPointF& widgetPos, std::array<int, 3>& voxel) const {
  if (!image_) return false;
  const Axes a = axes();
  const auto& g = image_->geometry;
  const double dpr = devicePixelRatioF();
  const QSize ds = deviceSize();
  const double wpp = worldPerDevicePixel();
  const double ox = (widgetPos.x() * dpr - ds.width() / 2.0) * wpp;
  const double oy = (ds.height() / 2.0 - widgetPos.y() * dpr) * wpp;
  const Vec3 f = focalPoint();
  Vec3 w{};
  for (int i = 0; i < 3; ++i) w[i] = f[i] + ox * a.right[i] + oy * a.up[i];
  std::array<int, 3> v{};
  for (int i = 0; i < 3; ++i) {
    if (i == a.normal) {
      v[i] = slice_;
      continue;
    }
    const double idx = std::floor(w[i] / g.spacing[i] + 0.5);
    if (idx < 0 || idx >= g.size[i]) return false;
    v[i] = static_cast<int>(idx);
  }
  voxel = v;
  return true;
}

QPointF SliceView::widgetPosOfVoxel(double x, double y, double z) const {
  if (!image_) return {};
  const Axes a = axes();
  const auto& g = image_->geometry;
  const Vec3 f = focalPoint();
  const Vec3 w{x * g.spacing[0], y * g.spacing[1], z * g.spacing[2]};
  const Vec3 rel{w[0] - f[0], w[1] - f[1], w[2] - f[2]};
  const double wpp = worldPerDevicePixel();
  const double ox = dot(rel, a.right) / wpp;
  const double oy = dot(rel, a.up) / wpp;
  const double dpr = devicePixelRatioF();
  const QSize ds = deviceSize();
  return {(ds.width() / 2.0 + ox) / dpr, (ds.height() / 2.0 - oy) / dpr};
}

double SliceView::huAt(int x, int y, int z) const {
  if (!image_) return std::numeric_limits<double>::quiet_NaN();
  const auto& s = image_->geometry.size;
  if (x < 0 || y < 0 || z < 0 || x >= s[0] || y >= s[1] || z >= s[2]) return std::numeric_limits<double>::quiet_NaN();
  return image_->at(x, y, z);
}

int SliceView::labelAt(int x, int y, int z) const {
  if (!labels_) return 0;
  const auto& s = labels_->geometry.size;
  if (x < 0 || y < 0 || z < 0 || x >= s[0] || y >= s[1] || z >= s[2]) return 0;
  return labels_->at(x, y, z);
}

// ---- image ------------------------------------------------------------------------------

bool SliceView::setImage(std::shared_ptr<const ImageVolume> image) {
  if (image && !consistent(image->geometry, image->voxels.size())) {
    qWarning("SliceView::setImage: empty or inconsistent volume (%s, %zu voxels)", image->geometry.describe().c_str(),
             image->voxels.size());
    image.reset();
  }
  const bool ok = image != nullptr;
  image_ = std::move(image);
  hasCursor_ = false;
  zoom_ = 1.0;
  pan_ = QPointF(0.0, 0.0);

  if (!image_) {
    if (sliceInRenderer_) renderer()->RemoveViewProp(sliceActor_);
    sliceInRenderer_ = false;
    sliceData_ = nullptr;
    setLabels(nullptr);
    setDifference(nullptr);
    slice_ = 0;
    updateCursorActor();
    updateAnnotations();
    requestRender();
    emit sliceChanged(slice_);
    emit cameraChanged();
    return ok;
  }

  const auto& g = image_->geometry;
  axisSign_ = indexAxisSigns(g);

  if (labels_ && !sameSize(labels_->geometry, g)) setLabels(nullptr);
  if (difference_ && !sameSize(difference_->geometry, g)) setDifference(nullptr);

  if (!sliceInRenderer_) renderer()->AddViewProp(sliceActor_);
  sliceInRenderer_ = true;
  slice_ = sliceCount() / 2;
  updateSliceProps();
  emit sliceChanged(slice_);
  emit cameraChanged();
  return ok;
}

void SliceView::imageModified() { invalidateSlice(); }

void SliceView::setSmoothing(bool linear) {
  smoothing_ = linear;
  if (linear)
    sliceActor_->GetProperty()->SetInterpolationTypeToLinear();
  else
    sliceActor_->GetProperty()->SetInterpolationTypeToNearest();
  requestRender();
}

// ---- overlays ---------------------------------------------------------------------------

void SliceView::invalidateSlice() {
  sliceDirty_ = true;
  requestRender();
}

void SliceView::beforeVtkRender() {
  if (sliceDirty_) composeSlice();
}

bool SliceView::rendersOpaque() const { return renderer()->GetBackgroundAlpha() >= 1.0; }

void SliceView::composeSlice() {
  sliceDirty_ = false;
  if (!image_) return;
  QElapsedTimer timer;
  timer.start();
  SliceStyle style;
  style.window = window_;
  style.level = level_;
  style.labels = labelsVisible_ ? labels_.get() : nullptr;
  style.classes = classes_;
  style.labelOpacity = labelOpacity_;
  style.outline = labelMode_ == LabelMode::Outline;
  style.labelVisible = labelVisible_;
  style.labelVisible[0] = false;  // background is never drawn
  style.difference = differenceVisible_ ? difference_.get() : nullptr;
  style.differenceColor = differenceColor_;
  style.differenceOpacity = differenceOpacity_;

  // A one-voxel-thick image at the slice position, so it lies in the plane the camera and
  // the cursor use; its point order (lower axis fastest) is the compositor's h + v * width.
  const Axes a = axes();
  const auto& g = image_->geometry;
  int extent[6] = {0, static_cast<int>(g.size[0]) - 1, 0, static_cast<int>(g.size[1]) - 1,
                   0, static_cast<int>(g.size[2]) - 1};
  extent[2 * a.normal] = extent[2 * a.normal + 1] = slice_;
  if (!sliceData_) sliceData_ = vtkSmartPointer<vtkImageData>::New();
  int old[6];
  sliceData_->GetExtent(old);
  if (!std::equal(old, old + 6, extent) || !sliceData_->GetPointData()->GetScalars()) {
    sliceData_->SetExtent(extent);
    sliceData_->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    sliceData_->SetOrigin(0.0, 0.0, 0.0);
    sliceData_->AllocateScalars(VTK_UNSIGNED_CHAR, 4);
  }
  mqb::composeSlice(*image_, a.normal, slice_, style, composed_);
  auto* out = static_cast<uint8_t*>(sliceData_->GetScalarPointer());
  std::copy(composed_.begin(), composed_.end(), out);
  sliceData_->GetPointData()->GetScalars()->Modified();
  sliceData_->Modified();
  sliceMapper_->SetInputData(sliceData_);
  sliceMapper_->SetOrientation(a.normal);
  sliceMapper_->SetSliceNumber(slice_);
  lastComposeMs_ = timer.nsecsElapsed() / 1e6;
}

bool SliceView::setLabels(std::shared_ptr<const LabelVolume> labels) {
  bool ok = true;
  if (labels && (!image_ || !consistent(labels->geometry, labels->voxels.size()) ||
                 !sameSize(labels->geometry, image_->geometry))) {
    qWarning("SliceView::setLabels: label volume does not match the image grid");
    labels.reset();
    ok = false;
  }
  labels_ = std::move(labels);
  invalidateSlice();
  if (hasCursor_) emitCursor();  // the label under the cursor may have changed
  return ok;
}

void SliceView::labelsModified() { invalidateSlice(); }

void SliceView::setClassList(const ClassList& classes) {
  classes_ = classes;
  invalidateSlice();
}

void SliceView::setLabelOpacity(double opacity) {
  labelOpacity_ = std::clamp(opacity, 0.0, 1.0);
  invalidateSlice();
}

void SliceView::setLabelMode(LabelMode mode) {
  if (mode == labelMode_) return;
  labelMode_ = mode;
  invalidateSlice();
}

void SliceView::setLabelVisible(int labelId, bool visible) {
  if (labelId < 0 || labelId > 255 || labelVisible_[labelId] == visible) return;
  labelVisible_[labelId] = visible;
  invalidateSlice();
}

bool SliceView::isLabelVisible(int labelId) const { return labelId >= 0 && labelId <= 255 && labelVisible_[labelId]; }

void SliceView::setLabelsVisible(bool visible) {
  if (visible == labelsVisible_) return;
  labelsVisible_ = visible;
  invalidateSlice();
}

bool SliceView::setDifference(std::shared_ptr<const LabelVolume> difference) {
  bool ok = true;
  if (difference && (!image_ || !consistent(difference->geometry, difference->voxels.size()) ||
                     !sameSize(difference->geometry, image_->geometry))) {
    qWarning("SliceView::setDifference: volume does not match the image grid");
    difference.reset();
    ok = false;
  }
  difference_ = std::move(difference);
  invalidateSlice();
  return ok;
}

void SliceView::differenceModified() { invalidateSlice(); }

void SliceView::setDifferenceColor(const QColor& color) {
  differenceColor_ = color;
  invalidateSlice();
}

void SliceView::setDifferenceOpacity(double opacity) {
  differenceOpacity_ = std::clamp(opacity, 0.0, 1.0);
  invalidateSlice();
}

void SliceView::setDifferenceVisible(bool visible) {
  if (visible == differenceVisible_) return;
  differenceVisible_ = visible;
  invalidateSlice();
}

// ---- slice / orientation / window -------------------------------------------------------

void SliceView::updateSliceProps() {
  if (!image_) return;
  invalidateSlice();
  updateCamera();
  updateCursorActor();
  updateAnnotations();
}

void SliceView::setOrientation(Orientation orientation) {
  if (orientation == orientation_) return;
  orientation_ = orientation;
  zoom_ = 1.0;
  pan_ = QPointF(0.0, 0.0);
  if (image_) {
    slice_ = hasCursor_ ? cursor_[static_cast<size_t>(orientation_)] : sliceCount() / 2;
    updateSliceProps();
  }
  emit orientationChanged(orientation_);
  emit sliceChanged(slice_);
  emit cameraChanged();
}

void SliceView::setSlice(int slice) {
  if (!image_) return;
  slice = std::clamp(slice, 0, sliceCount() - 1);
  if (slice == slice_) return;
  slice_ = slice;
  updateSliceProps();
  emit sliceChanged(slice_);
}

void SliceView::setWindowLevel(double window, double level) {
  window = std::max(1.0, window);
  if (window == window_ && level == level_) return;
  window_ = window;
  level_ = level;
  invalidateSlice();  // the window/level is applied when the slice is composed
  updateAnnotations();
  emit windowLevelChanged(window_, level_);
}

void SliceView::applyPreset(WindowPreset preset) {
  const WindowLevel wl = presetWindowLevel(preset);
  setWindowLevel(wl.window, wl.level);
}

// ---- camera -----------------------------------------------------------------------------

void SliceView::setZoom(double zoom) {
  zoom = std::clamp(zoom, 0.05, 100.0);
  if (zoom == zoom_) return;
  zoom_ = zoom;
  updateCamera();
  requestRender();
  emit cameraChanged();
}

void SliceView::setPan(const QPointF& panMm) {
  if (panMm == pan_) return;
  pan_ = panMm;
  updateCamera();
  updateCursorActor();
  requestRender();
  emit cameraChanged();
}

void SliceView::resetView() {
  if (zoom_ == 1.0 && pan_.isNull()) return;
  zoom_ = 1.0;
  pan_ = QPointF(0.0, 0.0);
  updateCamera();
  requestRender();
  emit cameraChanged();
}

void SliceView::zoomAbout(double factor, const QPointF& widgetPos) {
  if (!image_) return;
  const double oldWpp = worldPerDevicePixel();
  const double newZoom = std::clamp(zoom_ * factor, 0.05, 100.0);
  if (newZoom == zoom_) return;
  zoom_ = newZoom;
  const double newWpp = worldPerDevicePixel();
  // Keep the point under the mouse fixed on screen.
  const double dpr = devicePixelRatioF();
  const QSize ds = deviceSize();
  const double sx = widgetPos.x() * dpr - ds.width() / 2.0;
  const double sy = ds.height() / 2.0 - widgetPos.y() * dpr;
  pan_ += QPointF(sx * (oldWpp - newWpp), sy * (oldWpp - newWpp));
  updateCamera();
  requestRender();
  emit cameraChanged();
}

// ---- cursor -----------------------------------------------------------------------------

void SliceView::setCursorVoxel(int x, int y, int z) {
  if (!image_) return;
  const auto& s = image_->geometry.size;
  const std::array<int, 3> v{std::clamp(x, 0, static_cast<int>(s[0]) - 1), std::clamp(y, 0, static_cast<int>(s[1]) - 1),
                             std::clamp(z, 0, static_cast<int>(s[2]) - 1)};
  if (hasCursor_ && v == cursor_) return;
  hasCursor_ = true;
  cursor_ = v;
  updateCursorActor();
  requestRender();
  emitCursor();
}

void SliceView::emitCursor() {
  emit cursorMoved(cursor_[0], cursor_[1], cursor_[2], huAt(cursor_[0], cursor_[1], cursor_[2]),
                   labelAt(cursor_[0], cursor_[1], cursor_[2]));
}

void SliceView::setCursorVisible(bool visible) {
  cursorVisible_ = visible;
  updateCursorActor();
  requestRender();
}

void SliceView::updateCursorActor() {
  if (!image_ || !hasCursor_ || !cursorVisible_) {
    cursorActor_->SetVisibility(false);
    return;
  }
  const Axes a = axes();
  const auto& g = image_->geometry;
  const Vec3 dop = cross(a.up, a.right);
  Vec3 c{};
  for (int i = 0; i < 3; ++i) c[i] = cursor_[i] * g.spacing[i];
  // Half a voxel in front of the slice (towards the camera) so it is never hidden.
  c[a.normal] = slice_ * g.spacing[a.normal] - dop[a.normal] * 0.5 * g.spacing[a.normal];
  const int h = a.horizontal, v = a.vertical;
  const double h0 = -0.5 * g.spacing[h], h1 = (g.size[h] - 0.5) * g.spacing[h];
  const double v0 = -0.5 * g.spacing[v], v1 = (g.size[v] - 0.5) * g.spacing[v];
  Vec3 p = c;
  p[h] = h0;
  cursorPoints_->SetPoint(0, p.data());
  p[h] = h1;
  cursorPoints_->SetPoint(1, p.data());
  p = c;
  p[v] = v0;
  cursorPoints_->SetPoint(2, p.data());
  p[v] = v1;
  cursorPoints_->SetPoint(3, p.data());
  cursorPoints_->Modified();
  cursorPolyData_->Modified();
  cursorActor_->SetVisibility(true);
}

// ---- annotations ------------------------------------------------------------------------

void SliceView::setAnnotationsVisible(bool visible) {
  annotationsVisible_ = visible;
  updateAnnotations();
  requestRender();
}

void SliceView::updateAnnotations() {
  const bool show = annotationsVisible_ && image_;
  for (auto& t : edgeLetters_) t->SetVisibility(show);
  sliceText_->SetVisibility(show);
  windowText_->SetVisibility(show);
  if (!show) return;
  const Axes a = axes();
  const auto& g = image_->geometry;
  const Vec3 left{-a.right[0], -a.right[1], -a.right[2]};
  const Vec3 down{-a.up[0], -a.up[1], -a.up[2]};
  edgeLetters_[0]->SetInput(letterFor(g, left).toUtf8().constData());
  edgeLetters_[1]->SetInput(letterFor(g, a.right).toUtf8().constData());
  edgeLetters_[2]->SetInput(letterFor(g, a.up).toUtf8().constData());
  edgeLetters_[3]->SetInput(letterFor(g, down).toUtf8().constData());
  const QString st = QStringLiteral("%1 %2/%3").arg(orientationName(orientation_)).arg(slice_ + 1).arg(sliceCount());
  sliceText_->SetInput(st.toUtf8().constData());
  const QString wt = QStringLiteral("W %1  L %2").arg(window_, 0, 'f', 0).arg(level_, 0, 'f', 0);
  windowText_->SetInput(wt.toUtf8().constData());
}

// ---- Qt events --------------------------------------------------------------------------

void SliceView::mousePressEvent(QMouseEvent* e) {
  lastMousePos_ = e->position();
  const bool ctrl = e->modifiers() & Qt::ControlModifier;
  if (e->button() == Qt::LeftButton && !ctrl) {
    drag_ = Drag::Cursor;
    std::array<int, 3> v{};
    if (voxelAtWidgetPos(e->position(), v)) setCursorVoxel(v[0], v[1], v[2]);
  } else if (e->button() == Qt::MiddleButton || (e->button() == Qt::LeftButton && ctrl)) {
    drag_ = Drag::Pan;
  } else if (e->button() == Qt::RightButton) {
    drag_ = Drag::WindowLevel;
  }
  e->accept();
}

void SliceView::mouseMoveEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  const QPointF d = pos - lastMousePos_;
  lastMousePos_ = pos;
  std::array<int, 3> v{};
  const bool inside = voxelAtWidgetPos(pos, v);
  switch (drag_) {
    case Drag::Cursor:
      if (inside) setCursorVoxel(v[0], v[1], v[2]);
      break;
    case Drag::Pan: {
      const double step = worldPerDevicePixel() * devicePixelRatioF();
      setPan(QPointF(pan_.x() - d.x() * step, pan_.y() + d.y() * step));
      break;
    }
    case Drag::WindowLevel: {
      const double step = std::max(window_, 10.0) * 0.005;
      setWindowLevel(window_ + d.x() * step, level_ + d.y() * step);
      break;
    }
    case Drag::None: break;
  }
  if (inside)
    emit voxelHovered(v[0], v[1], v[2], huAt(v[0], v[1], v[2]), labelAt(v[0], v[1], v[2]));
  else
    emit voxelHovered(-1, -1, -1, std::numeric_limits<double>::quiet_NaN(), 0);
  e->accept();
}

void SliceView::mouseReleaseEvent(QMouseEvent* e) {
  drag_ = Drag::None;
  e->accept();
}

void SliceView::leaveEvent(QEvent* e) {
  emit voxelHovered(-1, -1, -1, std::numeric_limits<double>::quiet_NaN(), 0);
  VtkOpenGLView::leaveEvent(e);
}

void SliceView::wheelEvent(QWheelEvent* e) {
  wheelAccumulator_ += e->angleDelta().y();
  const int steps = wheelAccumulator_ / 120;  // one step per 120 (high-resolution wheels)
  wheelAccumulator_ -= steps * 120;
  if (steps != 0) {
    if (e->modifiers() & Qt::ControlModifier)
      zoomAbout(std::pow(1.15, steps), e->position());
    else
      setSlice(slice_ + steps);
  }
  e->accept();
}

void SliceView::keyPressEvent(QKeyEvent* e) {
  switch (e->key()) {
    case Qt::Key_Up: setSlice(slice_ + 1); break;
    case Qt::Key_Down: setSlice(slice_ - 1); break;
    case Qt::Key_PageUp: setSlice(slice_ + 10); break;
    case Qt::Key_PageDown: setSlice(slice_ - 10); break;
    case Qt::Key_Home: setSlice(0); break;
    case Qt::Key_End: setSlice(sliceCount() - 1); break;
    case Qt::Key_R: resetView(); break;
    default: VtkOpenGLView::keyPressEvent(e); return;
  }
  e->accept();
}

void SliceView::resizeEvent(QResizeEvent* e) {
  VtkOpenGLView::resizeEvent(e);
  updateCamera();  // the fitted scale depends on the aspect ratio
  requestRender();
}

}  // namespace mqb
