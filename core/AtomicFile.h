#pragma once
#include <string>

namespace mqb {

// Writes to a temporary file beside `path` and renames it into place, so a failure or a
// crash never leaves a truncated report where a previous good one was.
void writeTextFileAtomically(const std::string& path, const std::string& text);

}  // namespace mqb
