#include "Preflight.h"

#include "support/FileChecks.h"
#include "io/VolumeIO.h"

namespace mqb::cli {

Preflight& Preflight::input(const std::string& path, const std::string& what, bool folderAllowed) {
  if (path.empty()) return *this;
  checkInputPath(path, folderAllowed, what);
  inputs_.push_back(path);
  return *this;
}

Preflight& Preflight::labelMapTable(const std::string& nameOrPath) {
  if (nameOrPath.find('/') != std::string::npos ||
      (nameOrPath.size() > 5 && nameOrPath.compare(nameOrPath.size() - 5, 5, ".json") == 0))
    input(nameOrPath, "label map table");
  return *this;
}

Preflight& Preflight::output(const std::string& path, bool image) {
  if (path.empty()) return *this;
  outputs_.push_back(path);
  if (image) imageOutputs_.push_back(path);
  return *this;
}

void Preflight::check() const {
  checkDistinctOutputs(outputs_);
  for (const auto& o : outputs_) checkOutputPath(o, inputs_);
  for (const auto& o : imageOutputs_) checkImageOutputFormat(o);
}

}  // namespace mqb::cli
