#pragma once
// Command line of the desktop application:
//   medquanbench [--model M] [--volume V] [--labels GT] [--label-map NAME]
//                [--precision W4A4] [--granularity adaptive] [--calibrator minmax] [--asymmetric]
//                [--session S] [--demo] [--export-figure out.png [--export-scale 2] [--transparent]]
//                [--screenshot out.png] [--benchmark [--benchmark-parts redraw,stall,preview]] [--no-autosave] [files...]
// Positional files are opened like dropped files. --export-figure / --screenshot make the
// run non-interactive: the application loads, runs, writes the files and exits (0 on success).
#include <QString>
#include <QStringList>

namespace mqb::gui {

struct AppOptions {
  QString model, volume, labels, labelMap, session;
  QString precision, granularity, calibrator;
  bool asymmetric = false;
  bool demo = false;
  QString exportFigure;
  int exportScale = 1;
  bool transparent = false;
  QString screenshot;
  bool benchmark = false;
  QString benchmarkVolume;
  int benchmarkSlices = 40;
  // Which measurements --benchmark runs: "redraw", "stall", "preview" (default: all).
  QStringList benchmarkParts{"redraw", "stall", "preview"};
  bool autosave = true;
  int threads = 0;  // LibTorch threads for inference; 0 = default
  QStringList files;

  bool batch() const { return !exportFigure.isEmpty() || !screenshot.isEmpty(); }
  bool hasQuantOptions() const {
    return !precision.isEmpty() || !granularity.isEmpty() || !calibrator.isEmpty() || asymmetric;
  }
};

// Parses arguments (argv[0] included). Returns false with a message for invalid input;
// --help / --version set *exitNow (message holds the text to print).
bool parseAppOptions(const QStringList& arguments, AppOptions& options, QString& message, bool* exitNow);

}  // namespace mqb::gui
