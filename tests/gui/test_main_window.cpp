// End to end: the main window on a small phantom with the band test model (FP32 and W4A4),
// exports, sessions, errors, and the headless command line (--export-figure).
// Screenshots go to <build>/test-screenshots/gui/.
#include "AnalysisTabs.h"
#include "ComparisonFigure.h"
#include "ExportReaction.h"
#include "GuiTestSupport.h"
#include "MainWindow.h"
#include "OrganLegend.h"
#include "QuantPanel.h"
#include "ScorePlot.h"
#include "SessionController.h"
#include "SliceView.h"
#include "SurfaceView.h"
#include "LayerPlots.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "ViewerPanel.h"
#include "io/VolumeIO.h"

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QTreeWidget>
#include <QFile>
#include <QFileInfo>
#include <QMimeData>
#include <QUrl>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>
#include <QTimer>

#include <vtkPolyData.h>

#include <gtest/gtest.h>

#include <cstdio>

using namespace mqb;
using namespace mqb::gui;
using mqb::guitest::countPixels;
using mqb::guitest::Phantom;

namespace {

bool isMagenta(QColor c) { return c.red() > 150 && c.blue() > 150 && c.green() < 100; }
bool isGreenish(QColor c) { return c.green() > c.red() + 60 && c.green() > c.blue() + 60; }

QImage grabView(SliceView* v) {
  for (int i = 0; i < 5; ++i) QApplication::processEvents();
  return v->grabFramebuffer();
}

quant::QuantConfig w4a4() {
  quant::QuantConfig s;
  s.precision = quant::Precision::integer(4, 4);
  s.granularity = quant::Granularity::PerChannel;
  s.calibrationPatches = 4;
  return s;
}

class MainWindowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { QStandardPaths::setTestModeEnabled(true); }
  void SetUp() override {
    dir = test::tempDir();
    model = dir + "/band.pt";
    test::writeBandModel(model, test::bandModelMetadata(16, 2.0));
    phantom = guitest::makePhantom();
    window = std::make_unique<MainWindow>();
    window->setAutosaveEnabled(false);
    window->quantPanel()->setAutoRun(false);
    window->resize(1500, 950);
    window->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(window.get()));
  }
  void TearDown() override { window.reset(); }

  // Model + phantom CT + phantom labels as ground truth, through the controller.
  void loadInputs() {
    SessionController* c = window->controller();
    c->openModel(QString::fromStdString(model));
    c->setVolumeData(phantom.image, "phantom");
    c->setGroundTruthData(phantom.labels, "phantom labels");
    ASSERT_TRUE(c->waitUntilIdle(60000));
    ASSERT_TRUE(c->modelInfo());
    ASSERT_TRUE(c->volume());
  }

  std::string dir, model;
  Phantom phantom;
  std::unique_ptr<MainWindow> window;
};

}  // namespace

TEST_F(MainWindowTest, Fp32AndW4A4SideBySideWithDifferenceAndExports) {
  loadInputs();
  SessionController* c = window->controller();
  ViewerPanel* viewer = window->viewer();
  EXPECT_EQ(window->quantPanel()->opCount(), 2);
  EXPECT_EQ(window->legend()->classes().size(), 3u);
  EXPECT_TRUE(viewer->view(ViewerPanel::TruthPane)->isVisible());

  window->quantPanel()->setSettings(w4a4());
  bool sawPreview = false;
  QObject::connect(c, &SessionController::resultsChanged, [&] { sawPreview |= c->quantizedIsPreview(); });
  QSignalSpy finished(c, &SessionController::runFinished);
  QElapsedTimer timer;
  timer.start();
  window->runComparison();
  ASSERT_TRUE(c->waitUntilIdle(120000));
  std::printf("FP32 + W4A4 run on the phantom: %lld ms (%s)\n", static_cast<long long>(timer.elapsed()),
              qPrintable(c->lastRunSummary()));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_TRUE(finished.first().first().toBool());
  ASSERT_TRUE(c->hasResults());
  EXPECT_TRUE(sawPreview) << "the on-screen slice should be previewed first";
  EXPECT_FALSE(c->fp32IsPreview());
  EXPECT_GT(c->differingVoxels(), 0);
  ASSERT_TRUE(c->table());
  EXPECT_TRUE(c->table()->haveTruth);
  EXPECT_EQ(window->dscPlot()->categoryCount(), 2);
  EXPECT_EQ(window->dscPlot()->seriesCount(), 3);
  EXPECT_NE(window->dscPlot()->tooltipFor(0).indexOf("vs GT"), -1);
  EXPECT_EQ(window->scoreTable()->rowCount(), 3);
  EXPECT_NE(viewer->paneTitle(ViewerPanel::QuantPane).indexOf("W4A4"), -1);
  EXPECT_NE(viewer->paneTitle(ViewerPanel::DiffPane).indexOf("voxels"), -1);

  // Show the slice with the most differing voxels.
  const auto diff = c->difference();
  const auto& g = diff->geometry;
  int best = 0;
  int64_t bestCount = -1;
  for (int z = 0; z < g.size[2]; ++z) {
    int64_t n = 0;
    for (int y = 0; y < g.size[1]; ++y)
      for (int x = 0; x < g.size[0]; ++x) n += diff->at(x, y, z);
    if (n > bestCount) {
      bestCount = n;
      best = z;
    }
  }
  ASSERT_GT(bestCount, 0);
  viewer->view(ViewerPanel::Fp32Pane)->setSlice(best);
  for (auto* v : viewer->views()) EXPECT_EQ(v->slice(), best);  // linked

  const QImage fp32 = grabView(viewer->view(ViewerPanel::Fp32Pane));
  const QImage quant = grabView(viewer->view(ViewerPanel::QuantPane));
  const QImage difference = grabView(viewer->view(ViewerPanel::DiffPane));
  const QImage truth = grabView(viewer->view(ViewerPanel::TruthPane));
  guitest::saveScreenshot(fp32, "e2e_fp32_view");
  guitest::saveScreenshot(quant, "e2e_w4a4_view");
  guitest::saveScreenshot(difference, "e2e_difference_view");
  guitest::saveScreenshot(truth, "e2e_truth_view");
  QApplication::processEvents();
  guitest::saveScreenshot(window->grab().toImage(), "e2e_main_window");

  // Not blank: CT grey levels under the overlay.
  EXPECT_GT(guitest::distinctGreyLevels(fp32), 10);
  EXPECT_GT(guitest::distinctGreyLevels(difference), 10);
  // Organ colours of the model's class list: "low" red, "high" green.
  EXPECT_GT(countPixels(fp32, guitest::isReddish), 100);
  EXPECT_GT(countPixels(fp32, isGreenish), 50);
  EXPECT_GT(countPixels(quant, [](QColor q) { return guitest::isReddish(q) || isGreenish(q); }), 100);
  // The difference view highlights the voxels where the predictions differ, and only those.
  EXPECT_GT(countPixels(difference, isMagenta), 20);
  EXPECT_EQ(countPixels(fp32, isMagenta), 0);
  // The difference pane shows no organ fill.
  EXPECT_EQ(countPixels(difference, isGreenish), 0);

  // Model metadata, CT geometry and ground truth in the Inputs panel.
  auto* inputs = window->findChild<QDockWidget*>("inputs");
  ASSERT_TRUE(inputs);
  inputs->raise();
  QApplication::processEvents();
  EXPECT_GE(window->infoTree()->topLevelItemCount(), 3);  // model, CT, ground truth
  guitest::saveScreenshot(window->grab().toImage(), "e2e_inputs_panel");
  window->findChild<QDockWidget*>("quantization")->raise();

  // Organ visibility from the legend reaches the views.
  window->legend()->setOrganVisible(1, false);
  EXPECT_FALSE(viewer->view(ViewerPanel::QuantPane)->isLabelVisible(1));
  EXPECT_EQ(countPixels(grabView(viewer->view(ViewerPanel::Fp32Pane)), guitest::isReddish), 0);
  window->legend()->setOrganVisible(1, true);

  // Status bar read-out under the cursor.
  const QString hover = window->describeVoxel(Phantom::ballX, Phantom::ballY, Phantom::ballZ);
  EXPECT_NE(hover.indexOf("HU 400"), -1) << hover.toStdString();
  EXPECT_NE(hover.indexOf("FP32: high"), -1) << hover.toStdString();
  EXPECT_NE(hover.indexOf("W4A4:"), -1) << hover.toStdString();
  EXPECT_NE(hover.indexOf("GT: low"), -1) << hover.toStdString();  // phantom ball is truth label 1

  // Comparison figure at scale 2: written with exactly the requested size.
  ExportReaction* ex = window->exporter();
  const ViewState view = viewer->viewState();
  EXPECT_EQ(view.slice, best);
  const QString figure = QString::fromStdString(dir) + "/comparison.png";
  QString error;
  QSize written;
  ASSERT_TRUE(ex->exportComparisonFigure(figure, 2, false, view, &error, &written)) << error.toStdString();
  const QImage fig(figure);
  ASSERT_FALSE(fig.isNull());
  FigureRequest req = ex->figureRequest(view);
  const QSize logical = ComparisonFigure(makeComparisonSpec(req)).logicalSize();
  EXPECT_EQ(fig.size(), logical * 2);
  EXPECT_EQ(fig.size(), written);
  EXPECT_EQ(makeComparisonSpec(req).panels.size(), 4);  // FP32 | W4A4 | difference | ground truth
  EXPECT_GT(countPixels(fig, isMagenta), 50);
  guitest::saveScreenshot(fig, "e2e_comparison_figure");

  // Tables, plots, views, predictions.
  for (const char* name : {"scores.csv", "scores.md", "scores.tex", "bench.md"}) {
    const QString p = QString::fromStdString(dir) + "/" + name;
    const bool ok = QString(name).startsWith("bench") ? ex->exportBenchmark(p, &error) : ex->exportTable(p, &error);
    EXPECT_TRUE(ok) << error.toStdString();
    EXPECT_GT(QFileInfo(p).size(), 50) << name;
  }
  for (const char* name : {"dsc.png", "dsc.svg", "dsc.pdf"}) {
    const QString p = QString::fromStdString(dir) + "/" + name;
    EXPECT_TRUE(ExportReaction::exportPlot(window->dscPlot(), p, 2, true, &error)) << error.toStdString();
    EXPECT_GT(QFileInfo(p).size(), 500) << name;
  }
  const QImage plot(QString::fromStdString(dir) + "/dsc.png");
  EXPECT_EQ(plot.size(), window->dscPlot()->size() * 2);
  EXPECT_EQ(plot.pixelColor(1, 1).alpha(), 0);  // transparent background
  guitest::saveScreenshot(plot, "e2e_dsc_plot");
  const QString viewPng = QString::fromStdString(dir) + "/view.png";
  ASSERT_TRUE(ExportReaction::exportView(viewer->view(ViewerPanel::DiffPane), viewPng, 2, false, &error))
      << error.toStdString();
  EXPECT_EQ(QImage(viewPng).size(), viewer->view(ViewerPanel::DiffPane)->deviceSize() * 2);
  const QString nifti = QString::fromStdString(dir) + "/quantized.nii.gz";
  ASSERT_TRUE(ex->exportPrediction(ExportReaction::Prediction::Quantized, nifti, &error)) << error.toStdString();
  ASSERT_TRUE(c->waitUntilIdle(30000));
  const LabelVolume back = readLabelMap(nifti.toStdString());
  EXPECT_EQ(back.voxels, c->quantized()->voxels);

  // A configuration change reuses FP32 and calibration (only the quantized run is new).
  quant::QuantConfig adaptive = w4a4();
  adaptive.granularity = quant::Granularity::Adaptive;
  window->quantPanel()->setSettings(adaptive);
  window->runComparison();
  ASSERT_TRUE(c->waitUntilIdle(120000));
  const auto counters = c->session().counters();
  EXPECT_EQ(counters.fp32, 1);
  EXPECT_EQ(counters.calibrate, 1);
  EXPECT_EQ(counters.quantized, 2);
  EXPECT_EQ(c->resultSettings().granularity, quant::Granularity::Adaptive);
}

TEST_F(MainWindowTest, LayerAnalysisPlotsAndKeepMostSensitiveInFp32) {
  // A model with several op kinds (conv, transposed conv, linear, attention matmuls).
  const std::string mixed = dir + "/mixed.pt";
  test::writeMixedOpsModel(mixed);
  SessionController* c = window->controller();
  c->openModel(QString::fromStdString(mixed));
  c->setVolumeData(phantom.image, "phantom");
  ASSERT_TRUE(c->waitUntilIdle(60000));
  ASSERT_TRUE(c->modelInfo()) << "mixed-ops model did not load";
  const int ops = window->quantPanel()->opCount();
  EXPECT_GE(ops, 5);
  window->quantPanel()->setSettings(w4a4());
  QSignalSpy analysed(c, &SessionController::layerAnalysisChanged);
  c->analyzeLayers(window->quantPanel()->settings());
  ASSERT_TRUE(c->waitUntilIdle(120000));
  ASSERT_TRUE(c->layerAnalysis());
  EXPECT_EQ(static_cast<int>(c->layerAnalysis()->layers.size()), ops);
  EXPECT_EQ(window->layerPlot()->opCount(), ops);
  EXPECT_FALSE(window->histogramPlot()->histogram().counts.isEmpty());
  // Keep the 2 most sensitive ops in FP32 (one action), as the engine ranks them.
  const auto ranking = c->layerAnalysis()->sensitivity;
  ASSERT_GE(ranking.size(), 2u);
  window->quantPanel()->setAutoRun(false);
  emit window->quantPanel()->keepSensitiveRequested(2);
  EXPECT_EQ(window->quantPanel()->settings().excludedOps, (std::set<std::string>{ranking[0], ranking[1]}));
  auto* tabs = window->findChild<QTabWidget*>();
  ASSERT_TRUE(tabs);
  tabs->setCurrentIndex(2);
  QApplication::processEvents();
  guitest::saveScreenshot(window->grab().toImage(), "e2e_layer_error");
  tabs->setCurrentIndex(3);
  QApplication::processEvents();
  guitest::saveScreenshot(window->grab().toImage(), "e2e_histogram");
  const QString svg = QString::fromStdString(dir) + "/layers.svg";
  QString error;
  EXPECT_TRUE(ExportReaction::exportPlot(window->layerPlot(), svg, 1, false, &error)) << error.toStdString();
  EXPECT_GT(QFileInfo(svg).size(), 1000);
}

TEST_F(MainWindowTest, NsdToleranceControlRescoresWithoutInference) {
  loadInputs();
  SessionController* c = window->controller();
  QDoubleSpinBox* tau = window->toleranceSpin();
  ASSERT_TRUE(tau);
  EXPECT_DOUBLE_EQ(tau->value(), kDefaultNsdToleranceMm);
  window->quantPanel()->setSettings(w4a4());
  window->runComparison();
  ASSERT_TRUE(c->waitUntilIdle(120000));
  ASSERT_TRUE(c->table());
  EXPECT_DOUBLE_EQ(c->table()->toleranceMm, kDefaultNsdToleranceMm);
  const auto before = c->session().counters();
  const double nsdAtDefault = c->table()->meanQuantNsd;
  // tau = 0: only surface voxels that coincide count, so NSD vs ground truth drops.
  tau->setValue(0.0);
  QSignalSpy tableChanged(c, &SessionController::tableChanged);
  ASSERT_TRUE(tableChanged.wait(10000));  // debounced, then scored on the worker
  ASSERT_TRUE(c->waitUntilIdle(60000));
  ASSERT_TRUE(c->table());
  EXPECT_DOUBLE_EQ(c->table()->toleranceMm, 0.0);
  EXPECT_DOUBLE_EQ(c->toleranceMm(), 0.0);
  EXPECT_LT(c->table()->meanQuantNsd, nsdAtDefault);
  // No inference, no calibration: only the scores were recomputed.
  const auto after = c->session().counters();
  EXPECT_EQ(after.fp32, before.fp32);
  EXPECT_EQ(after.quantized, before.quantized);
  EXPECT_EQ(after.calibrate, before.calibrate);
  EXPECT_EQ(after.previews, before.previews);
  EXPECT_TRUE(c->hasResults());
  // The next run uses the new tolerance too.
  window->runComparison();
  ASSERT_TRUE(c->waitUntilIdle(120000));
  EXPECT_DOUBLE_EQ(c->table()->toleranceMm, 0.0);
}

TEST_F(MainWindowTest, ThreeDSurfacesShareOneCamera) {
  loadInputs();
  window->quantPanel()->setSettings(w4a4());
  window->runComparison();
  ASSERT_TRUE(window->controller()->waitUntilIdle(120000));
  ViewerPanel* viewer = window->viewer();
  viewer->setSurfacesVisible(true);
  SurfaceView* a = viewer->surfaceView(0);
  SurfaceView* b = viewer->surfaceView(1);
  // Extraction runs on a pool thread: the GUI thread is not blocked by it.
  EXPECT_TRUE(a->isBuilding());
  ASSERT_TRUE(a->waitUntilBuilt(60000));
  ASSERT_TRUE(b->waitUntilBuilt(60000));
  for (int i = 0; i < 10; ++i) QApplication::processEvents();
  EXPECT_GE(a->surfaceCount(), 1);
  EXPECT_GE(b->surfaceCount(), 1);
  EXPECT_EQ(a->camera(), b->camera());
  const QImage shot = a->grabFramebuffer();
  guitest::saveScreenshot(shot, "e2e_surfaces_fp32");
  guitest::saveScreenshot(window->grab().toImage(), "e2e_main_window_3d");
  // Coloured surfaces on the dark background.
  EXPECT_GT(countPixels(shot, [](QColor c) { return c.saturation() > 100 && c.value() > 60; }), 200);
  // Hiding an organ rebuilds without it; a newer request supersedes a running one.
  const int before = a->surfaceCount();
  a->setLabelVisible(1, false);
  ASSERT_TRUE(a->waitUntilBuilt(60000));
  EXPECT_EQ(a->surfaceCount(), before - 1);
  a->setLabelVisible(1, true);
  a->setLabels(nullptr);  // supersedes the extraction just started
  ASSERT_TRUE(a->waitUntilBuilt(60000));
  for (int i = 0; i < 10; ++i) QApplication::processEvents();  // the stale result arrives and is dropped
  EXPECT_EQ(a->surfaceCount(), 0);
  EXPECT_EQ(a->surfaces()->GetNumberOfPoints(), 0);
}

TEST_F(MainWindowTest, CancelKeepsTheWindowResponsiveAndLeavesNoResult) {
  loadInputs();
  SessionController* c = window->controller();
  QSignalSpy finished(c, &SessionController::runFinished);
  window->quantPanel()->setSettings(w4a4());
  window->runComparison();
  c->cancel();
  ASSERT_TRUE(c->waitUntilIdle(60000));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_FALSE(finished.first().first().toBool());
  EXPECT_FALSE(c->hasResults());
  // A run superseded by another: only the last one's results arrive.
  quant::QuantConfig w8 = w4a4();
  w8.precision = quant::Precision::integer(8, 8);
  c->run(w4a4(), -1);
  c->run(w8, -1);
  ASSERT_TRUE(c->waitUntilIdle(120000));
  ASSERT_TRUE(c->hasResults());
  EXPECT_EQ(c->resultSettings().precision.id(), "W8A8");
}

TEST_F(MainWindowTest, RealInt8ChosenInThePanelRunsAndTheStatusNamesIt) {
  loadInputs();
  SessionController* c = window->controller();
  QuantPanel* panel = window->quantPanel();
  quant::QuantConfig w8a8 = w4a4();
  w8a8.precision = quant::Precision::integer(8, 8);
  w8a8.granularity = quant::Granularity::PerTensor;
  panel->setSettings(w8a8);
  // Choose the execution as a user does: the panel's combo box.
  QComboBox* execution = nullptr;
  for (auto* box : panel->findChildren<QComboBox*>())
    if (box->findText("Real INT8 (integer kernels)") >= 0) execution = box;
  ASSERT_TRUE(execution);
  execution->setCurrentIndex(execution->findText("Real INT8 (integer kernels)"));
  EXPECT_EQ(panel->settings().execution, quant::Execution::RealInt8);
  EXPECT_TRUE(panel->runProblem().isEmpty());

  QSignalSpy finished(c, &SessionController::runFinished);
  window->runComparison();
  ASSERT_TRUE(c->waitUntilIdle(120000));
  ASSERT_EQ(finished.count(), 1);
  EXPECT_TRUE(finished.first().first().toBool());
  ASSERT_TRUE(c->hasResults());
  ASSERT_TRUE(c->realInt8Measurement());
  EXPECT_GT(c->realInt8Measurement()->speedup(), 0.0);
  const QString summary = c->lastRunSummary();
  std::printf("real INT8 run on the phantom: %s\n", qPrintable(summary));
  EXPECT_TRUE(summary.startsWith("W8A8 per-tensor, real INT8 (")) << summary.toStdString();
  EXPECT_NE(summary.indexOf(", FP32 "), -1) << summary.toStdString();
  // The Table tab says the same above the per-organ scores: time, speed-up and file size.
  const QString caption = window->analysis()->executionLabel()->text();
  EXPECT_TRUE(caption.startsWith("W8A8 per-tensor, real INT8 (")) << caption.toStdString();
  EXPECT_NE(caption.indexOf("x the FP32 file"), -1) << caption.toStdString();
  guitest::saveScreenshot(window->grab().toImage(), "e2e_real_int8");

  // W4A4 cannot run on the integer kernels: the panel says why, Run is off, nothing starts.
  QPushButton* runButton = nullptr;
  for (auto* b : panel->findChildren<QPushButton*>())
    if (b->text() == "Run") runButton = b;
  ASSERT_TRUE(runButton);
  QSpinBox* weightBits = nullptr;
  for (auto* box : panel->findChildren<QSpinBox*>())
    if (box->prefix() == "W") weightBits = box;
  ASSERT_TRUE(weightBits);
  weightBits->setValue(4);
  EXPECT_NE(panel->runProblem().indexOf("W8A8"), -1) << panel->runProblem().toStdString();
  EXPECT_FALSE(runButton->isEnabled());
  EXPECT_EQ(runButton->toolTip(), panel->runProblem());
  QSignalSpy failed(c, &SessionController::jobFailed);
  QSignalSpy busy(c, &SessionController::busyChanged);
  window->runComparison();
  QTest::qWait(200);
  EXPECT_TRUE(c->waitUntilIdle(1000));
  EXPECT_EQ(finished.count(), 1);  // no new run
  EXPECT_EQ(busy.count(), 0);
  EXPECT_EQ(failed.count(), 0);
  guitest::saveScreenshot(window->grab().toImage(), "e2e_real_int8_w4a4_refused");
}

TEST_F(MainWindowTest, EngineErrorsAreDialogsNotCrashes) {
  SessionController* c = window->controller();
  QSignalSpy failed(c, &SessionController::jobFailed);
  QString dialogText;
  QTimer closer;
  closer.setInterval(50);
  QObject::connect(&closer, &QTimer::timeout, [&] {
    if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
      dialogText = box->text();
      box->close();
    }
  });
  closer.start();
  window->openModel(QString::fromStdString(dir + "/no-such-model.pt"));
  ASSERT_TRUE(c->waitUntilIdle(30000));
  QTest::qWait(300);
  ASSERT_EQ(failed.count(), 1);
  EXPECT_NE(dialogText.indexOf("no-such-model.pt"), -1) << dialogText.toStdString();
  EXPECT_FALSE(c->modelInfo());
  EXPECT_TRUE(window->isVisible());
}

TEST_F(MainWindowTest, SessionSaveAndRestore) {
  // Inputs on disk, so the session can name them.
  const std::string ct = dir + "/ct.nii.gz", gt = dir + "/gt.nii.gz";
  writeImage(*phantom.image, ct);
  writeLabelMap(*phantom.labels, gt);
  window->openModel(QString::fromStdString(model));
  window->openVolume(QString::fromStdString(ct));
  window->openGroundTruth(QString::fromStdString(gt));
  ASSERT_TRUE(window->controller()->waitUntilIdle(60000));
  quant::QuantConfig s = w4a4();
  s.granularity = quant::Granularity::PerVoxel;
  s.excludedOps = {window->controller()->modelInfo()->ops[0].name};
  window->quantPanel()->setSettings(s);
  window->viewer()->view(ViewerPanel::Fp32Pane)->setSlice(7);
  window->viewer()->setLabelVisible(2, false);
  const QString path = QString::fromStdString(dir + "/s.json");
  QString error;
  ASSERT_TRUE(window->saveSession(path, &error)) << error.toStdString();
  EXPECT_TRUE(window->recentFiles().first().startsWith("session|"));

  MainWindow other;
  other.setAutosaveEnabled(false);
  other.show();
  other.openSession(path);
  ASSERT_TRUE(other.controller()->waitUntilIdle(120000));
  // The session runs the comparison once loaded.
  if (other.controller()->isBusy() || !other.controller()->hasResults())
    ASSERT_TRUE(other.controller()->waitUntilIdle(120000));
  EXPECT_EQ(other.controller()->modelPath().toStdString(), model);
  EXPECT_EQ(other.controller()->volumePath().toStdString(), ct);
  EXPECT_TRUE(other.controller()->groundTruth());
  EXPECT_EQ(other.quantPanel()->settings(), s);
  EXPECT_EQ(other.viewer()->view(ViewerPanel::Fp32Pane)->slice(), 7);
  EXPECT_FALSE(other.viewer()->view(ViewerPanel::QuantPane)->isLabelVisible(2));
  EXPECT_TRUE(other.controller()->hasResults());
  EXPECT_EQ(other.controller()->resultSettings(), s);
}

TEST_F(MainWindowTest, DroppedFilesOpenByKindAndAutosave) {
  const std::string ct = dir + "/ct.nii.gz", gt = dir + "/labels.nii.gz";
  writeImage(*phantom.image, ct);
  writeLabelMap(*phantom.labels, gt);
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(gt)), QUrl::fromLocalFile(QString::fromStdString(model)),
                QUrl::fromLocalFile(QString::fromStdString(ct))});
  // Qt delivers a drop only to the widget that accepted the drag's enter event.
  QDragEnterEvent enter(QPoint(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(window.get(), &enter);
  ASSERT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(200, 200), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  window->setAutosaveEnabled(true);
  window->quantPanel()->setAutoRun(true);  // model + CT present: the comparison starts by itself
  QFile::remove(window->autosavePath());
  SessionController* c = window->controller();
  QObject::connect(c, &SessionController::jobFailed, [](const QString& t, const QString& m) {
    std::printf("job failed: %s: %s\n", qPrintable(t), qPrintable(m));
  });
  QApplication::sendEvent(window.get(), &drop);
  // Loads, then the automatic comparison once the queue is empty.
  ASSERT_TRUE(QTest::qWaitFor([&] { return c->hasResults() && !c->isBusy(); }, 120000));
  EXPECT_EQ(c->modelPath().toStdString(), model);
  EXPECT_EQ(c->volumePath().toStdString(), ct);
  EXPECT_EQ(c->truthPath().toStdString(), gt);
  EXPECT_TRUE(c->hasResults());
  // A finished run autosaves the session.
  ASSERT_TRUE(QFileInfo::exists(window->autosavePath()))
      << window->autosavePath().toStdString() << " " << window->statusText().toStdString();
  const SessionState saved = SessionState::load(window->autosavePath().toStdString());
  EXPECT_EQ(saved.volume, ct);
  EXPECT_EQ(saved.labels, gt);
}

TEST(HeadlessExportTest, CommandLineWritesTheFigureAndExitsZero) {
  const std::string dir = test::tempDir();
  const std::string model = dir + "/band.pt";
  test::writeBandModel(model, test::bandModelMetadata(16, 2.0));
  const Phantom p = guitest::makePhantom();
  writeImage(*p.image, dir + "/ct.nii.gz");
  writeLabelMap(*p.labels, dir + "/gt.nii.gz");
  const QString out = QString::fromStdString(dir) + "/figure.png";
  const QString shot = QString::fromStdString(dir) + "/window.png";
  QProcess proc;
  proc.setProcessChannelMode(QProcess::MergedChannels);
  QElapsedTimer t;
  t.start();
  proc.start(MQB_APP_BINARY,
             {"--model", QString::fromStdString(model), "--volume", QString::fromStdString(dir) + "/ct.nii.gz",
              "--labels", QString::fromStdString(dir) + "/gt.nii.gz", "--precision", "W4A4", "--granularity",
              "adaptive", "--export-figure", out, "--export-scale", "2", "--screenshot", shot, "--no-autosave"});
  ASSERT_TRUE(proc.waitForFinished(180000));
  const QString log = QString::fromLocal8Bit(proc.readAll());
  std::printf("headless run: %lld ms\n%s", static_cast<long long>(t.elapsed()), qPrintable(log));
  EXPECT_EQ(proc.exitStatus(), QProcess::NormalExit);
  EXPECT_EQ(proc.exitCode(), 0) << log.toStdString();
  const QImage fig(out);
  ASSERT_FALSE(fig.isNull()) << log.toStdString();
  EXPECT_EQ(fig.width() % 2, 0);
  EXPECT_EQ(fig.height() % 2, 0);
  EXPECT_NE(log.indexOf(QString("(%1x%2)").arg(fig.width()).arg(fig.height())), -1) << log.toStdString();
  EXPECT_GT(countPixels(fig, isMagenta), 10);  // W4A4 changes some voxels
  EXPECT_GT(countPixels(fig, guitest::isReddish), 100);
  guitest::saveScreenshot(fig, "headless_figure");
  const QImage window(shot);
  ASSERT_FALSE(window.isNull());
  guitest::saveScreenshot(window, "headless_window");

  // Bad options: a clear message and a non-zero exit, no window needed.
  proc.start(MQB_APP_BINARY,
             {"--precision", "W1A1", "--volume", QString::fromStdString(dir) + "/ct.nii.gz", "--export-figure", out});
  ASSERT_TRUE(proc.waitForFinished(60000));
  const QString bad = QString::fromLocal8Bit(proc.readAll());
  EXPECT_NE(proc.exitCode(), 0);
  EXPECT_NE(bad.indexOf("W1A1"), -1) << bad.toStdString();
}

TEST(HeadlessExportTest, DemoRunsOnTheSampleDataOrAPhantom) {
  // The demo takes the first model of the bundled-model folder: point it at the band model.
  const std::string dir = test::tempDir();
  test::writeBandModel(dir + "/band.pt", test::bandModelMetadata(16, 3.0));
  const QString out = QString::fromStdString(dir) + "/demo.png";
  QProcess proc;
  proc.setProcessChannelMode(QProcess::MergedChannels);
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("MQB_MODEL_DIR", QString::fromStdString(dir));
  env.insert("MQB_DATA_DIR", QString::fromStdString(test::dataDir()));
  proc.setProcessEnvironment(env);
  QElapsedTimer t;
  t.start();
  const QString shot = QString::fromStdString(dir) + "/demo_window.png";
  proc.start(MQB_APP_BINARY, {"--demo", "--export-figure", out, "--screenshot", shot, "--no-autosave"});
  ASSERT_TRUE(proc.waitForFinished(300000));
  const QString log = QString::fromLocal8Bit(proc.readAll());
  std::printf("demo run: %lld ms\n%s", static_cast<long long>(t.elapsed()), qPrintable(log));
  EXPECT_EQ(proc.exitCode(), 0) << log.toStdString();
  const QImage fig(out);
  ASSERT_FALSE(fig.isNull());
  guitest::saveScreenshot(fig, "demo_figure");
  guitest::saveScreenshot(QImage(shot), "demo_window");
  EXPECT_NE(log.indexOf("W4A4"), -1) << log.toStdString();  // FP32 + W4A4 per-tensor ran
}
