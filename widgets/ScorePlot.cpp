#include "ScorePlot.h"

#include "PlotLegend.h"
#include "PlotSetup.h"

#include <QToolTip>

#include <cmath>

namespace mqb {

QString shortCategoryName(const QString& name) {
  QString s = name.simplified();
  if (s.startsWith("right ", Qt::CaseInsensitive)) s = "R " + s.mid(6);
  if (s.startsWith("left ", Qt::CaseInsensitive)) s = "L " + s.mid(5);
  if (s.endsWith(" gland", Qt::CaseInsensitive)) s.chop(6);
  if (s.size() <= 12) return s;
  // Long multi-word names read best as initials (inferior vena cava -> IVC).
  const QStringList words = s.split(' ', Qt::SkipEmptyParts);
  if (words.size() < 2) return s.left(11) + QChar(0x2026);
  QString initials;
  for (const QString& w : words)
    if (w.front().isLetterOrNumber()) initials += w.front().toUpper();
  return initials;
}

ScorePlot::ScorePlot(QWidget* parent) : QCustomPlot(parent) {
  setUpEmbeddedPlot(*this);
  group_ = new QCPBarsGroup(this);
  group_->setSpacingType(QCPBarsGroup::stAbsolute);
  group_->setSpacing(1);
  yAxis->setRange(0, 1.05);
  yAxis->grid()->setSubGridVisible(false);
  xAxis->setTickLabelRotation(50);
  xAxis->grid()->setVisible(false);
  placeLegendAboveAxes(*this);
  setMouseTracking(true);
}

void ScorePlot::clearScores() {
  for (auto* b : bars_) removePlottable(b);
  bars_.clear();
  categories_.clear();
  tooltips_.clear();
  legend->setVisible(false);
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

void ScorePlot::setScores(const QString& yLabel, const QStringList& categories, const QList<BarSeries>& series,
                          const QStringList& tooltips) {
  for (auto* b : bars_) removePlottable(b);
  bars_.clear();
  categories_ = categories;
  tooltips_ = tooltips;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  // Short names keep the rotated labels from eating the bars' height; tooltips name in full.
  for (int i = 0; i < categories.size(); ++i) ticker->addTick(i + 1, shortCategoryName(categories[i]));
  xAxis->setTicker(ticker);
  xAxis->setRange(0.4, categories.size() + 0.6);
  yAxis->setLabel(yLabel);
  const double width = series.isEmpty() ? 0.8 : 0.8 / series.size();
  for (const BarSeries& s : series) {
    auto* bars = new QCPBars(xAxis, yAxis);
    bars->setName(s.name);
    bars->setWidth(width);
    bars->setPen(QPen(s.color.darker(130)));
    bars->setBrush(s.color);
    bars->setBarsGroup(group_);
    for (int i = 0; i < s.values.size() && i < categories.size(); ++i)
      if (std::isfinite(s.values[i])) bars->addData(i + 1, s.values[i]);
    bars_ << bars;
  }
  legend->setVisible(!series.isEmpty());
  replot(QCustomPlot::rpQueuedReplot);  // coalesced, off the caller's stack
}

int ScorePlot::categoryAt(const QPoint& pos) const {
  if (categories_.isEmpty() || !axisRect()->rect().contains(pos)) return -1;
  const double key = xAxis->pixelToCoord(pos.x());
  const int i = static_cast<int>(std::lround(key)) - 1;
  return (i >= 0 && i < categories_.size() && std::abs(key - (i + 1)) <= 0.45) ? i : -1;
}

QString ScorePlot::tooltipFor(int category) const {
  if (category < 0 || category >= categories_.size()) return {};
  return category < tooltips_.size() ? tooltips_[category] : categories_[category];
}

void ScorePlot::mouseMoveEvent(QMouseEvent* event) {
  QCustomPlot::mouseMoveEvent(event);
  const int i = categoryAt(event->pos());
  if (i >= 0)
    QToolTip::showText(event->globalPosition().toPoint(), tooltipFor(i), this);
  else
    QToolTip::hideText();
}

}  // namespace mqb
