#pragma once
// The end of a non-interactive run (--export-figure / --screenshot): once the worker is idle,
// show the busiest slice, let the views (and 3D surfaces) finish drawing, write the figure and
// the screenshot, print what was written and the run summary, and report the exit code.
#include <functional>

#include "AppOptions.h"

namespace mqb::gui {

class MainWindow;

// `exitCode` is the code so far (1 after an error); `done` receives the final one.
void writeBatchOutputs(MainWindow& window, const AppOptions& options, int exitCode, std::function<void(int)> done);

}  // namespace mqb::gui
