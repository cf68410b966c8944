#include "ExportReaction.h"

#include "SliceCompositor.h"

#include <QDir>
#include <QFileInfo>
#include <QImageWriter>
#include <QLocale>
#include <QSaveFile>

#include <cmath>
#include <set>

#include "PlotExport.h"
#include "SessionController.h"
#include "SliceRenderer.h"
#include "TableExport.h"
#include "VtkOpenGLView.h"

namespace mqb::gui {
namespace {

int normalAxisOf(const std::string& orientation) {
  if (orientation == "sagittal") return 0;
  if (orientation == "coronal") return 1;
  return 2;
}

QString planeName(int axis) {
  return axis == 0 ? QObject::tr("sagittal") : axis == 1 ? QObject::tr("coronal") : QObject::tr("axial");
}

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

bool writeText(const QString& path, const std::string& text, QString* error) {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return fail(error, path + ": " + f.errorString());
  f.write(text.data(), static_cast<qint64>(text.size()));
  if (!f.commit()) return fail(error, path + ": " + f.errorString());
  return true;
}

// Labels present on the slice in any of the volumes (legend entries).
std::set<int> labelsOnSlice(const FigureRequest& r, int slice) {
  std::set<int> ids;
  for (const auto& v : {r.fp32, r.quantized, r.includeTruth ? r.truth : nullptr}) {
    if (!v || !r.image || v->geometry.size != r.image->geometry.size) continue;
    const auto& g = v->geometry;
    int idx[3];
    const int a = r.normalAxis, b = (a + 1) % 3, c = (a + 2) % 3;
    idx[a] = slice;
    for (int i = 0; i < g.size[b]; ++i) {
      idx[b] = i;
      for (int j = 0; j < g.size[c]; ++j) {
        idx[c] = j;
        const uint8_t l = v->at(idx[0], idx[1], idx[2]);
        if (l) ids.insert(l);
      }
    }
  }
  return ids;
}

}  // namespace

QString figureCaption(const FigureRequest& r) {
  QStringList parts;
  if (!r.modelName.isEmpty()) parts << r.modelName;
  if (r.quantized)
    parts << QObject::tr("FP32 vs %1").arg(r.configuration.isEmpty() ? r.quantTitle : r.configuration);
  else if (r.modelName.isEmpty())
    parts << QObject::tr("no model loaded");
  if (r.image) {
    const int count = static_cast<int>(r.image->geometry.size[r.normalAxis]);
    const int slice = r.slice < 0 ? count / 2 : r.slice;
    parts << QObject::tr("%1 slice %2/%3").arg(planeName(r.normalAxis)).arg(slice + 1).arg(count);
  }
  if (r.differingVoxels >= 0)
    parts << QObject::tr("%1 voxels differ").arg(QLocale::c().toString(static_cast<qlonglong>(r.differingVoxels)));
  if (std::isfinite(r.meanAgreeDsc)) parts << QObject::tr("mean DSC vs FP32 %1").arg(r.meanAgreeDsc, 0, 'f', 3);
  if (std::isfinite(r.meanFp32Dsc) && std::isfinite(r.meanQuantDsc))
    parts << QObject::tr("mean DSC vs ground truth: FP32 %1, %2 %3")
                 .arg(r.meanFp32Dsc, 0, 'f', 3)
                 .arg(r.quantTitle)
                 .arg(r.meanQuantDsc, 0, 'f', 3);
  return parts.join(QStringLiteral("  \u00b7  "));
}

ComparisonFigureSpec makeComparisonSpec(const FigureRequest& r) {
  ComparisonFigureSpec spec;
  spec.transparentBackground = r.transparentBackground;
  spec.caption = figureCaption(r);
  if (!r.image) return spec;
  const ImageGeometry& g = r.image->geometry;
  const int slice = r.slice < 0 ? static_cast<int>(g.size[r.normalAxis]) / 2 : r.slice;
  const QSize logical = fitSliceSize(g, r.normalAxis, QSize(r.panelBox, r.panelBox));
  auto panel = [&](const QString& title, std::shared_ptr<const LabelVolume> labels,
                   std::shared_ptr<const LabelVolume> diff) {
    FigurePanel p;
    p.title = title;
    p.logicalSize = logical;
    auto image = r.image;
    SliceRenderOptions o;
    o.normalAxis = r.normalAxis;
    o.slice = slice;
    o.window = r.window;
    o.level = r.level;
    o.classes = r.classes;
    o.labelOpacity = r.labelOpacity;
    o.outline = r.outline;
    o.labelVisible = r.labelVisible;
    o.differenceColor = differenceColorFor(r.classes);  // as the difference pane shows it
    p.render = [image, labels, diff, o](const QSize& size) mutable {
      o.labels = labels.get();
      o.difference = diff.get();
      return renderSlice(*image, o, size);
    };
    return p;
  };
  spec.panels << panel(QObject::tr("FP32"), r.fp32, nullptr);
  spec.panels << panel(r.quantTitle, r.quantized, nullptr);
  spec.panels << panel(QObject::tr("Difference"), nullptr, r.difference);
  if (r.includeTruth && r.truth) spec.panels << panel(QObject::tr("Ground truth"), r.truth, nullptr);
  for (int id : labelsOnSlice(r, slice)) {
    if (!r.labelVisible[static_cast<size_t>(id)]) continue;
    QString name = QObject::tr("label %1").arg(id);
    QColor color = QColor::fromHsv((id * 137) % 360, 200, 240);
    for (const auto& c : r.classes)
      if (c.id == id) {
        name = QString::fromStdString(c.name);
        color = QColor(c.color[0], c.color[1], c.color[2]);
      }
    spec.legend << FigureLegendEntry{name, color};
  }
  if (r.difference)
    spec.legend << FigureLegendEntry{QObject::tr("FP32 \u2260 quantized"), differenceColorFor(r.classes)};
  return spec;
}

ExportReaction::ExportReaction(SessionController* controller, QObject* parent)
    : QObject(parent), controller_(controller) {}

FigureRequest ExportReaction::figureRequest(const ViewState& view) const {
  FigureRequest r;
  r.image = controller_->volume();
  r.fp32 = controller_->fp32();
  r.quantized = controller_->quantized();
  r.difference = controller_->difference();
  r.truth = controller_->groundTruth();
  if (auto info = controller_->modelInfo()) {
    r.classes = info->metadata.classes;
    r.modelName = QString::fromStdString(info->metadata.name);
  }
  r.normalAxis = normalAxisOf(view.orientation);
  r.slice = view.slice;
  r.window = view.window;
  r.level = view.level;
  r.labelOpacity = view.labelOpacity;
  r.outline = view.labelMode == "outline";
  r.labelVisible.fill(true);
  for (int id : view.hiddenLabels)
    if (id >= 0 && id < 256) r.labelVisible[static_cast<size_t>(id)] = false;
  if (r.quantized) {
    const quant::QuantConfig& s = controller_->resultSettings();
    r.quantTitle =
        s.precision.floatingPoint
            ? QStringLiteral("FP32 (reference)")
            : QString::fromStdString(s.precision.title() + (s.method.roundToNearest() ? "" : " " + s.method.title()));
    r.configuration = QString::fromStdString(s.describe());
    r.differingVoxels = controller_->differingVoxels();
  }
  if (auto t = controller_->table()) {
    r.meanAgreeDsc = t->meanAgreeDsc;
    if (t->haveTruth) {
      r.meanFp32Dsc = t->meanFp32Dsc;
      r.meanQuantDsc = t->meanQuantDsc;
    }
  }
  return r;
}

QImage ExportReaction::comparisonFigure(int scale, bool transparent, const ViewState& view) const {
  FigureRequest r = figureRequest(view);
  r.transparentBackground = transparent;
  return ComparisonFigure(makeComparisonSpec(r)).render(scale);
}

bool ExportReaction::exportComparisonFigure(const QString& path, int scale, bool transparent, const ViewState& view,
                                            QString* error, QSize* pixelSize) const {
  if (scale < 1 || scale > 16) return fail(error, tr("%1: export scale must be 1..16").arg(path));
  if (!controller_->volume()) return fail(error, tr("%1: no CT volume loaded").arg(path));
  const QImage image = comparisonFigure(scale, transparent, view);
  if (image.isNull()) return fail(error, tr("%1: empty figure").arg(path));
  const QFileInfo info(path);
  if (!info.absoluteDir().exists()) return fail(error, tr("%1: folder does not exist").arg(path));
  QImageWriter writer(path);
  if (!writer.write(image)) return fail(error, path + ": " + writer.errorString());
  if (pixelSize) *pixelSize = image.size();
  return true;
}

bool ExportReaction::exportTable(const QString& path, QString* error) const {
  const auto table = controller_->table();
  if (!table) return fail(error, tr("%1: no scores yet (run the comparison first)").arg(path));
  try {
    return writeText(path, formatComparisonTable(*table, tableFormatForPath(path.toStdString())), error);
  } catch (const std::exception& e) {
    return fail(error, QString::fromStdString(e.what()));
  }
}

bool ExportReaction::exportBenchmark(const QString& path, QString* error) const {
  const auto table = controller_->table();
  if (!table) return fail(error, tr("%1: no scores yet (run the comparison first)").arg(path));
  try {
    const auto& realInt8 = controller_->realInt8Measurement();  // Speed-up / Size columns
    return writeText(path,
                     formatBenchmarkRows(*table, controller_->resultSettings(),
                                         tableFormatForPath(path.toStdString()), realInt8 ? &*realInt8 : nullptr),
                     error);
  } catch (const std::exception& e) {
    return fail(error, QString::fromStdString(e.what()));
  }
}

bool ExportReaction::exportPrediction(Prediction which, const QString& path, QString* error) const {
  std::shared_ptr<const LabelVolume> labels = which == Prediction::Fp32        ? controller_->fp32()
                                              : which == Prediction::Quantized ? controller_->quantized()
                                                                               : controller_->difference();
  if (!labels || (which == Prediction::Fp32 && controller_->fp32IsPreview()) ||
      (which != Prediction::Fp32 && controller_->quantizedIsPreview()))
    return fail(error, tr("%1: no complete prediction to export yet").arg(path));
  const std::string file = path.toStdString();
  controller_->runJob(tr("Writing %1").arg(path),
                      [labels, file](AnalysisSession&, Feedback&) { AnalysisSession::writeLabels(*labels, file); });
  return true;
}

bool ExportReaction::exportView(VtkOpenGLView* view, const QString& path, int scale, bool transparent, QString* error) {
  if (!view) return fail(error, tr("%1: no view").arg(path));
  const QImage image = view->grabScaled(std::max(1, scale), transparent);
  if (image.isNull()) return fail(error, tr("%1: the view has not been shown yet").arg(path));
  QImageWriter writer(path);
  if (!writer.write(image)) return fail(error, path + ": " + writer.errorString());
  return true;
}

bool ExportReaction::exportPlot(QCustomPlot* plot, const QString& path, int scale, bool transparent, QString* error) {
  return savePlot(plot, path, scale, transparent, error);
}

}  // namespace mqb::gui
