#include "VtkOpenGLView.h"

#include <QElapsedTimer>
#include <QEnterEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QOpenGLFunctions>
#include <QScreen>
#include <QWheelEvent>

#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkImageData.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkNew.h>
#include <vtkObjectFactory.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>
#include <vtkPointData.h>
#include <vtkRenderer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cstring>
#include <functional>

namespace {

// Interactor whose Render() (called by interactor styles and widgets after every change)
// schedules a Qt repaint instead of rendering immediately, so interaction-driven renders
// happen inside paintGL where the GL state is under control. EnableRender stays on:
// vtkRenderWindow::Render() refuses to render when the interactor has it off, which would
// break direct renders such as vtkWindowToImageFilter's.
class QtScheduledInteractor : public vtkGenericRenderWindowInteractor {
 public:
  static QtScheduledInteractor* New();
  vtkTypeMacro(QtScheduledInteractor, vtkGenericRenderWindowInteractor);

  std::function<void()> scheduleRender;
  // vtkWindowToImageFilter renders through GetInteractor()->Render(): it must render now.
  bool renderImmediately = false;

  void Render() override {
    if (!renderImmediately && scheduleRender && this->RenderWindow && this->Enabled && this->EnableRender) {
      scheduleRender();
      this->InvokeEvent(vtkCommand::RenderEvent, nullptr);
    } else {
      vtkGenericRenderWindowInteractor::Render();
    }
  }

 protected:
  QtScheduledInteractor() = default;
  ~QtScheduledInteractor() override = default;
};
vtkStandardNewMacro(QtScheduledInteractor);

const char* keySymForQtKey(int key) {
  switch (key) {
    case Qt::Key_Backspace: return "BackSpace";
    case Qt::Key_Tab:
    case Qt::Key_Backtab: return "Tab";
    case Qt::Key_Return:
    case Qt::Key_Enter: return "Return";
    case Qt::Key_Shift: return "Shift_L";
    case Qt::Key_Control: return "Control_L";
    case Qt::Key_Alt: return "Alt_L";
    case Qt::Key_Escape: return "Escape";
    case Qt::Key_Space: return "space";
    case Qt::Key_PageUp: return "Prior";
    case Qt::Key_PageDown: return "Next";
    case Qt::Key_End: return "End";
    case Qt::Key_Home: return "Home";
    case Qt::Key_Left: return "Left";
    case Qt::Key_Up: return "Up";
    case Qt::Key_Right: return "Right";
    case Qt::Key_Down: return "Down";
    case Qt::Key_Insert: return "Insert";
    case Qt::Key_Delete: return "Delete";
    case Qt::Key_Plus: return "plus";
    case Qt::Key_Minus: return "minus";
    case Qt::Key_Asterisk: return "asterisk";
    case Qt::Key_Period: return "period";
    case Qt::Key_Slash: return "slash";
    case Qt::Key_F1: return "F1";
    case Qt::Key_F2: return "F2";
    case Qt::Key_F3: return "F3";
    case Qt::Key_F4: return "F4";
    case Qt::Key_F5: return "F5";
    case Qt::Key_F6: return "F6";
    case Qt::Key_F7: return "F7";
    case Qt::Key_F8: return "F8";
    case Qt::Key_F9: return "F9";
    case Qt::Key_F10: return "F10";
    case Qt::Key_F11: return "F11";
    case Qt::Key_F12: return "F12";
    default: return nullptr;
  }
}

}  // namespace

namespace mqb {

void VtkOpenGLView::prepareApplication(bool forcePlatform) {
  if (forcePlatform) {
    qputenv("QT_QPA_PLATFORM", "xcb");
    qputenv("QT_XCB_GL_INTEGRATION", "xcb_glx");
  }
  QSurfaceFormat::setDefaultFormat(defaultFormat());
}

QSurfaceFormat VtkOpenGLView::defaultFormat() {
  QSurfaceFormat fmt;
  fmt.setRenderableType(QSurfaceFormat::OpenGL);
  fmt.setVersion(3, 2);
  fmt.setProfile(QSurfaceFormat::CoreProfile);
  fmt.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
  fmt.setRedBufferSize(8);
  fmt.setGreenBufferSize(8);
  fmt.setBlueBufferSize(8);
  fmt.setAlphaBufferSize(8);
  fmt.setDepthBufferSize(24);
  fmt.setStencilBufferSize(0);
  fmt.setSamples(0);
  fmt.setStereo(false);
  return fmt;
}

VtkOpenGLView::VtkOpenGLView(QWidget* parent) : QOpenGLWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setUpdateBehavior(QOpenGLWidget::NoPartialUpdate);
  setMouseTracking(true);
  setAttribute(Qt::WA_Hover);
  setMinimumSize(64, 64);

  renderWindow_ = vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New();
  // Rendering waits until initializeGL has a context for VTK to use.
  renderWindow_->SetReadyForRendering(false);
  renderWindow_->SetOwnContext(false);
  renderWindow_->SetFrameBlitModeToNoBlit();
  renderWindow_->SetForceMaximumHardwareLineWidth(1);
  renderWindow_->SetAlphaBitPlanes(1);
  renderWindow_->SetMultiSamples(0);

  renderer_ = vtkSmartPointer<vtkRenderer>::New();
  renderer_->SetBackground(0.0, 0.0, 0.0);
  renderer_->SetBackgroundAlpha(1.0);
  renderWindow_->AddRenderer(renderer_);

  auto iren = vtkSmartPointer<QtScheduledInteractor>::New();
  iren->scheduleRender = [this] { requestRender(); };
  interactor_ = iren;
  renderWindow_->SetInteractor(interactor_);
  interactor_->Initialize();  // enables it; its Render() only schedules a repaint
  vtkNew<vtkInteractorStyleTrackballCamera> style;
  interactor_->SetInteractorStyle(style);

  for (unsigned long id :
       {vtkCommand::WindowMakeCurrentEvent, vtkCommand::WindowIsCurrentEvent, vtkCommand::WindowFrameEvent}) {
    observerIds_.push_back(renderWindow_->AddObserver(id, this, &VtkOpenGLView::onRenderWindowEvent));
  }
}

VtkOpenGLView::~VtkOpenGLView() {
  // The context may be destroyed by ~QOpenGLWidget after this part of the object is gone:
  // never let its aboutToBeDestroyed signal reach us then.
  QObject::disconnect(contextConnection_);
  if (glReady_ && context()) {
    makeCurrent();
    cleanupContext();
    doneCurrent();
  }
  for (unsigned long id : observerIds_) renderWindow_->RemoveObserver(id);
  observerIds_.clear();
  if (auto* iren = QtScheduledInteractor::SafeDownCast(interactor_)) iren->scheduleRender = nullptr;
}

vtkGenericOpenGLRenderWindow* VtkOpenGLView::renderWindow() const { return renderWindow_; }
vtkRenderWindowInteractor* VtkOpenGLView::interactor() const { return interactor_; }
vtkRenderer* VtkOpenGLView::renderer() const { return renderer_; }

void VtkOpenGLView::requestRender() {
  renderPending_ = true;
  update();
}

QSize VtkOpenGLView::deviceSize() const { return size() * devicePixelRatioF(); }

QPointF VtkOpenGLView::widgetToDisplay(const QPointF& p) const {
  const double dpr = devicePixelRatioF();
  const QSize ds = deviceSize();
  return {p.x() * dpr, ds.height() - 1 - p.y() * dpr};
}

QPointF VtkOpenGLView::displayToWidget(const QPointF& d) const {
  const double dpr = devicePixelRatioF();
  const QSize ds = deviceSize();
  return {d.x() / dpr, (ds.height() - 1 - d.y()) / dpr};
}

bool VtkOpenGLView::contextIsCurrent() const {
  QOpenGLContext* ctx = context();
  QOpenGLContext* cur = QOpenGLContext::currentContext();
  return ctx && cur == ctx && cur->surface() == surface_;
}

void VtkOpenGLView::onRenderWindowEvent(vtkObject*, unsigned long eventId, void* callData) {
  switch (eventId) {
    case vtkCommand::WindowMakeCurrentEvent: {
      // QOpenGLContext::makeCurrent, not QOpenGLWidget::makeCurrent: the latter binds
      // Qt's framebuffer behind the back of VTK's state cache.
      QOpenGLContext* ctx = context();
      if (!ctx || !surface_) break;
      if (!contextIsCurrent()) {
        ctx->makeCurrent(surface_);
        // Outside paintGL (e.g. an application calling renderWindow()->Render()) the
        // cached VTK state can be stale after a context switch: re-read it.
        if (!inPaint_ && glReady_) renderWindow_->GetState()->Reset();
      }
      break;
    }
    case vtkCommand::WindowIsCurrentEvent: {
      bool* isCurrent = static_cast<bool*>(callData);
      if (isCurrent) *isCurrent = contextIsCurrent();
      break;
    }
    case vtkCommand::WindowFrameEvent: {
      if (renderWindow_->GetDoubleBuffer() && !renderWindow_->GetSwapBuffers()) {
        // An off-screen pass outside paintGL (e.g. a hardware picker's id colours) left the
        // render framebuffer, which paintGL blits, holding something else: render again.
        if (!inPaint_) renderPending_ = true;
        break;
      }
      // A frame finished (possibly a render outside paintGL): show it.
      renderPending_ = false;
      if (!inPaint_) update();
      break;
    }
    default: break;
  }
}

void VtkOpenGLView::initializeGL() {
  QOpenGLContext* ctx = context();
  surface_ = ctx->surface();
  QObject::disconnect(contextConnection_);
  contextConnection_ = connect(
      ctx, &QOpenGLContext::aboutToBeDestroyed, this, [this] { cleanupContext(); }, Qt::DirectConnection);

  vtkOpenGLState* state = renderWindow_->GetState();
  state->Reset();
  state->vtkglDepthFunc(GL_LEQUAL);  // Qt defaults to GL_LESS
  renderWindow_->SetOwnContext(false);
  renderWindow_->SetReadyForRendering(true);
  renderWindow_->OpenGLInitContext();
  glReady_ = true;
  updateSize();
  renderPending_ = true;
}

void VtkOpenGLView::resizeGL(int, int) { updateSize(); }

void VtkOpenGLView::updateSize() {
  const QSize ds = deviceSize();
  const double dpr = devicePixelRatioF();
  interactor_->UpdateSize(ds.width(), ds.height());  // also sizes the render window
  renderWindow_->SetSize(ds.width(), ds.height());
  if (QScreen* s = screen()) {
    const QSize ss = s->size() * dpr;
    renderWindow_->SetScreenSize(ss.width(), ss.height());
  }
  renderWindow_->SetDPI(std::max(1, static_cast<int>(72 * dpr + 0.5)));
  renderPending_ = true;
}

void VtkOpenGLView::paintGL() {
  QOpenGLContext* ctx = context();
  QOpenGLExtraFunctions* f = ctx->extraFunctions();
  if (!glReady_) {
    f->glClearColor(0.f, 0.f, 0.f, 1.f);
    f->glClear(GL_COLOR_BUFFER_BIT);
    return;
  }
  vtkOpenGLState* state = renderWindow_->GetState();
  state->Reset();  // Qt touched the GL state since the last VTK call
  state->Push();
  state->vtkglDepthFunc(GL_LEQUAL);

  QElapsedTimer paintTimer;
  paintTimer.start();
  if (renderPending_) {
    inPaint_ = true;
    beforeVtkRender();
    // With SwapBuffers off VTK's Frame() skips copying colour and depth from its render
    // framebuffer to its display framebuffer: we blit from the render framebuffer straight
    // into Qt's. Under a software rasterizer every full-view pass costs milliseconds.
    const vtkTypeBool swap = renderWindow_->GetSwapBuffers();
    renderWindow_->SwapBuffersOff();
    renderWindow_->Render();
    renderWindow_->SetSwapBuffers(swap);
    inPaint_ = false;
    renderPending_ = false;
    afterVtkRender();
  }
  // A render may trigger other widgets' GL work (progress, signals): be current again.
  if (!contextIsCurrent()) ctx->makeCurrent(surface_);

  const QSize ds = deviceSize();
  f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
  const GLenum drawBuffer = GL_COLOR_ATTACHMENT0;
  f->glDrawBuffers(1, &drawBuffer);
  state->ResetFramebufferBindings();  // VTK's cache must see the binding we just made

  const GLboolean scissor = f->glIsEnabled(GL_SCISSOR_TEST);
  if (scissor) {
    state->vtkglDisable(GL_SCISSOR_TEST);
    f->glDisable(GL_SCISSOR_TEST);
  }
  // The render framebuffer holds the last frame whichever way it was rendered (here, or by
  // VTK directly with swapping on, which also copied it to the display framebuffer).
  if (vtkOpenGLFramebufferObject* rendered = renderWindow_->GetRenderFramebuffer()) {
    int* last = rendered->GetLastSize();
    state->PushReadFramebufferBinding();
    rendered->Bind(GL_READ_FRAMEBUFFER);
    rendered->ActivateReadBuffer(0);
    state->vtkglViewport(0, 0, ds.width(), ds.height());
    state->vtkglScissor(0, 0, ds.width(), ds.height());
    const bool sameSize = last[0] == ds.width() && last[1] == ds.height();
    state->vtkglBlitFramebuffer(0, 0, last[0], last[1], 0, 0, ds.width(), ds.height(), GL_COLOR_BUFFER_BIT,
                                sameSize ? GL_NEAREST : GL_LINEAR);
    state->PopReadFramebufferBinding();
  }
  if (!rendersOpaque()) clearAlpha(ds);
  lastPaintMs_ = paintTimer.nsecsElapsed() / 1e6;
  if (scissor) {
    state->vtkglEnable(GL_SCISSOR_TEST);
    f->glEnable(GL_SCISSOR_TEST);
  }
  state->Pop();
}

void VtkOpenGLView::clearAlpha(const QSize& size) {
  // Opaque alpha, otherwise the compositor blends the view with what is behind it.
  QOpenGLFunctions* f = context()->functions();
  GLboolean mask[4];
  f->glGetBooleanv(GL_COLOR_WRITEMASK, mask);
  GLfloat clear[4];
  f->glGetFloatv(GL_COLOR_CLEAR_VALUE, clear);
  GLint viewport[4];
  f->glGetIntegerv(GL_VIEWPORT, viewport);
  f->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
  f->glClearColor(0.f, 0.f, 0.f, 1.f);
  f->glViewport(0, 0, size.width(), size.height());
  f->glClear(GL_COLOR_BUFFER_BIT);
  f->glColorMask(mask[0], mask[1], mask[2], mask[3]);
  f->glClearColor(clear[0], clear[1], clear[2], clear[3]);
  f->glViewport(viewport[0], viewport[1], viewport[2], viewport[3]);
}

void VtkOpenGLView::cleanupContext() {
  if (!glReady_) return;
  // Called with the (still valid) context about to be destroyed, or from the destructor.
  QOpenGLContext* ctx = context();
  if (ctx && surface_ && !contextIsCurrent()) ctx->makeCurrent(surface_);
  renderWindow_->Finalize();  // releases VTK's GL resources in this context
  renderWindow_->SetReadyForRendering(false);
  glReady_ = false;
  surface_ = nullptr;
  renderPending_ = true;  // a new context (after reparenting) needs a full render
}

QImage VtkOpenGLView::grabScaled(int scale, bool transparentBackground) {
  if (!glReady_ || !isValid()) return {};
  scale = std::clamp(scale, 1, 16);
  makeCurrent();
  vtkOpenGLState* state = renderWindow_->GetState();
  state->Reset();
  state->Push();

  const double oldAlpha = renderer_->GetBackgroundAlpha();
  renderer_->SetBackgroundAlpha(transparentBackground ? 0.0 : 1.0);
  // Text keeps its size relative to the picture: scale the DPI with the image.
  const int oldDpi = renderWindow_->GetDPI();
  renderWindow_->SetDPI(oldDpi * scale);
  vtkNew<vtkWindowToImageFilter> w2i;
  w2i->SetInput(renderWindow_);
  w2i->SetScale(scale);
  w2i->SetInputBufferTypeToRGBA();
  w2i->ReadFrontBufferOff();
  w2i->ShouldRerenderOn();
  auto* iren = QtScheduledInteractor::SafeDownCast(interactor_);
  if (iren) iren->renderImmediately = true;  // the filter renders via the interactor
  inPaint_ = true;                           // suppress update() from the tile frames; we repaint once below
  beforeVtkRender();
  w2i->Update();
  inPaint_ = false;
  if (iren) iren->renderImmediately = false;
  renderer_->SetBackgroundAlpha(oldAlpha);
  renderWindow_->SetDPI(oldDpi);
  state->Pop();
  doneCurrent();
  requestRender();  // the VTK framebuffer now holds the last tile

  vtkImageData* out = w2i->GetOutput();
  int dims[3];
  out->GetDimensions(dims);
  auto* scalars = vtkUnsignedCharArray::SafeDownCast(out->GetPointData()->GetScalars());
  if (!scalars || scalars->GetNumberOfComponents() != 4 || dims[0] <= 0 || dims[1] <= 0) return {};
  QImage image(dims[0], dims[1], QImage::Format_RGBA8888);
  const unsigned char* src = scalars->GetPointer(0);
  const size_t rowBytes = static_cast<size_t>(dims[0]) * 4;
  for (int y = 0; y < dims[1]; ++y) {  // VTK rows are bottom-up
    std::memcpy(image.scanLine(dims[1] - 1 - y), src + rowBytes * y, rowBytes);
  }
  return image;
}

bool VtkOpenGLView::event(QEvent* e) {
  forwardToInteractor(e);
  return QOpenGLWidget::event(e);
}

bool VtkOpenGLView::forwardToInteractor(QEvent* e) {
  vtkRenderWindowInteractor* iren = interactor_;
  if (!iren || !iren->GetEnabled()) return false;
  const double dpr = devicePixelRatioF();
  auto setPos = [&](const QPointF& p, Qt::KeyboardModifiers mods, int repeat) {
    iren->SetEventInformationFlipY(static_cast<int>(p.x() * dpr), static_cast<int>(p.y() * dpr),
                                   (mods & Qt::ControlModifier) ? 1 : 0, (mods & Qt::ShiftModifier) ? 1 : 0, 0, repeat);
    iren->SetAltKey((mods & Qt::AltModifier) ? 1 : 0);
  };

  switch (e->type()) {
    case QEvent::MouseMove:
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonRelease:
    case QEvent::MouseButtonDblClick: {
      auto* me = static_cast<QMouseEvent*>(e);
      setPos(me->position(), me->modifiers(), e->type() == QEvent::MouseButtonDblClick ? 1 : 0);
      if (e->type() == QEvent::MouseMove) {
        iren->InvokeEvent(vtkCommand::MouseMoveEvent, me);
        return true;
      }
      const bool press = e->type() != QEvent::MouseButtonRelease;
      unsigned long id = 0;
      switch (me->button()) {
        case Qt::LeftButton:
          id = press ? vtkCommand::LeftButtonPressEvent : vtkCommand::LeftButtonReleaseEvent;
          break;
        case Qt::MiddleButton:
          id = press ? vtkCommand::MiddleButtonPressEvent : vtkCommand::MiddleButtonReleaseEvent;
          break;
        case Qt::RightButton:
          id = press ? vtkCommand::RightButtonPressEvent : vtkCommand::RightButtonReleaseEvent;
          break;
        default: break;
      }
      if (id) iren->InvokeEvent(id, me);
      return true;
    }
    case QEvent::Wheel: {
      auto* we = static_cast<QWheelEvent*>(e);
      setPos(we->position(), we->modifiers(), 0);
      // High-resolution wheels send small deltas: one VTK step per accumulated 120.
      wheelAccumulator_ += we->angleDelta().y();
      while (wheelAccumulator_ >= 120) {
        iren->InvokeEvent(vtkCommand::MouseWheelForwardEvent, we);
        wheelAccumulator_ -= 120;
      }
      while (wheelAccumulator_ <= -120) {
        iren->InvokeEvent(vtkCommand::MouseWheelBackwardEvent, we);
        wheelAccumulator_ += 120;
      }
      return true;
    }
    case QEvent::Enter: {
      auto* ee = static_cast<QEnterEvent*>(e);
      setPos(ee->position(), ee->modifiers(), 0);
      iren->InvokeEvent(vtkCommand::EnterEvent, e);
      return true;
    }
    case QEvent::Leave: iren->InvokeEvent(vtkCommand::LeaveEvent, e); return true;
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
      auto* ke = static_cast<QKeyEvent*>(e);
      const QString text = ke->text();
      const char ascii = text.size() == 1 && text.at(0).unicode() < 128 ? static_cast<char>(text.at(0).unicode()) : 0;
      std::string keySym;
      if (const char* sym = keySymForQtKey(ke->key())) {
        keySym = sym;
      } else if (ascii > 32 && ascii < 127) {
        keySym = std::string(1, ascii);
      } else {
        keySym = "None";
      }
      const Qt::KeyboardModifiers mods = ke->modifiers();
      iren->SetKeyEventInformation((mods & Qt::ControlModifier) ? 1 : 0, (mods & Qt::ShiftModifier) ? 1 : 0, ascii,
                                   ke->count(), keySym.c_str());
      iren->SetAltKey((mods & Qt::AltModifier) ? 1 : 0);
      if (e->type() == QEvent::KeyPress) {
        iren->InvokeEvent(vtkCommand::KeyPressEvent, ke);
        if (ascii) iren->InvokeEvent(vtkCommand::CharEvent, ke);
      } else {
        iren->InvokeEvent(vtkCommand::KeyReleaseEvent, ke);
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace mqb
