// Graphviz output for `rewire dot`: the graph as a digraph whose nodes are
// coloured by op family and whose edges carry the producer's shape.
//
// The point of the picture is train/eval debugging, so dropout and batch norm
// nodes that run in training form (a true `train`/`training` argument, or an
// op that only exists in training form such as bernoulli_ or native_dropout)
// get a thick red border and a "TRAIN" tag: an eval-mode model with red left
// in it is the bug `model.eval()` on an exported graph silently produces.
#ifndef REWIRE_TOOLS_DOT_H_
#define REWIRE_TOOLS_DOT_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"

namespace rewire {
namespace tools {

// "conv", "norm", "dropout", "activation", "shape", "elementwise", "input",
// "state", "output", "other" (placeholders are "input" unless `is_state`).
std::string OpFamily(const Node& node, bool is_state);

// Whether a dropout or batch norm node computes its training form: nullopt
// for other ops.
std::optional<bool> IsTrainingForm(const Node& node);

// The digraph text. `is_state(name)` says whether a placeholder is a lifted
// parameter or buffer (drawn differently from real inputs).
std::string GraphToDot(const Graph& graph,
                       const std::function<bool(absl::string_view)>& is_state);

// Where `dot` lives on PATH, or "" when Graphviz is not installed.
std::string FindGraphvizDot();

// Runs `dot -T<format> dot_file -o out` (no shell) and waits; the output is
// written to a temp file and renamed, so `out` is replaced atomically.
absl::Status RenderDot(const std::string& dot_binary,
                       const std::string& dot_text, absl::string_view format,
                       const std::string& out);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_DOT_H_
