#include "GuiTestSupport.h"

#include <QDir>

#include <cmath>
#include <cstdlib>
#include <set>

namespace mqb::guitest {

Phantom makePhantom() {
  Phantom p;
  ImageGeometry g;
  g.size = {64, 48, 40};
  g.spacing = {1.0, 1.0, 2.0};
  p.image = std::make_shared<ImageVolume>();
  p.image->geometry = g;
  p.image->voxels.assign(static_cast<size_t>(g.voxelCount()), -1000.f);
  p.labels = std::make_shared<LabelVolume>();
  p.labels->geometry = g;
  p.labels->voxels.assign(static_cast<size_t>(g.voxelCount()), 0);
  for (int z = 0; z < g.size[2]; ++z)
    for (int y = 0; y < g.size[1]; ++y)
      for (int x = 0; x < g.size[0]; ++x) {
        const double ex = (x - 31.5) / 30.0, ey = (y - 23.5) / 22.0;
        if (ex * ex + ey * ey > 1.0) continue;
        float hu = static_cast<float>(20.0 + 80.0 * std::sin(x / 6.0) * std::cos(y / 7.0));
        if (x >= 8 && x <= 17 && y >= 14 && y <= 27 && z >= 15 && z <= 24) {
          hu = 80.f;
          p.labels->at(x, y, z) = 2;
        }
        const double dx = (x - Phantom::ballX) * g.spacing[0];
        const double dy = (y - Phantom::ballY) * g.spacing[1];
        const double dz = (z - Phantom::ballZ) * g.spacing[2];
        if (dx * dx + dy * dy + dz * dz <= Phantom::ballRadiusMm * Phantom::ballRadiusMm) {
          hu = 400.f;
          p.labels->at(x, y, z) = 1;
        }
        p.image->at(x, y, z) = hu;
      }
  return p;
}

ClassList phantomClasses() {
  return {{0, "background", {0, 0, 0}}, {1, "ball", {255, 0, 0}}, {2, "box", {0, 255, 0}}};
}

QString saveScreenshot(const QImage& image, const QString& name) {
  QDir().mkpath(QStringLiteral(MQB_GUI_SCREENSHOT_DIR));
  const QString path = QStringLiteral(MQB_GUI_SCREENSHOT_DIR) + "/" + name + ".png";
  image.save(path);
  return path;
}

int distinctGreyLevels(const QImage& image) {
  std::set<int> levels;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const QColor c = image.pixelColor(x, y);
      if (std::abs(c.red() - c.green()) <= 2 && std::abs(c.green() - c.blue()) <= 2) levels.insert(c.green());
    }
  return static_cast<int>(levels.size());
}

bool isReddish(QColor c) { return c.red() > c.green() + 60 && c.red() > c.blue() + 60; }

bool isGreyish(QColor c) { return std::abs(c.red() - c.green()) <= 6 && std::abs(c.green() - c.blue()) <= 6; }

int countPixels(const QImage& image, const std::function<bool(QColor)>& pred) {
  int n = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) n += pred(image.pixelColor(x, y));
  return n;
}

}  // namespace mqb::guitest
