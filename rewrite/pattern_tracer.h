// PatternTracer: builds rewrite patterns by "calling" functional ops on
// symbolic values, the C++ counterpart of pt2e's `_WrapperModule` +
// `_get_aten_graph_module_for_pattern`.
//
// Upstream exports a small Python function with the same exporter as the
// model, so the pattern comes out in the model's op spelling. rewire has no
// exporter; instead each op in `functional` knows how every exporter
// spells it (the table in SEMANTICS.md §2) and emits that spelling for the
// tracer's Dialect and device. Every node gets a "val" computed from the
// example shapes by simple shape rules, so patterns look like exported graphs
// and per-match replacements can be traced with the match's own shapes.
//
// Errors are sticky: a bad call records the first error and returns an
// invalid TracedTensor; Finish reports it. Nothing throws and nothing recurses.
//
// Input mutations (Note [Core ATen batch norm copies]): the core-ATen batch
// norm writes its new running stats back with `aten.copy_.default(rm, new)`.
// Upstream erases such copy_ nodes from the pattern, which leaves the
// functional node with outside users (getitem 3/4 -> copy_) in every real
// graph, so containment rejects every match. Finish therefore keeps them by
// default, as extra pattern outputs, so the pattern matches real graphs.
#ifndef REWIRE_REWRITE_PATTERN_TRACER_H_
#define REWIRE_REWRITE_PATTERN_TRACER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/argument.h"
#include "ir/graph.h"
#include "ir/metadata.h"
#include "ir/types.h"
#include "rewrite/dialect.h"

namespace rewire {

// Dialect, DialectName and ParseDialect are in rewrite/dialect.h.

// A symbolic tensor: a node of the graph being traced. Default-constructed
// (or returned after an error) it is invalid.
class TracedTensor {
 public:
  TracedTensor() = default;
  explicit TracedTensor(Node* node) : node_(node) {}
  Node* node() const { return node_; }
  bool valid() const { return node_ != nullptr; }
  // The traced "val" tensor, or nullptr.
  const TensorMeta* meta() const;

 private:
  Node* node_ = nullptr;
};

// What Finish does with the `copy_` nodes the functional ops recorded as
// writes into their inputs (see the file comment).
enum class InputMutations : uint8_t {
  // Append them to the outputs: the pattern contains them and matches real
  // core-ATen graphs (default).
  kReturnAsOutputs = 0,
  // Leave them in the graph as side-effecting nodes, not outputs: a
  // replacement that must write the running stats back.
  kKeepAsSideEffects,
  // Erase them and the code only they used, as upstream does.
  kErase,
};

class PatternTracer {
 public:
  explicit PatternTracer(Dialect dialect, Device device = Device::Cpu());
  PatternTracer(const PatternTracer&) = delete;
  PatternTracer& operator=(const PatternTracer&) = delete;

  Dialect dialect() const { return dialect_; }
  const Device& device() const { return device_; }
  // Upstream's `is_cuda`: example inputs live on CUDA, which changes the
  // pre-dispatch batch norm spelling (cudnn_batch_norm).
  bool is_cuda() const { return device_.is_cuda(); }

  // A placeholder with `example` as its "val" (moved to the tracer's device
  // when that is CUDA, as upstream moves example inputs).
  TracedTensor Input(absl::string_view name, TensorMeta example);

  // A call of `target` with these arguments; "val" follows the shape rules
  // of the ops in SEMANTICS.md §2 (the first tensor argument's shape for
  // elementwise ops and unknown single-output ops). Recording an error when
  // the target has a schema and the arguments do not normalize.
  TracedTensor Call(absl::string_view target, std::vector<Argument> args,
             std::vector<Kwarg> kwargs = {});
  // getitem(tuple, index) with the index-th element's "val".
  TracedTensor GetItem(TracedTensor tuple, int index);
  // Records `aten.copy_.default(dst, src)` as a write into an input (see
  // InputMutations) and returns it.
  TracedTensor CopyInto(TracedTensor dst, TracedTensor src);

  // Adds the output node (`outputs` in order, then the recorded copies when
  // kReturnAsOutputs), removes dead code, and hands over the graph. The
  // tracer is spent afterwards. Returns the first recorded error, if any.
  absl::StatusOr<std::unique_ptr<Graph>> Finish(
      const std::vector<TracedTensor>& outputs,
      InputMutations mutations = InputMutations::kReturnAsOutputs);

  // The first error recorded so far (OK if none).
  const absl::Status& status() const { return status_; }
  Graph& graph() { return *graph_; }

 private:
  void RecordError(absl::Status s);

  Dialect dialect_;
  Device device_;
  std::unique_ptr<Graph> graph_;
  std::vector<Node*> mutations_;
  absl::Status status_;
  bool finished_ = false;
};

// Functional ops (torch.nn.functional counterparts) emitting the spelling of
// the tracer's dialect.
namespace functional {

// F.dropout(x, p, training, inplace). Training IR and pre-dispatch:
// `aten.dropout(_).default(x, p, train)`. Core ATen: train
// `native_dropout(x, p, True)` + getitem 0, eval (or p == 0) `clone(x)`.
// make_fx: train `empty_like` -> `bernoulli_.float(_, 1-p)` ->
// `div_.Scalar(_, 1-p)` -> `mul.Tensor(x, _)`; eval returns `x` (no node).
TracedTensor Dropout(PatternTracer& t, TracedTensor x, double p = 0.5, bool train = true,
              bool inplace = false);

// make_fx's decomposed training dropout with the exact literals the
// exporter wrote: keep probability for bernoulli_ (nullopt: left to the
// schema default, as make_fx prints it for p = 0.5) and the divisor.
TracedTensor MakeFxDropout(PatternTracer& t, TracedTensor x, std::optional<double> keep,
                    double divisor);

// F.batch_norm(x, running_mean, running_var, weight, bias, training,
// momentum, eps); any of the four state tensors may be absent (None). See
// SEMANTICS.md §2 for the spelling per dialect; pre-dispatch on CUDA uses
// cudnn_batch_norm when weight, bias and running stats are all present (as
// PyTorch's dispatch does), and `_native_batch_norm_legit.no_stats` stands
// for batch norm without running stats outside the training IR.
// `cudnn_enabled` only exists in the training IR's `aten.batch_norm`.
TracedTensor BatchNorm(PatternTracer& t, TracedTensor x, std::optional<TracedTensor> running_mean,
                std::optional<TracedTensor> running_var, std::optional<TracedTensor> weight,
                std::optional<TracedTensor> bias, bool training,
                double momentum = 0.1, double eps = 1e-5,
                bool cudnn_enabled = true);

}  // namespace functional

}  // namespace rewire

#endif  // REWIRE_REWRITE_PATTERN_TRACER_H_
