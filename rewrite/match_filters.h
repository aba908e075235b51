// The match filters a rules file names (rewrite/rules_file.h): predicates
// over one match, each a MatchFilter for ReplacePatternWithFilters or the
// pattern driver, looked up by name so that users who write rules in text,
// from the CLI or the C API, can restrict where a rule applies without
// writing C++.
//
//   single_use         each graph node matched by a returning pattern node
//                      is read exactly once (one argument slot of one
//                      node): a fusion that must not duplicate work for
//                      other readers
//   same_device        every tensor "val" of the matched nodes and of the
//                      nodes bound to placeholders is on one device
//   static_shapes      no such "val" has a symbolic dim
//   not_training_form  no matched node is in training form: none draws
//                      random numbers, carries a training flag that is True
//                      or an attention dropout_p other than 0
//                      (ModeDependentReason, rewrite/mode_constructs.h)
#ifndef REWIRE_REWRITE_MATCH_FILTERS_H_
#define REWIRE_REWRITE_MATCH_FILTERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rewrite/replace_pattern.h"

namespace rewire {

// The filter called `name`; InvalidArgument listing the known names if none.
absl::StatusOr<MatchFilter> BuiltinMatchFilter(absl::string_view name);

// The known names, in the order above.
std::vector<std::string> BuiltinMatchFilterNames();

}  // namespace rewire

#endif  // REWIRE_REWRITE_MATCH_FILTERS_H_
