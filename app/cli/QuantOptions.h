#pragma once
// Options shared by quantize / analyze / sweep: declared once, parsed once.
#include "CommandLine.h"
#include "quant/QuantConfig.h"
#include "study/QuantizationStudy.h"

namespace mqb::cli {

void addStudyOptions(CommandLine& cl, bool multipleModels);
void addQuantOptions(CommandLine& cl, bool withPrecisionAndGranularity);
// `series`: the DICOM series UID for `volume` (empty: the folder must hold one series).
quant::StudyInputs studyInputsFrom(const CommandLine& cl, const std::string& model, const std::string& volume,
                                   const std::string& labels, const std::string& series);
// The --series option of the command, one UID per --volume (sweep takes several volumes:
// "UID1,,UID3" leaves the second, a file or a one-series folder, without). Throws
// mqb::Error when the count does not match the volumes.
std::vector<std::string> seriesPerVolume(const CommandLine& cl, size_t volumes);
// Precision, granularity and method come from the arguments (sweep passes its own; an
// empty method is round-to-nearest).
quant::QuantConfig quantConfigFrom(const CommandLine& cl, const std::string& precision,
                                   const std::string& granularity, const std::string& method = {});
// Validates --exclude names against the model (clear error for unknown ops).
void checkOpNames(const quant::QuantConfig& config, const quant::QuantizableGraph& graph);

}  // namespace mqb::cli
