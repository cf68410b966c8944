#pragma once
// The saved state of an analysis (File > Save session, autosave, --session): inputs,
// quantization settings and view state, as JSON. Qt-free so it is unit-testable.
//
//   {"format": "medquanbench-session", "version": 1,
//    "inputs": {"model": ..., "volume": ..., "labels": ..., "label_map": ...},
//    "quantization": {QuantConfig JSON}, "nsd_tolerance_mm": 2.0,
//    "view": {"orientation": "axial", "slice": 40, "window": 350, "level": 40, "zoom": 1,
//             "pan": [0, 0], "label_opacity": 0.5, "label_mode": "fill",
//             "hidden_labels": [3], "show_difference": true, "cursor": [x, y, z]}}
//
// Input paths are stored absolute and also relative to the session file, so a session
// saved next to its data still opens after the folder moved.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "SessionTypes.h"

namespace mqb::gui {

struct ViewState {
  std::string orientation = "axial";  // axial | coronal | sagittal
  int slice = -1;                     // -1: middle
  double window = 350, level = 40;
  double zoom = 1;
  double panX = 0, panY = 0;
  double labelOpacity = 0.5;
  std::string labelMode = "fill";  // fill | outline
  std::vector<int> hiddenLabels;
  bool showDifference = true;
  bool show3d = false;  // 3D organ surfaces beside the slices
  std::optional<std::array<int, 3>> cursor;
};

struct SessionState {
  std::string model, volume, labels, labelMap;
  quant::QuantConfig settings;
  double toleranceMm = kDefaultNsdToleranceMm;
  ViewState view;

  nlohmann::json toJson(const std::string& sessionPath = {}) const;
  // Throws mqb::Error naming `source` for a file that is not a session or has bad values.
  // Relative paths are resolved against the session file's folder; a stored absolute
  // path that no longer exists falls back to the relative one.
  static SessionState fromJson(const nlohmann::json& j, const std::string& source);

  void save(const std::string& path) const;  // atomic
  static SessionState load(const std::string& path);
};

// "a/b/c.json" -> "a/b"; path of `target` relative to folder `base` ("" when impossible).
std::string parentFolder(const std::string& path);
std::string relativePath(const std::string& target, const std::string& base);

}  // namespace mqb::gui
