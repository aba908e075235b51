// The pattern rules of the train/eval switch (rewrite/train_eval.h): one
// Rule per pattern pass, for each dialect and direction, with the patterns
// traced in that dialect's spelling, and the markers the way back reads.
// Internal to //rewrite:train_eval.
#ifndef REWIRE_REWRITE_TRAIN_EVAL_RULES_H_
#define REWIRE_REWRITE_TRAIN_EVAL_RULES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"  // ModuleMode
#include "ir/graph.h"
#include "ir/types.h"
#include "rewrite/dialect.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace train_eval_rules {

inline constexpr char kDropout[] = "aten.dropout.default";
inline constexpr char kDropoutInplace[] = "aten.dropout_.default";
inline constexpr char kNativeDropout[] = "aten.native_dropout.default";
inline constexpr char kBernoulli[] = "aten.bernoulli_.float";
inline constexpr char kAlias[] = "aten.alias.default";
inline constexpr char kClone[] = "aten.clone.default";
inline constexpr char kBatchNorm[] = "aten.batch_norm.default";
inline constexpr char kNativeBatchNorm[] = "aten.native_batch_norm.default";
inline constexpr char kLegit[] = "aten._native_batch_norm_legit.default";
inline constexpr char kLegitNoStats[] = "aten._native_batch_norm_legit.no_stats";
inline constexpr char kNoTraining[] = "aten._native_batch_norm_legit_no_training.default";
inline constexpr char kFunctional[] = "aten._native_batch_norm_legit_functional.default";
inline constexpr char kCudnn[] = "aten.cudnn_batch_norm.default";

inline constexpr char kNoStatsReason[] =
    "batch norm without running stats: stays in training mode (batch "
    "statistics), as in eager PyTorch";

// One pattern pass.
struct Rule {
  std::string pattern_name;
  Dialect dialect = Dialect::kTrainingIr;
  // Run only when one of these targets is in the graph.
  std::vector<const char*> anchors;
  std::unique_ptr<Graph> pattern;
  std::unique_ptr<Graph> replacement;  // fixed, or null when `fn` is used
  ReplacementFn fn;
  // The "training"/"train" literal must be this (the op spells both modes).
  std::optional<bool> from_flag;
  // Batch norm: running stats must be tensors, else the node is left alone.
  bool needs_stats = false;
  // Only aliases carrying a dropout marker.
  bool needs_dropout_marker = false;
  // After the pass: marker to set on new nodes of this target.
  const char* mark_target = nullptr;
  std::string mark_key;
  // Per-match marker text by anchor name (filled by `fn`).
  std::shared_ptr<absl::flat_hash_map<std::string, std::string>> marks;
  std::string fixed_mark;
  // Remove markers from the new nodes (the way back).
  bool clear_markers = false;
};

struct Context {
  std::optional<Device> device;  // AssertAndGetUniqueDevice
  std::optional<Dialect> guess;  // DetectDialect
  Device trace_device() const {
    return device.has_value() && device->is_cuda() ? *device : Device::Cpu();
  }
};

// The rules for one family ("dropout" or "batch_norm") and direction.
absl::StatusOr<std::vector<Rule>> BuildRules(bool dropout, ModuleMode to,
                                             const Context& ctx);

// Checks every marker the way back would read, before anything changes.
absl::Status CheckMarkers(const Graph& g);

// The graph literal the match met at argument `arg` of any pattern node.
const Argument* MatchedLiteralArg(const InternalMatch& m, absl::string_view arg);

}  // namespace train_eval_rules
}  // namespace rewire

#endif  // REWIRE_REWRITE_TRAIN_EVAL_RULES_H_
