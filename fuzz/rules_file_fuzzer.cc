// Fuzz target: rules files (rewrite/rules_file.h) and the pattern driver.
//
// Properties: parsing any bytes never crashes, hangs or recurses without
// bound; errors are InvalidArgument statuses; rules that parse apply to a
// small model (one sweep, and a bounded fixed point) without crashing, and
// leave a graph the verifier accepts, or fail and leave it exactly as it was.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "fuzz/fuzz_check.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "rewrite/pattern_driver.h"
#include "rewrite/rules_file.h"

namespace {

constexpr char kModel[] = R"(
%x : f32[2, 3] = placeholder[target=x]
%a : f32[2, 3] = aten.neg.default(%x)
%b : f32[2, 3] = aten.neg.default(%a)
%h : f32[2, 3] = aten.hardtanh.default(%b, 0.0, 6.0)
%r : f32[2, 3] = aten.relu.default(%h)
%d : f32[2, 3] = aten.dropout.default(%r, 0.5, True)
%s : f32[2, 3] = aten.add.Tensor(%d, %x)
return (%s,)
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  rewire::RulesParseOptions options;
  options.max_rules = 64;
  options.default_max_steps = 100000;
  auto rules = rewire::ParseRules(text, "fuzz.rules", options);
  if (!rules.ok()) {
    FUZZ_CHECK(rules.status().code() == absl::StatusCode::kInvalidArgument,
               "a parse error that is not InvalidArgument: " +
                   std::string(rules.status().message()));
    return 0;
  }
  for (bool fixed_point : {false, true}) {
    auto graph = rewire::ParseGraph(kModel);
    FUZZ_CHECK(graph.ok(), "the fuzz model does not parse");
    const std::string before = rewire::PrintGraph(**graph);
    rewire::DriverOptions d;
    d.fixed_point = fixed_point;
    d.max_iterations = 4;
    for (rewire::PatternRule& r : *rules) {
      if (r.options.max_steps == 0 || r.options.max_steps > 100000) {
        r.options.max_steps = 100000;  // keep each input fast
      }
    }
    auto result = rewire::ApplyPatternRules(**graph, *rules, d);
    if (result.ok()) {
      absl::Status v = rewire::Verify(**graph);
      FUZZ_CHECK(v.ok(), "the rewritten graph does not verify: " +
                             std::string(v.message()) + "\n" +
                             rewire::PrintGraph(**graph));
    } else {
      FUZZ_CHECK(rewire::PrintGraph(**graph) == before,
                 "a failed application changed the graph: " +
                     std::string(result.status().message()));
    }
  }
  return 0;
}
