#include "LayerPlots.h"

#include "PlotLegend.h"
#include "PlotSetup.h"

#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace mqb {

QString shortOpName(const QString& name, int maxChars) {
  if (name.size() <= maxChars) return name;
  const QStringList parts = name.split('.');
  QString tail = parts.back();
  for (int i = static_cast<int>(parts.size()) - 2; i >= 0; --i) {
    const QString longer = parts[i] + '.' + tail;
    if (longer.size() + 1 > maxChars) break;
    tail = longer;
  }
  if (tail.size() + 1 > maxChars) tail = tail.right(maxChars - 1);
  return QChar(0x2026) + tail;
}

// ---- LayerErrorPlot -------------------------------------------------------------------------

LayerErrorPlot::LayerErrorPlot(QWidget* parent) : QCustomPlot(parent) {
  setUpEmbeddedPlot(*this);
  xAxis->setTickLabelRotation(60);
  xAxis->grid()->setVisible(false);
  placeLegendAboveAxes(*this);
  setMouseTracking(true);
}

void LayerErrorPlot::clearLayers() {
  clearPlottables();
  clearItems();
  ops_.clear();
  tooltips_.clear();
  legend->setVisible(false);
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

void LayerErrorPlot::setLayers(const QStringList& ops, const QList<LineSeries>& series, const QString& yLabel,
                               const QSet<int>& highlighted, const QStringList& tooltips) {
  clearPlottables();
  clearItems();
  ops_ = ops;
  tooltips_ = tooltips;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  // Long op lists: label every k-th op so the names stay readable.
  const int step = std::max(1, static_cast<int>(ops.size()) / 40);
  // Short tails of the module paths keep the labels from eating the plot's height; the
  // tooltips name each op in full.
  for (int i = 0; i < ops.size(); i += step) ticker->addTick(i, shortOpName(ops[i]));
  xAxis->setTicker(ticker);
  xAxis->setRange(-0.5, std::max<qsizetype>(1, ops.size()) - 0.5);
  yAxis->setLabel(yLabel);
  double lo = 1e300, hi = -1e300;
  for (const LineSeries& s : series) {
    auto* g = addGraph();
    g->setName(s.name);
    g->setPen(QPen(s.color, 1.6));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, s.color, Qt::white, 5));
    for (int i = 0; i < s.values.size(); ++i) {
      g->addData(i, std::isfinite(s.values[i]) ? s.values[i] : qQNaN());  // NaN breaks the line
      if (std::isfinite(s.values[i])) {
        lo = std::min(lo, s.values[i]);
        hi = std::max(hi, s.values[i]);
      }
    }
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  const double pad = std::max(1.0, (hi - lo) * 0.08);
  yAxis->setRange(lo - pad, hi + pad);
  if (!highlighted.isEmpty() && !series.isEmpty()) {
    auto* g = addGraph();
    g->setName(tr("most sensitive"));
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(QColor(220, 30, 30), 2), Qt::NoBrush, 11));
    for (int i : highlighted)
      if (i >= 0 && i < series.first().values.size()) g->addData(i, series.first().values[i]);
  }
  legend->setVisible(!series.isEmpty());
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

int LayerErrorPlot::opAt(const QPoint& pos) const {
  if (ops_.isEmpty() || !axisRect()->rect().contains(pos)) return -1;
  const int i = static_cast<int>(std::lround(xAxis->pixelToCoord(pos.x())));
  return (i >= 0 && i < ops_.size()) ? i : -1;
}

void LayerErrorPlot::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  const int i = opAt(event->pos());
  if (i >= 0)
    QToolTip::showText(event->globalPosition().toPoint(), i < tooltips_.size() ? tooltips_[i] : ops_[i], this);
  else
    QToolTip::hideText();
}

void LayerErrorPlot::mousePressEvent(QMouseEvent* event) {
  QCustomPlot::mousePressEvent(event);
  const int i = opAt(event->pos());
  if (i >= 0) emit opClicked(i);
}

// ---- HistogramPlot --------------------------------------------------------------------------

HistogramPlot::HistogramPlot(QWidget* parent) : QCustomPlot(parent) {
  setUpEmbeddedPlot(*this);
  yAxis->setScaleType(QCPAxis::stLogarithmic);
  yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
  yAxis->setNumberFormat("eb");
  yAxis->setNumberPrecision(0);
  yAxis->setLabel(tr("count"));
  xAxis->setLabel(tr("activation value"));
  yAxis2->setRange(0, 1);  // level ticks live on the (hidden) right axis
  legend->setVisible(false);
  legend->setFont(QFont(font().family(), 8));
  legend->setBrush(QColor(255, 255, 255, 200));
}

void HistogramPlot::clearHistogram() {
  clearPlottables();
  clearItems();
  data_ = HistogramData();
  levelsShown_ = 0;
  legend->setVisible(false);
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

void HistogramPlot::setHistogram(const HistogramData& data) {
  clearPlottables();
  clearItems();
  data_ = data;
  levelsShown_ = 0;
  plotLayout()->setAutoMargins(QCP::msAll);
  auto addSteps = [this](const QVector<double>& edges, const QVector<double>& counts, const QString& name,
                         const QColor& color, bool fill, double& lo, double& hi, double& cmax) {
    if (counts.isEmpty() || edges.size() != counts.size() + 1) return;
    auto* g = addGraph();
    g->setName(name);
    g->setLineStyle(QCPGraph::lsStepLeft);
    g->setPen(QPen(color, 1.2));
    if (fill) g->setBrush(QColor(color.red(), color.green(), color.blue(), 70));
    // Log axis: empty bins are drawn at 0.5 (below one count).
    for (int i = 0; i < counts.size(); ++i) {
      g->addData(edges[i], std::max(0.5, counts[i]));
      cmax = std::max(cmax, counts[i]);
    }
    g->addData(edges.last(), std::max(0.5, counts.last()));
    lo = std::min(lo, edges.first());
    hi = std::max(hi, edges.last());
  };
  double lo = 1e300, hi = -1e300, cmax = 1;
  addSteps(data.edges, data.counts, tr("FP32 (calibration)"), QColor(40, 100, 200), true, lo, hi, cmax);
  addSteps(data.runEdges, data.runCounts, tr("FP32 run"), QColor(20, 40, 90), false, lo, hi, cmax);
  addSteps(data.shiftedEdges, data.shiftedCounts, tr("quantized run"), QColor(230, 120, 20), false, lo, hi, cmax);
  if (std::isfinite(data.clipLow) && std::isfinite(data.clipHigh)) {
    lo = std::min(lo, data.clipLow);
    hi = std::max(hi, data.clipHigh);
    for (double v : {data.clipLow, data.clipHigh}) {
      auto* line = new QCPItemStraightLine(this);
      line->point1->setCoords(v, 1);
      line->point2->setCoords(v, 10);
      line->setPen(QPen(QColor(200, 30, 30), 1.5, Qt::DashLine));
    }
  }
  if (!data.levels.isEmpty()) {
    auto* g = addGraph(xAxis, yAxis2);
    const int step = std::max(1, static_cast<int>(data.levels.size()) / 128);
    g->setName(step == 1 ? tr("quantization levels") : tr("quantization levels (every %1th)").arg(step));
    g->setLineStyle(QCPGraph::lsImpulse);
    g->setPen(QPen(QColor(20, 150, 60), 1));
    for (int i = 0; i < data.levels.size(); i += step) {
      g->addData(data.levels[i], 0.06);
      ++levelsShown_;
    }
  }
  if (lo > hi) {
    lo = 0;
    hi = 1;
  }
  legend->setVisible(!data.counts.isEmpty());
  const double pad = (hi - lo) * 0.03 + 1e-12;
  xAxis->setRange(lo - pad, hi + pad);
  yAxis->setRange(0.5, cmax * 3);
  QString title = data.title;
  if (!data.info.isEmpty()) title += "   " + data.info;
  if (plotLayout()->rowCount() > 1 && dynamic_cast<QCPTextElement*>(plotLayout()->element(0, 0))) {
    static_cast<QCPTextElement*>(plotLayout()->element(0, 0))->setText(title);
  } else {
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, new QCPTextElement(this, title, QFont(font().family(), 9, QFont::Bold)));
  }
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

}  // namespace mqb
