#include "quant/int8/Int8OutputRanges.h"

#include <algorithm>

#include "model/ModelMetadata.h"
#include "quant/QuantizedModel.h"

namespace mqb::quant {
namespace {

class OutputRangeObserver : public HookObserver {
 public:
  explicit OutputRangeObserver(size_t ops) : ranges(ops) {}
  void onOutput(int op, const torch::Tensor& y) override {
    if (!y.defined() || y.numel() == 0 || !y.is_floating_point()) return;
    const auto [lo, hi] = torch::aminmax(y);
    OutputRange& r = ranges[static_cast<size_t>(op)];
    const float a = lo.item<float>(), b = hi.item<float>();
    r.min = r.seen ? std::min(r.min, a) : a;
    r.max = r.seen ? std::max(r.max, b) : b;
    r.seen = true;
  }
  bool retainsInputs() const override { return false; }
  std::vector<OutputRange> ranges;
};

}  // namespace

nlohmann::json Int8OutputRanges::toJson() const {
  nlohmann::json j = nlohmann::json::array();
  for (const OutputRange& r : ops) j.push_back({r.min, r.max});
  return j;
}

Int8OutputRanges recordOutputRanges(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches) {
  QuantConfig fp32;
  fp32.precision = Precision::fp32();
  // The FP32 instrumented graph (every hook passes values through) reports each output.
  std::shared_ptr<const QuantizableGraph> borrowed(&graph, [](const QuantizableGraph*) {});
  QuantizedModel model(borrowed, ModelMetadata{}, fp32, nullptr);
  OutputRangeObserver observer(graph.ops().size());
  model.runtime().setObserver(&observer);
  for (const torch::Tensor& p : patches) model.predict(p);
  model.runtime().setObserver(nullptr);
  return {observer.ranges};
}

}  // namespace mqb::quant
