#pragma once
// Saving a QCustomPlot for a paper: PNG at a chosen scale (optionally with a transparent
// background), PDF (vector), SVG (vector, QSvgGenerator + QCPPainter).
#include <QImage>
#include <QString>

class QCustomPlot;

namespace mqb {

// The plot at `scale` x its widget size (or width x height when given), ARGB32.
QImage plotToImage(QCustomPlot* plot, int scale, bool transparentBackground, int width = 0, int height = 0);
// Format by extension: .png, .pdf, .svg. Returns false and sets *error on failure.
bool savePlot(QCustomPlot* plot, const QString& path, int scale, bool transparentBackground, QString* error = nullptr,
              int width = 0, int height = 0);

}  // namespace mqb
