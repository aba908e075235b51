// Exporter dialects: which exporter's op spelling a graph uses, decided in
// one place for both the train/eval switch and `rewire info`.
//
// Each exporter spells dropout, batch norm and their relatives its own way
// (docs/SEMANTICS.md §2). DetectDialect reads only the graph's target index
// (no scan of the nodes), weighs ops that a single exporter emits above ops
// several share, and falls back on the dialect a rewire marker names. A
// graph with a `bernoulli_` is therefore not called make_fx when it also
// holds training-IR ops (torchvision's StochasticDepth exports `bernoulli_`
// in every dialect).
#ifndef REWIRE_REWRITE_DIALECT_H_
#define REWIRE_REWRITE_DIALECT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace rewire {

// The exporter whose op spelling a graph or pattern uses.
enum class Dialect : uint8_t {
  kTrainingIr = 0,  // torch.export.export_for_training / export (torch >= 2.5)
  kPreDispatch,     // capture_pre_autograd_graph (torch 2.1-2.4)
  kCoreAten,        // ExportedProgram.run_decompositions()
  kMakeFx,          // make_fx / dynamo aten_graph=True
};
inline constexpr int kNumDialects = 4;
absl::string_view DialectName(Dialect d);  // "training_ir", "core_aten", ...
absl::StatusOr<Dialect> ParseDialect(absl::string_view name);

// One op of the graph that tells something about its dialect.
struct DialectEvidence {
  std::string target;              // "aten.batch_norm.default"
  int64_t count = 0;               // nodes with that target
  std::vector<Dialect> dialects;   // exporters that emit it
};

struct DialectDetection {
  // The graph's dialect; nullopt when no op or marker tells.
  std::optional<Dialect> dialect;
  // Every op present that is evidence, in table order, then one entry per
  // marker dialect ("rewire_dropout marker -> make_fx").
  std::vector<DialectEvidence> evidence;
  // Evidence lines as `rewire info` prints them ("aten.dropout.default x2 ->
  // training_ir or pre_dispatch").
  std::vector<std::string> Lines() const;
  // "training_ir", or "none detected (...)".
  std::string Summary() const;
};

// Cost: one target-index lookup per table entry, plus the marker nodes.
DialectDetection DetectDialect(const Graph& graph);

}  // namespace rewire

#endif  // REWIRE_REWRITE_DIALECT_H_
