#pragma once
// A publication figure composed with QPainter into a QImage: a row of titled panels
// (e.g. FP32 | quantized | difference at the same slice), a colour legend and a caption
// (the configuration). Layout is computed in logical pixels and painted at `scale`, so a
// figure at scale 2 is exactly twice the size of the same figure at scale 1 and its panel
// images are drawn 1:1 when rendered at logicalSize * scale. Needs no window or GL.
#include <QColor>
#include <QImage>
#include <QList>
#include <QSize>
#include <QString>

#include <functional>

namespace mqb {

struct FigurePanel {
  QString title;
  QSize logicalSize;  // size of the panel's image area in logical pixels
  // Renders the panel at a pixel size (logicalSize * scale).
  std::function<QImage(const QSize& pixelSize)> render;
};

struct FigureLegendEntry {
  QString name;
  QColor color;
};

struct ComparisonFigureSpec {
  QList<FigurePanel> panels;
  QList<FigureLegendEntry> legend;
  QString caption;
  bool transparentBackground = false;  // panels stay opaque; only the margins are transparent
  QColor background = Qt::white;
  QColor foreground = Qt::black;
  int fontPixelSize = 15;  // logical
};

class ComparisonFigure {
 public:
  explicit ComparisonFigure(ComparisonFigureSpec spec);
  QSize logicalSize() const { return size_; }
  QSize pixelSize(int scale) const { return size_ * scale; }
  // ARGB32 premultiplied image of pixelSize(scale); scale >= 1.
  QImage render(int scale = 1) const;

 private:
  void layout();
  ComparisonFigureSpec spec_;
  QSize size_;
  int titleHeight_ = 0, legendTop_ = 0, captionTop_ = 0;
  QList<QList<int>> legendRows_;  // entry indices per row
  QList<int> legendRowWidths_;
  int captionHeight_ = 0;
};

}  // namespace mqb
