#pragma once
// What a dropped / opened / positional file is, from its name and (for folders) what it
// is on disk: the one place that decides whether "seg.nii.gz" is a CT or a label map.
#include <string>
#include <vector>

namespace mqb::gui {

enum class FileKind { Model, Volume, DicomFolder, GroundTruth, Session, Unknown };

// "seg", "label", "mask", "_gt", "gt*", "truth" in the file name (case-insensitive).
bool looksLikeLabelMap(const std::string& fileName);
// NIfTI / NRRD / MetaImage / DICOM file names.
bool isVolumeFileName(const std::string& fileName);

// The kind of `path`. A volume-like file whose name looks like a label map is ground truth
// only when a CT is open or on its way (`haveVolume`); otherwise it is opened as the CT.
FileKind guessFileKind(const std::string& path, bool haveVolume);
// Whether opening `fileName` as ground truth should offer the shipped
// TotalSegmentator -> BTCV id remap (TotalSegmentator-style "seg" names).
bool suggestsTotalSegmentatorRemap(const std::string& fileName);
// "<path>: unknown file type (...)": the one-line error for FileKind::Unknown.
std::string unknownFileTypeMessage(const std::string& path);
// Models and CTs before label maps (stable), so a dropped label map finds its CT.
void orderForOpening(std::vector<std::string>& paths);

}  // namespace mqb::gui
