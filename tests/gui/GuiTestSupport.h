#pragma once
// Synthetic CT + labels for the GUI tests, and small image-inspection helpers.
#include "io/ClassInfo.h"
#include "io/Volume.h"

#include <QColor>
#include <QImage>
#include <QString>

#include <functional>
#include <memory>

namespace mqb::guitest {

// 64 x 48 x 40 voxels, spacing 1 x 1 x 2 mm. Air (-1000 HU) around an elliptic body whose
// soft tissue varies smoothly between about -60 and +100 HU; a bright ball (400 HU,
// radius 10 mm in physical space, label 1) centred at voxel (40, 24, 20); a box
// (80 HU, label 2) at voxels x 8..17, y 14..27, z 15..24.
struct Phantom {
  std::shared_ptr<ImageVolume> image;
  std::shared_ptr<LabelVolume> labels;
  static constexpr int ballX = 40, ballY = 24, ballZ = 20;
  static constexpr double ballRadiusMm = 10.0;
};
Phantom makePhantom();
ClassList phantomClasses();  // 1 = red "ball", 2 = green "box"

// Saves under MQB_GUI_SCREENSHOT_DIR and returns the path.
QString saveScreenshot(const QImage& image, const QString& name);

// Number of distinct grey values (r == g == b +-2) in the image.
int distinctGreyLevels(const QImage& image);
bool isReddish(QColor c);
// Number of pixels for which pred holds.
int countPixels(const QImage& image, const std::function<bool(QColor)>& pred);
bool isGreyish(QColor c);

}  // namespace mqb::guitest
