#pragma once
// The inputs every quantization-study command reads (model, volume, label map,
// calibration file, label-map table) and the outputs it writes, checked together before
// the model is loaded: quantize, analyze and export-int8 refuse the same mistakes the
// same way.
#include <string>
#include <vector>

#include "CommandLine.h"

namespace mqb::cli {

// `imageOutputs` / `otherOutputs` are option names (empty values are skipped); image
// outputs also get their file format checked from the extension.
void preflightStudyCommand(const CommandLine& cl, const std::vector<std::string>& imageOutputs,
                           const std::vector<std::string>& otherOutputs);

}  // namespace mqb::cli
