// The streamed in-place path of ReplacePatternWithFilters, internal to
// //rewrite:replace_pattern. It exists for the train/eval switch: a fixed
// replacement with the pattern's exact node set (ReplacementShape::in_place)
// and one compute node, such as the flip of a `training` literal, visits
// every batch norm and dropout of a million-node model, and storing an
// InternalMatch per site, then inserting and erasing nodes, dominated that
// switch. Here each match becomes an edit of the matched node while the
// matcher runs. Its result must equal the general path's
// (replace_general.h) on every rewrite it is eligible for; the differential
// test holds the two to that.
#ifndef REWIRE_REWRITE_REPLACE_IN_PLACE_H_
#define REWIRE_REWRITE_REPLACE_IN_PLACE_H_

#include "absl/status/statusor.h"
#include "ir/graph.h"
#include "rewrite/replace_common.h"
#include "rewrite/replace_pattern.h"

namespace rewire {
namespace replace_internal {

// Whether `prep` can be applied by RunInPlaceStream: a fixed in-place
// replacement, a pattern with one compute node (its matches never overlap
// and arrive in graph order) and no more replacement placeholders than the
// pattern binds.
bool StreamEligible(const PreparedRewrite& prep);

// Applies a StreamEligible rewrite; all-or-nothing like the general path.
absl::StatusOr<ReplaceResult> RunInPlaceStream(Graph& graph,
                                               const PreparedRewrite& prep,
                                               const ReplaceOptions& options);

}  // namespace replace_internal
}  // namespace rewire

#endif  // REWIRE_REWRITE_REPLACE_IN_PLACE_H_
