#include "SliceView.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QResizeEvent>
#include <QWheelEvent>
#include <QtDebug>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkImageSlice.h>
#include <vtkImageSliceMapper.h>
#include <vtkImageStack.h>
#include <vtkLookupTable.h>
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
  return g.size[0] > 0 && g.size[1] > 0 && g.size[2] > 0 &&
         g.size[0] < std::numeric_limits<int>::max() && g.size[1] < std::numeric_limits<int>::max() &&
         g.size[2] < std::numeric_limits<int>::max() &&
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

QColor SliceView::fallbackLabelColor(int labelId) {
  // Golden-angle hue steps give distinct neighbouring colours.
  return QColor::fromHsv((labelId * 137) % 360, 200, 240);
}

// ---- construction -----------------------------------------------------------------------

SliceView::SliceView(QWidget* parent) : VtkOpenGLView(parent) {
  // All interaction is handled in the Qt event handlers below.
  interactor()->SetInteractorStyle(nullptr);
  labelVisible_.fill(true);

  stack_ = vtkSmartPointer<vtkImageStack>::New();

  ctMapper_ = vtkSmartPointer<vtkImageSliceMapper>::New();
  ctMapper_->BorderOn();  // show the full extent of the edge voxels
  ctSlice_ = vtkSmartPointer<vtkImageSlice>::New();
  ctSlice_->SetMapper(ctMapper_);
  ctSlice_->GetProperty()->SetColorWindow(window_);
  ctSlice_->GetProperty()->SetColorLevel(level_);
  ctSlice_->GetProperty()->SetInterpolationTypeToLinear();
  ctSlice_->GetProperty()->SetLayerNumber(0);
  ctSlice_->PickableOff();
  stack_->AddImage(ctSlice_);
  stack_->SetActiveLayer(0);

  labelMapper_ = vtkSmartPointer<vtkImageSliceMapper>::New();
  labelMapper_->BorderOn();
  labelSlice_ = vtkSmartPointer<vtkImageSlice>::New();
  labelSlice_->SetMapper(labelMapper_);
  labelSlice_->GetProperty()->SetInterpolationTypeToNearest();
  labelSlice_->GetProperty()->SetUseLookupTableScalarRange(1);
  labelSlice_->GetProperty()->SetLayerNumber(1);
  labelSlice_->GetProperty()->SetOpacity(labelOpacity_);
  labelSlice_->PickableOff();

  diffMapper_ = vtkSmartPointer<vtkImageSliceMapper>::New();
  diffMapper_->BorderOn();
  diffSlice_ = vtkSmartPointer<vtkImageSlice>::New();
  diffSlice_->SetMapper(diffMapper_);
  diffSlice_->GetProperty()->SetInterpolationTypeToNearest();
  diffSlice_->GetProperty()->SetUseLookupTableScalarRange(1);
  diffSlice_->GetProperty()->SetLayerNumber(2);
  diffSlice_->GetProperty()->SetOpacity(differenceOpacity_);
  diffSlice_->PickableOff();
  rebuildLabelLut();
  rebuildDifferenceLut();

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
  Axes a{};
  a.normal = static_cast<int>(orientation_);
  switch (orientation_) {
    case Orientation::Axial:  // patient left to the right, anterior up
      a.horizontal = 0;
      a.vertical = 1;
      a.right = unit(0, axisSign_[0]);
      a.up = unit(1, -axisSign_[1]);
      break;
    case Orientation::Coronal:  // patient left to the right, superior up
      a.horizontal = 0;
      a.vertical = 2;
      a.right = unit(0, axisSign_[0]);
      a.up = unit(2, axisSign_[2]);
      break;
    case Orientation::Sagittal:  // posterior to the right, superior up
      a.horizontal = 1;
      a.vertical = 2;
      a.right = unit(1, axisSign_[1]);
      a.up = unit(2, axisSign_[2]);
      break;
  }
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
  if (x < 0 || y < 0 || z < 0 || x >= s[0] || y >= s[1] || z >= s[2])
    return std::numeric_limits<double>::quiet_NaN();
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
    qWarning("SliceView::setImage: empty or inconsistent volume (%s, %zu voxels)",
             image->geometry.describe().c_str(), image->voxels.size());
    image.reset();
  }
  const bool ok = image != nullptr;
  image_ = std::move(image);
  hasCursor_ = false;
  zoom_ = 1.0;
  pan_ = QPointF(0.0, 0.0);

  if (!image_) {
    if (stackInRenderer_) renderer()->RemoveViewProp(stack_);
    stackInRenderer_ = false;
    ctData_ = nullptr;
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
  for (int a = 0; a < 3; ++a) {  // sign of each index axis's dominant physical component
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::abs(g.direction[r * 3 + a]) > std::abs(g.direction[best * 3 + a])) best = r;
    axisSign_[a] = g.direction[best * 3 + a] < 0 ? -1 : 1;
  }

  // Zero-copy: VTK reads the voxel vector in place (save=1: VTK never frees it). x-fastest
  // order is VTK's point order. image_ keeps the memory alive while it is shown.
  auto scalars = vtkSmartPointer<vtkFloatArray>::New();
  scalars->SetNumberOfComponents(1);
  scalars->SetArray(const_cast<float*>(image_->voxels.data()),
                    static_cast<vtkIdType>(image_->voxels.size()), 1);
  scalars->SetName("HU");
  ctData_ = vtkSmartPointer<vtkImageData>::New();
  ctData_->SetDimensions(static_cast<int>(g.size[0]), static_cast<int>(g.size[1]),
                         static_cast<int>(g.size[2]));
  ctData_->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
  ctData_->SetOrigin(0.0, 0.0, 0.0);
  ctData_->GetPointData()->SetScalars(scalars);
  ctMapper_->SetInputData(ctData_);

  if (labels_ && !sameSize(labels_->geometry, g)) setLabels(nullptr);
  if (difference_ && !sameSize(difference_->geometry, g)) setDifference(nullptr);

  if (!stackInRenderer_) renderer()->AddViewProp(stack_);
  stackInRenderer_ = true;
  slice_ = sliceCount() / 2;
  updateSliceProps();
  emit sliceChanged(slice_);
  emit cameraChanged();
  return ok;
}

void SliceView::imageModified() {
  if (!ctData_) return;
  ctData_->GetPointData()->GetScalars()->Modified();
  ctData_->Modified();
  requestRender();
}

void SliceView::setSmoothing(bool linear) {
  smoothing_ = linear;
  if (linear)
    ctSlice_->GetProperty()->SetInterpolationTypeToLinear();
  else
    ctSlice_->GetProperty()->SetInterpolationTypeToNearest();
  requestRender();
}

// ---- overlays ---------------------------------------------------------------------------

vtkSmartPointer<vtkImageData> SliceView::extractSlice(const LabelVolume& volume, bool outline) const {
  const Axes a = axes();
  const auto& g = volume.geometry;
  const int nh = static_cast<int>(g.size[a.horizontal]);
  const int nv = static_cast<int>(g.size[a.vertical]);
  std::vector<uint8_t> raw(static_cast<size_t>(nh) * nv);
  int idx[3] = {0, 0, 0};
  idx[a.normal] = slice_;
  for (int iv = 0; iv < nv; ++iv) {
    idx[a.vertical] = iv;
    for (int ih = 0; ih < nh; ++ih) {
      idx[a.horizontal] = ih;
      raw[static_cast<size_t>(iv) * nh + ih] = volume.at(idx[0], idx[1], idx[2]);
    }
  }

  // The slice is a one-voxel-thick image at the slice position, so it is drawn in the same
  // plane as the CT slice. Memory order (lower axis fastest) is iv * nh + ih because the
  // horizontal axis is always the lower-numbered in-plane axis.
  int extent[6] = {0, static_cast<int>(g.size[0]) - 1, 0, static_cast<int>(g.size[1]) - 1, 0,
                   static_cast<int>(g.size[2]) - 1};
  extent[2 * a.normal] = extent[2 * a.normal + 1] = slice_;
  auto data = vtkSmartPointer<vtkImageData>::New();
  data->SetExtent(extent);
  data->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
  data->SetOrigin(0.0, 0.0, 0.0);
  data->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
  auto* out = static_cast<uint8_t*>(data->GetScalarPointer());
  if (!outline) {
    std::copy(raw.begin(), raw.end(), out);
    return data;
  }
  for (int iv = 0; iv < nv; ++iv) {
    for (int ih = 0; ih < nh; ++ih) {
      const size_t i = static_cast<size_t>(iv) * nh + ih;
      const uint8_t v = raw[i];
      bool edge = false;
      if (v != 0) {
        edge = ih == 0 || iv == 0 || ih == nh - 1 || iv == nv - 1 || raw[i - 1] != v ||
               raw[i + 1] != v || raw[i - nh] != v || raw[i + nh] != v;
      }
      out[i] = edge ? v : 0;
    }
  }
  return data;
}

void SliceView::rebuildLabelLut() {
  auto lut = vtkSmartPointer<vtkLookupTable>::New();
  lut->SetNumberOfTableValues(256);
  lut->SetTableRange(0.0, 255.0);
  lut->Build();
  std::array<QColor, 256> colors;
  for (int i = 0; i < 256; ++i) colors[i] = fallbackLabelColor(i);
  for (const ClassInfo& c : classes_) {
    if (c.id >= 0 && c.id < 256) colors[c.id] = QColor(c.color[0], c.color[1], c.color[2]);
  }
  for (int i = 0; i < 256; ++i) {
    const double alpha = (i == 0 || !labelVisible_[i]) ? 0.0 : 1.0;
    lut->SetTableValue(i, colors[i].redF(), colors[i].greenF(), colors[i].blueF(), alpha);
  }
  labelLut_ = lut;
  labelSlice_->GetProperty()->SetLookupTable(labelLut_);
}

void SliceView::rebuildDifferenceLut() {
  auto lut = vtkSmartPointer<vtkLookupTable>::New();
  lut->SetNumberOfTableValues(256);
  lut->SetTableRange(0.0, 255.0);
  lut->Build();
  lut->SetTableValue(0, 0.0, 0.0, 0.0, 0.0);
  for (int i = 1; i < 256; ++i) {
    lut->SetTableValue(i, differenceColor_.redF(), differenceColor_.greenF(),
                       differenceColor_.blueF(), 1.0);
  }
  diffLut_ = lut;
  diffSlice_->GetProperty()->SetLookupTable(diffLut_);
}

void SliceView::rebuildLabelSlice() {
  const bool show = image_ && labels_ && labelsVisible_;
  if (show) {
    labelMapper_->SetInputData(extractSlice(*labels_, labelMode_ == LabelMode::Outline));
    labelMapper_->SetOrientation(static_cast<int>(orientation_));
    labelMapper_->SetSliceNumber(slice_);
    if (!labelInStack_) stack_->AddImage(labelSlice_);
    labelInStack_ = true;
  } else if (labelInStack_) {
    stack_->RemoveImage(labelSlice_);
    labelInStack_ = false;
  }
}

void SliceView::rebuildDifferenceSlice() {
  const bool show = image_ && difference_ && differenceVisible_;
  if (show) {
    diffMapper_->SetInputData(extractSlice(*difference_, false));
    diffMapper_->SetOrientation(static_cast<int>(orientation_));
    diffMapper_->SetSliceNumber(slice_);
    if (!diffInStack_) stack_->AddImage(diffSlice_);
    diffInStack_ = true;
  } else if (diffInStack_) {
    stack_->RemoveImage(diffSlice_);
    diffInStack_ = false;
  }
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
  rebuildLabelSlice();
  if (hasCursor_) emitCursor();  // the label under the cursor may have changed
  requestRender();
  return ok;
}

void SliceView::labelsModified() {
  rebuildLabelSlice();
  requestRender();
}

void SliceView::setClassList(const ClassList& classes) {
  classes_ = classes;
  rebuildLabelLut();
  requestRender();
}

void SliceView::setLabelOpacity(double opacity) {
  labelOpacity_ = std::clamp(opacity, 0.0, 1.0);
  labelSlice_->GetProperty()->SetOpacity(labelOpacity_);
  requestRender();
}

void SliceView::setLabelMode(LabelMode mode) {
  if (mode == labelMode_) return;
  labelMode_ = mode;
  rebuildLabelSlice();
  requestRender();
}

void SliceView::setLabelVisible(int labelId, bool visible) {
  if (labelId < 0 || labelId > 255 || labelVisible_[labelId] == visible) return;
  labelVisible_[labelId] = visible;
  rebuildLabelLut();
  requestRender();
}

bool SliceView::isLabelVisible(int labelId) const {
  return labelId >= 0 && labelId <= 255 && labelVisible_[labelId];
}

void SliceView::setLabelsVisible(bool visible) {
  if (visible == labelsVisible_) return;
  labelsVisible_ = visible;
  rebuildLabelSlice();
  requestRender();
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
  rebuildDifferenceSlice();
  requestRender();
  return ok;
}

void SliceView::differenceModified() {
  rebuildDifferenceSlice();
  requestRender();
}

void SliceView::setDifferenceColor(const QColor& color) {
  differenceColor_ = color;
  rebuildDifferenceLut();
  requestRender();
}

void SliceView::setDifferenceOpacity(double opacity) {
  differenceOpacity_ = std::clamp(opacity, 0.0, 1.0);
  diffSlice_->GetProperty()->SetOpacity(differenceOpacity_);
  requestRender();
}

void SliceView::setDifferenceVisible(bool visible) {
  if (visible == differenceVisible_) return;
  differenceVisible_ = visible;
  rebuildDifferenceSlice();
  requestRender();
}

// ---- slice / orientation / window -------------------------------------------------------

void SliceView::updateSliceProps() {
  if (!image_) return;
  ctMapper_->SetOrientation(static_cast<int>(orientation_));
  ctMapper_->SetSliceNumber(slice_);
  rebuildLabelSlice();
  rebuildDifferenceSlice();
  updateCamera();
  updateCursorActor();
  updateAnnotations();
  requestRender();
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
  ctSlice_->GetProperty()->SetColorWindow(window_);
  ctSlice_->GetProperty()->SetColorLevel(level_);
  updateAnnotations();
  requestRender();
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
  const std::array<int, 3> v{std::clamp(x, 0, static_cast<int>(s[0]) - 1),
                             std::clamp(y, 0, static_cast<int>(s[1]) - 1),
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
  const QString st =
      QStringLiteral("%1 %2/%3").arg(orientationName(orientation_)).arg(slice_ + 1).arg(sliceCount());
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
    case Drag::None:
      break;
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
