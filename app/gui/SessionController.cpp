#include "SessionController.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <chrono>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "ExecutionSummary.h"
#include "quant/int8/Int8Support.h"
#include "demo/Phantom.h"

namespace mqb::gui {

struct SessionController::Job {
  QString title;
  std::function<void(Feedback&)> work;
  std::function<void()> done;
  bool isRun = false;
  uint64_t generation = 0;
  std::shared_ptr<Feedback> feedback = std::make_shared<Feedback>();
};

namespace {
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

SessionController::SessionController(QObject* parent) : QObject(parent) {
  worker_ = new QObject;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName("mqb-engine");
  thread_.start();
  QMetaObject::invokeMethod(
      worker_,
      [this] {
#ifdef __linux__
        // Engine work runs niced, so the GUI thread wins a core whenever it wants one
        // (CFS gives nice 0 about ten times the share of nice 10); torch's OpenMP pool is
        // created from this thread and inherits the nice value.
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
        // LibTorch's OpenMP settings are per thread and start at 1 here: every core
        // computes, until setEngineThreads says otherwise.
        AnalysisSession::setEngineThreads(std::max(1, QThread::idealThreadCount()));
        engineThreads_ = AnalysisSession::engineThreads();
      },
      Qt::QueuedConnection);
}

SessionController::~SessionController() {
  runGeneration_ += 1;
  {
    std::lock_guard<std::mutex> lock(currentMutex_);
    if (currentFeedback_) currentFeedback_->cancel();
  }
  thread_.quit();
  thread_.wait();
}

void SessionController::enqueue(const QString& title, std::function<void(Feedback&)> work, std::function<void()> done,
                                bool isRun, uint64_t generation) {
  auto job = std::make_shared<Job>();
  job->title = title;
  job->work = std::move(work);
  job->done = std::move(done);
  job->isRun = isRun;
  job->generation = generation;
  job->feedback->setProgressCallback([this](double f, const std::string& stage) {
    const int64_t now = nowMs();
    // 5 updates a second: each one repaints the progress bar, and with GL views in the
    // window every repaint recomposes the whole window (tens of ms on a software
    // rasterizer), so a faster rate would keep the GUI thread busy for nothing.
    if (f < 1.0 && now - lastProgressMs_.load() < 200) return;
    lastProgressMs_ = now;
    const QString text = QString::fromStdString(stage);
    QMetaObject::invokeMethod(
        this, [this, f, text] { emit progress(f, text); }, Qt::QueuedConnection);
  });
  if (pending_++ == 0) emit busyChanged(true);
  QMetaObject::invokeMethod(
      worker_, [this, job] { execute(job); }, Qt::QueuedConnection);
}

// Worker thread.
void SessionController::execute(const std::shared_ptr<Job>& job) {
  if (job->isRun && job->generation != runGeneration_.load()) {
    QMetaObject::invokeMethod(
        this, [this, job] { finishJob(job, false, true, {}); }, Qt::QueuedConnection);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(currentMutex_);
    currentFeedback_ = job->feedback;
    currentIsRun_ = job->isRun;
  }
  bool ok = false, canceled = false;
  QString error;
  try {
    job->feedback->report(0.0, job->title.toStdString());
    // Cancel ends a forward between two ops, not after its window (runtime/CancelPoint.h).
    CancelScope watch(job->feedback.get());
    job->work(*job->feedback);
    ok = true;
  } catch (const Canceled&) {
    canceled = true;
  } catch (const std::exception& e) {
    // A cancel point's error that reached us outside the sliding window (calibration).
    if (job->feedback->isCanceled() && isCancelPointError(e.what()))
      canceled = true;
    else
      error = QString::fromStdString(e.what());
  } catch (...) {
    error = tr("unknown error");
  }
  {
    std::lock_guard<std::mutex> lock(currentMutex_);
    currentFeedback_.reset();
    currentIsRun_ = false;
  }
  QMetaObject::invokeMethod(
      this, [this, job, ok, canceled, error] { finishJob(job, ok, canceled, error); }, Qt::QueuedConnection);
}

void SessionController::finishJob(const std::shared_ptr<Job>& job, bool ok, bool canceled, const QString& error) {
  --pending_;
  if (ok && job->done) job->done();
  if (!ok && !canceled) emit jobFailed(job->title, error);
  if (job->isRun) {
    if (ok) {
      const QString execution = executionSummary();
      lastRunSummary_ = execution.isEmpty() ? stepTimes_.join(", ") : execution + "; " + stepTimes_.join(", ");
    }
    emit runFinished(ok);
  }
  if (pending_ == 0) {
    emit progress(ok ? 1.0 : 0.0, ok ? tr("done") : (canceled ? tr("cancelled") : tr("failed")));
    emit busyChanged(false);
    emit idle();
  }
}

void SessionController::cancel() {
  runGeneration_ += 1;  // queued runs are skipped
  std::lock_guard<std::mutex> lock(currentMutex_);
  if (currentFeedback_) currentFeedback_->cancel();
}

void SessionController::cancelRuns() {
  runGeneration_ += 1;
  std::lock_guard<std::mutex> lock(currentMutex_);
  if (currentFeedback_ && currentIsRun_) currentFeedback_->cancel();
}

void SessionController::resetResults() {
  fp32_.reset();
  quantized_.reset();
  difference_.reset();
  table_.reset();
  layers_.reset();
  fp32Preview_ = quantPreview_ = false;
  realInt8_.reset();
  differing_ = 0;
  emit resultsChanged();
  emit tableChanged();
  emit layerAnalysisChanged();
}

void SessionController::openModel(const QString& path) {
  cancelRuns();  // a new input makes running inference pointless; other loads continue
  enqueue(
      tr("Loading model %1").arg(path), [this, path](Feedback& fb) { session_.loadModel(path.toStdString(), &fb); },
      [this, path] {
        modelInfo_ = session_.modelInfo();
        modelPath_ = path;
        resetResults();
        emit modelChanged();
      },
      false, 0);
}

void SessionController::openVolume(const QString& path) {
  cancelRuns();  // a new input makes running inference pointless; other loads continue
  enqueue(
      tr("Loading CT %1").arg(path), [this, path](Feedback& fb) { session_.loadVolume(path.toStdString(), &fb); },
      [this, path] {
        volume_ = session_.volume();
        volumePath_ = path;
        const bool hadTruth = truth_ != nullptr;
        truth_ = session_.groundTruth();
        truthPath_ = QString::fromStdString(session_.truthPath());
        resetResults();
        emit volumeChanged();
        if (hadTruth != (truth_ != nullptr)) emit groundTruthChanged();
      },
      false, 0);
}

void SessionController::setVolumeData(std::shared_ptr<const ImageVolume> volume, const QString& name) {
  cancelRuns();  // a new input makes running inference pointless; other loads continue
  enqueue(
      tr("Setting CT %1").arg(name),
      [this, volume, name](Feedback&) { session_.setVolume(volume, name.toStdString()); },
      [this, name] {
        volume_ = session_.volume();
        volumePath_ = name;
        const bool hadTruth = truth_ != nullptr;
        truth_ = session_.groundTruth();
        truthPath_ = QString::fromStdString(session_.truthPath());
        resetResults();
        emit volumeChanged();
        if (hadTruth != (truth_ != nullptr)) emit groundTruthChanged();
      },
      false, 0);
}

void SessionController::openGroundTruth(const QString& path, const QString& labelMap) {
  enqueue(
      tr("Loading ground truth %1").arg(path),
      [this, path, labelMap](Feedback&) { session_.loadGroundTruth(path.toStdString(), labelMap.toStdString()); },
      [this, path, labelMap] {
        truth_ = session_.groundTruth();
        truthPath_ = path;
        truthLabelMap_ = labelMap;
        table_.reset();
        emit groundTruthChanged();
        emit tableChanged();
      },
      false, 0);
}

void SessionController::setGroundTruthData(std::shared_ptr<const LabelVolume> labels, const QString& name) {
  enqueue(
      tr("Setting ground truth %1").arg(name),
      [this, labels, name](Feedback&) { session_.setGroundTruth(labels, name.toStdString()); },
      [this, name] {
        truth_ = session_.groundTruth();
        truthPath_ = name;
        truthLabelMap_.clear();
        table_.reset();
        emit groundTruthChanged();
        emit tableChanged();
      },
      false, 0);
}

void SessionController::clearGroundTruth() {
  enqueue(
      tr("Closing ground truth"), [this](Feedback&) { session_.clearGroundTruth(); },
      [this] {
        truth_.reset();
        truthPath_.clear();
        truthLabelMap_.clear();
        table_.reset();
        emit groundTruthChanged();
        emit tableChanged();
      },
      false, 0);
}

void SessionController::usePhantom() {
  cancelRuns();  // a new input makes running inference pointless; other loads continue
  enqueue(
      tr("Generating phantom"),
      [this](Feedback& fb) {
        fb.report(0.1, "generating abdominal phantom");
        Phantom p = generateAbdominalPhantom();
        session_.setVolume(std::make_shared<ImageVolume>(std::move(p.ct)), "phantom");
        session_.setGroundTruth(std::make_shared<LabelVolume>(std::move(p.labels)), "phantom labels");
      },
      [this] {
        volume_ = session_.volume();
        volumePath_ = "phantom";
        truth_ = session_.groundTruth();
        truthPath_ = "phantom labels";
        truthLabelMap_.clear();
        resetResults();
        emit volumeChanged();
        emit groundTruthChanged();
      },
      false, 0);
}

void SessionController::run(const quant::QuantConfig& settings, int previewSlice, int previewAxis) {
  // The quantization panel shows why (and disables Run); a run started another way (menu,
  // session restore) stops here instead of failing in an error dialog.
  if (settings.execution == quant::Execution::RealInt8 && !settings.precision.floatingPoint) {
    const std::string problem = quant::realInt8Problem(settings);
    if (!problem.empty()) {
      emit progress(0.0, QString::fromStdString(problem));
      return;
    }
  }
  const uint64_t gen = ++runGeneration_;
  {
    std::lock_guard<std::mutex> lock(currentMutex_);
    if (currentFeedback_ && currentIsRun_) currentFeedback_->cancel();
  }
  haveRunSettings_ = true;
  lastRunSettings_ = settings;
  RunRequest request;
  request.settings = settings;
  request.previewSlice = previewSlice;
  request.previewAxis = previewAxis;
  request.toleranceMm = toleranceMm_;
  stepTimes_.clear();
  enqueue(
      tr("Running %1").arg(QString::fromStdString(settings.precision.id())),
      [this, request, gen](Feedback& fb) {
        session_.run(request, &fb, [this, gen](const RunUpdate& u) {
          QMetaObject::invokeMethod(
              this,
              [this, gen, u] {
                if (gen == runGeneration_.load()) applyUpdate(u);
              },
              Qt::QueuedConnection);
        });
      },
      {}, true, gen);
}

void SessionController::applyUpdate(const RunUpdate& u) {
  using K = RunUpdate::Kind;
  const QString secs = QString::number(u.seconds, 'f', 2) + " s";
  switch (u.kind) {
    case K::Fp32Preview:
      fp32_ = u.fp32;
      fp32Preview_ = true;
      stepTimes_ << tr("FP32 preview %1").arg(secs);
      break;
    case K::Fp32:
      fp32_ = u.fp32;
      fp32Preview_ = false;
      if (!u.fromCache) stepTimes_ << tr("FP32 %1").arg(secs);
      break;
    case K::QuantPreview:
    case K::Quant:
      fp32_ = u.fp32;
      fp32Preview_ = false;
      quantized_ = u.quantized;
      difference_ = u.difference;
      differing_ = u.differingVoxels;
      quantPreview_ = u.kind == K::QuantPreview;
      resultSettings_ = u.settings;
      realInt8_ = u.realInt8;
      table_.reset();
      if (!u.fromCache)
        stepTimes_ << tr("%1 %2%3").arg(QString::fromStdString(u.settings.precision.id()),
                                        quantPreview_ ? tr("preview ") : QString(), secs);
      break;
    case K::Scores:
      table_ = u.table;
      stepTimes_ << tr("scores %1").arg(secs);
      emit tableChanged();
      return;
  }
  emit resultsChanged();
  if (u.kind == K::Quant || u.kind == K::QuantPreview) emit tableChanged();
}

QString SessionController::executionSummary() const {
  if (!quantized_) return {};
  return QString::fromStdString(describeExecution(resultSettings_, realInt8_ ? &*realInt8_ : nullptr));
}

void SessionController::setToleranceMm(double mm) {
  if (!(mm >= 0) || mm == toleranceMm_) return;
  toleranceMm_ = mm;
  if (!haveRunSettings_) return;
  // Queued after any running or queued run, so its results are cached by then; a run
  // requested later supersedes this rescoring (generation check).
  const uint64_t gen = runGeneration_.load();
  RunRequest request;
  request.settings = lastRunSettings_;
  request.toleranceMm = mm;
  request.computeFp32 = false;
  request.onlyIfCached = true;
  enqueue(
      tr("Scoring at NSD tolerance %1 mm").arg(mm),
      [this, request, gen](Feedback& fb) {
        session_.run(request, &fb, [this, gen](const RunUpdate& u) {
          if (u.kind != RunUpdate::Kind::Scores) return;  // the label maps on display are unchanged
          QMetaObject::invokeMethod(
              this,
              [this, gen, u] {
                if (gen == runGeneration_.load()) applyUpdate(u);
              },
              Qt::QueuedConnection);
        });
      },
      {}, false, 0);
}

void SessionController::runJob(const QString& title, std::function<void(AnalysisSession&, Feedback&)> fn,
                               std::function<void()> onSuccess) {
  enqueue(
      title, [this, fn](Feedback& fb) { fn(session_, fb); }, std::move(onSuccess), false, 0);
}

void SessionController::analyzeLayers(const quant::QuantConfig& settings) {
  auto holder = std::make_shared<std::shared_ptr<const quant::LayerAnalysisRows>>();
  enqueue(
      tr("Analysing layers (%1)").arg(QString::fromStdString(settings.precision.id())),
      [this, settings, holder](Feedback& fb) { *holder = session_.analyzeLayers(settings, &fb); },
      [this, holder] {
        layers_ = *holder;
        emit layerAnalysisChanged();
      },
      false, 0);
}

void SessionController::setEngineThreads(int threads) {
  enqueue(
      tr("Setting %1 engine threads").arg(threads),
      [this, threads](Feedback&) {
        AnalysisSession::setEngineThreads(threads);
        engineThreads_ = AnalysisSession::engineThreads();
      },
      {}, false, 0);
}

bool SessionController::waitUntilIdle(int timeoutMs) {
  if (pending_ == 0) return true;
  QEventLoop loop;
  connect(this, &SessionController::idle, &loop, &QEventLoop::quit);
  QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
  loop.exec();
  return pending_ == 0;
}

}  // namespace mqb::gui
