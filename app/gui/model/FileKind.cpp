#include "FileKind.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace mqb::gui {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

std::string fileNameOf(const std::string& path) { return std::filesystem::path(path).filename().string(); }

}  // namespace

bool looksLikeLabelMap(const std::string& fileName) {
  const std::string n = lower(fileName);
  return contains(n, "seg") || contains(n, "label") || contains(n, "mask") || contains(n, "_gt") ||
         n.rfind("gt", 0) == 0 || contains(n, "truth");
}

bool isVolumeFileName(const std::string& fileName) {
  const std::string n = lower(fileName);
  for (const char* suffix : {".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm"})
    if (endsWith(n, suffix)) return true;
  return false;
}

FileKind guessFileKind(const std::string& path, bool haveVolume) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return FileKind::DicomFolder;
  const std::string name = fileNameOf(path);
  const std::string n = lower(name);
  if (endsWith(n, ".pt") || endsWith(n, ".pth") || endsWith(n, ".ts")) return FileKind::Model;
  if (endsWith(n, ".json")) return FileKind::Session;
  if (isVolumeFileName(n)) return haveVolume && looksLikeLabelMap(name) ? FileKind::GroundTruth : FileKind::Volume;
  return FileKind::Unknown;
}

bool suggestsTotalSegmentatorRemap(const std::string& fileName) { return contains(lower(fileName), "seg"); }

std::string unknownFileTypeMessage(const std::string& path) {
  return path + ": unknown file type (models .pt, volumes .nii/.nii.gz/.nrrd/.mha, DICOM folders, sessions .json)";
}

void orderForOpening(std::vector<std::string>& paths) {
  std::stable_sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return !looksLikeLabelMap(fileNameOf(a)) && looksLikeLabelMap(fileNameOf(b));
  });
}

}  // namespace mqb::gui
