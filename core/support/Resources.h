#pragma once
#include <string>

namespace mqb {

// Folder holding the shipped resources (label-maps/, presets/, ...). Looked up, in order:
// $MQB_RESOURCE_DIR, <executable>/../share/medquanbench/resources (build tree and install).
std::string resourceDir();
// Folder holding the bundled model zoo: $MQB_MODEL_DIR, <executable>/../share/medquanbench/models.
std::string bundledModelDir();
// Folder holding sample data: $MQB_DATA_DIR, else ../shared/data relative to the current
// directory, else relative to the source tree the binary was built from.
std::string sampleDataDir();
std::string versionString();

}  // namespace mqb
