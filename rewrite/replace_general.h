// The general path of ReplacePatternWithFilters, internal to
// //rewrite:replace_pattern: collect every match, check each against its
// replacement (which a callback may build per match), and only then change
// the graph, inserting replacement nodes and erasing matched ones, or
// rewriting the matched nodes' arguments when the replacement is in place.
// It handles every rewrite; the streamed in-place path (replace_in_place.h)
// is a faster route to the same result for the rewrites it is eligible for,
// which is why this one is reachable on its own (the differential test runs
// both on copies of a graph and compares).
#ifndef REWIRE_REWRITE_REPLACE_GENERAL_H_
#define REWIRE_REWRITE_REPLACE_GENERAL_H_

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "rewrite/replace_common.h"
#include "rewrite/replace_pattern.h"

namespace rewire {
namespace replace_internal {

// Applies `prep` with its fixed replacement, or with `fn` (non-null exactly
// when prep.fixed is null). All-or-nothing: every input-dependent check runs
// before the graph is touched.
absl::StatusOr<ReplaceResult> RunGeneral(Graph& graph,
                                         const PreparedRewrite& prep,
                                         const ReplacementFn* fn,
                                         const ReplaceOptions& options);

}  // namespace replace_internal
}  // namespace rewire

#endif  // REWIRE_REWRITE_REPLACE_GENERAL_H_
