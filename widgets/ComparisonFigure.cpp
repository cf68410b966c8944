#include "ComparisonFigure.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>

#include <algorithm>

namespace mqb {
namespace {

constexpr int kMargin = 12;
constexpr int kGap = 8;
constexpr int kSwatch = 12;
constexpr int kLegendSpacing = 18;

QFont figureFont(int pixelSize, bool bold) {
  QFont f(QStringLiteral("DejaVu Sans"));
  f.setPixelSize(pixelSize);
  f.setBold(bold);
  f.setHintingPreference(QFont::PreferNoHinting);  // text metrics scale linearly
  return f;
}

}  // namespace

ComparisonFigure::ComparisonFigure(ComparisonFigureSpec spec) : spec_(std::move(spec)) { layout(); }

void ComparisonFigure::layout() {
  const QFontMetrics title(figureFont(spec_.fontPixelSize, true));
  const QFontMetrics text(figureFont(spec_.fontPixelSize - 2, false));
  int panelsWidth = 0, panelsHeight = 0;
  for (const auto& p : spec_.panels) {
    panelsWidth += p.logicalSize.width();
    panelsHeight = std::max(panelsHeight, p.logicalSize.height());
  }
  if (!spec_.panels.isEmpty()) panelsWidth += kGap * (static_cast<int>(spec_.panels.size()) - 1);
  titleHeight_ = title.height() + 4;
  const int width = std::max(panelsWidth, 200) + 2 * kMargin;
  const int inner = width - 2 * kMargin;

  // Legend rows: swatch + name, wrapped at the figure width.
  legendRows_.clear();
  legendRowWidths_.clear();
  int rowWidth = 0;
  QList<int> row;
  for (int i = 0; i < spec_.legend.size(); ++i) {
    const int w = kSwatch + 4 + text.horizontalAdvance(spec_.legend[i].name);
    const int add = row.isEmpty() ? w : kLegendSpacing + w;
    if (!row.isEmpty() && rowWidth + add > inner) {
      legendRows_ << row;
      legendRowWidths_ << rowWidth;
      row.clear();
      rowWidth = 0;
    }
    rowWidth += row.isEmpty() ? w : kLegendSpacing + w;
    row << i;
  }
  if (!row.isEmpty()) {
    legendRows_ << row;
    legendRowWidths_ << rowWidth;
  }
  legendTop_ = kMargin + titleHeight_ + panelsHeight + kGap;
  const int legendHeight = static_cast<int>(legendRows_.size()) * (text.height() + 4);
  captionTop_ = legendTop_ + legendHeight + (legendRows_.isEmpty() ? 0 : kGap);
  captionHeight_ =
      spec_.caption.isEmpty()
          ? 0
          : text.boundingRect(QRect(0, 0, inner, 10000), Qt::TextWordWrap | Qt::AlignHCenter, spec_.caption).height();
  size_ = QSize(width, captionTop_ + captionHeight_ + kMargin);
}

QImage ComparisonFigure::render(int scale) const {
  scale = std::max(1, scale);
  QImage image(size_ * scale, QImage::Format_ARGB32_Premultiplied);
  image.fill(spec_.transparentBackground ? QColor(Qt::transparent) : spec_.background);
  QPainter p(&image);
  p.setRenderHint(QPainter::Antialiasing);
  p.setRenderHint(QPainter::TextAntialiasing);
  p.scale(scale, scale);
  p.setPen(spec_.foreground);

  int panelsWidth = 0;
  for (const auto& panel : spec_.panels) panelsWidth += panel.logicalSize.width();
  if (!spec_.panels.isEmpty()) panelsWidth += kGap * (static_cast<int>(spec_.panels.size()) - 1);
  int x = (size_.width() - panelsWidth) / 2;
  const QFont titleFont = figureFont(spec_.fontPixelSize, true);
  const QFont textFont = figureFont(spec_.fontPixelSize - 2, false);
  for (const auto& panel : spec_.panels) {
    p.setFont(titleFont);
    p.drawText(QRect(x, kMargin, panel.logicalSize.width(), titleHeight_), Qt::AlignHCenter | Qt::AlignTop,
               panel.title);
    const QRect target(QPoint(x, kMargin + titleHeight_), panel.logicalSize);
    if (panel.render) {
      const QImage img = panel.render(panel.logicalSize * scale);
      if (!img.isNull()) p.drawImage(QRectF(target), img);
    }
    x += panel.logicalSize.width() + kGap;
  }

  p.setFont(textFont);
  const QFontMetrics fm(textFont);
  int y = legendTop_;
  for (int r = 0; r < legendRows_.size(); ++r) {
    int lx = (size_.width() - legendRowWidths_[r]) / 2;
    for (int i : legendRows_[r]) {
      const auto& e = spec_.legend[i];
      const int sy = y + (fm.height() - kSwatch) / 2;
      p.fillRect(QRect(lx, sy, kSwatch, kSwatch), e.color);
      p.setPen(QPen(spec_.foreground, 0.5));
      p.drawRect(QRect(lx, sy, kSwatch, kSwatch));
      p.setPen(spec_.foreground);
      p.drawText(QPoint(lx + kSwatch + 4, y + fm.ascent()), e.name);
      lx += kSwatch + 4 + fm.horizontalAdvance(e.name) + kLegendSpacing;
    }
    y += fm.height() + 4;
  }
  if (!spec_.caption.isEmpty())
    p.drawText(QRect(kMargin, captionTop_, size_.width() - 2 * kMargin, captionHeight_),
               Qt::TextWordWrap | Qt::AlignHCenter, spec_.caption);
  p.end();
  return image;
}

}  // namespace mqb
