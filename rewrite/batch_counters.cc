#include "rewrite/batch_counters.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

constexpr absl::string_view kCounterName = "num_batches_tracked";

// Recognizes a counter's buffer by the state name it is bound to.
class CounterBuffers {
 public:
  explicit CounterBuffers(const ExportedModule& m) : module_(m) {}
  bool Is(const Node* n) {
    if (n == nullptr) return false;
    if (n->is_get_attr()) return absl::EndsWith(n->target().qualified, kCounterName);
    if (!n->is_placeholder()) return false;
    if (absl::EndsWith(n->name(), kCounterName)) return true;
    // make_fx names lifted state by position (arg0_5): ask the binding.
    const StateTensor* t = module_.TensorForPlaceholder(n->name());
    return t != nullptr && t->role == TensorRole::kBuffer &&
           absl::EndsWith(t->name, kCounterName);
  }

 private:
  const ExportedModule& module_;
};

bool IsTarget(const Node* n, absl::string_view target) {
  return n != nullptr && n->is_call() && n->target().qualified == target;
}

std::optional<int64_t> Increment(const Node* add, CounterBuffers& buffers) {
  const bool inplace = IsTarget(add, kBatchCounterOps[0]);
  if (!inplace && !IsTarget(add, kBatchCounterOps[1])) return std::nullopt;
  // The add's own arguments first: its buffer node is far away.
  if (add->args().size() != 2 || !add->args()[0].is_node() ||
      add->args()[1].kind() != Argument::Kind::kInt || !add->kwargs().empty()) {
    return std::nullopt;
  }
  const Node* buffer = add->args()[0].node();
  if (!buffers.Is(buffer)) return std::nullopt;
  if (!inplace) {
    const std::vector<Node*> users = add->Users();
    const Node* copy = users.size() == 1 && add->num_uses() == 1 ? users[0] : nullptr;
    if (!IsTarget(copy, "aten.copy_.default") || copy->args().size() != 2 ||
        !copy->args()[0].is_node() || copy->args()[0].node() != buffer) {
      return std::nullopt;
    }
  }
  return add->args()[1].as_int();
}

}  // namespace

void SwitchBatchCounters(ExportedModule& module, ModuleMode to, Dialect dialect,
                         TrainEvalReport& report) {
  Graph& g = module.graph();
  const bool to_eval = to == ModuleMode::kEval;
  // Eval holds every counter at 0; the way back makes each count 1.
  const int64_t from = to_eval ? 1 : 0;
  CounterBuffers buffers(module);
  int64_t switched = 0;
  for (const char* t : kBatchCounterOps) {
    if (g.CountTarget(t) == 0) continue;
    for (Node* n : g.NodesWithTarget(t)) {
      std::optional<int64_t> inc = Increment(n, buffers);
      if (!inc.has_value()) continue;
      if (*inc == from) {
        // A literal replacing a literal at an existing index: cannot fail.
        const absl::Status s = g.SetLiteralArgument(n, 1, Argument::Int(1 - from));
        REWIRE_CHECK(s.ok());
        ++switched;
      } else if (to_eval && *inc != 0) {
        report.left_alone.push_back(LeftAlone{
            n->name(), n->target().qualified,
            absl::StrCat(kCounterName, " grows by ", *inc,
                         ", not 1: not a batch norm's counter"),
            true});
      }
    }
  }
  if (switched > 0) report.AddSites("batch_counter", dialect, switched);
}

void ForEachCountingBatchCounter(ExportedModule& module,
                                 absl::FunctionRef<void(const Node*)> fn) {
  CounterBuffers buffers(module);
  const Graph& g = module.graph();
  for (const char* t : kBatchCounterOps) {
    if (g.CountTarget(t) == 0) continue;
    for (const Node* n : g.NodesWithTarget(t)) {
      std::optional<int64_t> inc = Increment(n, buffers);
      if (inc.has_value() && *inc != 0) fn(n);
    }
  }
}

}  // namespace rewire
