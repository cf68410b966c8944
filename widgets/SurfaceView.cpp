#include "SurfaceView.h"

#include <QEventLoop>
#include <QFutureWatcher>
#include <QPointer>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <vtkActor.h>
#include <vtkCallbackCommand.h>
#include <vtkAlgorithm.h>
#include <vtkCamera.h>
#include <vtkCellData.h>
#include <vtkDecimatePro.h>
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
#include <vtkWindowedSincPolyDataFilter.h>

#include <algorithm>

#include "support/Error.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
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
  if (feedback_) feedback_->cancel();  // closing: the pool thread stops at its next check
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
  scheduleExtraction();
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
  scheduleExtraction();
}

void SurfaceView::scheduleExtraction() {
  const uint64_t generation = ++generation_;
  if (feedback_) feedback_->cancel();  // superseded: its result would be dropped anyway
  feedback_.reset();
  if (!labels_ || labels_->voxels.empty()) {
    applyExtraction(generation, Extraction{});
    return;
  }
  building_ = true;
  // The job owns what it reads: the label map (shared, immutable) and a copy of the
  // visibility; the view may change or die meanwhile (QPointer guards the hand-over).
  auto labels = labels_;
  const auto visible = visible_;
  auto feedback = std::make_shared<Feedback>();
  feedback_ = feedback;
  QPointer<SurfaceView> self(this);
  auto* watcher = new QFutureWatcher<Extraction>(this);
  connect(watcher, &QFutureWatcher<Extraction>::finished, this, [self, watcher, generation] {
    watcher->deleteLater();
    if (self) self->applyExtraction(generation, watcher->result());
  });
  watcher->setFuture(QtConcurrent::run([labels, visible, feedback] {
    try {
      return extract(*labels, visible, feedback.get());
    } catch (const Canceled&) {
      return Extraction{};  // superseded or closing: nobody shows it (the generation moved on)
    }
  }));
}

void SurfaceView::applyExtraction(uint64_t generation, const Extraction& e) {
  if (generation != generation_) return;  // superseded by a newer request
  building_ = false;
  surfaces_ = e.surfaces;
  if (e.poly)
    poly_->ShallowCopy(e.poly);
  else
    poly_->Initialize();
  poly_->Modified();
  if (firstBuild_ && surfaces_ > 0) {
    renderer()->ResetCamera();
    auto* cam = renderer()->GetActiveCamera();
    // Anterior view, superior up (LPS: -y toward the viewer, +z up).
    const double* fp = cam->GetFocalPoint();
    const double d = cam->GetDistance();
    cam->SetPosition(fp[0], fp[1] - d, fp[2]);
    cam->SetViewUp(0, 0, 1);
    // A thin slab (a few slices of a large field of view) seen from the front is a strip:
    // tilt the camera towards the feet so the organs' axial extent shows.
    double b[6];
    poly_->GetBounds(b);
    const double height = b[5] - b[4], width = std::max(b[1] - b[0], b[3] - b[2]);
    if (height < 0.5 * width) {
      cam->Elevation(-55);
      cam->OrthogonalizeViewUp();
    }
    renderer()->ResetCamera();
    firstBuild_ = false;
  }
  renderer()->ResetCameraClippingRange();
  requestRender();
  emit surfacesReady();
}

bool SurfaceView::waitUntilBuilt(int timeoutMs) {
  if (!building_) return true;
  QEventLoop loop;
  connect(this, &SurfaceView::surfacesReady, &loop, &QEventLoop::quit);
  QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
  loop.exec();
  return !building_;
}

SurfaceView::Extraction SurfaceView::extract(const LabelVolume& labels, const std::array<bool, 256>& visible,
                                             Feedback* feedback) {
  Extraction result;
  auto stage = [feedback](double fraction, const char* name) {
    if (!feedback) return;
    feedback->throwIfCanceled();
    feedback->report(fraction, name);
  };
  // VTK filters poll AbortExecute during their work: a cancel stops a long smoothing pass
  // inside it, not only between the stages.
  auto abortOnCancel = vtkSmartPointer<vtkCallbackCommand>::New();
  abortOnCancel->SetClientData(feedback);
  abortOnCancel->SetCallback([](vtkObject* caller, unsigned long, void* client, void*) {
    if (client && static_cast<Feedback*>(client)->isCanceled()) static_cast<vtkAlgorithm*>(caller)->AbortExecuteOn();
  });
#ifdef __linux__
  // Background work: let the GUI thread win the CPU (as the engine worker does).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
#endif
  const auto& g = labels.geometry;
  // Subsample towards isotropic voxels of the coarsest spacing (a 0.8 x 0.8 x 2 mm CT is
  // sampled at ~1.6 x 1.6 x 2 mm), coarser still while above maxVoxels(): the triangle
  // count, and with it the cost of every frame on a software rasterizer, follows the
  // number of voxels, and the overview does not need sub-millimetre surfaces.
  std::array<int, 3> step{1, 1, 1};
  double target = std::max({g.spacing[0], g.spacing[1], g.spacing[2]});
  auto voxels = [&] {
    int64_t n = 1;
    for (int a = 0; a < 3; ++a) n *= (g.size[a] + step[a] - 1) / step[a];
    return n;
  };
  for (;;) {
    for (int a = 0; a < 3; ++a) step[a] = std::max(1, static_cast<int>(std::floor(target / g.spacing[a] + 1e-6)));
    if (voxels() <= maxVoxels()) break;
    target *= 1.25;
  }
  stage(0.0, "surfaces: subsampling");
  const int nx = static_cast<int>((g.size[0] + step[0] - 1) / step[0]);
  const int ny = static_cast<int>((g.size[1] + step[1] - 1) / step[1]);
  const int nz = static_cast<int>((g.size[2] + step[2] - 1) / step[2]);
  auto image = vtkSmartPointer<vtkImageData>::New();
  // One voxel of padding so surfaces touching the border are closed.
  image->SetExtent(-1, nx, -1, ny, -1, nz);
  image->SetSpacing(g.spacing[0] * step[0], g.spacing[1] * step[1], g.spacing[2] * step[2]);
  image->SetOrigin(0, 0, 0);
  image->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
  auto* out = static_cast<uint8_t*>(image->GetScalarPointer());
  std::fill(out, out + static_cast<size_t>(nx + 2) * (ny + 2) * (nz + 2), uint8_t(0));
  std::array<bool, 256> present{};
  for (int z = 0; z < nz; ++z) {
    if (feedback && z % 16 == 0) feedback->throwIfCanceled();
    for (int y = 0; y < ny; ++y) {
      uint8_t* row = out + ((static_cast<size_t>(z + 1) * (ny + 2) + (y + 1)) * (nx + 2)) + 1;
      for (int x = 0; x < nx; ++x) {
        const uint8_t v = labels.at(int64_t(x) * step[0], int64_t(y) * step[1], int64_t(z) * step[2]);
        row[x] = v;
        present[v] = true;
      }
    }
  }
  stage(0.1, "surfaces: flying edges");
  std::vector<int> ids;
  for (int id = 1; id < 256; ++id)
    if (present[id] && visible[id]) ids.push_back(id);
  if (ids.empty()) return result;
  auto fe = vtkSmartPointer<vtkDiscreteFlyingEdges3D>::New();
  fe->SetInputData(image);
  int i = 0;
  for (int id : ids) fe->SetValue(i++, id);
  fe->ComputeScalarsOn();
  fe->ComputeNormalsOff();
  fe->ComputeGradientsOff();
  fe->AddObserver(vtkCommand::ProgressEvent, abortOnCancel);
  // Voxel staircases smoothed away (windowed sinc keeps the volume, unlike Laplacian);
  // boundary and feature edges stay put so touching organs keep a shared border.
  auto smooth = vtkSmartPointer<vtkWindowedSincPolyDataFilter>::New();
  smooth->SetInputConnection(fe->GetOutputPort());
  smooth->SetNumberOfIterations(15);
  smooth->SetPassBand(0.1);
  smooth->NormalizeCoordinatesOn();
  smooth->BoundarySmoothingOff();
  smooth->FeatureEdgeSmoothingOff();
  smooth->NonManifoldSmoothingOn();
  smooth->AddObserver(vtkCommand::ProgressEvent, abortOnCancel);
  smooth->Update();
  stage(0.7, "surfaces: decimation");
  // Every frame of a software rasterizer pays per triangle on the GUI thread (llvmpipe
  // transforms and sets up vertices in the calling thread): at most maxTriangles() stay.
  // DecimatePro only removes vertices, so the remaining ones keep their exact label id.
  vtkAlgorithmOutput* surface = smooth->GetOutputPort();
  auto decimate = vtkSmartPointer<vtkDecimatePro>::New();
  const vtkIdType triangles = smooth->GetOutput()->GetNumberOfPolys();
  if (triangles > maxTriangles()) {
    decimate->SetInputConnection(smooth->GetOutputPort());
    decimate->SetTargetReduction(1.0 - static_cast<double>(maxTriangles()) / static_cast<double>(triangles));
    decimate->PreserveTopologyOn();  // no holes in small organs
    decimate->SplittingOff();
    decimate->BoundaryVertexDeletionOff();
    decimate->SetFeatureAngle(45);
    decimate->AddObserver(vtkCommand::ProgressEvent, abortOnCancel);
    surface = decimate->GetOutputPort();
  }
  auto normals = vtkSmartPointer<vtkPolyDataNormals>::New();
  normals->SetInputConnection(surface);
  normals->SetFeatureAngle(60);
  normals->SplittingOff();
  normals->Update();
  stage(1.0, "surfaces: done");  // a cancel during the filters (aborted, partial output) ends here
  result.poly = vtkSmartPointer<vtkPolyData>::New();
  result.poly->DeepCopy(normals->GetOutput());
  result.surfaces = static_cast<int>(ids.size());
  return result;
}

}  // namespace mqb
