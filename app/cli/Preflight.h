#pragma once
// What a command checks before any work starts: every input is an existing regular file (or
// a folder where a DICOM series may be given), every output can be written, none of them is
// an input or a duplicate of another output, and image outputs have a writable format.
// A mistake in an output path is reported in a second, not after the whole inference.
#include <string>
#include <vector>

namespace mqb::cli {

class Preflight {
 public:
  // Empty paths are skipped, so optional options can be passed as they are.
  Preflight& input(const std::string& path, const std::string& what, bool folderAllowed = false);
  // A label-map table given by name (resources) or by path; only paths are checked.
  Preflight& labelMapTable(const std::string& nameOrPath);
  Preflight& output(const std::string& path, bool image = false);
  // Throws mqb::Error for the first problem found.
  void check() const;

 private:
  std::vector<std::string> inputs_, outputs_, imageOutputs_;
};

}  // namespace mqb::cli
