// The files `rewire run -o DIR` writes: one .npy array per non-None output,
// named after the node the output node returns. Names are made safe and
// distinct before anything is written, so that `return (%a, %a_2, %a)` gives
// three files rather than one overwriting another, and the whole set is
// written as one change (base/file_set.h): a failure on any output leaves
// DIR, or its absence, exactly as it was.
#ifndef REWIRE_TOOLS_RUN_OUTPUTS_H_
#define REWIRE_TOOLS_RUN_OUTPUTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/file_set.h"
#include "kernels/executor.h"

namespace rewire {
namespace tools {

// How the run's report and files call output `index`: its node's name, or
// "output_<index>" for a literal.
std::string OutputLabel(size_t index, absl::string_view node_name);

// `name` with every character outside [A-Za-z0-9_.-] replaced by '_', and an
// 'o' in front of an empty or hidden (leading '.') result.
std::string SafeFileName(absl::string_view name);

// File stems, one per label and in order, pairwise distinct: SafeFileName of
// the label, except that a stem already claimed (by an earlier output, or by
// any output's own label) gets "_<index>" appended, then "_<k>" until free.
// The first output with a name keeps it.
std::vector<std::string> DistinctFileStems(absl::Span<const std::string> labels);

// Writes the outputs as `<stem>.npy` into the directory `writer` was opened
// on and commits. Callers open the writer before the run, so that an
// unusable -o is reported before the work rather than after it. Returns the path written for each output, "" for a None
// output. On error nothing is visible.
absl::StatusOr<std::vector<std::string>> WriteOutputs(
    FileSetWriter& writer, absl::Span<const NamedTensor> outputs);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_RUN_OUTPUTS_H_
