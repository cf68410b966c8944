#pragma once
// Reading and writing volumes through ITK: NIfTI (.nii, .nii.gz), NRRD, MetaImage
// (.mha/.mhd) and DICOM series folders (including JPEG2000-compressed series).
// Geometry (spacing, origin, direction) is kept. Every failure is an mqb::Error naming
// the file and the problem.
#include <string>

#include "io/LabelRemap.h"
#include "io/Volume.h"

namespace mqb {

class Feedback;
class OutputTransaction;

// A file, or a folder holding one DICOM series. A folder with several series needs
// dicomSeriesUid (the error lists them); slices must share one orientation and size and
// have distinct, evenly spaced positions. Pipes, sockets and devices are refused unread.
ImageVolume readImage(const std::string& path, Feedback* feedback = nullptr, const std::string& dicomSeriesUid = "");
// Integer label map; the remap table is applied voxel by voxel. Values that do not fit
// 0..255 after remapping are an error, as are fractional or NaN values in a float file.
LabelVolume readLabelMap(const std::string& path, const LabelRemap& remap = LabelRemap::identity());

// Written to a temporary file beside the target and renamed, so a failure never leaves a
// half-written file at the output path. The format follows the extension.
void writeLabelMap(const LabelVolume& labels, const std::string& path);
void writeImage(const ImageVolume& image, const std::string& path);
// Written to the transaction's temporary for `path`; it appears at commit().
void writeLabelMap(const LabelVolume& labels, const std::string& path, OutputTransaction& output);
void writeImage(const ImageVolume& image, const std::string& path, OutputTransaction& output);
// Throws unless ITK has a writer for the path's extension (checked before any work).
void checkImageOutputFormat(const std::string& path);

}  // namespace mqb
