#include "rewrite/match_filters.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/graph.h"
#include "ir/metadata.h"
#include "rewrite/mode_constructs.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace {

// Calls `f` on each tensor "val" of the match's graph nodes (matched ones
// and those bound to placeholders); stops when `f` returns false.
bool AllVals(const InternalMatch& m,
             absl::FunctionRef<bool(const TensorMeta&)> f) {
  for (const auto& [pn, value] : m.nodes_map) {
    if (!value.is_node()) continue;
    const MetaValue* val = value.node()->meta().val();
    if (val == nullptr) continue;
    if (val->is_tensor()) {
      if (!f(val->tensor())) return false;
    } else if (val->is_tensor_list()) {
      for (const std::optional<TensorMeta>& t : val->tensors()) {
        if (t.has_value() && !f(*t)) return false;
      }
    }
  }
  return true;
}

bool SingleUse(const InternalMatch& m, const Graph&, const Graph&) {
  for (const Node* n : m.returning_nodes) {
    if (n->num_uses() != 1) return false;
  }
  return true;
}

bool SameDevice(const InternalMatch& m, const Graph&, const Graph&) {
  std::optional<Device> first;
  return AllVals(m, [&](const TensorMeta& t) {
    if (!first.has_value()) first = t.device;
    return t.device == *first;
  });
}

bool StaticShapes(const InternalMatch& m, const Graph&, const Graph&) {
  return AllVals(m, [](const TensorMeta& t) { return !t.has_symbolic_dims(); });
}

bool NotTrainingForm(const InternalMatch& m, const Graph&, const Graph&) {
  for (const auto& [pn, value] : m.nodes_map) {
    if (pn->is_placeholder() || !value.is_node()) continue;
    if (ModeDependentReason(*value.node()).has_value()) return false;
  }
  return true;
}

struct Entry {
  const char* name;
  bool (*fn)(const InternalMatch&, const Graph&, const Graph&);
};
constexpr Entry kFilters[] = {
    {"single_use", SingleUse},
    {"same_device", SameDevice},
    {"static_shapes", StaticShapes},
    {"not_training_form", NotTrainingForm},
};

}  // namespace

absl::StatusOr<MatchFilter> BuiltinMatchFilter(absl::string_view name) {
  for (const Entry& e : kFilters) {
    if (name == e.name) return MatchFilter(e.fn);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown filter '", name, "' (known: ",
                   absl::StrJoin(BuiltinMatchFilterNames(), ", "), ")"));
}

std::vector<std::string> BuiltinMatchFilterNames() {
  std::vector<std::string> names;
  for (const Entry& e : kFilters) names.push_back(e.name);
  return names;
}

}  // namespace rewire
