#pragma once
// Reading and writing volumes through ITK: NIfTI (.nii, .nii.gz), NRRD, MetaImage
// (.mha/.mhd) and DICOM series folders (including JPEG2000-compressed series).
// Geometry (spacing, origin, direction) is kept. Every failure is an mqb::Error naming
// the file and the problem.
#include <string>

#include "LabelRemap.h"
#include "Volume.h"

namespace mqb {

class Feedback;

// A file, or a folder holding one DICOM series (the largest when there are several).
ImageVolume readImage(const std::string& path, Feedback* feedback = nullptr);
// Integer label map; the remap table is applied voxel by voxel. Values that do not fit
// 0..255 after remapping are an error.
LabelVolume readLabelMap(const std::string& path, const LabelRemap& remap = LabelRemap::identity());

// Written to a temporary file beside the target and renamed, so a failure never leaves a
// half-written file at the output path. The format follows the extension.
void writeLabelMap(const LabelVolume& labels, const std::string& path);
void writeImage(const ImageVolume& image, const std::string& path);

}  // namespace mqb
