#include "Benchmark.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "BuiltinModels.h"
#include "MainWindow.h"
#include "QuantPanel.h"
#include "ScorePlot.h"
#include <QTableWidget>
#include "support/Resources.h"
#include "SessionController.h"
#include "SliceView.h"
#include "SurfaceView.h"
#include "ViewerPanel.h"

namespace mqb::gui {
namespace {

// Waits until every view in `views` has swapped a frame (or the timeout); returns ms.
double waitForFrames(const QList<SliceView*>& views, const std::function<void()>& trigger, int timeoutMs = 10000) {
  QEventLoop loop;
  int remaining = 0;
  QList<QMetaObject::Connection> connections;
  for (auto* v : views) {
    if (!v->isVisible()) continue;
    ++remaining;
    connections << QObject::connect(v, &QOpenGLWidget::frameSwapped, &loop, [&remaining, &loop] {
      if (--remaining <= 0) loop.quit();
    });
  }
  QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
  QElapsedTimer t;
  t.start();
  trigger();
  if (remaining > 0) loop.exec();
  const double ms = t.nsecsElapsed() / 1e6;
  for (auto& c : connections) QObject::disconnect(c);
  return remaining > 0 ? -1 : ms;
}

std::shared_ptr<LabelVolume> bandLabels(const ImageVolume& ct, float lo, float hi) {
  auto l = std::make_shared<LabelVolume>();
  l->geometry = ct.geometry;
  l->voxels.resize(ct.voxels.size());
  for (size_t i = 0; i < ct.voxels.size(); ++i) {
    const float v = ct.voxels[i];
    l->voxels[i] = v > hi ? 2 : (v > lo ? 1 : 0);
  }
  return l;
}

struct Stats {
  double mean = 0, median = 0, max = 0, min = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = v[v.size() / 2];
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  return s;
}

// Slice changes on the linked views, with a breakdown: composing the slices on the CPU,
// the views' paintGL (VTK render + blit as submitted), and the rest (Qt composing the
// window, buffer swap, events); then one stand-alone view for the per-view cost.
void measureRedraw(MainWindow& window, const QList<SliceView*>& views, const std::shared_ptr<const ImageVolume>& ct,
                   const std::shared_ptr<LabelVolume>& fp32, const std::shared_ptr<LabelVolume>& diff,
                   const ClassList& classes, int count) {
  const auto& g = ct->geometry;
  int visible = 0;
  for (auto* v : views) visible += v->isVisible();
  const int sliceCount = views.first()->sliceCount();
  std::vector<double> redraw, compose, paint;
  const int n = std::max(1, count);
  int slice = views.first()->slice();
  for (int i = 0; i < n; ++i) {
    slice = (slice + 1) % sliceCount;
    const double ms = waitForFrames(views, [&] { views.first()->setSlice(slice); });
    if (ms < 0) continue;
    redraw.push_back(ms);
    double c = 0, p = 0;
    for (auto* v : views)
      if (v->isVisible()) {
        c += v->lastComposeMs();
        p += v->lastPaintMs();
      }
    compose.push_back(c);
    paint.push_back(p);
  }
  const Stats r = stats(redraw), rc = stats(compose), rp = stats(paint);
  std::printf("slice change with overlays (%lldx%lld slice, %d linked views, window %dx%d): mean %.1f ms, median "
              "%.1f ms, max %.1f ms over %zu changes\n",
              static_cast<long long>(g.size[0]), static_cast<long long>(g.size[1]), visible, window.width(),
              window.height(), r.mean, r.median, r.max, redraw.size());
  std::printf("  per change (all views): composing slices %.1f ms, paintGL %.1f ms, rest (window composition, swap, "
              "events) %.1f ms (means)\n",
              rc.mean, rp.mean, r.mean - rp.mean);

  SliceView single;
  single.resize(600, 600);
  single.show();
  auto measure = [&] {
    std::vector<double> one;
    int s1 = single.slice();
    for (int i = 0; i < n; ++i) {
      s1 = (s1 + 1) % sliceCount;
      const double ms = waitForFrames({&single}, [&] { single.setSlice(s1); });
      if (ms >= 0) one.push_back(ms);
    }
    return stats(one);
  };
  waitForFrames({&single}, [&] { single.setImage(ct); });
  const Stats bare = measure();
  // A repaint without any change: the fixed cost of one frame (render + blit + composition).
  std::vector<double> frames;
  for (int i = 0; i < n; ++i) frames.push_back(waitForFrames({&single}, [&] { single.requestRender(); }));
  const Stats frame = stats(frames);
  waitForFrames({&single}, [&] {
    single.setClassList(classes);
    single.setLabels(fp32);
    single.setDifference(diff);
  });
  const Stats r1 = measure();
  std::printf("one stand-alone %dx%d view: slice change with overlays mean %.1f ms (median %.1f, max %.1f), "
              "CT only mean %.1f ms, unchanged re-render mean %.1f ms\n",
              single.deviceSize().width(), single.deviceSize().height(), r1.mean, r1.median, r1.max, bare.mean,
              frame.mean);
}

// From Run to the quantized preview of the slice on screen and to the quantized whole
// volume, with the FP32 result already computed (what a user changing the configuration
// waits for), for an axial and a coronal view; then a second configuration of the same
// calibrator, which reuses the calibration. Each orientation starts without cached
// results (the CT is reopened) and computes FP32 first.
int measurePreviews(MainWindow& window, const quant::QuantConfig& settings) {
  SessionController* c = window.controller();
  ViewerPanel* viewer = window.viewer();
  const QString volume = c->volumePath();
  quant::QuantConfig fp32 = settings;
  fp32.precision.floatingPoint = true;
  quant::QuantConfig second = settings;
  second.granularity = settings.granularity == quant::Granularity::Adaptive ? quant::Granularity::PerTensor
                                                                            : quant::Granularity::Adaptive;
  for (auto orientation : {SliceView::Orientation::Axial, SliceView::Orientation::Coronal}) {
    c->openVolume(volume);
    if (!c->waitUntilIdle(300000) || !c->volume()) return 1;
    for (auto* v : viewer->views()) v->setOrientation(orientation);
    QApplication::processEvents();
    const auto onScreen = viewer->sliceOnScreen();
    QElapsedTimer t;
    t.start();
    c->run(fp32, onScreen.slice, onScreen.axis);
    if (!c->waitUntilIdle(3600000) || !c->fp32()) return 1;
    const double fp32Seconds = t.nsecsElapsed() / 1e9;
    for (int k = 0; k < 2; ++k) {
      const quant::QuantConfig& s = k == 0 ? settings : second;
      double preview = -1, whole = -1;
      const auto connection = QObject::connect(c, &SessionController::resultsChanged, [&] {
        if (c->quantizedIsPreview() && preview < 0) preview = t.nsecsElapsed() / 1e9;
        if (c->quantized() && !c->quantizedIsPreview() && whole < 0) whole = t.nsecsElapsed() / 1e9;
      });
      t.restart();
      c->run(s, onScreen.slice, onScreen.axis);
      c->waitUntilIdle(3600000);
      QObject::disconnect(connection);
      std::printf("%s slice %d, %s %s (FP32 computed before, %.1f s): quantized preview after %.1f s, whole "
                  "volume after %.1f s (from Run%s)\n",
                  qPrintable(SliceView::orientationName(orientation)), onScreen.slice, s.precision.id().c_str(),
                  quant::granularityId(s.granularity).c_str(), fp32Seconds, preview, whole,
                  k == 0 ? ", calibration included" : ", calibration reused");
      std::fflush(stdout);
      if (whole < 0) return 1;
    }
  }
  for (auto* v : viewer->views()) v->setOrientation(SliceView::Orientation::Axial);
  c->openVolume(volume);  // the stall part starts without cached results too
  return c->waitUntilIdle(300000) ? 0 : 1;
}

}  // namespace

int runBenchmark(MainWindow& window, const AppOptions& o) {
  SessionController* c = window.controller();
  ViewerPanel* viewer = window.viewer();
  window.setAutosaveEnabled(false);
  window.quantPanel()->setAutoRun(false);
  std::printf("MedQuanBench GUI benchmark (%s, Qt %s)\n", qPrintable(QApplication::platformName()), qVersion());

  // 1. Load the CT (default: the 512x512 DICOM series of the sample data).
  QString volume = o.volume;
  if (volume.isEmpty()) volume = QString::fromStdString(sampleDataDir()) + "/abdomen-ct/example_ct_dicom";
  if (!QFileInfo::exists(volume)) {
    std::fprintf(stderr, "benchmark: %s does not exist (give --volume)\n", qPrintable(volume));
    return 1;
  }
  QElapsedTimer t;
  t.start();
  c->openVolume(volume);
  if (!c->waitUntilIdle(300000) || !c->volume()) {
    std::fprintf(stderr, "benchmark: cannot load %s\n", qPrintable(volume));
    return 1;
  }
  const double loadMs = t.nsecsElapsed() / 1e6;
  const auto ct = c->volume();
  const auto& g = ct->geometry;
  std::printf("volume: %s\n  %lldx%lldx%lld voxels, %.3gx%.3gx%.3g mm, read in %.0f ms\n", qPrintable(volume),
              static_cast<long long>(g.size[0]), static_cast<long long>(g.size[1]), static_cast<long long>(g.size[2]),
              g.spacing[0], g.spacing[1], g.spacing[2], loadMs);
  QApplication::processEvents();
  for (int i = 0; i < 20; ++i) {
    QApplication::processEvents(QEventLoop::AllEvents, 20);
  }

  // 2. First render after load: image set on the four linked views until each swapped a frame.
  QList<SliceView*> views = viewer->views();
  waitForFrames(views, [&] { viewer->setImage(nullptr); });
  const double firstRender = waitForFrames(views, [&] {
    viewer->setImage(ct);
    viewer->setTruth(c->groundTruth());
  });
  int visible = 0;
  for (auto* v : views) visible += v->isVisible();
  std::printf("first render after load: %.1f ms (%d views, %dx%d device px each)\n", firstRender, visible,
              views.first()->deviceSize().width(), views.first()->deviceSize().height());

  const bool doRedraw = o.benchmarkParts.contains("redraw");
  const bool doStall = o.benchmarkParts.contains("stall");
  const bool doPreview = o.benchmarkParts.contains("preview");
  // 3. Slice changes with label overlays (FP32, quantized, difference).
  auto fp32 = bandLabels(*ct, -20, 200);
  auto quant = bandLabels(*ct, -10, 210);
  int64_t differing = 0;
  auto diff = differenceVolume(*fp32, *quant, -1, &differing);
  ClassList classes = {{0, "background", {0, 0, 0}}, {1, "soft tissue", {220, 80, 60}}, {2, "bone", {240, 220, 90}}};
  viewer->setClassList(classes);
  waitForFrames(views, [&] {
    viewer->setFp32(fp32, false);
    viewer->setQuantized(quant, "overlay test", false);
    viewer->setDifference(diff, differing, false);
  });
  if (doRedraw) measureRedraw(window, views, ct, fp32, diff, classes, o.benchmarkSlices);
  if (!doStall && !doPreview) return 0;
  viewer->clearResults();

  // 4. UI-thread stalls during inference: a 10 ms heartbeat while FP32 + quantized run.
  QString model = o.model;
  QTemporaryDir tmp;
  if (model.isEmpty()) {
    const QDir zoo(QString::fromStdString(bundledModelDir()));
    const QStringList pts = zoo.entryList({"*.pt"}, QDir::Files, QDir::Name);
    if (!pts.isEmpty()) model = zoo.filePath(pts.first());
  }
  if (model.isEmpty()) {
    model = tmp.filePath("synthetic-band-model.pt");
    writeSyntheticBandModel(model.toStdString());
    std::printf("model: none given and no bundled model: built-in synthetic 3-layer CNN\n");
  }
  c->openModel(model);
  if (!c->waitUntilIdle(300000) || !c->modelInfo()) {
    std::fprintf(stderr, "benchmark: cannot load model %s\n", qPrintable(model));
    return 1;
  }
  std::printf("model: %s (%s, %zu quantizable ops)\n", qPrintable(model), c->modelInfo()->metadata.name.c_str(),
              c->modelInfo()->ops.size());
  quant::QuantConfig settings;
  settings.precision.weightBits = settings.precision.activationBits = 8;
  try {
    if (!o.precision.isEmpty() || !o.granularity.isEmpty()) {
      nlohmann::json j = settings.toJson();
      if (!o.precision.isEmpty()) j["precision"] = o.precision.toStdString();
      if (!o.granularity.isEmpty()) j["granularity"] = o.granularity.toStdString();
      settings = quant::QuantConfig::fromJson(j);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark: %s\n", e.what());
    return 1;
  }
  int code = 0;
  if (doPreview) code |= measurePreviews(window, settings);
  if (!doStall) return code;
  // Everything a run updates is on screen: the slice views, the 3D surfaces and the plots.
  viewer->setSurfacesVisible(true);
  for (int i = 0; i < 10; ++i) QApplication::processEvents(QEventLoop::AllEvents, 20);
  QElapsedTimer beat;
  double longest = 0;
  int beats = 0;
  QString stage, longestStage;
  std::vector<double> gaps;
  QTimer heartbeat;
  heartbeat.setTimerType(Qt::PreciseTimer);
  heartbeat.setInterval(10);
  const auto stageConnection =
      QObject::connect(c, &SessionController::progress, [&](double, const QString& s) { stage = s; });
  const auto resultConnection =
      QObject::connect(c, &SessionController::resultsChanged, [&] { stage = "showing results"; });
  struct Stall {
    double ms;
    QString stage;
  };
  std::vector<Stall> stalls;
  QObject::connect(&heartbeat, &QTimer::timeout, [&] {
    const double gap = beat.nsecsElapsed() / 1e6;
    gaps.push_back(gap);
    if (gap > 50) stalls.push_back({gap, stage});
    if (gap > longest) {
      longest = gap;
      longestStage = stage;
    }
    ++beats;
    beat.restart();
  });
  QElapsedTimer run;
  run.start();
  beat.start();
  heartbeat.start();
  const auto onScreen = viewer->sliceOnScreen();
  c->run(settings, onScreen.slice, onScreen.axis);
  c->waitUntilIdle(3600000);
  // The last results are drawn after the controller went idle (queued replots, surfaces
  // built on a pool thread, view renders): keep measuring until they are on screen.
  stage = "showing final results";
  for (int i = 0; i < 2; ++i) viewer->surfaceView(i)->waitUntilBuilt(60000);
  {
    QEventLoop settle;
    QTimer::singleShot(1500, &settle, &QEventLoop::quit);
    settle.exec();
  }
  heartbeat.stop();
  QObject::disconnect(stageConnection);
  QObject::disconnect(resultConnection);
  const double runSeconds = run.nsecsElapsed() / 1e9;
  const Stats gs = stats(gaps);
  size_t over50 = 0;
  for (double g : gaps) over50 += g > 50;
  std::printf("inference FP32 + %s (%s): %.2f s [%s]\n", settings.precision.id().c_str(),
              quant::granularityId(settings.granularity).c_str(), runSeconds, qPrintable(c->lastRunSummary()));
  std::printf("longest UI-thread stall over the whole FP32 + %s run (until its results were drawn, 3D surfaces "
              "shown): %.1f ms (during \"%s\"); heartbeat 10 ms: %d beats (%d ideal), median gap %.1f ms, %zu gaps "
              "> 50 ms, %zu > 100 ms; torch threads %d, CPU cores %d\n",
              settings.precision.id().c_str(), longest, qPrintable(longestStage), beats,
              static_cast<int>(runSeconds * 100), gs.median, over50,
              static_cast<size_t>(std::count_if(gaps.begin(), gaps.end(), [](double g) { return g > 100; })),
              c->engineThreads(), QThread::idealThreadCount());
  std::sort(stalls.begin(), stalls.end(), [](const Stall& a, const Stall& b) { return a.ms > b.ms; });
  for (size_t i = 0; i < std::min<size_t>(5, stalls.size()); ++i)
    std::printf("  stall %.1f ms during \"%s\"\n", stalls[i].ms, qPrintable(stalls[i].stage));
  // What the GUI thread does when results arrive (the stalls above include it).
  if (c->hasResults()) {
    auto timeMs = [](const std::function<void()>& f) {
      QElapsedTimer t;
      t.start();
      f();
      return t.nsecsElapsed() / 1e6;
    };
    const double tf = timeMs([&] { viewer->setFp32(c->fp32(), false); });
    const double tq = timeMs([&] { viewer->setQuantized(c->quantized(), "W8A8", false); });
    const double td = timeMs([&] { viewer->setDifference(c->difference(), c->differingVoxels(), false); });
    const double tr = timeMs([&] { emit c->tableChanged(); });
    const double tp = timeMs([&] { window.dscPlot()->replot(); });
    const double tt = timeMs([&] { window.scoreTable()->resizeColumnsToContents(); });

    std::printf("  (one score plot replot %.1f ms, table column sizing %.1f ms)\n", tp, tt);
    const double tv = waitForFrames(views, [&] { viewer->setQuantized(c->quantized(), "W8A8", false); });
    std::printf("GUI-thread cost of showing results: FP32 labels %.1f ms, quantized %.1f ms, difference %.1f ms "
                "(+ %.1f ms to redraw the views), scores table + plots %.1f ms (one plot replot %.1f ms)\n",
                tf, tq, td, tv, tr, tp);
  }
  std::fflush(stdout);
  return c->hasResults() ? code : 1;
}

}  // namespace mqb::gui
