#pragma once
// 3D view of a label map's organ surfaces (vtkDiscreteFlyingEdges3D, one surface per
// visible label, coloured from the class list), in a VtkOpenGLView with trackball
// interaction. Two views can share one camera (linkCamera), so the FP32 and quantized
// surfaces turn together. World space = voxel index * spacing, like SliceView.
// Large volumes are subsampled (every n-th voxel, nearest) to at most maxVoxels().
#include "VtkOpenGLView.h"

#include "ClassInfo.h"
#include "Volume.h"

#include <array>
#include <memory>
#include <set>

#include <QPointer>

class vtkActor;
class vtkCamera;
class vtkImageData;
class vtkLookupTable;
class vtkPolyData;

namespace mqb {

class SurfaceView : public VtkOpenGLView {
  Q_OBJECT
 public:
  explicit SurfaceView(QWidget* parent = nullptr);
  ~SurfaceView() override;

  // Rebuilds the surfaces (synchronous; cost ~ voxel count). nullptr clears.
  void setLabels(std::shared_ptr<const LabelVolume> labels);
  void setClassList(const ClassList& classes);
  void setLabelVisible(int id, bool visible);
  void setTitle(const QString& title);
  static int64_t maxVoxels() { return 12'000'000; }

  // Both views use `other`'s camera from now on; rendering one re-renders the other.
  void linkCamera(SurfaceView* other);
  vtkCamera* camera() const;
  void resetCamera();
  int surfaceCount() const { return surfaces_; }  // labels with a non-empty surface
  vtkPolyData* surfaces() const;

 private:
  void rebuild();
  void extract();
  void updateLut();
  void onCameraModified();

  std::shared_ptr<const LabelVolume> labels_;
  ClassList classes_;
  std::array<bool, 256> visible_{};
  vtkSmartPointer<vtkImageData> image_;
  std::set<int> present_;
  vtkSmartPointer<vtkPolyData> poly_;
  vtkSmartPointer<vtkActor> actor_;
  vtkSmartPointer<vtkLookupTable> lut_;
  QList<QPointer<SurfaceView>> linked_;
  unsigned long cameraObserver_ = 0;
  int surfaces_ = 0;
  bool firstBuild_ = true;
};

}  // namespace mqb
