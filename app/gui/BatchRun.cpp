#include "BatchRun.h"

#include <QApplication>
#include <QTimer>

#include <cstdio>

#include "ExportReaction.h"
#include "MainWindow.h"
#include "SessionController.h"
#include "SurfaceView.h"
#include "ViewerPanel.h"

namespace mqb::gui {

void writeBatchOutputs(MainWindow& window, const AppOptions& o, int exitCode, std::function<void(int)> done) {
  SessionController* controller = window.controller();
  ViewerPanel* viewer = window.viewer();
  // Without a saved view, show the slice with the most organ voxels (ground truth, else
  // FP32): the middle slice of an abdominal CT can miss most organs.
  if (o.session.isEmpty()) {
    if (const auto truth = controller->groundTruth())
      viewer->showBusiestSlice(*truth);
    else if (const auto fp32 = controller->fp32())
      viewer->showBusiestSlice(*fp32);
  }
  // Let the views render the final state first.
  QTimer::singleShot(300, &window, [&window, controller, viewer, o, exitCode, done] {
    // Surfaces are extracted on a pool thread: a screenshot must not catch an empty 3D view.
    if (viewer->surfacesVisible())
      for (int i = 0; i < 2; ++i) viewer->surfaceView(i)->waitUntilBuilt(120000);
    QApplication::processEvents();
    int code = exitCode;
    if (!o.exportFigure.isEmpty()) {
      QString error;
      QSize size;
      if (window.exporter()->exportComparisonFigure(o.exportFigure, o.exportScale, o.transparent, viewer->viewState(),
                                                    &error, &size)) {
        std::printf("wrote %s (%dx%d)\n", qPrintable(o.exportFigure), size.width(), size.height());
      } else {
        std::fprintf(stderr, "medquanbench: %s\n", qPrintable(error));
        code = 1;
      }
    }
    if (!o.screenshot.isEmpty()) {
      const QImage shot = window.grab().toImage();
      if (shot.save(o.screenshot)) {
        std::printf("wrote %s (%dx%d)\n", qPrintable(o.screenshot), shot.width(), shot.height());
      } else {
        std::fprintf(stderr, "medquanbench: %s: cannot write the screenshot\n", qPrintable(o.screenshot));
        code = 1;
      }
    }
    if (!controller->lastRunSummary().isEmpty()) std::printf("run: %s\n", qPrintable(controller->lastRunSummary()));
    std::fflush(stdout);
    done(code);
  });
}

}  // namespace mqb::gui
