#pragma once
// The MedQuanBench main window composes the parts: the comparison viewer (central), the
// docks (QuantPanel, InputsPanel, OrganLegend, AnalysisTabs), menus, drag and drop and the
// status bar (cursor read-out, progress, Cancel). It wires the SessionController (engine
// work on the worker thread) to them; what the parts show comes from the Qt-free
// presentation models in model/. Export dialogs: ExportDialogs; the autosave and recent
// files: SessionFiles; the end of a batch run: BatchRun.
#include <QMainWindow>
#include <QPointer>

#include <functional>
#include <optional>

#include "AppOptions.h"
#include "SessionFile.h"

class QAction;
class QDoubleSpinBox;
class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QTreeWidget;

namespace mqb {
class HistogramPlot;
class LayerErrorPlot;
class OrganLegend;
class ScorePlot;
}  // namespace mqb

namespace mqb::gui {

class AnalysisTabs;
class ExportDialogs;
class ExportReaction;
class InputsPanel;
class QuantPanel;
class SessionFiles;
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
  AnalysisTabs* analysis() const { return analysis_; }
  InputsPanel* inputs() const { return inputs_; }
  ScorePlot* dscPlot() const;
  ScorePlot* nsdPlot() const;
  LayerErrorPlot* layerPlot() const;
  HistogramPlot* histogramPlot() const;
  QTableWidget* scoreTable() const;
  QDoubleSpinBox* toleranceSpin() const;  // NSD tolerance (mm)
  QTreeWidget* infoTree() const;
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
  void autosave();
  void finishBatch();

  SessionController* controller_;
  ExportReaction* export_;
  ViewerPanel* viewer_;
  QuantPanel* quantPanel_;
  InputsPanel* inputs_;
  OrganLegend* legend_;
  AnalysisTabs* analysis_;
  ExportDialogs* exportDialogs_;
  SessionFiles* sessionFiles_;
  QLabel* hoverLabel_;
  QLabel* stageLabel_;
  QProgressBar* progress_;
  QPushButton* cancelButton_;
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
