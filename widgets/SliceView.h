#pragma once
// 2D slice viewer for a CT volume with a segmentation overlay and an optional
// "difference" overlay, on top of VtkOpenGLView (VTK 9.1 inside a Qt 6 QOpenGLWidget).
//
// Display space: the volume is shown in its own voxel index space scaled by the voxel
// spacing (so aspect ratios are right), i.e. world point = index .* spacing; the image
// origin is ignored and the direction matrix is NOT resampled. The direction matrix only
// chooses, per index axis, which way the axis runs on screen, so that for volumes whose
// direction is (close to) a signed permutation of the identity the radiological convention
// holds: axial = patient right on the screen's left, anterior up; coronal = patient right
// on the left, superior up; sagittal = anterior on the left, superior up. "Axial",
// "coronal" and "sagittal" name the index axis normal to the slice (k, j, i); for a volume
// acquired in another plane they are the slices of that index axis. The orientation
// letters drawn at the edges are computed from the actual direction matrix.
//
// Rendering: the slice on screen (CT under the window/level, label and difference
// overlays) is composed on the CPU into one RGBA image (SliceCompositor.h says why) and
// drawn as a single opaque vtkImageSlice. Composition is lazy: changes mark the slice dirty
// and it is composed once, just before the next render, however many setters ran.
// The view keeps the shared_ptrs of the volumes; the caller must not resize or free the
// voxels while the view shows them. After changing voxels in place, call imageModified() /
// labelsModified() / differenceModified().
//
// Mouse: wheel = slice, ctrl+wheel = zoom (about the mouse), right-drag = window/level
// (horizontal = window, vertical = level), middle-drag or ctrl+left-drag = pan,
// left-click/drag = cursor. Keys: Up/Down/PageUp/PageDown = slice, Home/End = first/last
// slice, R = reset zoom/pan.
#include "VtkOpenGLView.h"

#include "io/ClassInfo.h"
#include "io/Volume.h"

#include <QColor>
#include <QPointF>
#include <QString>

#include <array>
#include <memory>
#include <vector>

class vtkActor;
class vtkImageData;
class vtkImageSlice;
class vtkImageSliceMapper;
class vtkPoints;
class vtkPolyData;
class vtkTextActor;

namespace mqb {

class SliceView : public VtkOpenGLView {
  Q_OBJECT
 public:
  // The value is the index axis normal to the slice.
  enum class Orientation { Sagittal = 0, Coronal = 1, Axial = 2 };
  Q_ENUM(Orientation)
  enum class LabelMode { Fill, Outline };
  Q_ENUM(LabelMode)
  enum class WindowPreset { Abdomen, Bone, Lung, Brain };
  Q_ENUM(WindowPreset)

  struct WindowLevel {
    double window = 350.0;
    double level = 40.0;
  };
  // Abdomen 350/40, bone 1000/400, lung 1400/-500, brain 80/40 (HU).
  static WindowLevel presetWindowLevel(WindowPreset preset);
  static QString presetName(WindowPreset preset);  // "Abdomen", "Bone", ...
  static std::vector<WindowPreset> allPresets();
  static QString orientationName(Orientation orientation);  // "Axial", ...

  explicit SliceView(QWidget* parent = nullptr);
  ~SliceView() override;

  // ---- image --------------------------------------------------------------------------
  // Shows `image` (nullptr clears). Resets slice to the middle and the view to fit.
  // Labels / difference volumes with another size are dropped. Returns false (and shows
  // nothing) if the volume is empty or its voxel count does not match its geometry.
  bool setImage(std::shared_ptr<const ImageVolume> image);
  std::shared_ptr<const ImageVolume> image() const { return image_; }
  void imageModified();  // voxel values changed in place

  // ---- label overlay ------------------------------------------------------------------
  // Label ids index the ClassList colours (ids without a class get a fallback colour).
  // Returns false if the size differs from the image's (the overlay is then cleared).
  bool setLabels(std::shared_ptr<const LabelVolume> labels);
  std::shared_ptr<const LabelVolume> labels() const { return labels_; }
  void labelsModified();
  void setClassList(const ClassList& classes);
  const ClassList& classList() const { return classes_; }
  void setLabelOpacity(double opacity);  // 0..1, default 0.5
  double labelOpacity() const { return labelOpacity_; }
  void setLabelMode(LabelMode mode);  // default Fill
  LabelMode labelMode() const { return labelMode_; }
  void setLabelVisible(int labelId, bool visible);  // per label id (1..255)
  bool isLabelVisible(int labelId) const;
  void setLabelsVisible(bool visible);  // the whole overlay
  bool labelsVisible() const { return labelsVisible_; }
  static QColor fallbackLabelColor(int labelId);

  // ---- difference overlay -------------------------------------------------------------
  // Nonzero voxels are drawn in differenceColor() (e.g. voxels where two models disagree).
  bool setDifference(std::shared_ptr<const LabelVolume> difference);
  std::shared_ptr<const LabelVolume> difference() const { return difference_; }
  void differenceModified();
  void setDifferenceColor(const QColor& color);  // default magenta
  QColor differenceColor() const { return differenceColor_; }
  void setDifferenceOpacity(double opacity);  // default 0.8
  double differenceOpacity() const { return differenceOpacity_; }
  void setDifferenceVisible(bool visible);
  bool differenceVisible() const { return differenceVisible_; }

  // ---- slice / orientation --------------------------------------------------------------
  void setOrientation(Orientation orientation);  // keeps the cursor's slice if there is one
  Orientation orientation() const { return orientation_; }
  int sliceCount() const;  // 0 without image
  int slice() const { return slice_; }
  void setSlice(int slice);  // clamped to [0, sliceCount-1]

  // ---- window / level -----------------------------------------------------------------
  void setWindowLevel(double window, double level);  // window clamped to >= 1
  double window() const { return window_; }
  double level() const { return level_; }
  void applyPreset(WindowPreset preset);
  void setSmoothing(bool linearInterpolation);  // CT interpolation, default linear
  bool smoothing() const { return smoothing_; }

  // ---- camera -------------------------------------------------------------------------
  double zoom() const { return zoom_; }  // 1 = whole slice fits the view
  void setZoom(double zoom);             // clamped to [0.05, 100]
  // Offset of the view centre from the slice centre in mm, along screen right / up.
  QPointF pan() const { return pan_; }
  void setPan(const QPointF& panMm);
  void resetView();  // zoom 1, pan 0

  // ---- cursor -------------------------------------------------------------------------
  bool hasCursor() const { return hasCursor_; }
  std::array<int, 3> cursorVoxel() const { return cursor_; }
  void setCursorVoxel(int x, int y, int z);  // clamped; emits cursorMoved if it changed
  void setCursorVisible(bool visible);       // crosshair drawn once a cursor exists
  bool cursorVisible() const { return cursorVisible_; }

  // ---- coordinates / sampling -----------------------------------------------------------
  // Voxel under a widget position (logical pixels); false if outside the volume.
  bool voxelAtWidgetPos(const QPointF& widgetPos, std::array<int, 3>& voxel) const;
  // Widget position (logical pixels) where a voxel centre is drawn (any slice).
  QPointF widgetPosOfVoxel(double x, double y, double z) const;
  double huAt(int x, int y, int z) const;  // NaN outside / without image
  int labelAt(int x, int y, int z) const;  // 0 outside / without labels

  // CPU time of the last slice composition in ms (what a slice change costs before GL).
  double lastComposeMs() const { return lastComposeMs_; }

  void setAnnotationsVisible(bool visible);  // orientation letters + slice / W/L text
  bool annotationsVisible() const { return annotationsVisible_; }

 signals:
  void sliceChanged(int slice);
  void orientationChanged(mqb::SliceView::Orientation orientation);
  void windowLevelChanged(double window, double level);
  void cameraChanged();  // zoom or pan changed
  void cursorMoved(int x, int y, int z, double hu, int label);
  void voxelHovered(int x, int y, int z, double hu, int label);  // x = -1: left the volume

 protected:
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void beforeVtkRender() override;  // composes the slice if it is dirty
  // Opaque composed slice over an opaque background; text and cursor blend without
  // lowering alpha.
  bool rendersOpaque() const override;

 private:
  struct Axes {
    int normal, horizontal, vertical;
    std::array<double, 3> right, up;  // unit screen directions in world (index*spacing) space
  };
  Axes axes() const;
  double worldPerDevicePixel() const;
  std::array<double, 3> focalPoint() const;
  void updateCamera();
  void updateSliceProps();
  void invalidateSlice();  // the composed slice is out of date: recompose before the next render
  void composeSlice();
  void updateCursorActor();
  void updateAnnotations();
  void zoomAbout(double factor, const QPointF& widgetPos);
  void emitCursor();

  std::shared_ptr<const ImageVolume> image_;
  std::shared_ptr<const LabelVolume> labels_;
  std::shared_ptr<const LabelVolume> difference_;
  ClassList classes_;

  Orientation orientation_ = Orientation::Axial;
  int slice_ = 0;
  double window_ = 350.0;
  double level_ = 40.0;
  bool smoothing_ = true;
  double zoom_ = 1.0;
  QPointF pan_{0.0, 0.0};
  std::array<int, 3> axisSign_{1, 1, 1};

  double labelOpacity_ = 0.5;
  LabelMode labelMode_ = LabelMode::Fill;
  std::array<bool, 256> labelVisible_{};
  bool labelsVisible_ = true;
  QColor differenceColor_{255, 0, 255};
  double differenceOpacity_ = 0.8;
  bool differenceVisible_ = true;

  bool hasCursor_ = false;
  std::array<int, 3> cursor_{0, 0, 0};
  bool cursorVisible_ = true;
  bool annotationsVisible_ = true;

  enum class Drag { None, Cursor, WindowLevel, Pan };
  Drag drag_ = Drag::None;
  QPointF lastMousePos_;
  int wheelAccumulator_ = 0;

  // The composed slice: RGBA, one voxel thick at the slice position, in world space.
  vtkSmartPointer<vtkImageData> sliceData_;
  vtkSmartPointer<vtkImageSliceMapper> sliceMapper_;
  vtkSmartPointer<vtkImageSlice> sliceActor_;
  std::vector<uint8_t> composed_;  // compositor output, reused between slices
  bool sliceDirty_ = true;
  bool sliceInRenderer_ = false;
  // Timing of the last composition (ms), for the benchmark's breakdown.
  double lastComposeMs_ = 0;
  vtkSmartPointer<vtkPoints> cursorPoints_;
  vtkSmartPointer<vtkPolyData> cursorPolyData_;
  vtkSmartPointer<vtkActor> cursorActor_;
  std::array<vtkSmartPointer<vtkTextActor>, 4> edgeLetters_;  // left, right, top, bottom
  vtkSmartPointer<vtkTextActor> sliceText_;
  vtkSmartPointer<vtkTextActor> windowText_;
};

}  // namespace mqb
