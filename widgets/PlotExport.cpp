#include "PlotExport.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QSvgGenerator>

namespace mqb {
namespace {

// Makes the plot's backgrounds transparent while alive.
class TransparentScope {
 public:
  TransparentScope(QCustomPlot* plot, bool enable) : plot_(plot), enable_(enable) {
    if (!enable_) return;
    background_ = plot->background();
    plot->setBackground(Qt::NoBrush);
    for (auto* r : plot->axisRects()) {
      rectBackgrounds_ << r->background();
      r->setBackground(Qt::NoBrush);
    }
  }
  ~TransparentScope() {
    if (!enable_) return;
    plot_->setBackground(background_);
    const auto rects = plot_->axisRects();
    for (int i = 0; i < rects.size() && i < rectBackgrounds_.size(); ++i)
      rects[i]->setBackground(rectBackgrounds_[i]);
    plot_->replot();
  }

 private:
  QCustomPlot* plot_;
  bool enable_;
  QBrush background_;
  QList<QBrush> rectBackgrounds_;
};

}  // namespace

QImage plotToImage(QCustomPlot* plot, int scale, bool transparent, int width, int height) {
  if (!plot) return {};
  TransparentScope scope(plot, transparent);
  const int w = width > 0 ? width : plot->width();
  const int h = height > 0 ? height : plot->height();
  return plot->toPixmap(w, h, std::max(1, scale)).toImage().convertToFormat(QImage::Format_ARGB32);
}

bool savePlot(QCustomPlot* plot, const QString& path, int scale, bool transparent, QString* error, int width,
              int height) {
  auto fail = [&](const QString& message) {
    if (error) *error = path + ": " + message;
    return false;
  };
  if (!plot) return fail("no plot");
  const QString suffix = QFileInfo(path).suffix().toLower();
  const int w = width > 0 ? width : plot->width();
  const int h = height > 0 ? height : plot->height();
  if (suffix == "png" || suffix == "jpg" || suffix == "jpeg") {
    const QImage img = plotToImage(plot, scale, transparent && suffix == "png", w, h);
    if (img.isNull() || !img.save(path)) return fail("cannot write the image");
    return true;
  }
  if (suffix == "pdf") {
    TransparentScope scope(plot, transparent);
    if (!plot->savePdf(path, w, h)) return fail("cannot write the PDF");
    return true;
  }
  if (suffix == "svg") {
    TransparentScope scope(plot, transparent);
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(QSize(w, h));
    generator.setViewBox(QRect(0, 0, w, h));
    generator.setTitle(plot->objectName());
    QCPPainter painter;
    if (!painter.begin(&generator)) return fail("cannot write the SVG");
    plot->toPainter(&painter, w, h);
    painter.end();
    if (!QFileInfo::exists(path)) return fail("cannot write the SVG");
    return true;
  }
  return fail("unknown plot format (use .png, .pdf or .svg)");
}

}  // namespace mqb
