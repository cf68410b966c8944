#pragma once
// Grouped bar chart of per-organ scores (DSC or NSD): one group per organ, one bar per
// series (FP32 vs ground truth, quantized vs ground truth, agreement ...), with a tooltip
// per organ (e.g. the relative drop "0.870 (0.2%)"). QCustomPlot.
#include <qcustomplot.h>

#include <QColor>
#include <QList>
#include <QString>
#include <QStringList>
#include <QVector>

namespace mqb {

struct BarSeries {
  QString name;
  QColor color;
  QVector<double> values;  // one per category; NaN = no bar
};

// Axis label of a category: "right kidney" -> "R kidney", "left adrenal gland" ->
// "L adrenal", names longer than 12 characters -> initials ("inferior vena cava" -> "IVC").
QString shortCategoryName(const QString& name);

class ScorePlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit ScorePlot(QWidget* parent = nullptr);

  // categories: organ names; tooltips: one per category (may be empty).
  void setScores(const QString& yLabel, const QStringList& categories, const QList<BarSeries>& series,
                 const QStringList& tooltips);
  void clearScores();
  int categoryCount() const { return static_cast<int>(categories_.size()); }
  int seriesCount() const { return static_cast<int>(bars_.size()); }
  // Category under a widget position (-1 if none) and its tooltip.
  int categoryAt(const QPoint& pos) const;
  QString tooltipFor(int category) const;

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  QStringList categories_, tooltips_;
  QList<QCPBars*> bars_;
  QCPBarsGroup* group_ = nullptr;
};

}  // namespace mqb
