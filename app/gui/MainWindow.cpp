#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "AnalysisTabs.h"
#include "demo/DemoData.h"
#include "ExportDialogs.h"
#include "ExportReaction.h"
#include "FileKind.h"
#include "InputsPanel.h"
#include "io/LabelCoverage.h"
#include "OrganLegend.h"
#include "QuantPanel.h"
#include "support/Resources.h"
#include "ScoreRows.h"
#include "SessionController.h"
#include "SessionFiles.h"
#include "SliceView.h"
#include "StartupSettings.h"
#include "ViewerPanel.h"
#include "VoxelReadout.h"

namespace mqb::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MedQuanBench"));
  setAcceptDrops(true);
  controller_ = new SessionController(this);
  export_ = new ExportReaction(controller_, this);
  sessionFiles_ = new SessionFiles(this);
  connect(sessionFiles_, &SessionFiles::openRequested, this, [this](const QString& kind, const QString& path) {
    if (kind == "model")
      openModel(path);
    else if (kind == "volume")
      openVolume(path);
    else if (kind.startsWith("labels"))
      openGroundTruth(path, kind.section(':', 1));
    else if (kind == "session")
      openSession(path);
  });

  viewer_ = new ViewerPanel;
  setCentralWidget(viewer_);
  buildDocks();
  exportDialogs_ = new ExportDialogs(this, export_, viewer_, analysis_);
  connect(exportDialogs_, &ExportDialogs::wrote, this, [this](const QString& m) { statusBar()->showMessage(m, 6000); });
  connect(exportDialogs_, &ExportDialogs::failed, this, &MainWindow::showError);

  hoverLabel_ = new QLabel;
  hoverLabel_->setMinimumWidth(200);
  stageLabel_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setRange(0, 1000);
  progress_->setMaximumWidth(220);
  progress_->setTextVisible(false);
  progress_->setVisible(false);
  cancelButton_ = new QPushButton(tr("Cancel"));
  cancelButton_->setVisible(false);
  statusBar()->addWidget(hoverLabel_, 1);
  statusBar()->addPermanentWidget(stageLabel_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancelButton_);
  connect(cancelButton_, &QPushButton::clicked, controller_, &SessionController::cancel);

  buildMenus();
  bindController();

  QSettings settings;
  const QString last = settings.value("quantization/last").toString();
  if (!last.isEmpty()) quantPanel_->setSettings(rememberedSettings(last.toStdString()));
  if (settings.contains("window/geometry")) restoreGeometry(settings.value("window/geometry").toByteArray());
  resize(1500, 950);
  updateRunEnabled();
  quantPanel_->setLayerAnalysisAvailable(AnalysisSession::layerAnalysisAvailable());
}

MainWindow::~MainWindow() = default;

// ---- construction -----------------------------------------------------------------------------

void MainWindow::buildDocks() {
  quantPanel_ = new QuantPanel;
  auto* quantDock = new QDockWidget(tr("Quantization"), this);
  quantDock->setObjectName("quantization");
  quantDock->setWidget(quantPanel_);
  addDockWidget(Qt::LeftDockWidgetArea, quantDock);

  inputs_ = new InputsPanel;
  auto* infoDock = new QDockWidget(tr("Inputs"), this);
  infoDock->setObjectName("inputs");
  infoDock->setWidget(inputs_);
  addDockWidget(Qt::LeftDockWidgetArea, infoDock);
  tabifyDockWidget(quantDock, infoDock);
  quantDock->raise();

  legend_ = new OrganLegend;
  auto* legendDock = new QDockWidget(tr("Organs"), this);
  legendDock->setObjectName("organs");
  legendDock->setWidget(legend_);
  addDockWidget(Qt::RightDockWidgetArea, legendDock);

  analysis_ = new AnalysisTabs(AnalysisSession::layerAnalysisAvailable());
  connect(analysis_, &AnalysisTabs::toleranceChanged, controller_, &SessionController::setToleranceMm);
  auto* plotDock = new QDockWidget(tr("Analysis"), this);
  plotDock->setObjectName("analysis");
  plotDock->setWidget(analysis_);
  addDockWidget(Qt::BottomDockWidgetArea, plotDock);
  resizeDocks({plotDock}, {300}, Qt::Vertical);
  resizeDocks({quantDock}, {340}, Qt::Horizontal);

  viewMenu_ = new QMenu(tr("&View"), this);
  for (auto* d : {quantDock, infoDock, legendDock, plotDock}) viewMenu_->addAction(d->toggleViewAction());
}

ScorePlot* MainWindow::dscPlot() const { return analysis_->dscPlot(); }
ScorePlot* MainWindow::nsdPlot() const { return analysis_->nsdPlot(); }
LayerErrorPlot* MainWindow::layerPlot() const { return analysis_->layerPlot(); }
HistogramPlot* MainWindow::histogramPlot() const { return analysis_->histogramPlot(); }
QTableWidget* MainWindow::scoreTable() const { return analysis_->scoreTable(); }
QDoubleSpinBox* MainWindow::toleranceSpin() const { return analysis_->toleranceSpin(); }
QTreeWidget* MainWindow::infoTree() const { return inputs_; }

void MainWindow::bindController() {
  connect(controller_, &SessionController::busyChanged, this, [this](bool busy) {
    quantPanel_->setBusy(busy);
    progress_->setVisible(busy);
    cancelButton_->setVisible(busy);
    if (!busy) stageLabel_->clear();
  });
  connect(controller_, &SessionController::progress, this, [this](double f, const QString& stage) {
    progress_->setValue(static_cast<int>(std::lround(std::clamp(f, 0.0, 1.0) * 1000)));
    stageLabel_->setText(stage);
  });
  connect(controller_, &SessionController::modelChanged, this, &MainWindow::onModelChanged);
  connect(controller_, &SessionController::volumeChanged, this, &MainWindow::onVolumeChanged);
  connect(controller_, &SessionController::groundTruthChanged, this, &MainWindow::onTruthChanged);
  connect(controller_, &SessionController::resultsChanged, this, &MainWindow::onResultsChanged);
  connect(controller_, &SessionController::tableChanged, this, &MainWindow::onTableChanged);
  connect(controller_, &SessionController::layerAnalysisChanged, this, &MainWindow::onLayerAnalysisChanged);
  connect(controller_, &SessionController::jobFailed, this, &MainWindow::showError);
  connect(controller_, &SessionController::runFinished, this, [this](bool ok) {
    if (!ok) return;
    ranOnce_ = true;
    statusBar()->showMessage(tr("Finished: %1").arg(controller_->lastRunSummary()), 8000);
    autosave();
  });
  connect(controller_, &SessionController::idle, this, [this] {
    if (batch_)
      QTimer::singleShot(0, this, &MainWindow::finishBatch);
    else
      maybeAutoRun();
  });

  connect(quantPanel_, &QuantPanel::runRequested, this, &MainWindow::runComparison);
  connect(quantPanel_, &QuantPanel::cancelRequested, controller_, &SessionController::cancel);
  connect(quantPanel_, &QuantPanel::analyzeRequested, this,
          [this] { controller_->analyzeLayers(quantPanel_->settings()); });
  connect(quantPanel_, &QuantPanel::keepSensitiveRequested, this, [this](int k) {
    try {
      quantPanel_->setSettings(controller_->session().keepMostSensitiveInFp32(quantPanel_->settings(), k));
      statusBar()->showMessage(tr("Kept the %1 most sensitive ops in FP32").arg(k), 5000);
    } catch (const std::exception& e) {
      showError(tr("Keep most sensitive ops in FP32"), QString::fromStdString(e.what()));
    }
  });
  connect(quantPanel_, &QuantPanel::settingsChanged, this, [this] {
    QSettings().setValue("quantization/last", QString::fromStdString(quantPanel_->settings().toJson().dump()));
  });
  connect(legend_, &OrganLegend::visibilityChanged, viewer_, &ViewerPanel::setLabelVisible);
  connect(viewer_, &ViewerPanel::hovered, this,
          [this](int x, int y, int z) { hoverLabel_->setText(x < 0 ? QString() : describeVoxel(x, y, z)); });
}

// ---- inputs -------------------------------------------------------------------------------------

void MainWindow::openModel(const QString& path) {
  addRecent("model", path);
  controller_->openModel(path);
}

void MainWindow::openVolume(const QString& path) {
  volumeRequested_ = true;
  addRecent("volume", path);
  controller_->openVolume(path);
}

void MainWindow::openGroundTruth(const QString& path, const QString& labelMap) {
  addRecent(labelMap.isEmpty() ? "labels" : "labels:" + labelMap, path);
  controller_->openGroundTruth(path, labelMap);
}

void MainWindow::openFile(const QString& path) {
  const bool haveVolume = controller_->volume() || volumeRequested_;
  switch (guessFileKind(path.toStdString(), haveVolume)) {
    case FileKind::Model: openModel(path); break;
    case FileKind::Session: openSession(path); break;
    case FileKind::Volume:
    case FileKind::DicomFolder: openVolume(path); break;
    case FileKind::GroundTruth: {
      // TotalSegmentator-style maps next to a CT: offer the shipped remap when it exists.
      const QString name = QFileInfo(path).fileName();
      QString map;
      if (suggestsTotalSegmentatorRemap(name.toStdString()) && !batch_ &&
          QFileInfo::exists(QString::fromStdString(resourceDir()) + "/label-maps/totalsegmentator-to-btcv.json")) {
        const auto answer = QMessageBox::question(this, tr("Label map"),
                                                  tr("Remap the ids of %1 with totalsegmentator-to-btcv?").arg(name));
        if (answer == QMessageBox::Yes) map = "totalsegmentator-to-btcv";
      }
      openGroundTruth(path, map);
      break;
    }
    case FileKind::Unknown:
      showError(tr("Open"), QString::fromStdString(unknownFileTypeMessage(path.toStdString())));
      break;
  }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  std::vector<std::string> paths;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) paths.push_back(url.toLocalFile().toStdString());
  orderForOpening(paths);
  for (const std::string& p : paths) openFile(QString::fromStdString(p));
  event->acceptProposedAction();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  autosave();
  QSettings().setValue("window/geometry", saveGeometry());
  controller_->cancel();
  QMainWindow::closeEvent(event);
}

// ---- controller events -------------------------------------------------------------------------

void MainWindow::onModelChanged() {
  const auto info = controller_->modelInfo();
  quantPanel_->setOps(info ? info->ops : std::vector<OpInfo>{});
  quantPanel_->setCoverage(info ? info->coverage : std::string(),
                           info ? info->fp32Contractions : std::vector<std::pair<std::string, std::string>>{});
  const ClassList classes = info ? info->metadata.classes : ClassList{};
  legend_->setClasses(classes);
  viewer_->setClassList(classes);
  viewer_->clearResults();
  setWindowTitle(tr("MedQuanBench - %1").arg(info ? QString::fromStdString(info->metadata.name) : QString()));
  updateInfo();
  updateRunEnabled();
  warnAboutTruthIds();
}

void MainWindow::onVolumeChanged() {
  viewer_->setImage(controller_->volume());
  viewer_->clearResults();
  viewer_->setTruth(controller_->groundTruth());
  if (pendingViewState_ && controller_->volume()) {
    viewer_->applyViewState(*pendingViewState_);
    for (int id : pendingViewState_->hiddenLabels) legend_->setOrganVisible(id, false);
    pendingViewState_.reset();
  }
  updateInfo();
  updateRunEnabled();
}

void MainWindow::warnAboutTruthIds() {
  const auto info = controller_->modelInfo();
  const auto truth = controller_->groundTruth();
  if (!info || !truth) return;
  const std::string warning = describeIdsWithoutClass(*truth, info->metadata.classes,
                                                      QFileInfo(controller_->truthPath()).fileName().toStdString());
  if (warning.empty()) return;
  statusBar()->showMessage(QString::fromStdString(warning), 30000);
  if (batch_) std::fprintf(stderr, "medquanbench: warning: %s\n", warning.c_str());
}

void MainWindow::onTruthChanged() {
  viewer_->setTruth(controller_->groundTruth());
  warnAboutTruthIds();
  updateInfo();
  // Scores against the new ground truth: inference results are cached, only scoring runs.
  if (controller_->hasResults() && !controller_->isBusy()) controller_->run(controller_->resultSettings(), -1);
}

void MainWindow::updateRunEnabled() {
  const bool ready = controller_->modelInfo() && controller_->volume();
  quantPanel_->setRunEnabled(ready);
  // New inputs: with auto run on, compare as soon as the queue is empty (several files
  // may be loading; see maybeAutoRun, called on idle).
  autoRunPending_ = ready && !controller_->hasResults();
  maybeAutoRun();
}

void MainWindow::maybeAutoRun() {
  if (!autoRunPending_ || batch_ || !quantPanel_->autoRun() || controller_->isBusy()) return;
  if (!controller_->modelInfo() || !controller_->volume() || controller_->hasResults()) return;
  autoRunPending_ = false;
  QTimer::singleShot(0, this, [this] {
    if (!controller_->isBusy() && !controller_->hasResults() && controller_->modelInfo() && controller_->volume())
      runComparison();
  });
}

void MainWindow::runComparison() {
  if (!controller_->modelInfo() || !controller_->volume()) {
    statusBar()->showMessage(tr("Open a model and a CT first"), 5000);
    return;
  }
  const auto onScreen = viewer_->sliceOnScreen();
  controller_->run(quantPanel_->settings(), onScreen.slice, onScreen.axis);
}

void MainWindow::onResultsChanged() {
  const quant::QuantConfig& s = controller_->resultSettings();
  viewer_->setFp32(controller_->fp32(), controller_->fp32IsPreview());
  QString title = tr("Quantized");
  if (controller_->quantized()) {
    if (s.precision.floatingPoint)
      title = tr("FP32 (reference)");
    else if (s.execution == quant::Execution::RealInt8)
      title = controller_->executionSummary();  // names the engine, time
    else
      title = QString::fromStdString(
          s.precision.title() + " " + quant::granularityId(s.granularity) +
          (s.method.roundToNearest() ? "" : " " + s.method.title()) +
          (s.edgeBits > 0 ? ", edges W" + std::to_string(s.edgeBits) + "A" + std::to_string(s.edgeBits) : ""));
  }
  viewer_->setQuantized(controller_->quantized(), title, controller_->quantizedIsPreview());
  viewer_->setDifference(controller_->difference(), controller_->differingVoxels(), controller_->quantizedIsPreview());
}

void MainWindow::onTableChanged() {
  const auto t = controller_->table();
  legend_->clearDetails();
  analysis_->showScores(t);
  analysis_->showExecution(t ? controller_->executionSummary() : QString());
  if (!t) return;
  legend_->setDetailTitle(QString::fromStdString(legendDetailTitle(*t)));
  legend_->tree()->headerItem()->setToolTip(1, QString::fromStdString(legendDetailTooltip(*t)));
  for (const auto& o : t->organs) legend_->setDetail(o.id, QString::fromStdString(legendDetail(*t, o)));
}

void MainWindow::onLayerAnalysisChanged() {
  const auto layers = controller_->layerAnalysis();
  if (layers && !layers->empty()) quantPanel_->setSensitivity(layers->sensitivity);
  analysis_->showLayers(layers, quantPanel_->keepCount());
}

// ---- information ---------------------------------------------------------------------------------

void MainWindow::updateInfo() {
  inputs_->showInputs(controller_->modelInfo(), controller_->volume(), controller_->volumePath(),
                      controller_->groundTruth(), controller_->truthPath(), controller_->truthLabelMap());
}

QString MainWindow::describeVoxel(int x, int y, int z) const {
  VoxelLayers layers;
  layers.ct = controller_->volume();
  layers.fp32 = controller_->fp32();
  layers.quantized = controller_->quantized();
  layers.truth = controller_->groundTruth();
  if (layers.quantized) layers.quantizedName = controller_->resultSettings().precision.id();
  if (const auto info = controller_->modelInfo()) layers.classes = info->metadata.classes;
  return QString::fromStdString(mqb::gui::describeVoxel(layers, x, y, z));
}

QString MainWindow::hoverText() const { return hoverLabel_->text(); }
QString MainWindow::statusText() const { return statusBar()->currentMessage(); }

void MainWindow::showError(const QString& title, const QString& message) {
  if (batch_) {
    std::fprintf(stderr, "medquanbench: %s: %s\n", qPrintable(title), qPrintable(message));
    batchExitCode_ = 1;
    return;
  }
  statusBar()->showMessage(message, 10000);
  QMessageBox::critical(this, title, message);
}

// ---- recent files, settings, sessions ------------------------------------------------------------

QStringList MainWindow::recentFiles() const { return sessionFiles_->recentFiles(); }

void MainWindow::addRecent(const QString& kind, const QString& path) { sessionFiles_->addRecent(kind, path); }

SessionState MainWindow::sessionState() const {
  SessionState s;
  s.model = controller_->modelPath().toStdString();
  const QString volume = controller_->volumePath();
  if (QFileInfo::exists(volume)) s.volume = volume.toStdString();
  const QString truth = controller_->truthPath();
  if (QFileInfo::exists(truth)) {
    s.labels = truth.toStdString();
    s.labelMap = controller_->truthLabelMap().toStdString();
  }
  s.settings = quantPanel_->settings();
  s.toleranceMm = controller_->toleranceMm();
  s.view = viewer_->viewState();
  return s;
}

bool MainWindow::saveSession(const QString& path, QString* error) {
  try {
    sessionState().save(path.toStdString());
    sessionPath_ = path;
    addRecent("session", path);
    statusBar()->showMessage(tr("Session saved to %1").arg(path), 5000);
    return true;
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
}

void MainWindow::openSession(const QString& path) {
  SessionState s;
  try {
    s = SessionState::load(path.toStdString());
  } catch (const std::exception& e) {
    showError(tr("Open session"), QString::fromStdString(e.what()));
    return;
  }
  sessionPath_ = path;
  if (path != autosavePath()) addRecent("session", path);
  const bool autoRun = quantPanel_->autoRun();
  quantPanel_->setAutoRun(false);  // one run once everything is loaded
  if (!s.model.empty()) controller_->openModel(QString::fromStdString(s.model));
  if (!s.volume.empty()) controller_->openVolume(QString::fromStdString(s.volume));
  if (!s.labels.empty())
    controller_->openGroundTruth(QString::fromStdString(s.labels), QString::fromStdString(s.labelMap));
  controller_->setToleranceMm(s.toleranceMm);
  analysis_->setToleranceQuietly(s.toleranceMm);
  pendingViewState_ = s.view;
  if (s.volume.empty() && controller_->volume()) {
    viewer_->applyViewState(s.view);
    pendingViewState_.reset();
  }
  // After the model's ops are known (setOps resets exclusions), apply the settings.
  controller_->runJob(
      tr("Opening session"), [](AnalysisSession&, Feedback&) {},
      [this, s, autoRun] {
        quantPanel_->setSettings(s.settings);
        quantPanel_->setAutoRun(autoRun);
        if (controller_->modelInfo() && controller_->volume()) runComparison();
      });
}

QString MainWindow::autosavePath() const { return sessionFiles_->autosavePath(); }

void MainWindow::autosave() {
  if (!autosave_ || batch_ || !controller_->volume()) return;
  // Best effort: say so in the status bar, never interrupt the user.
  const QString error = sessionFiles_->autosave(sessionState());
  if (!error.isEmpty()) statusBar()->showMessage(tr("Autosave failed: %1").arg(error), 5000);
}

}  // namespace mqb::gui
