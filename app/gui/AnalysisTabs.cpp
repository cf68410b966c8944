#include "AnalysisTabs.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include "LayerPlots.h"
#include "LayerRows.h"
#include "ScorePlot.h"
#include "ScoreRows.h"
#include "metrics/SegmentationMetrics.h"

namespace mqb::gui {
namespace {

const QColor kFp32Color(70, 120, 200);
const QColor kQuantColor(235, 140, 40);
const QColor kAgreeColor(130, 130, 130);

QColor colorOf(ScoreSeriesRole role) {
  switch (role) {
    case ScoreSeriesRole::Fp32VsTruth: return kFp32Color;
    case ScoreSeriesRole::QuantizedVsTruth: return kQuantColor;
    case ScoreSeriesRole::QuantizedVsFp32: return kAgreeColor;
  }
  return kAgreeColor;
}

QStringList toQt(const std::vector<std::string>& strings) {
  QStringList out;
  out.reserve(static_cast<qsizetype>(strings.size()));
  for (const auto& s : strings) out << QString::fromStdString(s);
  return out;
}

QVector<double> toQt(const std::vector<double>& values) { return QVector<double>(values.begin(), values.end()); }

void showPlot(ScorePlot* plot, const ScorePlotRows& rows) {
  QList<BarSeries> series;
  for (const ScoreSeries& s : rows.series)
    series << BarSeries{QString::fromStdString(s.name), colorOf(s.role), toQt(s.values)};
  plot->setScores(QString::fromStdString(rows.axisTitle), toQt(rows.organs), series, toQt(rows.tooltips));
}

}  // namespace

AnalysisTabs::AnalysisTabs(bool layerAnalysisAvailable, QWidget* parent) : QTabWidget(parent) {
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
  auto* plots = new QHBoxLayout;
  plots->setContentsMargins(0, 0, 0, 0);
  scoresLayout->addLayout(plots, 1);
  // Typing "1.25" must not rescore at 1, 1.2 and 1.25: wait until the value rests.
  auto* toleranceDebounce = new QTimer(this);
  toleranceDebounce->setSingleShot(true);
  toleranceDebounce->setInterval(350);
  connect(tolerance_, qOverload<double>(&QDoubleSpinBox::valueChanged), toleranceDebounce, qOverload<>(&QTimer::start));
  connect(toleranceDebounce, &QTimer::timeout, this, [this] { emit toleranceChanged(tolerance_->value()); });
  dscPlot_ = new ScorePlot;
  dscPlot_->setObjectName("dsc");
  nsdPlot_ = new ScorePlot;
  nsdPlot_->setObjectName("nsd");
  plots->addWidget(dscPlot_);
  plots->addWidget(nsdPlot_);
  addTab(scores, tr("DSC / NSD"));

  auto* tablePage = new QWidget;
  auto* tableLayout = new QVBoxLayout(tablePage);
  tableLayout->setContentsMargins(0, 0, 0, 0);
  executionLabel_ = new QLabel;
  executionLabel_->setObjectName("execution");
  executionLabel_->setWordWrap(true);
  executionLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  executionLabel_->hide();
  scoreTable_ = new QTableWidget;
  scoreTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  scoreTable_->verticalHeader()->setVisible(false);
  tableLayout->addWidget(executionLabel_);
  tableLayout->addWidget(scoreTable_);
  addTab(tablePage, tr("Table"));

  layerStack_ = new QStackedWidget;
  auto* noLayers = new QLabel;
  noLayers->setAlignment(Qt::AlignCenter);
  noLayers->setWordWrap(true);
  noLayers->setText(layerAnalysisAvailable
                        ? tr("Press \"Analyse layers\" in the quantization panel.")
                        : tr("The engine of this build has no layer analysis (core/quant/LayerAnalysis.h)."));
  layerStack_->addWidget(noLayers);
  auto* layers = new QWidget;
  auto* ll = new QVBoxLayout(layers);
  ll->setContentsMargins(0, 0, 0, 0);
  layerMetric_ = new QComboBox;
  for (LayerMetric m : allLayerMetrics())
    layerMetric_->addItem(QString::fromStdString(displayName(m)), static_cast<int>(m));
  auto* lrow = new QHBoxLayout;
  lrow->addWidget(new QLabel(tr("Metric")));
  lrow->addWidget(layerMetric_);
  lrow->addStretch();
  ll->addLayout(lrow);
  layerPlot_ = new LayerErrorPlot;
  layerPlot_->setObjectName("layers");
  ll->addWidget(layerPlot_, 1);
  layerStack_->addWidget(layers);
  addTab(layerStack_, tr("Layer error"));

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
  addTab(hist, tr("Histograms"));

  connect(layerMetric_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] { showLayerMetric(); });
  connect(histOp_, qOverload<int>(&QComboBox::currentIndexChanged), this, &AnalysisTabs::showHistogram);
  connect(layerPlot_, &LayerErrorPlot::opClicked, this, [this](int i) {
    if (i < histOp_->count()) {
      histOp_->setCurrentIndex(i);
      setCurrentIndex(HistogramsTab);
    }
  });
}

void AnalysisTabs::showExecution(const QString& line) {
  executionLabel_->setText(line);
  executionLabel_->setVisible(!line.isEmpty());
}

void AnalysisTabs::showScores(const std::shared_ptr<const ComparisonTable>& t) {
  if (!t) {
    dscPlot_->clearScores();
    nsdPlot_->clearScores();
    scoreTable_->clear();
    scoreTable_->setRowCount(0);
    scoreTable_->setColumnCount(0);
    return;
  }
  showPlot(dscPlot_, scorePlotRows(*t, ScoreMetric::Dsc));
  showPlot(nsdPlot_, scorePlotRows(*t, ScoreMetric::Nsd));

  const ScoreTableRows rows = scoreTableRows(*t);
  scoreTable_->clear();
  scoreTable_->setColumnCount(static_cast<int>(rows.header.size()));
  scoreTable_->setHorizontalHeaderLabels(toQt(rows.header));
  scoreTable_->setRowCount(static_cast<int>(rows.rows.size()));
  for (int r = 0; r < static_cast<int>(rows.rows.size()); ++r) {
    const auto& row = rows.rows[static_cast<size_t>(r)];
    for (int c = 0; c < static_cast<int>(row.size()); ++c) {
      auto* item = new QTableWidgetItem(QString::fromStdString(row[static_cast<size_t>(c)]));
      if (c > 0) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);  // numbers
      scoreTable_->setItem(r, c, item);
    }
  }
  scoreTable_->resizeColumnsToContents();
}

void AnalysisTabs::showLayers(const std::shared_ptr<const quant::LayerAnalysisRows>& layers, int keepCount) {
  layers_ = layers && !layers->empty() ? layers : nullptr;
  keepCount_ = keepCount;
  if (!layers_) {
    layerStack_->setCurrentIndex(0);
    layerPlot_->clearLayers();
    histOp_->clear();
    histPlot_->clearHistogram();
    return;
  }
  layerStack_->setCurrentIndex(1);
  showLayerMetric();
  const int current = histOp_->currentIndex();
  {
    const QSignalBlocker block(histOp_);
    histOp_->clear();
    for (const auto& h : layers_->histograms) histOp_->addItem(QString::fromStdString(histogramTitle(h)));
  }
  histOp_->setCurrentIndex(current >= 0 && current < histOp_->count() ? current : 0);
  showHistogram(histOp_->currentIndex());
}

void AnalysisTabs::showLayerMetric() {
  if (!layers_) return;
  const auto metric = static_cast<LayerMetric>(layerMetric_->currentData().toInt());
  const LayerPlotRows rows = layerPlotRows(*layers_, metric, keepCount_);
  QList<LineSeries> series{LineSeries{tr("isolated (layer-wise)"), kFp32Color, toQt(rows.isolated)}};
  if (hasCumulativeSeries(metric))
    series << LineSeries{tr("cumulative (graph-wise)"), kQuantColor, toQt(rows.cumulative)};
  QSet<int> sensitive;
  for (int i : rows.sensitive) sensitive.insert(i);
  layerPlot_->setLayers(toQt(rows.ops), series, QString::fromStdString(rows.axisTitle), sensitive, toQt(rows.tooltips));
}

void AnalysisTabs::showHistogram(int i) {
  if (!layers_ || i < 0 || i >= static_cast<int>(layers_->histograms.size())) {
    histPlot_->clearHistogram();
    return;
  }
  const quant::ActivationHistogram& h = layers_->histograms[static_cast<size_t>(i)];
  HistogramData d;
  d.title = QString::fromStdString(histogramTitle(h));
  d.edges = toQt(h.edges);
  d.counts = toQt(h.counts);
  d.runEdges = toQt(h.fp32RunEdges);
  d.runCounts = toQt(h.fp32RunCounts);
  d.shiftedEdges = toQt(h.quantizedEdges);
  d.shiftedCounts = toQt(h.quantizedCounts);
  d.clipLow = h.clipLow;
  d.clipHigh = h.clipHigh;
  d.levels = toQt(h.levels);
  d.info = QString::fromStdString(histogramInfo(h));
  histPlot_->setHistogram(d);
}

void AnalysisTabs::setToleranceQuietly(double mm) {
  const QSignalBlocker block(tolerance_);
  tolerance_->setValue(mm);
}

QCustomPlot* AnalysisTabs::currentPlot() const {
  switch (currentIndex()) {
    case ScoresTab:
      return dscPlot_->underMouse() || !nsdPlot_->underMouse() ? static_cast<QCustomPlot*>(dscPlot_) : nsdPlot_;
    case LayersTab: return layerPlot_;
    case HistogramsTab: return histPlot_;
    default: return nullptr;
  }
}

}  // namespace mqb::gui
