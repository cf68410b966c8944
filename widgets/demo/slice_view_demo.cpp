// Manual demo of the slice views: a synthetic CT (body, organs, a bright "bone" sphere)
// with a two-class segmentation and a difference overlay, in a linked 2x2 layout
// (axial / coronal / sagittal + a second axial view showing the difference).
// Run: build-gui/bin/mqb_slice_view_demo [--screenshot FILE.png]
// (needs an X display; GLX is forced). With --screenshot it saves the window and quits.
#include "SliceView.h"
#include "ViewLink.h"

#include <QApplication>
#include <QComboBox>
#include <QGridLayout>
#include <QLabel>
#include <QMainWindow>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>

#include <clocale>
#include <cmath>
#include <memory>

namespace {

struct Synthetic {
  std::shared_ptr<mqb::ImageVolume> image;
  std::shared_ptr<mqb::LabelVolume> labels;
  std::shared_ptr<mqb::LabelVolume> difference;
};

Synthetic makeSynthetic() {
  Synthetic s;
  mqb::ImageGeometry g;
  g.size = {128, 112, 72};
  g.spacing = {1.5, 1.5, 3.0};
  s.image = std::make_shared<mqb::ImageVolume>();
  s.image->geometry = g;
  s.image->voxels.assign(static_cast<size_t>(g.voxelCount()), -1000.f);
  s.labels = std::make_shared<mqb::LabelVolume>();
  s.labels->geometry = g;
  s.labels->voxels.assign(static_cast<size_t>(g.voxelCount()), 0);
  s.difference = std::make_shared<mqb::LabelVolume>();
  s.difference->geometry = g;
  s.difference->voxels.assign(static_cast<size_t>(g.voxelCount()), 0);
  const double cx = 64 * 1.5, cy = 56 * 1.5, cz = 36 * 3.0;
  for (int z = 0; z < g.size[2]; ++z)
    for (int y = 0; y < g.size[1]; ++y)
      for (int x = 0; x < g.size[0]; ++x) {
        const double px = x * 1.5, py = y * 1.5, pz = z * 3.0;
        const double body = std::pow((px - cx) / 85, 2) + std::pow((py - cy) / 65, 2) + std::pow((pz - cz) / 120, 2);
        if (body > 1) continue;
        float hu = static_cast<float>(20 + 30 * std::sin(px / 9) * std::cos(py / 11));
        const double liver = std::pow((px - 60) / 35, 2) + std::pow((py - 70) / 25, 2) + std::pow((pz - cz) / 50, 2);
        const double bone = std::pow(px - 125, 2) + std::pow(py - 100, 2) + std::pow(pz - cz, 2);
        if (liver < 1) {
          hu = 60.f;
          s.labels->at(x, y, z) = 1;
          if (liver > 0.85) s.difference->at(x, y, z) = 1;
        }
        if (bone < 18 * 18) {
          hu = 700.f;
          s.labels->at(x, y, z) = 2;
        }
        s.image->at(x, y, z) = hu;
      }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  mqb::VtkOpenGLView::prepareApplication();
  QApplication app(argc, argv);
  std::setlocale(LC_NUMERIC, "C");

  const Synthetic data = makeSynthetic();
  const mqb::ClassList classes = {{0, "background", {0, 0, 0}},
                                  {1, "liver", {220, 80, 60}},
                                  {2, "bone", {240, 230, 120}}};

  QMainWindow window;
  auto* central = new QWidget;
  auto* grid = new QGridLayout(central);
  grid->setContentsMargins(2, 2, 2, 2);
  grid->setSpacing(2);
  QList<mqb::SliceView*> views;
  const mqb::SliceView::Orientation orientations[4] = {
      mqb::SliceView::Orientation::Axial, mqb::SliceView::Orientation::Axial, mqb::SliceView::Orientation::Coronal,
      mqb::SliceView::Orientation::Sagittal};
  for (int i = 0; i < 4; ++i) {
    auto* v = new mqb::SliceView;
    v->setImage(data.image);
    v->setOrientation(orientations[i]);
    v->setClassList(classes);
    v->setLabels(data.labels);
    if (i == 1) {
      v->setLabelsVisible(false);
      v->setDifference(data.difference);
    }
    grid->addWidget(v, i / 2, i % 2);
    views << v;
  }
  mqb::ViewLink::link(views,
                      mqb::ViewLink::Options{mqb::ViewLink::Slice, mqb::ViewLink::Camera, mqb::ViewLink::Cursor,
                                             mqb::ViewLink::CursorSetsSlices, mqb::ViewLink::WindowLevel},
                      &window);
  window.setCentralWidget(central);

  auto* tools = window.addToolBar("View");
  auto* preset = new QComboBox;
  for (auto p : mqb::SliceView::allPresets()) preset->addItem(mqb::SliceView::presetName(p));
  tools->addWidget(new QLabel(" Window: "));
  tools->addWidget(preset);
  QObject::connect(preset, qOverload<int>(&QComboBox::currentIndexChanged), [views](int i) {
    views.first()->applyPreset(mqb::SliceView::allPresets()[static_cast<size_t>(i)]);
  });
  auto* mode = new QComboBox;
  mode->addItems({"Fill", "Outline"});
  tools->addWidget(new QLabel("  Labels: "));
  tools->addWidget(mode);
  QObject::connect(mode, qOverload<int>(&QComboBox::currentIndexChanged), [views](int i) {
    for (auto* v : views)
      v->setLabelMode(i == 0 ? mqb::SliceView::LabelMode::Fill : mqb::SliceView::LabelMode::Outline);
  });
  tools->addAction("Grab 2x PNG", [views] { views.first()->grabScaled(2, true).save("slice_view_demo_2x.png"); });
  for (auto* v : views) {
    QObject::connect(v, &mqb::SliceView::voxelHovered, [&window](int x, int y, int z, double hu, int label) {
      if (x < 0) {
        window.statusBar()->clearMessage();
        return;
      }
      window.statusBar()->showMessage(
          QString("voxel (%1, %2, %3)  HU %4  label %5").arg(x).arg(y).arg(z).arg(hu, 0, 'f', 0).arg(label));
    });
  }
  window.resize(1000, 820);
  window.show();

  const QStringList args = app.arguments();
  const int shot = static_cast<int>(args.indexOf("--screenshot"));
  if (shot >= 0 && shot + 1 < args.size()) {
    const QString path = args[shot + 1];
    QTimer::singleShot(800, &window, [&window, views, path] {
      // Click into the axial view to place the linked cursor, then save the window.
      views.first()->setSlice(36);
      views.first()->setCursorVoxel(80, 62, 36);
      window.grab().save(path);
      QApplication::quit();
    });
  }
  return app.exec();
}
