#pragma once
// A small synthetic TorchScript segmentation model written from C++, for --benchmark (and
// trying the application) when no trained model is at hand: smoothed intensity bands of
// the CT (3x3x3 conv - ReLU - 3x3x3 conv - ReLU - 1x1x1 conv), classes "soft tissue" and
// "bone / contrast". Not a trained model: its segmentations mean nothing anatomically.
#include <string>

namespace mqb::gui {

// Writes the model (metadata embedded) to `path`; throws mqb::Error on failure.
void writeSyntheticBandModel(const std::string& path, int patch = 64, double spacingMm = 1.5);

}  // namespace mqb::gui
