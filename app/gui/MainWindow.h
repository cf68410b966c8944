#pragma once
// The MedQuanBench main window: menus, drag and drop, the comparison viewer, the
// quantization panel, model / volume information, organ legend, plots and tables, the
// status bar (cursor read-out, progress, Cancel). Engine work goes through the
// SessionController (worker thread); exports through the ExportReaction.
#include <QMainWindow>
#include <QPointer>

#include <functional>
#include <optional>

#include "AppOptions.h"
#include "SessionFile.h"

class QAction;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QTableWidget;
class QTabWidget;
class QTreeWidget;

namespace mqb {
class HistogramPlot;
class LayerErrorPlot;
class OrganLegend;
class ScorePlot;
}  // namespace mqb

namespace mqb::gui {

class ExportReaction;
class QuantPanel;
class SessionController;
class ViewerPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Applies command-line options: opens inputs, sets the configuration, runs; in batch
  // mode (--export-figure / --screenshot) writes the files and quits with the exit code.
  void startup(const AppOptions& options);

  SessionController* controller() const { return controller_; }
  ExportReaction* exporter() const { return export_; }
  ViewerPanel* viewer() const { return viewer_; }
  QuantPanel* quantPanel() const { return quantPanel_; }
  OrganLegend* legend() const { return legend_; }
  ScorePlot* dscPlot() const { return dscPlot_; }
  ScorePlot* nsdPlot() const { return nsdPlot_; }
  LayerErrorPlot* layerPlot() const { return layerPlot_; }
  HistogramPlot* histogramPlot() const { return histPlot_; }
  QTableWidget* scoreTable() const { return scoreTable_; }
  QDoubleSpinBox* toleranceSpin() const { return tolerance_; }  // NSD tolerance (mm)
  QTreeWidget* infoTree() const { return info_; }
  QString statusText() const;
  QString hoverText() const;

  // Open files by kind (also what drag and drop and positional arguments do).
  void openModel(const QString& path);
  void openVolume(const QString& path);
  void openGroundTruth(const QString& path, const QString& labelMap = {});
  void openFile(const QString& path);  // decides the kind from the name
  void openSession(const QString& path);
  bool saveSession(const QString& path, QString* error = nullptr);
  SessionState sessionState() const;
  void runComparison();  // with the quantization panel's settings
  void setAutosaveEnabled(bool on) { autosave_ = on; }
  QString autosavePath() const;
  QStringList recentFiles() const;
  // Hover read-out for a voxel (what the status bar shows).
  QString describeVoxel(int x, int y, int z) const;

 signals:
  void batchFinished(int exitCode);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void buildDocks();
  void bindController();
  void onModelChanged();
  void onVolumeChanged();
  void onTruthChanged();
  // Status bar note when the ground truth has ids the model has no class for (label map?).
  void warnAboutTruthIds();
  void onResultsChanged();
  void onTableChanged();
  void onLayerAnalysisChanged();
  void updateInfo();
  void updateRunEnabled();
  void maybeAutoRun();
  void showError(const QString& title, const QString& message);
  void addRecent(const QString& kind, const QString& path);
  void rebuildRecentMenu();
  void autosave();
  void finishBatch();
  void exportFigureDialog();
  void exportViewDialog();
  void exportPlotDialog();
  void exportTableDialog(bool benchmark);
  void exportPredictionDialog(int which);
  bool askScale(int& scale, bool& transparent, const QString& title);
  QString labelName(int id) const;

  SessionController* controller_;
  ExportReaction* export_;
  ViewerPanel* viewer_;
  QuantPanel* quantPanel_;
  OrganLegend* legend_;
  QTreeWidget* info_;
  ScorePlot* dscPlot_;
  ScorePlot* nsdPlot_;
  QTableWidget* scoreTable_;
  QDoubleSpinBox* tolerance_;
  QTabWidget* plotTabs_;
  QStackedWidget* layerStack_;
  LayerErrorPlot* layerPlot_;
  QComboBox* layerMetric_;
  HistogramPlot* histPlot_;
  QComboBox* histOp_;
  QLabel* hoverLabel_;
  QLabel* stageLabel_;
  QProgressBar* progress_;
  QPushButton* cancelButton_;
  QMenu* recentMenu_ = nullptr;
  QMenu* viewMenu_ = nullptr;
  QAction* phantomAction_ = nullptr;

  bool autosave_ = true;
  bool batch_ = false;
  bool ranOnce_ = false;
  bool autoRunPending_ = false;
  bool volumeRequested_ = false;  // a CT is loaded or queued: dropped label maps are ground truth
  int batchExitCode_ = 0;
  AppOptions batchOptions_;
  std::optional<ViewState> pendingViewState_;
  QString sessionPath_;
};

}  // namespace mqb::gui
