#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mqb {

// One output class of a segmentation model (SPEC section 7): id 0 is background.
struct ClassInfo {
  int id = 0;
  std::string name;
  std::array<uint8_t, 3> color{0, 0, 0};
};

using ClassList = std::vector<ClassInfo>;

}  // namespace mqb
