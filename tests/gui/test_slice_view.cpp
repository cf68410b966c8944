// SliceView / VtkOpenGLView / ViewLink on a real (Xvfb + Mesa GLX) OpenGL context.
// Screenshots are written to <build>/test-screenshots/gui/ for visual inspection.
#include "GuiTestSupport.h"
#include "SliceView.h"
#include "ViewLink.h"

#include <QApplication>
#include <QMainWindow>
#include <QHBoxLayout>
#include <QMouseEvent>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

using mqb::SliceView;
using mqb::ViewLink;
using mqb::guitest::Phantom;

namespace {

// Shows a view and waits until it has a GL context.
void showAndWait(QWidget* w, QSize size = QSize(400, 400)) {
  w->resize(size);
  w->show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(w->window()));
  QApplication::processEvents();
}

QImage grab(SliceView& v) {
  QApplication::processEvents();
  return v.grabFramebuffer();
}

// Framebuffer pixel (device pixels) where a voxel centre is drawn.
QPoint pixelOf(const SliceView& v, double x, double y, double z) {
  const QPointF p = v.widgetPosOfVoxel(x, y, z) * v.devicePixelRatioF();
  return QPoint(static_cast<int>(std::floor(p.x())), static_cast<int>(std::floor(p.y())));
}

QColor pixelAtVoxel(const QImage& img, const SliceView& v, double x, double y, double z) {
  return img.pixelColor(pixelOf(v, x, y, z));
}

void sendWheel(QWidget* w, QPointF pos, int delta, Qt::KeyboardModifiers mods = Qt::NoModifier) {
  QWheelEvent ev(pos, w->mapToGlobal(pos), QPoint(), QPoint(0, delta), Qt::NoButton, mods, Qt::NoScrollPhase, false);
  QApplication::sendEvent(w, &ev);
}

void sendMouse(QWidget* w, QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons,
               Qt::KeyboardModifiers mods = Qt::NoModifier) {
  QMouseEvent ev(type, pos, w->mapToGlobal(pos), button, buttons, mods);
  QApplication::sendEvent(w, &ev);
}

class SliceViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    phantom = mqb::guitest::makePhantom();
    view = std::make_unique<SliceView>();
    ASSERT_TRUE(view->setImage(phantom.image));
    view->setClassList(mqb::guitest::phantomClasses());
    ASSERT_TRUE(view->setLabels(phantom.labels));
    view->setLabelOpacity(0.6);
    view->setSlice(Phantom::ballZ);
    showAndWait(view.get());
  }
  void TearDown() override { view.reset(); }

  Phantom phantom;
  std::unique_ptr<SliceView> view;
};

}  // namespace

TEST_F(SliceViewTest, RendersVariedGreyLevels) {
  const QImage img = grab(*view);
  mqb::guitest::saveScreenshot(img, "axial_labels");
  ASSERT_FALSE(img.isNull());
  EXPECT_EQ(img.size(), view->deviceSize());
  // Soft tissue varies between -60 and +100 HU: many grey levels under the abdomen window.
  EXPECT_GT(mqb::guitest::distinctGreyLevels(img), 30);
  // Air outside the body is black, tissue is mid-grey.
  const QColor air = pixelAtVoxel(img, *view, 1, 1, Phantom::ballZ);
  EXPECT_LT(air.value(), 10);
  const QColor tissue = pixelAtVoxel(img, *view, 30, 10, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isGreyish(tissue)) << tissue.name().toStdString();
  EXPECT_GT(tissue.value(), 40);
}

TEST_F(SliceViewTest, LabelColourWhereTheLabelIs) {
  QImage img = grab(*view);
  const QColor ball = pixelAtVoxel(img, *view, Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isReddish(ball)) << ball.name().toStdString();
  const QColor box = pixelAtVoxel(img, *view, 12, 20, Phantom::ballZ);
  EXPECT_GT(box.green(), box.red() + 60) << box.name().toStdString();
  const QColor tissue = pixelAtVoxel(img, *view, 30, 10, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isGreyish(tissue)) << tissue.name().toStdString();

  // Per-label visibility: hiding label 1 leaves the (bright, grey) ball, keeps the box.
  view->setLabelVisible(1, false);
  img = grab(*view);
  mqb::guitest::saveScreenshot(img, "axial_label1_hidden");
  const QColor hidden = pixelAtVoxel(img, *view, Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isGreyish(hidden)) << hidden.name().toStdString();
  EXPECT_GT(hidden.value(), 200);  // 400 HU is white in the abdomen window
  EXPECT_GT(pixelAtVoxel(img, *view, 12, 20, Phantom::ballZ).green(), 100);
  view->setLabelVisible(1, true);

  // Whole overlay off.
  view->setLabelsVisible(false);
  img = grab(*view);
  EXPECT_TRUE(mqb::guitest::isGreyish(pixelAtVoxel(img, *view, 12, 20, Phantom::ballZ)));
  view->setLabelsVisible(true);

  // Outline mode: the ball's centre is grey, its rim red.
  view->setLabelMode(SliceView::LabelMode::Outline);
  view->setLabelOpacity(1.0);
  img = grab(*view);
  mqb::guitest::saveScreenshot(img, "axial_outline");
  const QColor centre = pixelAtVoxel(img, *view, Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isGreyish(centre)) << centre.name().toStdString();
  const QColor rim = pixelAtVoxel(img, *view, Phantom::ballX + 10, Phantom::ballY, Phantom::ballZ);
  EXPECT_TRUE(mqb::guitest::isReddish(rim)) << rim.name().toStdString();
}

TEST_F(SliceViewTest, DifferenceOverlayIsHighlighted) {
  auto diff = std::make_shared<mqb::LabelVolume>();
  diff->geometry = phantom.image->geometry;
  diff->voxels.assign(phantom.image->voxels.size(), 0);
  for (int y = 5; y < 15; ++y)
    for (int x = 25; x < 35; ++x) diff->at(x, y, Phantom::ballZ) = 1;
  ASSERT_TRUE(view->setDifference(diff));
  view->setDifferenceColor(QColor(255, 0, 255));
  view->setDifferenceOpacity(1.0);
  const QImage img = grab(*view);
  mqb::guitest::saveScreenshot(img, "axial_difference");
  const QColor c = pixelAtVoxel(img, *view, 30, 10, Phantom::ballZ);
  EXPECT_GT(c.red(), 200);
  EXPECT_GT(c.blue(), 200);
  EXPECT_LT(c.green(), 60);
  // Wrong grid size is refused.
  auto wrong = std::make_shared<mqb::LabelVolume>();
  wrong->geometry.size = {10, 10, 10};
  wrong->voxels.assign(1000, 1);
  EXPECT_FALSE(view->setDifference(wrong));
  EXPECT_EQ(view->difference(), nullptr);
}

TEST_F(SliceViewTest, ChangingSliceChangesImage) {
  QSignalSpy spy(view.get(), &SliceView::sliceChanged);
  const QImage at20 = grab(*view);
  view->setSlice(3);  // below the ball and the box
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.at(0).at(0).toInt(), 3);
  EXPECT_EQ(view->slice(), 3);
  const QImage at3 = grab(*view);
  mqb::guitest::saveScreenshot(at3, "axial_slice3");
  EXPECT_NE(at20, at3);
  EXPECT_FALSE(mqb::guitest::isReddish(pixelAtVoxel(at3, *view, Phantom::ballX, Phantom::ballY, 3)));
  // Clamping and wheel steps (accumulated to 120 per step).
  view->setSlice(1000);
  EXPECT_EQ(view->slice(), view->sliceCount() - 1);
  view->setSlice(10);
  const QPointF centre(200, 200);
  sendWheel(view.get(), centre, 60);
  EXPECT_EQ(view->slice(), 10);
  sendWheel(view.get(), centre, 60);
  EXPECT_EQ(view->slice(), 11);
  sendWheel(view.get(), centre, -240);
  EXPECT_EQ(view->slice(), 9);
}

TEST_F(SliceViewTest, ScaledGrabHasDoubleSizeAndTransparentBackground) {
  const QImage normal = grab(*view);
  const QImage big = view->grabScaled(2, true);
  ASSERT_FALSE(big.isNull());
  mqb::guitest::saveScreenshot(big, "axial_scaled2_transparent");
  EXPECT_EQ(big.size(), view->deviceSize() * 2);
  EXPECT_TRUE(big.hasAlphaChannel());
  // Top-left corner is outside the (wide) slice: background, transparent.
  EXPECT_EQ(qAlpha(big.pixel(10, 10)), 0);
  // Air inside the image is black but opaque; the ball is red and opaque.
  const QPoint air = pixelOf(*view, 1, 1, Phantom::ballZ) * 2;
  EXPECT_EQ(qAlpha(big.pixel(air)), 255);
  const QPoint ball = pixelOf(*view, Phantom::ballX, Phantom::ballY, Phantom::ballZ) * 2;
  EXPECT_EQ(qAlpha(big.pixel(ball)), 255);
  EXPECT_TRUE(mqb::guitest::isReddish(big.pixelColor(ball)));

  const QImage opaque = view->grabScaled(2, false);
  mqb::guitest::saveScreenshot(opaque, "axial_scaled2_opaque");
  EXPECT_EQ(qAlpha(opaque.pixel(10, 10)), 255);
  const QImage triple = view->grabScaled(3, false);
  EXPECT_EQ(triple.size(), view->deviceSize() * 3);

  // The on-screen view still renders normally afterwards.
  const QImage after = grab(*view);
  EXPECT_EQ(after, normal);
}

TEST_F(SliceViewTest, WindowLevelPresetsChangePixelValues) {
  QSignalSpy spy(view.get(), &SliceView::windowLevelChanged);
  view->setLabelsVisible(false);
  const int tx = 33, ty = 10;  // soft tissue, about 20..100 HU
  const double hu = view->huAt(tx, ty, Phantom::ballZ);
  ASSERT_GT(hu, -100);
  ASSERT_LT(hu, 150);
  auto greyAt = [&](SliceView::WindowPreset p) {
    view->applyPreset(p);
    const QImage img = grab(*view);
    mqb::guitest::saveScreenshot(img, "preset_" + SliceView::presetName(p).toLower());
    return pixelAtVoxel(img, *view, tx, ty, Phantom::ballZ).green();
  };
  const int abdomen = greyAt(SliceView::WindowPreset::Abdomen);  // unchanged: no signal
  const int bone = greyAt(SliceView::WindowPreset::Bone);
  const int lung = greyAt(SliceView::WindowPreset::Lung);
  const int brain = greyAt(SliceView::WindowPreset::Brain);
  EXPECT_EQ(spy.count(), 3);
  EXPECT_DOUBLE_EQ(view->window(), 80.0);
  EXPECT_DOUBLE_EQ(view->level(), 40.0);
  // Tissue is darker under the bone window, brighter under the lung window.
  EXPECT_LT(bone, abdomen - 20);
  EXPECT_GT(lung, abdomen + 20);
  EXPECT_NE(brain, abdomen);
  // Expected grey from the window formula (within rounding / interpolation).
  const double expectedAbdomen = std::clamp((hu - (40.0 - 175.0)) / 350.0, 0.0, 1.0) * 255.0;
  EXPECT_NEAR(abdomen, expectedAbdomen, 12.0);

  // Right-drag changes window (horizontal) and level (vertical).
  view->applyPreset(SliceView::WindowPreset::Abdomen);
  const QPointF p(200, 200);
  sendMouse(view.get(), QEvent::MouseButtonPress, p, Qt::RightButton, Qt::RightButton);
  sendMouse(view.get(), QEvent::MouseMove, p + QPointF(40, 20), Qt::NoButton, Qt::RightButton);
  sendMouse(view.get(), QEvent::MouseButtonRelease, p + QPointF(40, 20), Qt::RightButton, Qt::NoButton);
  EXPECT_GT(view->window(), 350.0);
  EXPECT_GT(view->level(), 40.0);
}

TEST_F(SliceViewTest, DisplayRespectsVoxelSpacing) {
  // Coronal slice through the ball: x (1 mm) horizontally, z (2 mm) vertically. The ball is
  // round in millimetres, so its red disc must be round on screen.
  view->setOrientation(SliceView::Orientation::Coronal);
  view->setSlice(Phantom::ballY);
  view->setLabelOpacity(1.0);
  view->setAnnotationsVisible(false);
  const QImage img = grab(*view);
  mqb::guitest::saveScreenshot(img, "coronal_ball");
  const QPoint c = pixelOf(*view, Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  ASSERT_TRUE(mqb::guitest::isReddish(img.pixelColor(c)));
  auto extent = [&](int dx, int dy) {
    int n = 0;
    QPoint p = c;
    while (img.rect().contains(p) && mqb::guitest::isReddish(img.pixelColor(p))) {
      ++n;
      p += QPoint(dx, dy);
    }
    return n;
  };
  const int w = extent(1, 0) + extent(-1, 0);
  const int h = extent(0, 1) + extent(0, -1);
  EXPECT_GT(w, 40);
  EXPECT_NEAR(static_cast<double>(h) / w, 1.0, 0.15) << "w=" << w << " h=" << h;
  // Coronal: superior (higher z) is up.
  EXPECT_LT(pixelOf(*view, 10, Phantom::ballY, 30).y(), pixelOf(*view, 10, Phantom::ballY, 10).y());
}

TEST_F(SliceViewTest, MouseCursorAndCoordinates) {
  QSignalSpy spy(view.get(), &SliceView::cursorMoved);
  // Round trip voxel -> widget -> voxel.
  for (const auto& v : {std::array<int, 3>{0, 0, 20}, {63, 47, 20}, {40, 24, 20}, {12, 33, 20}}) {
    std::array<int, 3> back{};
    ASSERT_TRUE(view->voxelAtWidgetPos(view->widgetPosOfVoxel(v[0], v[1], v[2]), back));
    EXPECT_EQ(back, v);
  }
  std::array<int, 3> dummy{};
  EXPECT_FALSE(view->voxelAtWidgetPos(QPointF(5, 5), dummy));  // background margin

  const QPointF ballPos = view->widgetPosOfVoxel(Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  QTest::mouseClick(view.get(), Qt::LeftButton, Qt::NoModifier, ballPos.toPoint());
  ASSERT_GE(spy.count(), 1);
  const auto args = spy.takeLast();
  EXPECT_EQ(args.at(0).toInt(), Phantom::ballX);
  EXPECT_EQ(args.at(1).toInt(), Phantom::ballY);
  EXPECT_EQ(args.at(2).toInt(), Phantom::ballZ);
  EXPECT_DOUBLE_EQ(args.at(3).toDouble(), 400.0);
  EXPECT_EQ(args.at(4).toInt(), 1);
  EXPECT_TRUE(view->hasCursor());
  view->setLabelsVisible(false);
  const QImage img = grab(*view);
  mqb::guitest::saveScreenshot(img, "axial_cursor");
  // The crosshair (cyan) passes through the cursor row at the left edge of the image.
  const QColor cross = img.pixelColor(pixelOf(*view, 2, Phantom::ballY, Phantom::ballZ));
  EXPECT_GT(cross.blue(), 150) << cross.name().toStdString();
  EXPECT_LT(cross.red(), 120) << cross.name().toStdString();

  // Ctrl+wheel zooms about the mouse: the voxel under the mouse stays there.
  QSignalSpy cam(view.get(), &SliceView::cameraChanged);
  const QPointF at = view->widgetPosOfVoxel(20, 30, Phantom::ballZ);
  sendWheel(view.get(), at, 120, Qt::ControlModifier);
  EXPECT_EQ(cam.count(), 1);
  EXPECT_NEAR(view->zoom(), 1.15, 1e-9);
  const QPointF after = view->widgetPosOfVoxel(20, 30, Phantom::ballZ);
  EXPECT_NEAR(after.x(), at.x(), 0.5);
  EXPECT_NEAR(after.y(), at.y(), 0.5);

  // Middle-drag pans: the image follows the mouse.
  const QPointF before = view->widgetPosOfVoxel(30, 20, Phantom::ballZ);
  sendMouse(view.get(), QEvent::MouseButtonPress, QPointF(200, 200), Qt::MiddleButton, Qt::MiddleButton);
  sendMouse(view.get(), QEvent::MouseMove, QPointF(230, 190), Qt::NoButton, Qt::MiddleButton);
  sendMouse(view.get(), QEvent::MouseButtonRelease, QPointF(230, 190), Qt::MiddleButton, Qt::NoButton);
  const QPointF moved = view->widgetPosOfVoxel(30, 20, Phantom::ballZ);
  EXPECT_NEAR(moved.x() - before.x(), 30.0, 0.5);
  EXPECT_NEAR(moved.y() - before.y(), -10.0, 0.5);
  const QImage panned = grab(*view);
  mqb::guitest::saveScreenshot(panned, "axial_zoom_pan");
  // The rendered picture agrees with the mapping: the ball is red where we computed it.
  view->setLabelsVisible(true);
  const QImage panned2 = grab(*view);
  EXPECT_TRUE(mqb::guitest::isReddish(pixelAtVoxel(panned2, *view, Phantom::ballX + 3, Phantom::ballY + 3,
                                                   Phantom::ballZ)));
}

TEST(ViewLinkTest, LinkedViewsFollowEachOther) {
  const Phantom phantom = mqb::guitest::makePhantom();
  QWidget window;
  auto* layout = new QHBoxLayout(&window);
  auto* a = new SliceView;
  auto* b = new SliceView;
  layout->addWidget(a);
  layout->addWidget(b);
  for (SliceView* v : {a, b}) {
    v->setImage(phantom.image);
    v->setClassList(mqb::guitest::phantomClasses());
    v->setLabels(phantom.labels);
  }
  b->setLabelMode(SliceView::LabelMode::Outline);
  b->setSlice(5);
  ViewLink* link = ViewLink::link({a, b}, ViewLink::defaultOptions(), &window);
  EXPECT_EQ(b->slice(), a->slice());  // the newcomer took over the group's state
  showAndWait(&window, QSize(820, 400));

  QSignalSpy spyA(a, &SliceView::sliceChanged);
  QSignalSpy spyB(b, &SliceView::sliceChanged);
  a->setSlice(25);
  EXPECT_EQ(b->slice(), 25);
  EXPECT_EQ(spyA.count(), 1);
  EXPECT_EQ(spyB.count(), 1);
  sendWheel(b, QPointF(100, 100), 120);
  EXPECT_EQ(b->slice(), 26);
  EXPECT_EQ(a->slice(), 26);
  EXPECT_EQ(spyA.count(), 2);  // exactly one emission each: no feedback loop
  EXPECT_EQ(spyB.count(), 2);
  a->setSlice(Phantom::ballZ);

  a->setZoom(1.5);
  EXPECT_DOUBLE_EQ(b->zoom(), 1.5);
  b->setPan(QPointF(4.0, -3.0));
  EXPECT_EQ(a->pan(), QPointF(4.0, -3.0));
  b->applyPreset(SliceView::WindowPreset::Bone);
  EXPECT_DOUBLE_EQ(a->window(), 1000.0);
  EXPECT_DOUBLE_EQ(a->level(), 400.0);
  a->applyPreset(SliceView::WindowPreset::Abdomen);

  const QPointF ballPos = a->widgetPosOfVoxel(Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  QTest::mouseClick(a, Qt::LeftButton, Qt::NoModifier, ballPos.toPoint());
  ASSERT_TRUE(b->hasCursor());
  EXPECT_EQ(b->cursorVoxel(), (std::array<int, 3>{Phantom::ballX, Phantom::ballY, Phantom::ballZ}));

  const QImage ia = grab(*a);
  const QImage ib = grab(*b);
  QImage both(ia.width() + ib.width() + 4, std::max(ia.height(), ib.height()), QImage::Format_RGB32);
  both.fill(Qt::white);
  {
    QPainter p(&both);
    p.drawImage(0, 0, ia);
    p.drawImage(ia.width() + 4, 0, ib);
  }
  mqb::guitest::saveScreenshot(both, "linked_fill_vs_outline");
  // Same slice, zoom, pan: the same voxel lands on the same pixel in both views.
  EXPECT_EQ(pixelOf(*a, 10, 10, Phantom::ballZ), pixelOf(*b, 10, 10, Phantom::ballZ));

  link->removeView(b);
  a->setSlice(2);
  EXPECT_EQ(b->slice(), Phantom::ballZ);
}

TEST(ViewLinkTest, CursorDrivesOrthogonalSlices) {
  const Phantom phantom = mqb::guitest::makePhantom();
  QWidget window;
  auto* layout = new QHBoxLayout(&window);
  QList<SliceView*> views;
  for (auto o : {SliceView::Orientation::Axial, SliceView::Orientation::Coronal, SliceView::Orientation::Sagittal}) {
    auto* v = new SliceView;
    v->setImage(phantom.image);
    v->setOrientation(o);
    v->setClassList(mqb::guitest::phantomClasses());
    v->setLabels(phantom.labels);
    layout->addWidget(v);
    views << v;
  }
  ViewLink::link(views, ViewLink::Options{ViewLink::Cursor, ViewLink::CursorSetsSlices}, &window);
  showAndWait(&window, QSize(900, 320));
  SliceView* axial = views[0];
  axial->setSlice(Phantom::ballZ);
  QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier,
                    axial->widgetPosOfVoxel(Phantom::ballX, 30, Phantom::ballZ).toPoint());
  EXPECT_EQ(views[1]->slice(), 30);              // coronal = y
  EXPECT_EQ(views[2]->slice(), Phantom::ballX);  // sagittal = x
  EXPECT_EQ(axial->slice(), Phantom::ballZ);
  for (SliceView* v : views) EXPECT_EQ(v->cursorVoxel(), (std::array<int, 3>{Phantom::ballX, 30, Phantom::ballZ}));

  QImage all(3 * 300 + 8, 320, QImage::Format_RGB32);
  all.fill(Qt::white);
  {
    QPainter p(&all);
    int x = 0;
    for (SliceView* v : views) {
      const QImage img = grab(*v);
      p.drawImage(x, 0, img);
      x += img.width() + 4;
    }
  }
  mqb::guitest::saveScreenshot(all, "orthogonal_views");
  // The sagittal view now cuts through the ball (sampled off the crosshair lines).
  const QImage sag = grab(*views[2]);
  EXPECT_TRUE(mqb::guitest::isReddish(pixelAtVoxel(sag, *views[2], Phantom::ballX, Phantom::ballY, Phantom::ballZ + 2)));
}

TEST(VtkOpenGLViewTest, SurvivesReparentingToAnotherWindow) {
  const Phantom phantom = mqb::guitest::makePhantom();
  auto first = std::make_unique<QWidget>();
  auto* l1 = new QVBoxLayout(first.get());
  auto* view = new SliceView;
  view->setImage(phantom.image);
  view->setClassList(mqb::guitest::phantomClasses());
  view->setLabels(phantom.labels);
  view->setSlice(Phantom::ballZ);
  l1->addWidget(view);
  showAndWait(first.get());
  const QImage before = grab(*view);
  ASSERT_TRUE(mqb::guitest::isReddish(pixelAtVoxel(before, *view, Phantom::ballX, Phantom::ballY, Phantom::ballZ)));

  // Moving a QOpenGLWidget to another top-level window destroys its GL context
  // (aboutToBeDestroyed) and creates a new one.
  QWidget second;
  auto* l2 = new QVBoxLayout(&second);
  l2->addWidget(view);
  first.reset();
  showAndWait(&second);
  const QImage after = grab(*view);
  mqb::guitest::saveScreenshot(after, "after_reparent");
  EXPECT_GT(mqb::guitest::distinctGreyLevels(after), 30);
  EXPECT_TRUE(mqb::guitest::isReddish(pixelAtVoxel(after, *view, Phantom::ballX, Phantom::ballY, Phantom::ballZ)));
  EXPECT_EQ(view->grabScaled(2, false).size(), view->deviceSize() * 2);
}

TEST(VtkOpenGLViewTest, GrabBeforeShowIsNull) {
  SliceView view;
  EXPECT_TRUE(view.grabScaled(2, true).isNull());
}
