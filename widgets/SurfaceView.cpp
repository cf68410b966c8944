#include "SurfaceView.h"

#include <QPointer>

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkCamera.h>
#include <vtkCellData.h>
#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkImageData.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkLookupTable.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace mqb {

SurfaceView::SurfaceView(QWidget* parent) : VtkOpenGLView(parent) {
  visible_.fill(true);
  auto style = vtkSmartPointer<vtkInteractorStyleTrackballCamera>::New();
  interactor()->SetInteractorStyle(style);
  renderer()->SetBackground(0.08, 0.08, 0.1);
  poly_ = vtkSmartPointer<vtkPolyData>::New();
  lut_ = vtkSmartPointer<vtkLookupTable>::New();
  auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
  mapper->SetInputData(poly_);
  mapper->SetLookupTable(lut_);
  mapper->SetScalarRange(0, 255);
  mapper->SetScalarModeToUsePointData();
  mapper->ScalarVisibilityOn();
  mapper->SetColorModeToMapScalars();  // uint8 label scalars would otherwise be taken as colours
  actor_ = vtkSmartPointer<vtkActor>::New();
  actor_->SetMapper(mapper);
  actor_->GetProperty()->SetSpecular(0.2);
  actor_->GetProperty()->SetSpecularPower(20);
  renderer()->AddActor(actor_);
  updateLut();
  auto cb = vtkSmartPointer<vtkCallbackCommand>::New();
  cb->SetClientData(this);
  cb->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
    static_cast<SurfaceView*>(client)->onCameraModified();
  });
  cameraObserver_ = renderer()->GetActiveCamera()->AddObserver(vtkCommand::ModifiedEvent, cb);
}

SurfaceView::~SurfaceView() {
  if (cameraObserver_) renderer()->GetActiveCamera()->RemoveObserver(cameraObserver_);
}

void SurfaceView::onCameraModified() {
  for (auto& v : linked_)
    if (v) v->requestRender();
  requestRender();
}

void SurfaceView::linkCamera(SurfaceView* other) {
  if (!other || other == this) return;
  if (cameraObserver_) renderer()->GetActiveCamera()->RemoveObserver(cameraObserver_);
  cameraObserver_ = 0;
  renderer()->SetActiveCamera(other->camera());
  linked_ << QPointer<SurfaceView>(other);
  other->linked_ << QPointer<SurfaceView>(this);
  requestRender();
}

vtkCamera* SurfaceView::camera() const { return renderer()->GetActiveCamera(); }
vtkPolyData* SurfaceView::surfaces() const { return poly_; }

void SurfaceView::resetCamera() {
  renderer()->ResetCamera();
  requestRender();
}

void SurfaceView::setTitle(const QString& title) {
  setToolTip(title);
  setAccessibleName(title);
}

void SurfaceView::setClassList(const ClassList& classes) {
  classes_ = classes;
  updateLut();
  requestRender();
}

void SurfaceView::setLabelVisible(int id, bool visible) {
  if (id < 0 || id > 255 || visible_[id] == visible) return;
  visible_[id] = visible;
  extract();
}

void SurfaceView::updateLut() {
  lut_->SetNumberOfTableValues(256);
  lut_->SetTableRange(0, 255);
  for (int i = 0; i < 256; ++i) {
    QColor c = QColor::fromHsv((i * 137) % 360, 200, 240);
    for (const auto& k : classes_)
      if (k.id == i) c = QColor(k.color[0], k.color[1], k.color[2]);
    lut_->SetTableValue(i, c.redF(), c.greenF(), c.blueF(), 1.0);
  }
  lut_->Modified();
}

void SurfaceView::setLabels(std::shared_ptr<const LabelVolume> labels) {
  labels_ = std::move(labels);
  rebuild();
}

void SurfaceView::rebuild() {
  surfaces_ = 0;
  if (!labels_ || labels_->voxels.empty()) {
    image_ = nullptr;
    present_.clear();
    poly_->Initialize();
    poly_->Modified();
    requestRender();
    return;
  }
  const auto& g = labels_->geometry;
  // Subsample so the surface extraction stays interactive.
  int step = 1;
  while ((g.size[0] / step) * (g.size[1] / step) * (g.size[2] / step) > maxVoxels()) ++step;
  const int nx = static_cast<int>((g.size[0] + step - 1) / step);
  const int ny = static_cast<int>((g.size[1] + step - 1) / step);
  const int nz = static_cast<int>((g.size[2] + step - 1) / step);
  image_ = vtkSmartPointer<vtkImageData>::New();
  // One voxel of padding so surfaces touching the border are closed.
  image_->SetExtent(-1, nx, -1, ny, -1, nz);
  image_->SetSpacing(g.spacing[0] * step, g.spacing[1] * step, g.spacing[2] * step);
  image_->SetOrigin(0, 0, 0);
  image_->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
  auto* out = static_cast<uint8_t*>(image_->GetScalarPointer());
  std::fill(out, out + static_cast<size_t>(nx + 2) * (ny + 2) * (nz + 2), uint8_t(0));
  present_.clear();
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y) {
      uint8_t* row = out + ((static_cast<size_t>(z + 1) * (ny + 2) + (y + 1)) * (nx + 2)) + 1;
      for (int x = 0; x < nx; ++x) {
        const uint8_t v = labels_->at(int64_t(x) * step, int64_t(y) * step, int64_t(z) * step);
        row[x] = v;
        if (v) present_.insert(v);
      }
    }
  extract();
}

void SurfaceView::extract() {
  surfaces_ = 0;
  std::vector<int> ids;
  for (int id : present_)
    if (visible_[id]) ids.push_back(id);
  if (!image_ || ids.empty()) {
    poly_->Initialize();
    poly_->Modified();
    requestRender();
    return;
  }
  auto fe = vtkSmartPointer<vtkDiscreteFlyingEdges3D>::New();
  fe->SetInputData(image_);
  int i = 0;
  for (int id : ids) fe->SetValue(i++, id);
  fe->ComputeScalarsOn();
  fe->ComputeNormalsOff();
  fe->ComputeGradientsOff();
  auto normals = vtkSmartPointer<vtkPolyDataNormals>::New();
  normals->SetInputConnection(fe->GetOutputPort());
  normals->SetFeatureAngle(60);
  normals->SplittingOff();
  normals->Update();
  poly_->DeepCopy(normals->GetOutput());
  poly_->Modified();
  surfaces_ = static_cast<int>(ids.size());
  if (firstBuild_ && surfaces_ > 0) {
    renderer()->ResetCamera();
    auto* cam = renderer()->GetActiveCamera();
    // Anterior view, superior up (LPS: -y toward the viewer, +z up).
    const double* fp = cam->GetFocalPoint();
    const double d = cam->GetDistance();
    cam->SetPosition(fp[0], fp[1] - d, fp[2]);
    cam->SetViewUp(0, 0, 1);
    renderer()->ResetCamera();
    firstBuild_ = false;
  }
  renderer()->ResetCameraClippingRange();
  requestRender();
}

}  // namespace mqb
