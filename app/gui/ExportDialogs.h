#pragma once
// File > Export: the dialogs in front of the ExportReaction (scale / transparency, file
// name), one method per menu entry. Results go to the status bar through `wrote`, errors
// through `failed` (the main window shows them, or prints them in batch mode).
#include <QObject>

#include "ExportReaction.h"

class QWidget;

namespace mqb::gui {

class AnalysisTabs;
class ViewerPanel;

// Asks for the export scale (1-8) and a transparent background, remembered in QSettings.
bool askExportScale(QWidget* parent, const QString& title, int& scale, bool& transparent);

class ExportDialogs : public QObject {
  Q_OBJECT
 public:
  ExportDialogs(QWidget* parent, ExportReaction* exporter, ViewerPanel* viewer, AnalysisTabs* analysis);

  void comparisonFigure();
  void activeView();
  void currentPlot();
  void table(bool benchmarkRows);
  void prediction(ExportReaction::Prediction which);

 signals:
  void wrote(const QString& message);
  void failed(const QString& title, const QString& message);

 private:
  QWidget* parent_;
  ExportReaction* exporter_;
  ViewerPanel* viewer_;
  AnalysisTabs* analysis_;
};

}  // namespace mqb::gui
