// CPU slice rendering, the comparison figure and the command line of the application:
// Qt only, no GL, no display (offscreen platform).
#include "AppOptions.h"
#include "ComparisonFigure.h"
#include "ExportReaction.h"
#include "GuiTestSupport.h"
#include "LayerPlots.h"
#include "ScorePlot.h"
#include "SliceCompositor.h"
#include "SliceRenderer.h"

#include <QImage>

#include <cmath>

#include <gtest/gtest.h>

using namespace mqb;
using mqb::guitest::countPixels;
using mqb::guitest::Phantom;

namespace {}  // namespace

TEST(SliceRendererTest, AxialMappingColoursAndAspect) {
  const Phantom p = guitest::makePhantom();
  // 64 x 48 voxels of 1 mm: aspect 4:3.
  const QSize size = fitSliceSize(p.image->geometry, 2, QSize(640, 640));
  EXPECT_EQ(size, QSize(640, 480));
  SliceRenderOptions o;
  o.slice = Phantom::ballZ;
  o.labels = p.labels.get();
  o.classes = guitest::phantomClasses();
  o.labelOpacity = 1.0;
  const QImage img = renderSlice(*p.image, o, size);
  ASSERT_EQ(img.size(), size);
  guitest::saveScreenshot(img, "unit_render_axial");
  // Identity direction: x to the right, y down (anterior up), as SliceView draws it.
  const auto v = voxelAtPixel(p.image->geometry, 2, o.slice, size, 405, 245);
  EXPECT_EQ(v[0], 40);
  EXPECT_EQ(v[1], 24);
  EXPECT_EQ(v[2], Phantom::ballZ);
  EXPECT_EQ(img.pixelColor(405, 245), QColor(255, 0, 0));  // ball, opacity 1
  EXPECT_EQ(img.pixelColor(125, 205), QColor(0, 255, 0));  // box at voxel (12, 20)
  EXPECT_EQ(img.pixelColor(5, 5), QColor(0, 0, 0));        // air
  // Hidden label: CT shows through (400 HU is white in the abdomen window).
  o.labelVisible[1] = false;
  const QImage hidden = renderSlice(*p.image, o, size);
  EXPECT_EQ(hidden.pixelColor(405, 245), QColor(255, 255, 255));
  // Outline: the ball's centre is not drawn, its rim is.
  o.labelVisible[1] = true;
  o.outline = true;
  const QImage outline = renderSlice(*p.image, o, size);
  EXPECT_EQ(outline.pixelColor(405, 245), QColor(255, 255, 255));
  EXPECT_GT(countPixels(outline, [](QColor c) { return c == QColor(255, 0, 0); }), 100);
  // Difference overlay in magenta.
  auto diff = std::make_shared<LabelVolume>();
  diff->geometry = p.image->geometry;
  diff->voxels.assign(p.image->voxels.size(), 0);
  diff->at(30, 10, Phantom::ballZ) = 1;
  o.outline = false;
  o.labels = nullptr;
  o.difference = diff.get();
  o.differenceOpacity = 1.0;
  const QImage d = renderSlice(*p.image, o, size);
  EXPECT_EQ(countPixels(d, [](QColor c) { return c == QColor(255, 0, 255); }), 100);  // one voxel = 10x10 px
}

TEST(SliceCompositorTest, ComposesEachOrientationInIndexOrder) {
  const Phantom p = guitest::makePhantom();
  SliceStyle s;
  s.labels = p.labels.get();
  s.classes = guitest::phantomClasses();
  s.labelOpacity = 1.0;
  std::vector<uint8_t> rgba;
  auto px = [&](const SlicePlane& plane, int h, int v) {
    const uint8_t* q = rgba.data() + (static_cast<size_t>(v) * plane.width + h) * 4;
    return QColor(q[0], q[1], q[2], q[3]);
  };
  // Axial: x fastest, then y.
  ASSERT_TRUE(composeSlice(*p.image, 2, Phantom::ballZ, s, rgba));
  SlicePlane plane = slicePlane(p.image->geometry, 2);
  ASSERT_EQ(rgba.size(), size_t(64 * 48 * 4));
  EXPECT_EQ(px(plane, Phantom::ballX, Phantom::ballY), QColor(255, 0, 0));
  EXPECT_EQ(px(plane, 12, 20), QColor(0, 255, 0));
  EXPECT_EQ(px(plane, 1, 1), QColor(0, 0, 0));
  // Coronal (normal y): x fastest, then z.
  ASSERT_TRUE(composeSlice(*p.image, 1, Phantom::ballY, s, rgba));
  plane = slicePlane(p.image->geometry, 1);
  EXPECT_EQ(plane.width, 64);
  EXPECT_EQ(plane.height, 40);
  EXPECT_EQ(px(plane, Phantom::ballX, Phantom::ballZ), QColor(255, 0, 0));
  EXPECT_EQ(px(plane, 12, 20), QColor(0, 255, 0));  // the box spans y 14..27
  // Sagittal (normal x): y fastest, then z.
  ASSERT_TRUE(composeSlice(*p.image, 0, Phantom::ballX, s, rgba));
  plane = slicePlane(p.image->geometry, 0);
  EXPECT_EQ(plane.width, 48);
  EXPECT_EQ(plane.height, 40);
  EXPECT_EQ(px(plane, Phantom::ballY, Phantom::ballZ), QColor(255, 0, 0));
  EXPECT_EQ(px(plane, 2, 2), QColor(0, 0, 0));
  // Half opacity blends the class colour with the CT (400 HU is white in the abdomen window).
  s.labelOpacity = 0.5;
  ASSERT_TRUE(composeSlice(*p.image, 2, Phantom::ballZ, s, rgba));
  plane = slicePlane(p.image->geometry, 2);
  EXPECT_EQ(px(plane, Phantom::ballX, Phantom::ballY), QColor(255, 128, 128));
  // Window/level: a wider window darkens the ball.
  s.labels = nullptr;
  s.window = 2000;
  s.level = 200;
  ASSERT_TRUE(composeSlice(*p.image, 2, Phantom::ballZ, s, rgba));
  EXPECT_EQ(px(plane, Phantom::ballX, Phantom::ballY), QColor(153, 153, 153));  // (400+800)/2000*255
  // The difference overlay is drawn over everything; a mismatching overlay is ignored.
  auto diff = std::make_shared<LabelVolume>();
  diff->geometry = p.image->geometry;
  diff->voxels.assign(p.image->voxels.size(), 0);
  diff->at(3, 4, Phantom::ballZ) = 1;
  s.difference = diff.get();
  s.differenceOpacity = 1.0;
  ASSERT_TRUE(composeSlice(*p.image, 2, Phantom::ballZ, s, rgba));
  EXPECT_EQ(px(plane, 3, 4), QColor(255, 0, 255));
  EXPECT_EQ(px(plane, 4, 4), QColor(0, 0, 0));
  LabelVolume small;
  small.geometry.size = {2, 2, 2};
  small.voxels.assign(8, 1);
  s.difference = &small;
  ASSERT_TRUE(composeSlice(*p.image, 2, Phantom::ballZ, s, rgba));
  EXPECT_EQ(px(plane, 3, 4), QColor(0, 0, 0));
  // A NaN voxel (corrupt input) shows black instead of an undefined byte.
  s.difference = nullptr;
  ImageVolume withNan = *p.image;
  withNan.voxels[static_cast<size_t>(Phantom::ballZ) * 64 * 48 + 5 * 64 + 5] = std::nanf("");
  ASSERT_TRUE(composeSlice(withNan, 2, Phantom::ballZ, s, rgba));
  EXPECT_EQ(px(plane, 5, 5), QColor(0, 0, 0));
  // An empty image composes nothing.
  EXPECT_FALSE(composeSlice(ImageVolume{}, 2, 0, s, rgba));
  EXPECT_TRUE(rgba.empty());
}

TEST(SliceCompositorTest, DifferenceColourNeverMatchesAnOrganColour) {
  EXPECT_EQ(differenceColorFor(guitest::phantomClasses()), QColor(255, 0, 255));  // red and green organs
  // BTCV colours: the liver is magenta.
  const ClassList btcv = {
      {0, "background", {0, 0, 0}},    {1, "spleen", {255, 0, 0}},        {2, "right kidney", {0, 255, 0}},
      {3, "left kidney", {0, 0, 255}}, {4, "gallbladder", {255, 255, 0}}, {5, "esophagus", {0, 255, 255}},
      {6, "liver", {255, 0, 255}},     {7, "stomach", {255, 239, 213}},   {8, "aorta", {0, 0, 205}},
      {9, "ivc", {205, 133, 63}},      {10, "veins", {210, 180, 140}},    {11, "pancreas", {102, 205, 170}}};
  const QColor c = differenceColorFor(btcv);
  EXPECT_NE(c, QColor(255, 0, 255));
  for (const auto& k : btcv) {
    if (k.id == 0) continue;
    const double d = std::hypot(c.red() - k.color[0], c.green() - k.color[1], c.blue() - k.color[2]);
    EXPECT_GE(d, 90.0) << k.name;
  }
}

TEST(ScorePlotTest, AxisLabelsAreShortOrganNames) {
  EXPECT_EQ(shortCategoryName("spleen"), "spleen");
  EXPECT_EQ(shortCategoryName("right kidney"), "R kidney");
  EXPECT_EQ(shortCategoryName("left adrenal gland"), "L adrenal");
  EXPECT_EQ(shortCategoryName("inferior vena cava"), "IVC");
  EXPECT_EQ(shortCategoryName("portal & splenic vein"), "PSV");
  EXPECT_EQ(shortCategoryName("gallbladder"), "gallbladder");
  EXPECT_EQ(shortCategoryName("a_very_long_single_word"), QString("a_very_long") + QChar(0x2026));
}

TEST(LayerErrorPlotTest, AxisLabelsAreTailsOfTheModulePath) {
  EXPECT_EQ(shortOpName("decoder.3.up"), "decoder.3.up");
  EXPECT_EQ(shortOpName("encoder.3.conv1.conv"), QString(QChar(0x2026)) + "3.conv1.conv");
  EXPECT_EQ(shortOpName("blocks.2.attn.matmul_1"), QString(QChar(0x2026)) + "2.attn.matmul_1");
  EXPECT_EQ(shortOpName("a_single_component_that_is_long"), QString(QChar(0x2026)) + "nt_that_is_long");
}

TEST(SliceRendererTest, FlippedDirectionFollowsSliceViewConventions) {
  Phantom p = guitest::makePhantom();
  auto img = std::make_shared<ImageVolume>(*p.image);
  img->geometry.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};  // RAS-stored axes
  SliceRenderOptions o;
  o.slice = Phantom::ballZ;
  const QSize size(64, 48);
  // SliceView: axial right = +x * sign(x), up = -y * sign(y). Here sign(x) = sign(y) = -1:
  // column 0 shows the highest x, and "up" is +y, so row 0 shows the highest y.
  auto v = voxelAtPixel(img->geometry, 2, o.slice, size, 0, 0);
  EXPECT_EQ(v[0], 63);
  EXPECT_EQ(v[1], 47);
  v = voxelAtPixel(img->geometry, 2, o.slice, size, 63, 47);
  EXPECT_EQ(v[0], 0);
  EXPECT_EQ(v[1], 0);
  // Coronal: superior up.
  v = voxelAtPixel(p.image->geometry, 1, 10, QSize(64, 80), 0, 0);
  EXPECT_EQ(v[2], 39);
  EXPECT_EQ(v[1], 10);
  // Sagittal: posterior (+y) to the right, superior up.
  v = voxelAtPixel(p.image->geometry, 0, 5, QSize(48, 80), 47, 79);
  EXPECT_EQ(v[1], 47);
  EXPECT_EQ(v[2], 0);
  EXPECT_EQ(v[0], 5);
}

TEST(ComparisonFigureTest, ScaleDoublesExactlyAndPanelsAreDrawn) {
  const Phantom p = guitest::makePhantom();
  gui::FigureRequest r;
  r.image = p.image;
  r.fp32 = p.labels;
  r.quantized = p.labels;
  auto diff = std::make_shared<LabelVolume>();
  diff->geometry = p.image->geometry;
  diff->voxels.assign(p.image->voxels.size(), 0);
  for (int x = 30; x < 40; ++x) diff->at(x, 24, Phantom::ballZ) = 1;
  r.difference = diff;
  r.classes = guitest::phantomClasses();
  r.slice = Phantom::ballZ;
  r.labelVisible.fill(true);
  r.modelName = "band";
  r.quantTitle = "INT W4A4";
  r.configuration = "W4A4 per-channel, symmetric, minmax";
  r.differingVoxels = 10;
  const ComparisonFigure fig(gui::makeComparisonSpec(r));
  const QImage one = fig.render(1);
  const QImage two = fig.render(2);
  guitest::saveScreenshot(two, "unit_comparison_figure_2x");
  EXPECT_EQ(one.size(), fig.logicalSize());
  EXPECT_EQ(two.size(), fig.logicalSize() * 2);
  EXPECT_EQ(fig.pixelSize(3), fig.logicalSize() * 3);
  EXPECT_GT(one.width(), 3 * 320);  // three panels side by side
  // Organ colours and the magenta difference appear; the caption names the configuration.
  EXPECT_GT(countPixels(two, [](QColor c) { return guitest::isReddish(c); }), 500);
  EXPECT_GT(countPixels(two, [](QColor c) { return c.green() > c.red() + 60 && c.green() > c.blue() + 60; }), 500);
  EXPECT_GT(countPixels(two, [](QColor c) { return c.red() > 200 && c.blue() > 200 && c.green() < 80; }), 100);
  EXPECT_NE(gui::figureCaption(r).indexOf("W4A4 per-channel"), -1);
  EXPECT_NE(gui::figureCaption(r).indexOf("10 voxels differ"), -1);
  // Legend: the two organs on the slice + the difference entry.
  EXPECT_EQ(gui::makeComparisonSpec(r).legend.size(), 3);
  // Transparent margins, opaque panels.
  r.transparentBackground = true;
  const QImage t = ComparisonFigure(gui::makeComparisonSpec(r)).render(1);
  EXPECT_EQ(t.pixelColor(1, 1).alpha(), 0);
  EXPECT_EQ(t.pixelColor(t.width() / 2, t.height() / 2).alpha(), 255);
  // Ground truth adds a fourth panel.
  r.truth = p.labels;
  EXPECT_EQ(gui::makeComparisonSpec(r).panels.size(), 4);
  r.includeTruth = false;
  EXPECT_EQ(gui::makeComparisonSpec(r).panels.size(), 3);
}

TEST(AppOptionsTest, ParsesTheDocumentedCommandLine) {
  gui::AppOptions o;
  QString msg;
  bool exitNow = true;
  ASSERT_TRUE(gui::parseAppOptions({"medquanbench", "--model", "m.pt", "--volume", "ct.nii.gz", "--labels", "gt.nii.gz",
                                    "--label-map", "totalsegmentator-to-btcv", "--precision", "W4A4", "--granularity",
                                    "adaptive", "--export-figure", "out.png", "--export-scale", "2", "extra.json"},
                                   o, msg, &exitNow))
      << msg.toStdString();
  EXPECT_FALSE(exitNow);
  EXPECT_EQ(o.model, "m.pt");
  EXPECT_EQ(o.labelMap, "totalsegmentator-to-btcv");
  EXPECT_EQ(o.precision, "W4A4");
  EXPECT_EQ(o.exportScale, 2);
  EXPECT_TRUE(o.batch());
  EXPECT_EQ(o.files, QStringList{"extra.json"});
  EXPECT_FALSE(gui::parseAppOptions({"medquanbench", "--export-scale", "0", "--export-figure", "x.png"}, o, msg,
                                    nullptr));
  EXPECT_TRUE(msg.contains("export-scale"));
  EXPECT_FALSE(gui::parseAppOptions({"medquanbench", "--labels", "gt.nii.gz"}, o, msg, nullptr));
  EXPECT_FALSE(gui::parseAppOptions({"medquanbench", "--bogus"}, o, msg, nullptr));
  gui::AppOptions b;
  ASSERT_TRUE(gui::parseAppOptions({"medquanbench", "--benchmark", "--benchmark-parts", "stall,preview"}, b, msg,
                                   nullptr));
  EXPECT_EQ(b.benchmarkParts, (QStringList{"stall", "preview"}));
  EXPECT_FALSE(gui::parseAppOptions({"medquanbench", "--benchmark", "--benchmark-parts", "redraw,fast"}, b, msg,
                                    nullptr));
  EXPECT_TRUE(msg.contains("fast"));
  gui::AppOptions h;
  ASSERT_TRUE(gui::parseAppOptions({"medquanbench", "--help"}, h, msg, &exitNow));
  EXPECT_TRUE(exitNow);
  EXPECT_TRUE(msg.contains("--export-figure"));
  gui::AppOptions d;
  ASSERT_TRUE(gui::parseAppOptions({"medquanbench", "--demo", "--screenshot", "s.png"}, d, msg, &exitNow));
  EXPECT_TRUE(d.demo);
  EXPECT_TRUE(d.batch());
}
