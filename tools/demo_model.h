// The example model `rewire demo` runs: a small CNN exported as torch.export's
// training IR (two conv -> batch_norm -> relu blocks, dropout, flatten,
// linear) with lifted parameters and buffers and "val" metadata everywhere.
//
// The graph is written in rewire's readable text form (kDemoModelText), so it
// doubles as an example of that form and of what an exported training graph
// looks like; only the weights are generated (seeded, so every run prints the
// same numbers). Its batch norms use eps 1e-3 and momentum 0.03 and its
// dropout p 0.3 — deliberately not PyTorch's defaults, so the demo can show
// that a train -> eval -> train round trip keeps the model's own values.
#ifndef REWIRE_TOOLS_DEMO_MODEL_H_
#define REWIRE_TOOLS_DEMO_MODEL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "ir/exported_module.h"

namespace rewire {
namespace tools {

inline constexpr double kDemoEps = 1e-3;
inline constexpr double kDemoMomentum = 0.03;
inline constexpr double kDemoDropoutP = 0.3;

// The graph in the text form (ir/text_format.h).
extern const char kDemoModelText[];

// Parses kDemoModelText and attaches generated parameters (normal, scaled by
// fan-in) and buffers (running_mean 0, running_var 1, num_batches_tracked 0,
// as a freshly constructed nn.BatchNorm2d). Training mode.
absl::StatusOr<ExportedModule> BuildDemoModel(uint64_t seed);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_DEMO_MODEL_H_
