#include "StudyPreflight.h"

#include "Preflight.h"

namespace mqb::cli {

void preflightStudyCommand(const CommandLine& cl, const std::vector<std::string>& imageOutputs,
                           const std::vector<std::string>& otherOutputs) {
  Preflight p;
  p.input(cl.get("model"), "model")
      .input(cl.get("volume"), "volume", true)
      .input(cl.get("labels"), "label map")
      .input(cl.get("calibration"), "calibration file")
      .labelMapTable(cl.get("label-map"));
  for (const auto& o : imageOutputs) p.output(cl.get(o), true);
  for (const auto& o : otherOutputs) p.output(cl.get(o));
  p.check();
}

}  // namespace mqb::cli
