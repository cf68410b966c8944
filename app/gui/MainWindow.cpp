#include "MainWindow.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "DemoData.h"
#include "ExportReaction.h"
#include "LabelCoverage.h"
#include "LayerPlots.h"
#include "OrganLegend.h"
#include "QuantPanel.h"
#include "Reorientation.h"
#include "Resources.h"
#include "ScorePlot.h"
#include "SessionController.h"
#include "SliceView.h"
#include "SurfaceView.h"
#include "TableExport.h"
#include "ViewerPanel.h"

namespace mqb::gui {
namespace {

const QColor kFp32Color(70, 120, 200);
const QColor kQuantColor(235, 140, 40);
const QColor kAgreeColor(130, 130, 130);

QString fmt3(double v) { return std::isfinite(v) ? QString::number(v, 'f', 3) : QStringLiteral("--"); }

QString withDelta(double v, double ref) {
  if (!std::isfinite(v)) return "--";
  const double d = deltaPercent(v, ref);
  if (!std::isfinite(d)) return fmt3(v);
  return d < 0 ? QString("%1 (%2%\u2191)").arg(fmt3(v)).arg(-d, 0, 'f', 1)
               : QString("%1 (%2%)").arg(fmt3(v)).arg(d, 0, 'f', 1);
}

bool isLabelName(const QString& name) {
  const QString n = name.toLower();
  return n.contains("seg") || n.contains("label") || n.contains("mask") || n.contains("_gt") ||
         n.startsWith("gt") || n.contains("truth");
}

bool isVolumeFile(const QString& name) {
  const QString n = name.toLower();
  return n.endsWith(".nii") || n.endsWith(".nii.gz") || n.endsWith(".nrrd") || n.endsWith(".nhdr") ||
         n.endsWith(".mha") || n.endsWith(".mhd") || n.endsWith(".dcm");
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MedQuanBench"));
  setAcceptDrops(true);
  controller_ = new SessionController(this);
  export_ = new ExportReaction(controller_, this);

  viewer_ = new ViewerPanel;
  setCentralWidget(viewer_);
  buildDocks();

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
  if (!last.isEmpty()) {
    try {
      quantPanel_->setSettings(quant::QuantConfig::fromJson(nlohmann::json::parse(last.toStdString())));
    } catch (const std::exception&) {
      // an outdated or damaged setting: keep the defaults
    }
  }
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

  info_ = new QTreeWidget;
  info_->setColumnCount(2);
  info_->setHeaderLabels({tr("Property"), tr("Value")});
  info_->header()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
  auto* infoDock = new QDockWidget(tr("Inputs"), this);
  infoDock->setObjectName("inputs");
  infoDock->setWidget(info_);
  addDockWidget(Qt::LeftDockWidgetArea, infoDock);
  tabifyDockWidget(quantDock, infoDock);
  quantDock->raise();

  legend_ = new OrganLegend;
  auto* legendDock = new QDockWidget(tr("Organs"), this);
  legendDock->setObjectName("organs");
  legendDock->setWidget(legend_);
  addDockWidget(Qt::RightDockWidgetArea, legendDock);

  plotTabs_ = new QTabWidget;
  auto* scores = new QWidget;
  auto* scoresLayout = new QVBoxLayout(scores);
  scoresLayout->setContentsMargins(0, 0, 0, 0);
  scoresLayout->setSpacing(2);
  auto* toleranceRow = new QHBoxLayout;
  toleranceRow->setContentsMargins(4, 2, 4, 0);
  tolerance_ = new QDoubleSpinBox;
  tolerance_->setObjectName("nsdTolerance");
  tolerance_->setRange(0.0, 50.0);
  tolerance_->setDecimals(2);
  tolerance_->setSingleStep(0.5);
  tolerance_->setSuffix(tr(" mm"));
  tolerance_->setValue(kDefaultNsdToleranceMm);
  tolerance_->setToolTip(tr("Tolerance tau of the normalised surface Dice (SPEC default %1 mm). "
                            "Changing it recomputes the scores from the label maps; no inference runs.")
                             .arg(kDefaultNsdToleranceMm));
  toleranceRow->addWidget(new QLabel(tr("NSD tolerance \u03c4")));
  toleranceRow->addWidget(tolerance_);
  toleranceRow->addStretch();
  scoresLayout->addLayout(toleranceRow);
  auto* sl = new QHBoxLayout;
  sl->setContentsMargins(0, 0, 0, 0);
  scoresLayout->addLayout(sl, 1);
  // Typing "1.25" must not rescore at 1, 1.2 and 1.25: wait until the value rests.
  auto* toleranceDebounce = new QTimer(this);
  toleranceDebounce->setSingleShot(true);
  toleranceDebounce->setInterval(350);
  connect(tolerance_, qOverload<double>(&QDoubleSpinBox::valueChanged), toleranceDebounce,
          qOverload<>(&QTimer::start));
  connect(toleranceDebounce, &QTimer::timeout, this,
          [this] { controller_->setToleranceMm(tolerance_->value()); });
  dscPlot_ = new ScorePlot;
  dscPlot_->setObjectName("dsc");
  nsdPlot_ = new ScorePlot;
  nsdPlot_->setObjectName("nsd");
  sl->addWidget(dscPlot_);
  sl->addWidget(nsdPlot_);
  plotTabs_->addTab(scores, tr("DSC / NSD"));
  scoreTable_ = new QTableWidget;
  scoreTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  scoreTable_->verticalHeader()->setVisible(false);
  plotTabs_->addTab(scoreTable_, tr("Table"));

  layerStack_ = new QStackedWidget;
  auto* noLayers = new QLabel;
  noLayers->setAlignment(Qt::AlignCenter);
  noLayers->setWordWrap(true);
  noLayers->setText(AnalysisSession::layerAnalysisAvailable()
                        ? tr("Press \"Analyse layers\" in the quantization panel.")
                        : tr("The engine of this build has no layer analysis (core/quant/LayerAnalysis.h)."));
  layerStack_->addWidget(noLayers);
  auto* layers = new QWidget;
  auto* ll = new QVBoxLayout(layers);
  ll->setContentsMargins(0, 0, 0, 0);
  layerMetric_ = new QComboBox;
  layerMetric_->addItems({tr("SQNR (dB)"), tr("MSE"), tr("Cosine similarity"), tr("Distribution shift")});
  auto* lrow = new QHBoxLayout;
  lrow->addWidget(new QLabel(tr("Metric")));
  lrow->addWidget(layerMetric_);
  lrow->addStretch();
  ll->addLayout(lrow);
  layerPlot_ = new LayerErrorPlot;
  layerPlot_->setObjectName("layers");
  ll->addWidget(layerPlot_, 1);
  layerStack_->addWidget(layers);
  plotTabs_->addTab(layerStack_, tr("Layer error"));

  auto* hist = new QWidget;
  auto* hl = new QVBoxLayout(hist);
  hl->setContentsMargins(0, 0, 0, 0);
  histOp_ = new QComboBox;
  auto* hrow = new QHBoxLayout;
  hrow->addWidget(new QLabel(tr("Op input")));
  hrow->addWidget(histOp_, 1);
  hl->addLayout(hrow);
  histPlot_ = new HistogramPlot;
  histPlot_->setObjectName("histogram");
  hl->addWidget(histPlot_, 1);
  plotTabs_->addTab(hist, tr("Histograms"));

  auto* plotDock = new QDockWidget(tr("Analysis"), this);
  plotDock->setObjectName("analysis");
  plotDock->setWidget(plotTabs_);
  addDockWidget(Qt::BottomDockWidgetArea, plotDock);
  resizeDocks({plotDock}, {300}, Qt::Vertical);
  resizeDocks({quantDock}, {340}, Qt::Horizontal);

  connect(layerMetric_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { onLayerAnalysisChanged(); });
  connect(histOp_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    const auto layers = controller_->layerAnalysis();
    if (!layers || i < 0 || i >= static_cast<int>(layers->histograms.size())) {
      histPlot_->clearHistogram();
      return;
    }
    const quant::ActivationHistogram& h = layers->histograms[static_cast<size_t>(i)];
    HistogramData d;
    d.title = QString::fromStdString(h.op) + (h.slot ? tr(" (input %1)").arg(h.slot) : QString());
    d.edges = QVector<double>(h.edges.begin(), h.edges.end());
    d.counts = QVector<double>(h.counts.begin(), h.counts.end());
    d.runEdges = QVector<double>(h.fp32RunEdges.begin(), h.fp32RunEdges.end());
    d.runCounts = QVector<double>(h.fp32RunCounts.begin(), h.fp32RunCounts.end());
    d.shiftedEdges = QVector<double>(h.quantizedEdges.begin(), h.quantizedEdges.end());
    d.shiftedCounts = QVector<double>(h.quantizedCounts.begin(), h.quantizedCounts.end());
    d.clipLow = h.clipLow;
    d.clipHigh = h.clipHigh;
    d.levels = QVector<double>(h.levels.begin(), h.levels.end());
    QStringList info{QString::fromStdString(h.scheme)};
    if (std::isfinite(h.clippedFraction)) info << tr("clipped %1 %").arg(h.clippedFraction * 100, 0, 'g', 3);
    if (std::isfinite(h.shift))
      info << tr("shift %1 = %2").arg(QString::fromStdString(h.shiftName)).arg(h.shift, 0, 'g', 3);
    d.info = info.join(", ");
    histPlot_->setHistogram(d);
  });
  connect(layerPlot_, &LayerErrorPlot::opClicked, this, [this](int i) {
    if (i < histOp_->count()) {
      histOp_->setCurrentIndex(i);
      plotTabs_->setCurrentIndex(3);
    }
  });

  viewMenu_ = new QMenu(tr("&View"), this);
  for (auto* d : {quantDock, infoDock, legendDock, plotDock}) viewMenu_->addAction(d->toggleViewAction());
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &model..."), QKeySequence(tr("Ctrl+M")), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open model"), QString::fromStdString(bundledModelDir()),
                                                   tr("TorchScript models (*.pt *.pth *.ts);;All files (*)"));
    if (!p.isEmpty()) openModel(p);
  });
  file->addAction(tr("Open &CT file..."), QKeySequence::Open, this, [this] {
    const QString p = QFileDialog::getOpenFileName(
        this, tr("Open CT"), QString::fromStdString(sampleDataDir()),
        tr("Volumes (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd);;All files (*)"));
    if (!p.isEmpty()) openVolume(p);
  });
  file->addAction(tr("Open CT &DICOM folder..."), this, [this] {
    const QString p = QFileDialog::getExistingDirectory(this, tr("Open DICOM series folder"),
                                                        QString::fromStdString(sampleDataDir()));
    if (!p.isEmpty()) openVolume(p);
  });
  file->addAction(tr("Open &ground truth..."), QKeySequence(tr("Ctrl+G")), this, [this] {
    const QString p = QFileDialog::getOpenFileName(
        this, tr("Open ground-truth label map"), QString::fromStdString(sampleDataDir()),
        tr("Label maps (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd);;All files (*)"));
    if (p.isEmpty()) return;
    QStringList maps{tr("(identity)")};
    for (const QFileInfo& f : QDir(QString::fromStdString(resourceDir()) + "/label-maps").entryInfoList({"*.json"}))
      maps << f.completeBaseName();
    bool ok = false;
    const QString choice = QInputDialog::getItem(this, tr("Label map"), tr("Remap label ids on load:"), maps,
                                                 maps.size() > 1 && isLabelName(p) ? 0 : 0, false, &ok);
    if (!ok) return;
    openGroundTruth(p, choice == maps.first() ? QString() : choice);
  });
  file->addAction(tr("Close ground truth"), controller_, &SessionController::clearGroundTruth);
  phantomAction_ = file->addAction(tr("Use generated &phantom"), this, [this] {
    volumeRequested_ = true;
    controller_->usePhantom();
  });
  recentMenu_ = file->addMenu(tr("&Recent files"));
  rebuildRecentMenu();
  file->addSeparator();
  file->addAction(tr("Open &session..."), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open session"), sessionPath_,
                                                   tr("MedQuanBench sessions (*.json);;All files (*)"));
    if (!p.isEmpty()) openSession(p);
  });
  file->addAction(tr("&Save session..."), QKeySequence::Save, this, [this] {
    QString p = QFileDialog::getSaveFileName(this, tr("Save session"),
                                             sessionPath_.isEmpty() ? "session.json" : sessionPath_,
                                             tr("MedQuanBench sessions (*.json)"));
    if (p.isEmpty()) return;
    if (!p.endsWith(".json")) p += ".json";
    QString error;
    if (!saveSession(p, &error)) showError(tr("Save session"), error);
  });
  file->addAction(tr("Restore &autosaved session"), this, [this] {
    if (QFileInfo::exists(autosavePath()))
      openSession(autosavePath());
    else
      statusBar()->showMessage(tr("No autosaved session at %1").arg(autosavePath()), 5000);
  });
  file->addSeparator();
  QMenu* exp = file->addMenu(tr("&Export"));
  exp->addAction(tr("Comparison &figure (PNG)..."), QKeySequence(tr("Ctrl+E")), this, [this] { exportFigureDialog(); });
  exp->addAction(tr("Active &view (PNG)..."), this, [this] { exportViewDialog(); });
  exp->addAction(tr("Current &plot (PNG / PDF / SVG)..."), this, [this] { exportPlotDialog(); });
  exp->addSeparator();
  exp->addAction(tr("Scores &table (CSV / Markdown / LaTeX / JSON)..."), this, [this] { exportTableDialog(false); });
  exp->addAction(tr("&Benchmark rows (CSV / Markdown / LaTeX / JSON)..."), this, [this] { exportTableDialog(true); });
  exp->addSeparator();
  exp->addAction(tr("FP32 prediction (NIfTI)..."), this, [this] { exportPredictionDialog(0); });
  exp->addAction(tr("Quantized prediction (NIfTI)..."), this, [this] { exportPredictionDialog(1); });
  exp->addAction(tr("Difference map (NIfTI)..."), this, [this] { exportPredictionDialog(2); });
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  viewMenu_->setTitle(tr("&View"));
  menuBar()->addMenu(viewMenu_);
  viewMenu_->addSeparator();
  QAction* surfaces = viewMenu_->addAction(tr("3D organ surfaces"));
  surfaces->setCheckable(true);
  connect(surfaces, &QAction::toggled, viewer_, &ViewerPanel::setSurfacesVisible);
  viewMenu_->addAction(tr("Reset zoom / pan"), this, [this] { viewer_->view(ViewerPanel::Fp32Pane)->resetView(); });

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(tr("&Run comparison"), QKeySequence(tr("F5")), this, &MainWindow::runComparison);
  run->addAction(tr("&Cancel"), QKeySequence(tr("Esc")), controller_, &SessionController::cancel);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About MedQuanBench"), this, [this] {
    QMessageBox::about(
        this, tr("About MedQuanBench"),
        tr("<b>MedQuanBench %1</b><p>Post-training quantization of 3D medical segmentation models: FP32 vs "
           "quantized segmentations side by side, per-organ DSC / NSD, layer analysis and paper-ready exports.</p>"
           "<p>Drop a model (.pt), a CT (file or DICOM folder), a label map or a session (.json) on the window.</p>")
            .arg(QString::fromStdString(versionString())));
  });
  help->addAction(tr("Command line..."), this, [this] {
    AppOptions o;
    QString text;
    bool exitNow = false;
    parseAppOptions({"medquanbench", "--help"}, o, text, &exitNow);
    QMessageBox box(this);
    box.setWindowTitle(tr("Command line"));
    box.setText("<pre>" + text.toHtmlEscaped() + "</pre>");
    box.exec();
  });
}

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
    if (batch_) QTimer::singleShot(0, this, &MainWindow::finishBatch);
    else maybeAutoRun();
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
  connect(viewer_, &ViewerPanel::hovered, this, [this](int x, int y, int z) {
    hoverLabel_->setText(x < 0 ? QString() : describeVoxel(x, y, z));
  });
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
  const QFileInfo info(path);
  const QString name = info.fileName().toLower();
  if (info.isDir()) {
    openVolume(path);
  } else if (name.endsWith(".pt") || name.endsWith(".pth") || name.endsWith(".ts")) {
    openModel(path);
  } else if (name.endsWith(".json")) {
    openSession(path);
  } else if (isVolumeFile(name)) {
    if ((controller_->volume() || volumeRequested_) && isLabelName(info.fileName())) {
      // TotalSegmentator-style maps next to a CT: offer the shipped remap when it exists.
      QString map;
      if (name.contains("seg") && QFileInfo::exists(QString::fromStdString(resourceDir()) +
                                                    "/label-maps/totalsegmentator-to-btcv.json") &&
          !batch_) {
        const auto answer = QMessageBox::question(
            this, tr("Label map"), tr("Remap the ids of %1 with totalsegmentator-to-btcv?").arg(info.fileName()));
        if (answer == QMessageBox::Yes) map = "totalsegmentator-to-btcv";
      }
      openGroundTruth(path, map);
    } else {
      openVolume(path);
    }
  } else {
    showError(tr("Open"), tr("%1: unknown file type (models .pt, volumes .nii/.nii.gz/.nrrd/.mha, DICOM folders, "
                             "sessions .json)")
                              .arg(path));
  }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  QStringList paths;
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) paths << url.toLocalFile();
  // Models and CTs before label maps, so ground truth finds its CT.
  std::stable_sort(paths.begin(), paths.end(), [](const QString& a, const QString& b) {
    return !isLabelName(QFileInfo(a).fileName()) && isLabelName(QFileInfo(b).fileName());
  });
  for (const QString& p : paths) openFile(p);
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
  const QString title = controller_->quantized()
                            ? (s.precision.floatingPoint ? tr("FP32 (reference)")
                                               : QString::fromStdString(s.precision.title() + " " + quant::granularityId(s.granularity)))
                            : tr("Quantized");
  viewer_->setQuantized(controller_->quantized(), title, controller_->quantizedIsPreview());
  viewer_->setDifference(controller_->difference(), controller_->differingVoxels(), controller_->quantizedIsPreview());
}

void MainWindow::onTableChanged() {
  const auto t = controller_->table();
  legend_->clearDetails();
  if (!t) {
    dscPlot_->clearScores();
    nsdPlot_->clearScores();
    scoreTable_->clear();
    scoreTable_->setRowCount(0);
    scoreTable_->setColumnCount(0);
    return;
  }
  const QString q = QString::fromStdString(t->precision);
  legend_->setDetailTitle(t->haveTruth ? tr("DSC vs GT") : tr("DSC vs FP32"));
  legend_->tree()->headerItem()->setToolTip(
      1, t->haveTruth ? tr("%1 Dice vs ground truth (relative drop from FP32)").arg(q)
                      : tr("%1 Dice vs the FP32 prediction").arg(q));
  QStringList organs, dscTips, nsdTips;
  QVector<double> fd, qd, ad, fn, qn, an;
  for (const auto& o : t->organs) {
    organs << QString::fromStdString(o.name);
    fd << o.fp32Dsc;
    qd << o.quantDsc;
    ad << o.agreeDsc;
    fn << o.fp32Nsd;
    qn << o.quantNsd;
    an << o.agreeNsd;
    QString dt = QString("<b>%1</b>").arg(QString::fromStdString(o.name).toHtmlEscaped());
    QString nt = dt;
    if (t->haveTruth) {
      dt += tr("<br>FP32 vs GT: %1<br>%2 vs GT: %3").arg(fmt3(o.fp32Dsc), q, withDelta(o.quantDsc, o.fp32Dsc));
      nt += tr("<br>FP32 vs GT: %1<br>%2 vs GT: %3").arg(fmt3(o.fp32Nsd), q, withDelta(o.quantNsd, o.fp32Nsd));
    }
    dt += tr("<br>%1 vs FP32: %2").arg(q, fmt3(o.agreeDsc));
    nt += tr("<br>%1 vs FP32: %2<br>tolerance %3 mm").arg(q, fmt3(o.agreeNsd)).arg(t->toleranceMm);
    dscTips << dt;
    nsdTips << nt;
    legend_->setDetail(o.id, t->haveTruth ? withDelta(o.quantDsc, o.fp32Dsc) : fmt3(o.agreeDsc));
  }
  QList<BarSeries> dsc, nsd;
  if (t->haveTruth) {
    dsc << BarSeries{tr("FP32 vs GT"), kFp32Color, fd} << BarSeries{q + tr(" vs GT"), kQuantColor, qd};
    nsd << BarSeries{tr("FP32 vs GT"), kFp32Color, fn} << BarSeries{q + tr(" vs GT"), kQuantColor, qn};
  }
  dsc << BarSeries{q + tr(" vs FP32"), kAgreeColor, ad};
  nsd << BarSeries{q + tr(" vs FP32"), kAgreeColor, an};
  dscPlot_->setScores(tr("DSC"), organs, dsc, dscTips);
  nsdPlot_->setScores(tr("NSD @ %1 mm").arg(t->toleranceMm), organs, nsd, nsdTips);

  QStringList header{tr("Organ")};
  if (t->haveTruth)
    header << tr("FP32 DSC") << q + tr(" DSC (\u2193\u0394%)") << tr("FP32 NSD") << q + tr(" NSD (\u2193\u0394%)");
  header << tr("DSC vs FP32") << tr("NSD vs FP32") << tr("FP32 voxels") << q + tr(" voxels");
  scoreTable_->clear();
  scoreTable_->setColumnCount(static_cast<int>(header.size()));
  scoreTable_->setHorizontalHeaderLabels(header);
  scoreTable_->setRowCount(static_cast<int>(t->organs.size()) + 1);
  auto set = [this](int r, int c, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    if (c > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    scoreTable_->setItem(r, c, item);
  };
  int r = 0;
  auto fillRow = [&](const QString& name, double fD, double qD, double fN, double qN, double aD, double aN,
                     const QString& fv, const QString& qv) {
    int c = 0;
    set(r, c++, name);
    if (t->haveTruth) {
      set(r, c++, fmt3(fD));
      set(r, c++, withDelta(qD, fD));
      set(r, c++, fmt3(fN));
      set(r, c++, withDelta(qN, fN));
    }
    set(r, c++, fmt3(aD));
    set(r, c++, fmt3(aN));
    set(r, c++, fv);
    set(r, c++, qv);
    ++r;
  };
  const QLocale c = QLocale::c();
  for (const auto& o : t->organs)
    fillRow(QString::fromStdString(o.name), o.fp32Dsc, o.quantDsc, o.fp32Nsd, o.quantNsd, o.agreeDsc, o.agreeNsd,
            c.toString(static_cast<qlonglong>(o.fp32Voxels)), c.toString(static_cast<qlonglong>(o.quantVoxels)));
  fillRow(tr("mean"), t->meanFp32Dsc, t->meanQuantDsc, t->meanFp32Nsd, t->meanQuantNsd, t->meanAgreeDsc,
          t->meanAgreeNsd, QString(), QString());
  scoreTable_->resizeColumnsToContents();
}

void MainWindow::onLayerAnalysisChanged() {
  const auto layers = controller_->layerAnalysis();
  if (!layers || layers->empty()) {
    layerStack_->setCurrentIndex(0);
    layerPlot_->clearLayers();
    histOp_->clear();
    histPlot_->clearHistogram();
    return;
  }
  layerStack_->setCurrentIndex(1);
  QStringList ops, tips;
  QVector<double> iso, cum;
  const int metric = layerMetric_->currentIndex();
  for (const auto& l : layers->layers) {
    ops << QString::fromStdString(l.op);
    switch (metric) {
      case 1:
        iso << l.isolatedMse;
        cum << l.cumulativeMse;
        break;
      case 2:
        iso << l.isolatedCosine;
        cum << l.cumulativeCosine;
        break;
      case 3:
        iso << l.shift;
        cum << qQNaN();
        break;
      default:
        iso << l.isolatedSqnrDb;
        cum << l.cumulativeSqnrDb;
    }
    tips << tr("<b>%1</b><br>isolated SQNR %2 dB<br>cumulative SQNR %3 dB<br>shift %4")
                .arg(QString::fromStdString(l.op).toHtmlEscaped())
                .arg(l.isolatedSqnrDb, 0, 'f', 1)
                .arg(l.cumulativeSqnrDb, 0, 'f', 1)
                .arg(l.shift, 0, 'g', 3);
  }
  quantPanel_->setSensitivity(layers->sensitivity);
  QSet<int> sensitive;
  const int k = std::min<int>(quantPanel_->keepCount(), static_cast<int>(layers->sensitivity.size()));
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < ops.size(); ++j)
      if (ops[j].toStdString() == layers->sensitivity[static_cast<size_t>(i)]) sensitive.insert(j);
  QList<LineSeries> series{LineSeries{tr("isolated (layer-wise)"), kFp32Color, iso}};
  if (metric != 3) series << LineSeries{tr("cumulative (graph-wise)"), kQuantColor, cum};
  layerPlot_->setLayers(ops, series, layerMetric_->currentText(), sensitive, tips);
  const int current = histOp_->currentIndex();
  {
    const QSignalBlocker block(histOp_);
    histOp_->clear();
    for (const auto& h : layers->histograms)
      histOp_->addItem(QString::fromStdString(h.op) + (h.slot ? tr(" (input %1)").arg(h.slot) : QString()));
  }
  histOp_->setCurrentIndex(current >= 0 && current < histOp_->count() ? current : 0);
  emit histOp_->currentIndexChanged(histOp_->currentIndex());
}

// ---- information ---------------------------------------------------------------------------------

void MainWindow::updateInfo() {
  info_->clear();
  auto section = [this](const QString& title) {
    auto* item = new QTreeWidgetItem(info_, {title});
    QFont f = item->font(0);
    f.setBold(true);
    item->setFont(0, f);
    item->setExpanded(true);
    return item;
  };
  auto row = [](QTreeWidgetItem* parent, const QString& k, const QString& v) {
    auto* item = new QTreeWidgetItem(parent, {k, v});
    item->setToolTip(1, v);
  };
  if (const auto info = controller_->modelInfo()) {
    const ModelMetadata& m = info->metadata;
    auto* s = section(tr("Model"));
    row(s, tr("Name"), QString::fromStdString(m.name));
    row(s, tr("File"), QString::fromStdString(info->path));
    row(s, tr("Framework"), QString::fromStdString(m.framework));
    row(s, tr("Architecture"), QString::fromStdString(m.architecture));
    row(s, tr("Category"), QString::fromStdString(m.category));
    row(s, tr("Parameters"), QString::fromStdString(formatParameterCount(info->parameterCount)) + " (" +
                                 QLocale::c().toString(static_cast<qlonglong>(info->parameterCount)) + ")");
    row(s, tr("Classes"), QString::number(m.classes.size()));
    row(s, tr("Patch (D,H,W)"),
        QString("%1 x %2 x %3").arg(m.patchSize[0]).arg(m.patchSize[1]).arg(m.patchSize[2]));
    row(s, tr("Target spacing"),
        QString("%1 x %2 x %3 mm").arg(m.targetSpacing[0]).arg(m.targetSpacing[1]).arg(m.targetSpacing[2]));
    row(s, tr("Orientation"), QString::fromStdString(m.orientation));
    row(s, tr("Preprocessing"), QString::fromStdString(m.preprocessing.describe()));
    row(s, tr("Quantizable ops"), QString::number(info->ops.size()));
    if (!m.description.empty()) row(s, tr("Description"), QString::fromStdString(m.description));
  }
  if (const auto v = controller_->volume()) {
    const auto& g = v->geometry;
    auto* s = section(tr("CT volume"));
    row(s, tr("Source"), controller_->volumePath());
    row(s, tr("Size"), QString("%1 x %2 x %3").arg(g.size[0]).arg(g.size[1]).arg(g.size[2]));
    row(s, tr("Spacing"), QString("%1 x %2 x %3 mm")
                              .arg(g.spacing[0], 0, 'g', 4)
                              .arg(g.spacing[1], 0, 'g', 4)
                              .arg(g.spacing[2], 0, 'g', 4));
    row(s, tr("Origin"),
        QString("%1, %2, %3").arg(g.origin[0], 0, 'f', 1).arg(g.origin[1], 0, 'f', 1).arg(g.origin[2], 0, 'f', 1));
    row(s, tr("Orientation"), QString::fromStdString(orientationCode(g)));
    const auto [lo, hi] = std::minmax_element(v->voxels.begin(), v->voxels.end());
    row(s, tr("HU range"), QString("%1 .. %2").arg(*lo, 0, 'f', 0).arg(*hi, 0, 'f', 0));
  }
  if (const auto t = controller_->groundTruth()) {
    auto* s = section(tr("Ground truth"));
    row(s, tr("Source"), controller_->truthPath());
    row(s, tr("Label map"), controller_->truthLabelMap().isEmpty() ? tr("identity") : controller_->truthLabelMap());
    std::array<int64_t, 256> counts{};
    for (uint8_t l : t->voxels) ++counts[l];
    QStringList present;
    for (int i = 1; i < 256; ++i)
      if (counts[static_cast<size_t>(i)]) present << QString::number(i);
    row(s, tr("Labels present"), present.join(", "));
  }
}

QString MainWindow::labelName(int id) const {
  if (id == 0) return tr("background");
  if (const auto info = controller_->modelInfo())
    for (const auto& c : info->metadata.classes)
      if (c.id == id) return QString::fromStdString(c.name);
  return tr("label %1").arg(id);
}

QString MainWindow::describeVoxel(int x, int y, int z) const {
  const auto v = controller_->volume();
  if (!v || x < 0 || y < 0 || z < 0 || x >= v->geometry.size[0] || y >= v->geometry.size[1] ||
      z >= v->geometry.size[2])
    return {};
  QString text = tr("voxel (%1, %2, %3)   HU %4").arg(x).arg(y).arg(z).arg(v->at(x, y, z), 0, 'f', 0);
  auto label = [&](const std::shared_ptr<const LabelVolume>& l) -> int {
    return (l && l->geometry.size == v->geometry.size) ? l->at(x, y, z) : -1;
  };
  const int f = label(controller_->fp32()), q = label(controller_->quantized()), g = label(controller_->groundTruth());
  if (f >= 0) text += tr("   FP32: %1").arg(labelName(f));
  if (q >= 0)
    text += tr("   %1: %2").arg(QString::fromStdString(controller_->resultSettings().precision.id()), labelName(q));
  if (g >= 0) text += tr("   GT: %1").arg(labelName(g));
  if (f >= 0 && q >= 0 && f != q) text += tr("   (differ)");
  return text;
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

QStringList MainWindow::recentFiles() const { return QSettings().value("recent/files").toStringList(); }

void MainWindow::addRecent(const QString& kind, const QString& path) {
  const QString entry = kind + "|" + QFileInfo(path).absoluteFilePath();
  QStringList list = recentFiles();
  list.removeAll(entry);
  list.prepend(entry);
  while (list.size() > 12) list.removeLast();
  QSettings().setValue("recent/files", list);
  rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
  if (!recentMenu_) return;
  recentMenu_->clear();
  const QStringList list = recentFiles();
  for (const QString& entry : list) {
    const QString kind = entry.section('|', 0, 0);
    const QString path = entry.section('|', 1);
    recentMenu_->addAction(QString("%1: %2").arg(kind, QFileInfo(path).fileName()), this, [this, kind, path] {
      if (kind == "model") openModel(path);
      else if (kind == "volume") openVolume(path);
      else if (kind.startsWith("labels")) openGroundTruth(path, kind.section(':', 1));
      else if (kind == "session") openSession(path);
    })->setToolTip(path);
  }
  if (list.isEmpty()) recentMenu_->addAction(tr("(none)"))->setEnabled(false);
  recentMenu_->addSeparator();
  recentMenu_->addAction(tr("Clear"), this, [this] {
    QSettings().remove("recent/files");
    rebuildRecentMenu();
  });
}

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
  {
    const QSignalBlocker block(tolerance_);
    tolerance_->setValue(s.toleranceMm);
  }
  pendingViewState_ = s.view;
  if (s.volume.empty() && controller_->volume()) {
    viewer_->applyViewState(s.view);
    pendingViewState_.reset();
  }
  // After the model's ops are known (setOps resets exclusions), apply the settings.
  controller_->runJob(tr("Opening session"), [](AnalysisSession&, Feedback&) {},
                      [this, s, autoRun] {
                        quantPanel_->setSettings(s.settings);
                        quantPanel_->setAutoRun(autoRun);
                        if (controller_->modelInfo() && controller_->volume()) runComparison();
                      });
}

QString MainWindow::autosavePath() const {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/autosave.json";
}

void MainWindow::autosave() {
  if (!autosave_ || batch_ || !controller_->volume()) return;
  QDir().mkpath(QFileInfo(autosavePath()).absolutePath());
  try {
    sessionState().save(autosavePath().toStdString());
  } catch (const std::exception& e) {
    // Best effort: say so in the status bar, never interrupt the user.
    statusBar()->showMessage(tr("Autosave failed: %1").arg(QString::fromUtf8(e.what())), 5000);
  }
}

// ---- startup / batch -----------------------------------------------------------------------------

void MainWindow::startup(const AppOptions& o) {
  batch_ = o.batch();
  batchOptions_ = o;
  autosave_ = o.autosave && !batch_;
  quant::QuantConfig settings = quantPanel_->settings();
  if (o.demo) {
    // FP32 beside W4A4 per-tensor: the case where quantization visibly changes the
    // segmentation (W8A8 looks identical to FP32), which the demo is there to show.
    settings = quant::QuantConfig();
    settings.precision.weightBits = settings.precision.activationBits = 4;
    settings.granularity = quant::Granularity::PerTensor;
  }
  try {
    if (!o.precision.isEmpty() || !o.granularity.isEmpty() || !o.calibrator.isEmpty() || o.asymmetric) {
      nlohmann::json j = settings.toJson();
      if (!o.precision.isEmpty()) j["precision"] = o.precision.toStdString();
      if (!o.granularity.isEmpty()) j["granularity"] = o.granularity.toStdString();
      if (!o.calibrator.isEmpty()) j["calibrator"] = o.calibrator.toStdString();
      if (o.asymmetric) j["symmetric"] = false;
      j["excluded_ops"] = nlohmann::json::array();
      settings = quant::QuantConfig::fromJson(j);
    }
  } catch (const std::exception& e) {
    showError(tr("Command line"), QString::fromStdString(e.what()));
    if (batch_) {
      QTimer::singleShot(0, this, [this] { emit batchFinished(1); });
      return;
    }
  }

  // The panel gets the settings once the model's ops are known (setOps resets exclusions),
  // then one run; queued after the loads, which the worker runs in order.
  auto queueStart = [this, settings](bool run) {
    controller_->runJob(tr("Starting"), [](AnalysisSession&, Feedback&) {},
                        [this, settings, run] {
                          const bool autoRun = quantPanel_->autoRun();
                          quantPanel_->setAutoRun(false);
                          quantPanel_->setSettings(settings);
                          quantPanel_->setAutoRun(autoRun);
                          if (run && controller_->modelInfo() && controller_->volume()) runComparison();
                        });
  };
  if (!o.session.isEmpty()) {
    openSession(o.session);
    return;
  }
  quantPanel_->setAutoRun(!batch_ && quantPanel_->autoRun());
  QString model = o.model;
  if (o.demo && model.isEmpty()) {
    const auto models = bundledModels();
    if (!models.empty()) {
      model = QString::fromStdString(models.front());
    } else {
      const QString msg = tr("No bundled model in %1: open one with File > Open model")
                              .arg(QString::fromStdString(bundledModelDir()));
      statusBar()->showMessage(msg);
      if (batch_) std::fprintf(stderr, "medquanbench: %s\n", qPrintable(msg));
    }
  }
  if (!model.isEmpty()) openModel(model);
  if (!o.volume.isEmpty()) {
    openVolume(o.volume);
    if (!o.labels.isEmpty()) openGroundTruth(o.labels, o.labelMap);
    for (const QString& f : o.files) openFile(f);
    queueStart(true);
  } else if (o.demo) {
    // core's demo resolution (sample data, a one-time download, else a phantom) may touch
    // the network: on the worker thread, then the loads and the run.
    volumeRequested_ = true;
    auto demo = std::make_shared<DemoVolume>();
    controller_->runJob(
        tr("Finding the demo CT"),
        [demo](AnalysisSession&, Feedback& fb) {
          fb.report(0.0, "finding the demo CT");
          *demo = resolveDemoVolume("", defaultCacheDir());
        },
        [this, demo, o, queueStart] {
          statusBar()->showMessage(tr("Demo CT from the %1: %2")
                                       .arg(QString::fromStdString(demo->origin), QString::fromStdString(demo->ct)),
                                   8000);
          openVolume(QString::fromStdString(demo->ct));
          QString labels = o.labels, labelMap = o.labelMap;
          if (labels.isEmpty() && !demo->labels.empty()) {
            labels = QString::fromStdString(demo->labels);
            labelMap = QString::fromStdString(demo->labelMap);
          }
          if (!labels.isEmpty()) openGroundTruth(labels, labelMap);
          for (const QString& f : o.files) openFile(f);
          queueStart(true);
        });
  } else {
    for (const QString& f : o.files) openFile(f);
    queueStart(true);
  }
}

void MainWindow::finishBatch() {
  if (!batch_) return;
  batch_ = false;  // once
  const AppOptions& o = batchOptions_;
  // Without a saved view, show the slice with the most organ voxels (ground truth, else
  // FP32): the middle slice of an abdominal CT can miss most organs.
  if (o.session.isEmpty()) {
    if (const auto truth = controller_->groundTruth())
      viewer_->showBusiestSlice(*truth);
    else if (const auto fp32 = controller_->fp32())
      viewer_->showBusiestSlice(*fp32);
  }
  // Let the views render the final state first.
  QTimer::singleShot(300, this, [this, o] {
    // Surfaces are extracted on a pool thread: a screenshot must not catch an empty 3D view.
    if (viewer_->surfacesVisible())
      for (int i = 0; i < 2; ++i) viewer_->surfaceView(i)->waitUntilBuilt(120000);
    QApplication::processEvents();
    int code = batchExitCode_;
    if (!o.exportFigure.isEmpty()) {
      QString error;
      QSize size;
      if (export_->exportComparisonFigure(o.exportFigure, o.exportScale, o.transparent, viewer_->viewState(), &error,
                                          &size)) {
        std::printf("wrote %s (%dx%d)\n", qPrintable(o.exportFigure), size.width(), size.height());
      } else {
        std::fprintf(stderr, "medquanbench: %s\n", qPrintable(error));
        code = 1;
      }
    }
    if (!o.screenshot.isEmpty()) {
      const QImage shot = grab().toImage();
      if (shot.save(o.screenshot)) {
        std::printf("wrote %s (%dx%d)\n", qPrintable(o.screenshot), shot.width(), shot.height());
      } else {
        std::fprintf(stderr, "medquanbench: %s: cannot write the screenshot\n", qPrintable(o.screenshot));
        code = 1;
      }
    }
    if (!controller_->lastRunSummary().isEmpty())
      std::printf("run: %s\n", qPrintable(controller_->lastRunSummary()));
    std::fflush(stdout);
    emit batchFinished(code);
  });
}

// ---- export dialogs -------------------------------------------------------------------------------

bool MainWindow::askScale(int& scale, bool& transparent, const QString& title) {
  QDialog dialog(this);
  dialog.setWindowTitle(title);
  auto* form = new QFormLayout(&dialog);
  auto* s = new QSpinBox;
  s->setRange(1, 8);
  s->setValue(QSettings().value("export/scale", 2).toInt());
  auto* t = new QCheckBox(tr("Transparent background"));
  t->setChecked(QSettings().value("export/transparent", false).toBool());
  form->addRow(tr("Scale"), s);
  form->addRow(QString(), t);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return false;
  scale = s->value();
  transparent = t->isChecked();
  QSettings().setValue("export/scale", scale);
  QSettings().setValue("export/transparent", transparent);
  return true;
}

void MainWindow::exportFigureDialog() {
  int scale = 2;
  bool transparent = false;
  if (!askScale(scale, transparent, tr("Export comparison figure"))) return;
  const QString p = QFileDialog::getSaveFileName(this, tr("Export comparison figure"), "comparison.png",
                                                 tr("PNG images (*.png);;JPEG images (*.jpg)"));
  if (p.isEmpty()) return;
  QString error;
  QSize size;
  if (export_->exportComparisonFigure(p, scale, transparent, viewer_->viewState(), &error, &size))
    statusBar()->showMessage(tr("Wrote %1 (%2 x %3)").arg(p).arg(size.width()).arg(size.height()), 6000);
  else
    showError(tr("Export"), error);
}

void MainWindow::exportViewDialog() {
  int scale = 2;
  bool transparent = false;
  if (!askScale(scale, transparent, tr("Export view"))) return;
  const QString p =
      QFileDialog::getSaveFileName(this, tr("Export active view"), "view.png", tr("PNG images (*.png)"));
  if (p.isEmpty()) return;
  QString error;
  if (!ExportReaction::exportView(viewer_->activeView(), p, scale, transparent, &error))
    showError(tr("Export"), error);
  else
    statusBar()->showMessage(tr("Wrote %1").arg(p), 6000);
}

void MainWindow::exportPlotDialog() {
  QCustomPlot* plot = nullptr;
  switch (plotTabs_->currentIndex()) {
    case 0: plot = dscPlot_->underMouse() || !nsdPlot_->underMouse() ? static_cast<QCustomPlot*>(dscPlot_) : nsdPlot_; break;
    case 2: plot = layerPlot_; break;
    case 3: plot = histPlot_; break;
    default: break;
  }
  if (!plot) {
    showError(tr("Export"), tr("Select a plot tab (DSC / NSD, Layer error, Histograms) first"));
    return;
  }
  int scale = 2;
  bool transparent = false;
  if (!askScale(scale, transparent, tr("Export plot"))) return;
  const QString p = QFileDialog::getSaveFileName(this, tr("Export plot"), plot->objectName() + ".png",
                                                 tr("PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"));
  if (p.isEmpty()) return;
  QString error;
  if (!ExportReaction::exportPlot(plot, p, scale, transparent, &error))
    showError(tr("Export"), error);
  else
    statusBar()->showMessage(tr("Wrote %1").arg(p), 6000);
}

void MainWindow::exportTableDialog(bool benchmark) {
  const QString p = QFileDialog::getSaveFileName(this, benchmark ? tr("Export benchmark rows") : tr("Export table"),
                                                 benchmark ? "benchmark.md" : "scores.csv",
                                                 tr("CSV (*.csv);;Markdown (*.md);;LaTeX (*.tex);;JSON (*.json)"));
  if (p.isEmpty()) return;
  QString error;
  const bool ok = benchmark ? export_->exportBenchmark(p, &error) : export_->exportTable(p, &error);
  if (!ok)
    showError(tr("Export"), error);
  else
    statusBar()->showMessage(tr("Wrote %1").arg(p), 6000);
}

void MainWindow::exportPredictionDialog(int which) {
  const char* names[] = {"fp32_prediction.nii.gz", "quantized_prediction.nii.gz", "difference.nii.gz"};
  const QString p = QFileDialog::getSaveFileName(this, tr("Export label map"), names[which],
                                                 tr("NIfTI (*.nii.gz *.nii);;NRRD (*.nrrd);;MetaImage (*.mha)"));
  if (p.isEmpty()) return;
  QString error;
  if (!export_->exportPrediction(static_cast<ExportReaction::Prediction>(which), p, &error))
    showError(tr("Export"), error);
  else
    statusBar()->showMessage(tr("Writing %1").arg(p), 6000);
}

}  // namespace mqb::gui
