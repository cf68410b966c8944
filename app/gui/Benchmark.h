#pragma once
// --benchmark: times the things a user feels, on the real window under the real event loop:
// first render of a loaded CT in the linked views, slice-change redraw with label and
// difference overlays (512x512 DICOM slices by default), and the longest stall of the
// GUI thread (10 ms QTimer heartbeat) while FP32 + quantized inference runs on the worker.
#include "AppOptions.h"

namespace mqb::gui {

class MainWindow;

// Prints the measurements on stdout; returns the process exit code.
int runBenchmark(MainWindow& window, const AppOptions& options);

}  // namespace mqb::gui
