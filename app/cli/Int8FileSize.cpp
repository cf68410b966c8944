#include "Int8FileSize.h"

#include <unistd.h>

#include <filesystem>

namespace mqb::cli {

int64_t int8FileBytes(quant::Int8Model& model, const std::string& keep, OutputTransaction& output) {
  namespace fs = std::filesystem;
  const std::string path = keep.empty()
                               ? (fs::temp_directory_path() / ("mqb-int8-" + std::to_string(::getpid()) + ".pt")).string()
                               : output.stage(keep);
  model.save(path);
  const auto bytes = static_cast<int64_t>(fs::file_size(path));
  if (keep.empty()) fs::remove(path);
  return bytes;
}

}  // namespace mqb::cli
