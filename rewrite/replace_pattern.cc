#include "rewrite/replace_pattern.h"

#include "absl/status/statusor.h"
#include "ir/status_macros.h"
#include "rewrite/replace_common.h"
#include "rewrite/replace_general.h"
#include "rewrite/replace_in_place.h"

namespace rewire {
namespace {

// The streamed in-place path when it applies (replace_in_place.h), else the
// general one (replace_general.h); the two give the same result wherever
// the first applies.
absl::StatusOr<ReplaceResult> Run(Graph& graph, const Graph& pattern,
                                  const Graph* fixed, const ReplacementFn* fn,
                                  const ReplaceOptions& options) {
  ASSIGN_OR_RETURN(replace_internal::PreparedRewrite prep,
                   replace_internal::Prepare(pattern, fixed, options));
  if (replace_internal::StreamEligible(prep)) {
    return replace_internal::RunInPlaceStream(graph, prep, options);
  }
  return replace_internal::RunGeneral(graph, prep, fn, options);
}

}  // namespace

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const Graph& replacement,
    const ReplaceOptions& options) {
  return Run(graph, pattern, &replacement, nullptr, options);
}

absl::StatusOr<ReplaceResult> ReplacePatternWithFilters(
    Graph& graph, const Graph& pattern, const ReplacementFn& replacement,
    const ReplaceOptions& options) {
  return Run(graph, pattern, nullptr, &replacement, options);
}

}  // namespace rewire
