#pragma once
// Layer-analysis plots (SPEC section 5), QCustomPlot:
//  * LayerErrorPlot: SQNR (dB) per quantized op in graph order, isolated vs cumulative,
//    the k most sensitive ops marked;
//  * HistogramPlot: an op input's FP32 distribution over the calibration data (log
//    counts) with the clip range, the quantization levels and, when given, the same input
//    in the cumulative quantized run (distribution shift).
#include <qcustomplot.h>

#include <QColor>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QVector>

namespace mqb {

struct LineSeries {
  QString name;
  QColor color;
  QVector<double> values;  // one per op; NaN = gap
};

// Axis label of an op: the name when it has at most `maxChars` characters, else "…" and
// the longest tail of whole path components that fits ("encoder.3.conv1.conv" ->
// "…3.conv1.conv").
QString shortOpName(const QString& name, int maxChars = 16);

class LayerErrorPlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit LayerErrorPlot(QWidget* parent = nullptr);
  void setLayers(const QStringList& ops, const QList<LineSeries>& series, const QString& yLabel,
                 const QSet<int>& highlighted, const QStringList& tooltips = {});
  void clearLayers();
  int opCount() const { return static_cast<int>(ops_.size()); }
  int opAt(const QPoint& pos) const;

 signals:
  void opClicked(int index);

 protected:
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;

 private:
  QStringList ops_, tooltips_;
};

struct HistogramData {
  QString title;
  QVector<double> edges, counts;                // FP32; counts.size() + 1 == edges.size()
  QVector<double> runEdges, runCounts;          // FP32 run on the analysis patches (optional)
  QVector<double> shiftedEdges, shiftedCounts;  // cumulative quantized run, same bins (optional)
  double clipLow = qQNaN(), clipHigh = qQNaN();
  QVector<double> levels;  // quantization levels (optional)
  QString info;            // "clipped 0.01 %, W1 shift 0.003"
};

class HistogramPlot : public QCustomPlot {
  Q_OBJECT
 public:
  explicit HistogramPlot(QWidget* parent = nullptr);
  void setHistogram(const HistogramData& data);
  void clearHistogram();
  const HistogramData& histogram() const { return data_; }
  int levelsShown() const { return levelsShown_; }

 private:
  HistogramData data_;
  int levelsShown_ = 0;
};

}  // namespace mqb
