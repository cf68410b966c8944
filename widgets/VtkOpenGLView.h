#pragma once
// A Qt 6 QOpenGLWidget that hosts a VTK 9.1 render window (vtkGenericOpenGLRenderWindow).
//
// Debian's VTK Qt module (QVTKOpenGLNativeWidget) is built against Qt 5 and must not be
// linked into this Qt 6 program, so this widget does the same job itself: VTK renders into
// its own framebuffer objects inside the widget's GL context, and paintGL blits the result
// into the widget's framebuffer. See /work/shared/NOTES-VTK-QT6.md for the rules followed
// here (GLX, default surface format before QApplication, context handling).
//
// Threading: GUI thread only. Rendering is on demand: requestRender() (or any change made
// through the interactor) schedules one VTK render in the next paintGL.
#include <QImage>
#include <QMetaObject>
#include <QOpenGLWidget>
#include <QSurfaceFormat>

#include <vtkSmartPointer.h>

class vtkGenericOpenGLRenderWindow;
class vtkRenderWindowInteractor;
class vtkRenderer;
class vtkObject;
class QSurface;

namespace mqb {

class VtkOpenGLView : public QOpenGLWidget {
  Q_OBJECT
 public:
  explicit VtkOpenGLView(QWidget* parent = nullptr);
  ~VtkOpenGLView() override;

  // Call once in main() BEFORE constructing QApplication: forces the xcb platform with
  // GLX (Debian's VTK needs GLX; EGL fails with "GLEW could not be initialized") unless
  // forcePlatform is false, and installs defaultFormat() as the default surface format.
  static void prepareApplication(bool forcePlatform = true);
  // OpenGL 3.2 core, RGBA8 (alpha 8), depth 24, stencil 0, no multisampling, double-buffered.
  static QSurfaceFormat defaultFormat();

  vtkGenericOpenGLRenderWindow* renderWindow() const;
  vtkRenderWindowInteractor* interactor() const;  // a vtkGenericRenderWindowInteractor
  vtkRenderer* renderer() const;                  // the default renderer (full viewport)

  // Schedules a VTK render + repaint (coalesced; safe to call often).
  void requestRender();

  // Renders the scene at `scale` times the widget's device-pixel size through
  // vtkWindowToImageFilter (tiled rendering, RGBA read-back). With transparentBackground
  // the background pixels get alpha 0. Returns a null image if the GL context does not
  // exist yet (widget never shown). Format_RGBA8888, top row first.
  QImage grabScaled(int scale, bool transparentBackground);

  // Widget coordinates (logical pixels, origin top-left) -> VTK display coordinates
  // (device pixels, origin bottom-left), as the interactor receives them.
  QPointF widgetToDisplay(const QPointF& widgetPos) const;
  QPointF displayToWidget(const QPointF& displayPos) const;
  QSize deviceSize() const;  // widget size in device pixels
  // Wall time of the last paintGL in ms (VTK render + blit as submitted; a software
  // rasterizer may finish part of the work later, at the buffer swap).
  double lastPaintMs() const { return lastPaintMs_; }

 protected:
  void initializeGL() override;
  void paintGL() override;
  void resizeGL(int w, int h) override;
  bool event(QEvent* event) override;

  // Called right before every VTK render of the view (paintGL and grabScaled): the place
  // to bring lazily updated scene data up to date. Default: nothing.
  virtual void beforeVtkRender() {}
  // Called after the VTK render, before the blit (GL context current). Default: nothing.
  virtual void afterVtkRender() {}
  // True when every pixel the view renders has alpha 1 (opaque background, opaque or
  // alpha-preserving content): paintGL then skips the pass forcing alpha to 1, which keeps
  // the desktop from showing through translucent pixels. Default: false.
  virtual bool rendersOpaque() const { return false; }

 private:
  void updateSize();
  void cleanupContext();
  void onRenderWindowEvent(vtkObject* caller, unsigned long eventId, void* callData);
  bool forwardToInteractor(QEvent* event);
  void clearAlpha(const QSize& size);
  bool contextIsCurrent() const;

  vtkSmartPointer<vtkGenericOpenGLRenderWindow> renderWindow_;
  vtkSmartPointer<vtkRenderWindowInteractor> interactor_;
  vtkSmartPointer<vtkRenderer> renderer_;
  std::vector<unsigned long> observerIds_;
  QMetaObject::Connection contextConnection_;
  QSurface* surface_ = nullptr;
  bool glReady_ = false;       // VTK initialised in the current GL context
  bool renderPending_ = true;  // next paintGL must run a VTK render
  bool inPaint_ = false;
  int wheelAccumulator_ = 0;
  double lastPaintMs_ = 0;
};

}  // namespace mqb
