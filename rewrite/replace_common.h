// What the two ways of applying a replacement share, internal to
// //rewrite:replace_pattern: the preparation of a rewrite (matcher, the
// replacement analyzed against the pattern), the argument a replacement node
// gets in the graph, and the checks and records made per match. The streamed
// in-place path (replace_in_place.h) and the general path (replace_general.h)
// must give the same result wherever the first applies, and both are built
// from these pieces so that each rule (literal carry-over, use before
// definition, the per-match record) is written once.
#ifndef REWIRE_REWRITE_REPLACE_COMMON_H_
#define REWIRE_REWRITE_REPLACE_COMMON_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/argument.h"
#include "ir/graph.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace replace_internal {

// A replacement graph split by role. `in_place` says whether it has the
// pattern's exact node set (every compute node paired with a pattern node of
// the same op and target, outputs paired with the returning nodes): such a
// replacement, the train/eval flip of a training flag, is applied by
// rewriting the matched nodes' arguments, which keeps names, metadata and
// node identity and allocates nothing.
struct ReplacementShape {
  std::vector<const Node*> placeholders;
  std::vector<const Node*> compute;
  std::vector<const Node*> outputs;  // output operands, by slot
  bool in_place = false;
};

// A replacement graph analyzed once, however many matches it serves.
struct AnalyzedReplacement {
  ReplacementShape shape;
  // The pattern node each replacement compute node corresponds to (Note
  // [Replacement correspondence] in the .cc), by shape.compute index.
  std::vector<const Node*> corr;
};

// Verifies `replacement`, splits it by role and pairs it with the pattern.
absl::StatusOr<AnalyzedReplacement> AnalyzeReplacement(
    const Graph& replacement, const std::vector<const Node*>& pattern_compute,
    const std::vector<const Node*>& returning);

// Everything about a rewrite that does not depend on the graph rewritten,
// made before the graph is looked at.
struct PreparedRewrite {
  const Graph* pattern = nullptr;
  std::unique_ptr<SubgraphMatcher> matcher;
  // Pattern call and get_attr nodes, in pattern order.
  std::vector<const Node*> pattern_compute;
  // The fixed replacement and its analysis; both null when a callback makes
  // one per match.
  const Graph* fixed = nullptr;
  std::unique_ptr<AnalyzedReplacement> fixed_analysis;

  const std::vector<const Node*>& returning() const {
    return matcher->returning_nodes();
  }
};

absl::StatusOr<PreparedRewrite> Prepare(const Graph& pattern,
                                        const Graph* fixed,
                                        const ReplaceOptions& options);

bool IsPureLiteral(const Argument& a);

// Whether a replacement "val" can stand where the graph's was: both tensors,
// or tensor lists of the same length. When not, the replacement's is kept.
bool SameValStructure(const MetaValue& a, const MetaValue& b);

// Replacement node -> its value in the graph (a node, or the literal a
// placeholder bound). A vector: replacements have a handful of nodes. Inline
// because the in-place stream fills one per match on the hot path.
class ValMap {
 public:
  void emplace(const Node* key, Argument value) {
    entries_.emplace_back(key, std::move(value));
  }
  const Argument& at(const Node* key) const {
    for (const auto& e : entries_) {
      if (e.first == key) return e.second;
    }
    REWIRE_CHECK(false);  // every replacement node precedes its users
    return entries_.front().second;
  }
  void clear() { entries_.clear(); }
  bool HasNodeValue(const Node* n) const {
    for (const auto& e : entries_) {
      if (e.second.is_node() && e.second.node() == n) return true;
    }
    return false;
  }

 private:
  std::vector<std::pair<const Node*, Argument>> entries_;
};

// The arguments replacement node `r` gets in the graph: its own, with
// placeholders and replacement nodes substituted, then the literals carried
// over from pattern node `p`'s match (preserve_literals, literal_bindings).
void BuildArguments(const Node* r, const Node* p, const InternalMatch& m,
                    const ReplaceOptions& options, const ValMap& val_map,
                    std::vector<Argument>* args, std::vector<Kwarg>* kwargs);

// Runs the caller's filters; counts a rejection in `result`.
bool PassesFilters(const ReplaceOptions& options, const InternalMatch& m,
                   const Graph& graph, const Graph& pattern,
                   ReplaceResult* result);

// A literal binding must name a call of the replacement with that argument,
// and a literal the match met; the two halves are checked separately because
// the in-place stream knows its replacement before it sees any match.
absl::Status CheckBindingTarget(const Graph& replacement,
                                const LiteralBinding& b);
absl::Status CheckBindingSource(const InternalMatch& m,
                                const LiteralBinding& b);

// The first node operand of new arguments for `g` that is `g` itself or
// comes after it ("" when none): rewriting `g` in place with them would use
// a value before it is defined.
std::string FirstOperandNotBefore(const std::vector<Argument>& args,
                                  const std::vector<Kwarg>& kwargs,
                                  const Node* g);

// The skip reported when FirstOperandNotBefore found `undefined`.
SkippedMatch RewrittenNodeUsesUndefined(std::string anchor,
                                        absl::string_view undefined);

// Fills record->nodes_map when options.record_node_maps asks for it.
void RecordNodesMap(const InternalMatch& m, const ReplaceOptions& options,
                    ReplacedPattern* record);

}  // namespace replace_internal
}  // namespace rewire

#endif  // REWIRE_REWRITE_REPLACE_COMMON_H_
