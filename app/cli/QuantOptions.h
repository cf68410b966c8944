#pragma once
// Options shared by quantize / analyze / sweep: declared once, parsed once.
#include "CommandLine.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizationStudy.h"

namespace mqb::cli {

void addStudyOptions(CommandLine& cl, bool multipleModels);
void addQuantOptions(CommandLine& cl, bool withPrecisionAndGranularity);
quant::StudyInputs studyInputsFrom(const CommandLine& cl, const std::string& model, const std::string& volume,
                                   const std::string& labels);
// Precision/granularity come from the arguments when given (sweep passes its own).
quant::QuantConfig quantConfigFrom(const CommandLine& cl, const std::string& precision, const std::string& granularity);
// Validates --exclude names against the model (clear error for unknown ops).
void checkOpNames(const quant::QuantConfig& config, const quant::QuantizableGraph& graph);

}  // namespace mqb::cli
