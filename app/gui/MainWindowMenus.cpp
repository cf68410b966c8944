// MainWindow's menu bar: File (open, recent files, sessions, exports through
// ExportDialogs), View (dock toggles, 3D surfaces), Run and Help. Kept apart from
// MainWindow.cpp, which builds the docks and wires the controller.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>

#include "demo/DemoData.h"
#include "ExportDialogs.h"
#include "MainWindow.h"
#include "support/Resources.h"
#include "SessionController.h"
#include "SessionFiles.h"
#include "SliceView.h"
#include "ViewerPanel.h"

namespace mqb::gui {

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &model..."), QKeySequence(tr("Ctrl+M")), this, [this] {
    const QString p = QFileDialog::getOpenFileName(this, tr("Open model"), QString::fromStdString(bundledModelDir()),
                                                   tr("TorchScript models (*.pt *.pth *.ts);;All files (*)"));
    if (!p.isEmpty()) openModel(p);
  });
  file->addAction(tr("Open &CT file..."), QKeySequence::Open, this, [this] {
    const QString p =
        QFileDialog::getOpenFileName(this, tr("Open CT"), QString::fromStdString(sampleDataDir()),
                                     tr("Volumes (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd);;All files (*)"));
    if (!p.isEmpty()) openVolume(p);
  });
  file->addAction(tr("Open CT &DICOM folder..."), this, [this] {
    const QString p = QFileDialog::getExistingDirectory(this, tr("Open DICOM series folder"),
                                                        QString::fromStdString(sampleDataDir()));
    if (!p.isEmpty()) openVolume(p);
  });
  file->addAction(tr("Open &ground truth..."), QKeySequence(tr("Ctrl+G")), this, [this] {
    const QString p =
        QFileDialog::getOpenFileName(this, tr("Open ground-truth label map"), QString::fromStdString(sampleDataDir()),
                                     tr("Label maps (*.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd);;All files (*)"));
    if (p.isEmpty()) return;
    QStringList maps{tr("(identity)")};
    for (const QFileInfo& f : QDir(QString::fromStdString(resourceDir()) + "/label-maps").entryInfoList({"*.json"}))
      maps << f.completeBaseName();
    bool ok = false;
    // "(identity)" preselected: a remap changes ids, so it is always the user's choice.
    const QString choice =
        QInputDialog::getItem(this, tr("Label map"), tr("Remap label ids on load:"), maps, 0, false, &ok);
    if (!ok) return;
    openGroundTruth(p, choice == maps.first() ? QString() : choice);
  });
  file->addAction(tr("Close ground truth"), controller_, &SessionController::clearGroundTruth);
  phantomAction_ = file->addAction(tr("Use generated &phantom"), this, [this] {
    volumeRequested_ = true;
    controller_->usePhantom();
  });
  sessionFiles_->attachRecentMenu(file->addMenu(tr("&Recent files")));
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
  ExportDialogs* d = exportDialogs_;
  exp->addAction(tr("Comparison &figure (PNG)..."), QKeySequence(tr("Ctrl+E")), d, &ExportDialogs::comparisonFigure);
  exp->addAction(tr("Active &view (PNG)..."), d, &ExportDialogs::activeView);
  exp->addAction(tr("Current &plot (PNG / PDF / SVG)..."), d, &ExportDialogs::currentPlot);
  exp->addSeparator();
  exp->addAction(tr("Scores &table (CSV / Markdown / LaTeX / JSON)..."), d, [d] { d->table(false); });
  exp->addAction(tr("&Benchmark rows (CSV / Markdown / LaTeX / JSON)..."), d, [d] { d->table(true); });
  exp->addSeparator();
  using Prediction = ExportReaction::Prediction;
  exp->addAction(tr("FP32 prediction (NIfTI)..."), d, [d] { d->prediction(Prediction::Fp32); });
  exp->addAction(tr("Quantized prediction (NIfTI)..."), d, [d] { d->prediction(Prediction::Quantized); });
  exp->addAction(tr("Difference map (NIfTI)..."), d, [d] { d->prediction(Prediction::Difference); });
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

}  // namespace mqb::gui
