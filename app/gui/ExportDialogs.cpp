#include "ExportDialogs.h"

#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QSettings>
#include <QSpinBox>
#include <qcustomplot.h>

#include "AnalysisTabs.h"
#include "ViewerPanel.h"

namespace mqb::gui {

bool askExportScale(QWidget* parent, const QString& title, int& scale, bool& transparent) {
  QDialog dialog(parent);
  dialog.setWindowTitle(title);
  auto* form = new QFormLayout(&dialog);
  auto* s = new QSpinBox;
  s->setRange(1, 8);
  s->setValue(QSettings().value("export/scale", 2).toInt());
  auto* t = new QCheckBox(QObject::tr("Transparent background"));
  t->setChecked(QSettings().value("export/transparent", false).toBool());
  form->addRow(QObject::tr("Scale"), s);
  form->addRow(QString(), t);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  form->addRow(buttons);
  QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return false;
  scale = s->value();
  transparent = t->isChecked();
  QSettings().setValue("export/scale", scale);
  QSettings().setValue("export/transparent", transparent);
  return true;
}

ExportDialogs::ExportDialogs(QWidget* parent, ExportReaction* exporter, ViewerPanel* viewer, AnalysisTabs* analysis)
    : QObject(parent), parent_(parent), exporter_(exporter), viewer_(viewer), analysis_(analysis) {}

void ExportDialogs::comparisonFigure() {
  int scale = 2;
  bool transparent = false;
  if (!askExportScale(parent_, tr("Export comparison figure"), scale, transparent)) return;
  const QString p = QFileDialog::getSaveFileName(parent_, tr("Export comparison figure"), "comparison.png",
                                                 tr("PNG images (*.png);;JPEG images (*.jpg)"));
  if (p.isEmpty()) return;
  QString error;
  QSize size;
  if (exporter_->exportComparisonFigure(p, scale, transparent, viewer_->viewState(), &error, &size))
    emit wrote(tr("Wrote %1 (%2 x %3)").arg(p).arg(size.width()).arg(size.height()));
  else
    emit failed(tr("Export"), error);
}

void ExportDialogs::activeView() {
  int scale = 2;
  bool transparent = false;
  if (!askExportScale(parent_, tr("Export view"), scale, transparent)) return;
  const QString p =
      QFileDialog::getSaveFileName(parent_, tr("Export active view"), "view.png", tr("PNG images (*.png)"));
  if (p.isEmpty()) return;
  QString error;
  if (!ExportReaction::exportView(viewer_->activeView(), p, scale, transparent, &error))
    emit failed(tr("Export"), error);
  else
    emit wrote(tr("Wrote %1").arg(p));
}

void ExportDialogs::currentPlot() {
  QCustomPlot* plot = analysis_->currentPlot();
  if (!plot) {
    emit failed(tr("Export"), tr("Select a plot tab (DSC / NSD, Layer error, Histograms) first"));
    return;
  }
  int scale = 2;
  bool transparent = false;
  if (!askExportScale(parent_, tr("Export plot"), scale, transparent)) return;
  const QString p = QFileDialog::getSaveFileName(parent_, tr("Export plot"), plot->objectName() + ".png",
                                                 tr("PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"));
  if (p.isEmpty()) return;
  QString error;
  if (!ExportReaction::exportPlot(plot, p, scale, transparent, &error))
    emit failed(tr("Export"), error);
  else
    emit wrote(tr("Wrote %1").arg(p));
}

void ExportDialogs::table(bool benchmark) {
  const QString p = QFileDialog::getSaveFileName(parent_, benchmark ? tr("Export benchmark rows") : tr("Export table"),
                                                 benchmark ? "benchmark.md" : "scores.csv",
                                                 tr("CSV (*.csv);;Markdown (*.md);;LaTeX (*.tex);;JSON (*.json)"));
  if (p.isEmpty()) return;
  QString error;
  const bool ok = benchmark ? exporter_->exportBenchmark(p, &error) : exporter_->exportTable(p, &error);
  if (!ok)
    emit failed(tr("Export"), error);
  else
    emit wrote(tr("Wrote %1").arg(p));
}

void ExportDialogs::prediction(ExportReaction::Prediction which) {
  const QString name = which == ExportReaction::Prediction::Fp32        ? "fp32_prediction.nii.gz"
                       : which == ExportReaction::Prediction::Quantized ? "quantized_prediction.nii.gz"
                                                                        : "difference.nii.gz";
  const QString p = QFileDialog::getSaveFileName(parent_, tr("Export label map"), name,
                                                 tr("NIfTI (*.nii.gz *.nii);;NRRD (*.nrrd);;MetaImage (*.mha)"));
  if (p.isEmpty()) return;
  QString error;
  if (!exporter_->exportPrediction(which, p, &error))
    emit failed(tr("Export"), error);
  else
    emit wrote(tr("Writing %1").arg(p));
}

}  // namespace mqb::gui
