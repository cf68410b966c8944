#pragma once
// The size of the file an INT8 model is exported as (quantize --execution real-int8, sweep
// --real-int8): measured by writing it, to `keep` (staged in the command's output
// transaction) when the user asked for the file, else to a temporary file that is removed.
#include <cstdint>
#include <string>

#include "AtomicFile.h"
#include "quant/Int8Model.h"

namespace mqb::cli {

int64_t int8FileBytes(quant::Int8Model& model, const std::string& keep, OutputTransaction& output);

}  // namespace mqb::cli
