#include "SessionTypes.h"

#include <sstream>

namespace mqb::gui {

std::string OpInfo::shapeText() const {
  if (weightShape.empty()) return "--";
  std::ostringstream s;
  for (size_t i = 0; i < weightShape.size(); ++i) s << (i ? "x" : "") << weightShape[i];
  return s.str();
}

}  // namespace mqb::gui
