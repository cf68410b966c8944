#pragma once
// The Analysis dock: DSC / NSD bar plots with the NSD tolerance control, the score table,
// the layer-error plot and the activation histograms. It binds the presentation models
// (model/ScoreRows.h, model/LayerRows.h) to the widgets; it computes nothing itself.
#include <QTabWidget>

#include <memory>

#include "SessionTypes.h"

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QStackedWidget;
class QLabel;
class QTableWidget;

namespace mqb {
class HistogramPlot;
class LayerErrorPlot;
class ScorePlot;
}  // namespace mqb

namespace mqb::gui {

class AnalysisTabs : public QTabWidget {
  Q_OBJECT
 public:
  enum Tab { ScoresTab = 0, TableTab, LayersTab, HistogramsTab };

  explicit AnalysisTabs(bool layerAnalysisAvailable, QWidget* parent = nullptr);

  ScorePlot* dscPlot() const { return dscPlot_; }
  ScorePlot* nsdPlot() const { return nsdPlot_; }
  QTableWidget* scoreTable() const { return scoreTable_; }
  QDoubleSpinBox* toleranceSpin() const { return tolerance_; }
  LayerErrorPlot* layerPlot() const { return layerPlot_; }
  HistogramPlot* histogramPlot() const { return histPlot_; }

  // Above the table: how the quantized side ran ("W8A8 per-tensor, real INT8 (onednn): 13.1 s,
  // FP32 26.1 s, 2.00x, model 0.25x the FP32 file"); empty hides the line.
  void showExecution(const QString& line);
  QLabel* executionLabel() const { return executionLabel_; }
  // Null clears the plots and the table.
  void showScores(const std::shared_ptr<const ComparisonTable>& table);
  // Null or empty shows the "press Analyse layers" page. `keepCount` most sensitive ops
  // are highlighted.
  void showLayers(const std::shared_ptr<const quant::LayerAnalysisRows>& layers, int keepCount);
  // Shows a tolerance (a loaded session's) without asking for a rescore.
  void setToleranceQuietly(double mm);
  // The plot of the current tab for export (on the scores tab the one under the mouse, else
  // DSC); null on the table tab.
  QCustomPlot* currentPlot() const;

 signals:
  // The NSD tolerance, once the spin box value rests (typing "1.25" is one change).
  void toleranceChanged(double mm);

 private:
  void showLayerMetric();
  void showHistogram(int index);

  ScorePlot* dscPlot_;
  ScorePlot* nsdPlot_;
  QTableWidget* scoreTable_;
  QLabel* executionLabel_;
  QDoubleSpinBox* tolerance_;
  QStackedWidget* layerStack_;
  LayerErrorPlot* layerPlot_;
  QComboBox* layerMetric_;
  HistogramPlot* histPlot_;
  QComboBox* histOp_;
  std::shared_ptr<const quant::LayerAnalysisRows> layers_;
  int keepCount_ = 0;
};

}  // namespace mqb::gui
