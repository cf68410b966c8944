#pragma once
// Export logic of the application as a small Qt-only object (the role of ParaView's
// pqReaction): comparison figure, tables, predictions, views and plots. It reads the
// results from a SessionController and the view state it is given, so it works without
// the main window (headless --export-figure, tests).
#include <QImage>
#include <QObject>
#include <QString>

#include <array>
#include <memory>

#include "ComparisonFigure.h"
#include "SessionFile.h"
#include "SessionTypes.h"

class QCustomPlot;

namespace mqb {
class VtkOpenGLView;
}

namespace mqb::gui {

class SessionController;

// Everything the comparison figure shows.
struct FigureRequest {
  std::shared_ptr<const ImageVolume> image;
  std::shared_ptr<const LabelVolume> fp32, quantized, difference, truth;
  ClassList classes;
  int normalAxis = 2;  // 2 axial, 1 coronal, 0 sagittal
  int slice = -1;
  double window = 350, level = 40;
  double labelOpacity = 0.5;
  bool outline = false;
  std::array<bool, 256> labelVisible{};
  QString modelName, quantTitle = "Quantized", configuration;
  int64_t differingVoxels = -1;
  double meanAgreeDsc = qQNaN(), meanFp32Dsc = qQNaN(), meanQuantDsc = qQNaN();
  bool includeTruth = true;
  int panelBox = 320;  // logical size of each panel's bounding square
  bool transparentBackground = false;
};

ComparisonFigureSpec makeComparisonSpec(const FigureRequest& request);
QString figureCaption(const FigureRequest& request);

class ExportReaction : public QObject {
  Q_OBJECT
 public:
  explicit ExportReaction(SessionController* controller, QObject* parent = nullptr);

  // The request for the current results and a view state (slice, window, overlays).
  FigureRequest figureRequest(const ViewState& view) const;
  // Renders and writes the figure (PNG/JPEG/...; by extension). Works without results
  // (the CT alone) and without a display.
  bool exportComparisonFigure(const QString& path, int scale, bool transparent, const ViewState& view,
                              QString* error = nullptr, QSize* pixelSize = nullptr) const;
  QImage comparisonFigure(int scale, bool transparent, const ViewState& view) const;

  bool exportTable(const QString& path, QString* error = nullptr) const;      // .csv .md .tex
  bool exportBenchmark(const QString& path, QString* error = nullptr) const;  // .csv .md .tex
  // Label maps (NIfTI / NRRD / MHA by extension), written on the worker thread.
  enum class Prediction { Fp32, Quantized, Difference };
  bool exportPrediction(Prediction which, const QString& path, QString* error = nullptr) const;

  static bool exportView(VtkOpenGLView* view, const QString& path, int scale, bool transparent,
                         QString* error = nullptr);
  static bool exportPlot(QCustomPlot* plot, const QString& path, int scale, bool transparent, QString* error = nullptr);

 private:
  SessionController* controller_;
};

}  // namespace mqb::gui
