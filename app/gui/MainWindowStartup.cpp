// MainWindow's command-line startup and batch mode: applying AppOptions (inputs, the
// bundled demo, quantization settings from model/StartupSettings.h), the first run, and
// the end of a non-interactive run (BatchRun.h). Kept apart from MainWindow.cpp, which
// builds and wires the window.
#include <QStatusBar>
#include <QTimer>

#include <cstdio>
#include <memory>

#include "BatchRun.h"
#include "demo/DemoData.h"
#include "MainWindow.h"
#include "QuantPanel.h"
#include "support/Resources.h"
#include "SessionController.h"
#include "StartupSettings.h"

namespace mqb::gui {

void MainWindow::startup(const AppOptions& o) {
  batch_ = o.batch();
  batchOptions_ = o;
  autosave_ = o.autosave && !batch_;
  quant::QuantConfig settings = o.demo ? demoSettings() : quantPanel_->settings();
  try {
    settings = startupSettings(quantPanel_->settings(), o.demo,
                               QuantOverrides{o.precision.toStdString(), o.granularity.toStdString(),
                                              o.calibrator.toStdString(), o.asymmetric});
  } catch (const std::exception& e) {
    showError(tr("Command line"), QString::fromStdString(e.what()));
    if (batch_) {
      QTimer::singleShot(0, this, [this] { emit batchFinished(1); });
      return;
    }
  }

  // The panel gets the settings once the model's ops are known (setOps resets exclusions),
  // then one run; queued after the loads, which the worker runs in order.
  auto queueStart = [this, settings](bool run) {
    controller_->runJob(
        tr("Starting"), [](AnalysisSession&, Feedback&) {},
        [this, settings, run] {
          const bool autoRun = quantPanel_->autoRun();
          quantPanel_->setAutoRun(false);
          quantPanel_->setSettings(settings);
          quantPanel_->setAutoRun(autoRun);
          if (run && controller_->modelInfo() && controller_->volume()) runComparison();
        });
  };
  if (!o.session.isEmpty()) {
    openSession(o.session);
    return;
  }
  quantPanel_->setAutoRun(!batch_ && quantPanel_->autoRun());
  QString model = o.model;
  if (o.demo && model.isEmpty()) {
    const auto models = bundledModels();
    if (!models.empty()) {
      model = QString::fromStdString(models.front());
    } else {
      const QString msg =
          tr("No bundled model in %1: open one with File > Open model").arg(QString::fromStdString(bundledModelDir()));
      statusBar()->showMessage(msg);
      if (batch_) std::fprintf(stderr, "medquanbench: %s\n", qPrintable(msg));
    }
  }
  if (!model.isEmpty()) openModel(model);
  if (!o.volume.isEmpty()) {
    openVolume(o.volume);
    if (!o.labels.isEmpty()) openGroundTruth(o.labels, o.labelMap);
    for (const QString& f : o.files) openFile(f);
    queueStart(true);
  } else if (o.demo) {
    // core's demo resolution (sample data, a one-time download, else a phantom) may touch
    // the network: on the worker thread, then the loads and the run.
    volumeRequested_ = true;
    auto demo = std::make_shared<DemoVolume>();
    controller_->runJob(
        tr("Finding the demo CT"),
        [demo](AnalysisSession&, Feedback& fb) {
          fb.report(0.0, "finding the demo CT");
          *demo = resolveDemoVolume("", defaultCacheDir());
        },
        [this, demo, o, queueStart] {
          statusBar()->showMessage(
              tr("Demo CT from the %1: %2").arg(QString::fromStdString(demo->origin), QString::fromStdString(demo->ct)),
              8000);
          openVolume(QString::fromStdString(demo->ct));
          QString labels = o.labels, labelMap = o.labelMap;
          if (labels.isEmpty() && !demo->labels.empty()) {
            labels = QString::fromStdString(demo->labels);
            labelMap = QString::fromStdString(demo->labelMap);
          }
          if (!labels.isEmpty()) openGroundTruth(labels, labelMap);
          for (const QString& f : o.files) openFile(f);
          queueStart(true);
        });
  } else {
    for (const QString& f : o.files) openFile(f);
    queueStart(true);
  }
}

void MainWindow::finishBatch() {
  if (!batch_) return;
  batch_ = false;  // once
  writeBatchOutputs(*this, batchOptions_, batchExitCode_, [this](int code) { emit batchFinished(code); });
}

}  // namespace mqb::gui
