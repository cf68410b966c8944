// medquanbench: the desktop application (see MainWindow.h and AppOptions.h).
#include <QApplication>
#include <QIcon>
#include <QFileInfo>
#include <QImageWriter>
#include <QMessageBox>
#include <QTimer>
#include <unistd.h>

#include <clocale>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "AppOptions.h"
#include "runtime/CachingCpuAllocator.h"
#include "Benchmark.h"
#include "MainWindow.h"
#include "SessionController.h"
#include "TimedApplication.h"
#include "support/Error.h"
#include "support/ErrorReason.h"
#include "support/FileChecks.h"
#include "io/LabelRemap.h"
#include "io/Reorientation.h"
#include "support/Resources.h"
#include "io/VolumeIO.h"
#include "VtkOpenGLView.h"
#include "session/SessionFile.h"

namespace {

namespace fs = std::filesystem;

// Batch runs (--screenshot, --export-figure, --benchmark) check every input before the
// window exists: a bad file ends the run with exit 1 and one message, instead of a window
// that reports it and then waits, or a screenshot of an empty view.
void checkBatchInputs(const mqb::gui::AppOptions& o) {
  std::vector<std::string> inputs;
  auto input = [&](const QString& path, const char* what, bool folder) {
    if (path.isEmpty()) return;
    mqb::checkInputPath(path.toStdString(), folder, what);
    inputs.push_back(path.toStdString());
  };
  input(o.model, "model", false);
  input(o.volume, "volume", true);
  input(o.labels, "label map", false);
  input(o.session, "session", false);
  for (const QString& f : o.files) input(f, "input", true);
  for (const QString& out : {o.screenshot, o.exportFigure}) {
    if (out.isEmpty()) continue;
    mqb::checkOutputPath(out.toStdString(), inputs);
    // QImage::save picks the format from the suffix; without one it fails after the whole run.
    const QByteArray format = QFileInfo(out).suffix().toLower().toUtf8();
    static const QList<QByteArray> usual = {"png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "webp"};
    if (!usual.contains(format) && !QImageWriter::supportedImageFormats().contains(format))
      throw mqb::Error(out.toStdString() + ": unknown image format '" + format.toStdString() + "' (use .png or .jpg)");
  }
  if (!o.session.isEmpty()) mqb::gui::SessionState::load(o.session.toStdString());
  // The model is loaded by the window (torch stays out of Qt translation units); a model
  // error there ends the batch run with exit 1 and no image (BatchOutputs, the watchdog).
  if (!o.volume.isEmpty()) {
    const mqb::ImageVolume ct = mqb::readImage(o.volume.toStdString());
    if (!o.labels.isEmpty()) {
      const mqb::LabelRemap remap = o.labelMap.isEmpty() ? mqb::LabelRemap::identity()
                                                         : mqb::LabelRemap::load(o.labelMap.toStdString());
      mqb::alignToGrid(mqb::readLabelMap(o.labels.toStdString(), remap), ct.geometry, o.labels.toStdString());
    }
  }
}

// An existing batch output is kept aside until the run succeeds, so a failed run neither
// leaves a new image nor destroys the previous one.
class BatchOutputs {
 public:
  explicit BatchOutputs(const mqb::gui::AppOptions& o) {
    for (const QString& out : {o.screenshot, o.exportFigure}) {
      if (out.isEmpty()) continue;
      Entry e{out.toStdString(), {}};
      std::error_code ec;
      if (fs::is_regular_file(e.path, ec)) {
        const fs::path p(e.path);
        e.backup =
            (p.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + p.filename().string() + ".previous")).string();
        fs::rename(e.path, e.backup, ec);
        if (ec) e.backup.clear();
      }
      entries_.push_back(e);
    }
  }
  // exit code 0: keep the new files; otherwise remove them and put the previous ones back.
  void finish(int code) {
    for (const auto& e : entries_) {
      std::error_code ec;
      if (code == 0) {
        if (!e.backup.empty()) fs::remove(e.backup, ec);
        continue;
      }
      fs::remove(e.path, ec);
      if (!e.backup.empty()) fs::rename(e.backup, e.path, ec);
    }
    entries_.clear();
  }
  ~BatchOutputs() { finish(1); }

 private:
  struct Entry {
    std::string path, backup;
  };
  std::vector<Entry> entries_;
};

}  // namespace

int main(int argc, char** argv) {
  // Options first: --help / --version / errors need no display.
  QStringList arguments;
  for (int i = 0; i < argc; ++i) arguments << QString::fromLocal8Bit(argv[i]);
  mqb::gui::AppOptions options;
  QString message;
  bool exitNow = false;
  if (!mqb::gui::parseAppOptions(arguments, options, message, &exitNow)) {
    std::fprintf(stderr, "medquanbench: %s\n", qPrintable(message));
    return 2;
  }
  if (exitNow) {
    std::printf("%s\n", qPrintable(message));
    return 0;
  }

  const bool batch = options.batch() || options.benchmark;
  if (batch) {
    // ITK's NRRD / Meta readers parse numbers with the C locale.
    std::setlocale(LC_NUMERIC, "C");
    try {
      checkBatchInputs(options);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "medquanbench: error: %s\n", mqb::errorReason(e.what()).c_str());
      return 1;
    }
  }

  // Large activation blocks are reused instead of re-faulted (runtime/CachingCpuAllocator.h).
  mqb::installCachingCpuAllocator();
  // GLX + the default surface format before QApplication (NOTES-VTK-QT6.md).
  mqb::VtkOpenGLView::prepareApplication();
  mqb::gui::TimedApplication app(argc, argv);  // MQB_SLOW_EVENTS=<ms> logs UI stalls
  // ITK's NRRD / Meta readers parse numbers with the C locale.
  std::setlocale(LC_NUMERIC, "C");
  QApplication::setOrganizationName("MedQuanBench");
  QApplication::setApplicationName("medquanbench");
  QApplication::setApplicationVersion(QString::fromStdString(mqb::versionString()));
  const QString icon = QString::fromStdString(mqb::resourceDir()) + "/icons/medquanbench.svg";
  QApplication::setWindowIcon(QIcon(icon));

  mqb::gui::MainWindow window;
  if (options.threads > 0) window.controller()->setEngineThreads(options.threads);
  window.show();
  BatchOutputs batchOutputs(options);
  int watchdogCode = 0;
  QTimer batchWatchdog;
  if (batch) {
    // A batch run never waits for a person: a dialog ends it with exit 1 (its text printed),
    // and so does an idle engine long after the last job without the run finishing (a load
    // failed and nothing is left to do).
    int idleTicks = 0;
    QObject::connect(&batchWatchdog, &QTimer::timeout, &app, [&] {
      if (QWidget* modal = QApplication::activeModalWidget()) {
        const auto* box = qobject_cast<QMessageBox*>(modal);
        std::fprintf(stderr, "medquanbench: error: %s\n",
                     qPrintable(box ? box->text() : modal->windowTitle() + " (a dialog in a batch run)"));
        watchdogCode = 1;
        QApplication::exit(1);
        return;
      }
      // --benchmark drives the views itself while the engine idles: only image runs.
      idleTicks = window.controller()->isBusy() || !options.batch() ? 0 : idleTicks + 1;
      if (idleTicks >= 60) {
        std::fprintf(stderr, "medquanbench: error: the batch run stopped without a result\n");
        watchdogCode = 1;
        QApplication::exit(1);
      }
    });
    batchWatchdog.start(250);
  }
  if (options.benchmark) {
    int code = 1;
    QTimer::singleShot(0, &window, [&] {
      code = mqb::gui::runBenchmark(window, options);
      QApplication::exit(code);
    });
    app.exec();
    if (watchdogCode) code = watchdogCode;
    batchOutputs.finish(code);
    return code;
  }
  int batchCode = -1;
  QObject::connect(&window, &mqb::gui::MainWindow::batchFinished, &app, [&](int code) {
    batchCode = code;
    QApplication::exit(code);
  });
  window.startup(options);
  const int appCode = app.exec();
  const int code = watchdogCode ? watchdogCode : batchCode >= 0 ? batchCode : appCode;
  if (batch) batchOutputs.finish(code);
  return code;
}
