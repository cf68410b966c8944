#pragma once
// 3D view of a label map's organ surfaces (vtkDiscreteFlyingEdges3D, one surface per
// visible label, coloured from the class list), in a VtkOpenGLView with trackball
// interaction. Two views can share one camera (linkCamera), so the FP32 and quantized
// surfaces turn together. World space = voxel index * spacing, like SliceView.
// Label maps are subsampled (every n-th voxel, nearest) towards isotropic voxels of the
// coarsest spacing and to at most maxVoxels().
//
// Threading: surface extraction (flying edges, smoothing, normals) costs hundreds of ms on
// a large label map, so it runs on a pool thread (QtConcurrent) on a private copy of the
// inputs; the finished vtkPolyData is handed to the GUI thread, which only swaps it in.
// Every job runs under its own core Feedback: a newer request (a new run's labels, a
// visibility change) cancels the older job, and so does destroying the view (closing the
// window), so no stale extraction keeps a core busy. surfacesReady() is emitted when the
// surfaces on display match the last request.
#include "VtkOpenGLView.h"

#include "io/ClassInfo.h"
#include "support/Feedback.h"
#include "io/Volume.h"

#include <array>
#include <memory>
#include <set>

#include <QPointer>

class vtkActor;
class vtkCamera;
class vtkLookupTable;
class vtkPolyData;

namespace mqb {

class SurfaceView : public VtkOpenGLView {
  Q_OBJECT
 public:
  explicit SurfaceView(QWidget* parent = nullptr);
  ~SurfaceView() override;

  // Rebuilds the surfaces in the background (nullptr clears at once).
  void setLabels(std::shared_ptr<const LabelVolume> labels);
  void setClassList(const ClassList& classes);
  void setLabelVisible(int id, bool visible);
  void setTitle(const QString& title);
  static int64_t maxVoxels() { return 3'000'000; }
  // Triangle budget of one view's surfaces (decimated above it).
  static int64_t maxTriangles() { return 60'000; }

  // Both views use `other`'s camera from now on; rendering one re-renders the other.
  void linkCamera(SurfaceView* other);
  vtkCamera* camera() const;
  void resetCamera();
  int surfaceCount() const { return surfaces_; }  // labels with a non-empty surface
  vtkPolyData* surfaces() const;
  bool isBuilding() const { return building_; }
  // Blocks (processing events) until the surfaces are up to date or the timeout; true if so.
  bool waitUntilBuilt(int timeoutMs);

  // Result of one extraction (pool thread -> GUI thread).
  struct Extraction {
    vtkSmartPointer<vtkPolyData> poly;
    int surfaces = 0;
  };
  // The extraction itself, on any thread: surfaces of the visible labels present in
  // `labels` (subsampled to maxVoxels()), smoothed, with normals. Thread-safe. Reports its
  // stages to `feedback` and throws mqb::Canceled between (and inside) them once it is
  // canceled.
  static Extraction extract(const LabelVolume& labels, const std::array<bool, 256>& visible,
                            Feedback* feedback = nullptr);
  // The Feedback of the extraction in progress (null when none): tests cancel through it.
  std::shared_ptr<Feedback> extractionFeedback() const { return building_ ? feedback_ : nullptr; }

 signals:
  void surfacesReady();

 private:
  void scheduleExtraction();
  void applyExtraction(uint64_t generation, const Extraction& e);
  void updateLut();
  void onCameraModified();

  std::shared_ptr<const LabelVolume> labels_;
  ClassList classes_;
  std::array<bool, 256> visible_{};
  uint64_t generation_ = 0;
  bool building_ = false;
  std::shared_ptr<Feedback> feedback_;  // of the newest job
  vtkSmartPointer<vtkPolyData> poly_;
  vtkSmartPointer<vtkActor> actor_;
  vtkSmartPointer<vtkLookupTable> lut_;
  QList<QPointer<SurfaceView>> linked_;
  unsigned long cameraObserver_ = 0;
  int surfaces_ = 0;
  bool firstBuild_ = true;
};

}  // namespace mqb
