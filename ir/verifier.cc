#include "ir/verifier.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/printable.h"
#include "ir/argument.h"
#include "ir/metadata.h"
#include "ir/schema.h"

namespace rewire {
namespace {

// Exported graphs pass Python numbers where a schema says Tensor (PyTorch
// wraps them into 0-dim tensors): `aten.add_.Tensor(%num_batches_tracked, 1)`
// is what torch.export records for BatchNorm, so it must verify.
bool IsWrappedNumber(const SchemaType& type, const Argument& value) {
  using K = Argument::Kind;
  return type.base == SchemaType::Base::kTensor && !type.is_list &&
         (value.kind() == K::kInt || value.kind() == K::kDouble ||
          value.kind() == K::kBool);
}

class Checker {
 public:
  Checker(const Graph& graph, const VerifyOptions& options)
      : graph_(graph), options_(options) {}

  std::vector<VerifierProblem> Run();

 private:
  // False once max_problems is reached, so callers can stop early.
  bool Report(const Node* node, std::string message) {
    if (full()) return false;
    problems_.push_back(
        VerifierProblem{node == nullptr ? "" : node->name(), std::move(message)});
    return !full();
  }
  bool full() const {
    return options_.max_problems != 0 &&
           problems_.size() >= options_.max_problems;
  }

  void CheckReferences(const Node* node, size_t index);
  void CheckUses(const Node* node);
  void CheckSchema(const Node* node);
  void CheckGetitem(const Node* node);
  void CheckMetadata(const Node* node);
  void CheckTensor(const Node* node, const TensorMeta& t,
                   absl::string_view where);
  // Outputs of `producer`: from its schema, else from its "val" tuple; -1
  // when unknown.
  int64_t NumOutputs(const Node* producer) const;

  const Graph& graph_;
  const VerifyOptions& options_;
  // Position of each node in list order: a reference must point to a
  // smaller position than its user.
  absl::flat_hash_map<const Node*, size_t> position_;
  std::vector<VerifierProblem> problems_;
};

std::vector<VerifierProblem> Checker::Run() {
  // Pass 1: collect the nodes, guarding against a corrupted list (cycle or
  // foreign node) so the walk always terminates.
  std::vector<const Node*> nodes;
  nodes.reserve(graph_.size());
  const Node* prev = nullptr;
  for (const Node* n = graph_.first(); n != nullptr; n = n->next()) {
    if (position_.contains(n)) {
      Report(n, "node list contains a cycle");
      break;
    }
    if (n->graph() != &graph_) {
      Report(n, "node belongs to another graph");
    }
    if (n->prev() != prev) Report(n, "broken node list (prev link)");
    position_.emplace(n, nodes.size());
    nodes.push_back(n);
    prev = n;
  }
  if (nodes.size() != graph_.size()) {
    Report(nullptr, absl::StrCat("graph size is ", graph_.size(), " but ",
                                 nodes.size(), " nodes are linked"));
  }
  if (graph_.last() != prev) Report(nullptr, "graph's last node is not the list's tail");

  // Pass 2: per-node checks.
  absl::flat_hash_set<absl::string_view> names;
  names.reserve(nodes.size());
  bool seen_non_placeholder = false;
  const Node* output = nullptr;
  for (size_t i = 0; i < nodes.size() && !full(); ++i) {
    const Node* n = nodes[i];
    if (n->name().empty()) {
      Report(n, "node has an empty name");
    } else if (!names.insert(n->name()).second) {
      Report(n,
             absl::StrCat("duplicate node name '", Printable(n->name()), "'"));
    }
    if (n->is_placeholder()) {
      if (seen_non_placeholder) {
        Report(n, "placeholder after other nodes (placeholders come first)");
      }
    } else {
      seen_non_placeholder = true;
    }
    if (n->is_output()) {
      if (output != nullptr) {
        Report(n, absl::StrCat("second output node (the first is %",
                               Printable(output->name()), ")"));
      } else {
        output = n;
      }
      if (i + 1 != nodes.size()) Report(n, "output node is not the last node");
    }
    if ((n->is_placeholder() || n->is_get_attr()) &&
        n->target().qualified.empty()) {
      Report(n, absl::StrCat(OpKindName(n->op()), " without a target"));
    }
    CheckReferences(n, i);
    CheckUses(n);
    if (n->is_call()) {
      if (n->target().is_getitem) {
        CheckGetitem(n);
      } else if (n->target().schema != nullptr) {
        if (options_.check_schemas) CheckSchema(n);
      } else if (options_.report_unknown_ops) {
        Report(n, absl::StrCat("no schema registered for ",
                               Printable(n->target().qualified)));
      }
    }
    if (options_.check_metadata) CheckMetadata(n);
  }
  if (output == nullptr) {
    Report(nullptr, "graph has no output node");
  } else if (graph_.output() != output) {
    Report(output, "graph's output() is not this output node");
  }
  return std::move(problems_);
}

void Checker::CheckReferences(const Node* node, size_t index) {
  auto check = [&](Node* ref) {
    auto it = position_.find(ref);
    if (it == position_.end()) {
      // Do not dereference: the pointer may dangle.
      Report(node, "argument refers to a node that is not in this graph");
    } else if (ref == node) {
      Report(node, "node uses itself as an argument");
    } else if (it->second > index) {
      Report(node, absl::StrCat("argument %", Printable(ref->name()),
                                " is defined after its use"));
    }
  };
  for (const Argument& a : node->args()) a.ForEachNode(check);
  for (const Kwarg& kw : node->kwargs()) kw.value.ForEachNode(check);
}

void Checker::CheckUses(const Node* node) {
  // Operand slots recorded by the graph must match the arguments.
  size_t slot = 0;
  bool mismatch = false;
  auto visit = [&](Node* ref) {
    if (slot >= node->num_operands() || node->operand(slot) != ref) {
      mismatch = true;
    }
    ++slot;
  };
  for (const Argument& a : node->args()) a.ForEachNode(visit);
  for (const Kwarg& kw : node->kwargs()) kw.value.ForEachNode(visit);
  if (mismatch || slot != node->num_operands()) {
    Report(node, "recorded operands disagree with the arguments");
  }
  for (const Use& u : node->uses()) {
    if (!position_.contains(u.user)) {
      Report(node, "has a use by a node that is not in this graph");
    } else if (u.slot >= u.user->num_operands() ||
               u.user->operand(u.slot) != node) {
      Report(node, absl::StrCat("recorded use by %", Printable(u.user->name()),
                                " slot ", u.slot, " is stale"));
    }
  }
}

void Checker::CheckSchema(const Node* node) {
  const OpSchema& schema = *node->target().schema;
  absl::StatusOr<NormalizedArgs> norm =
      NormalizeArguments(schema, node->args(), node->kwargs());
  if (!norm.ok()) {
    Report(node, std::string(norm.status().message()));
    return;
  }
  for (size_t i = 0; i < schema.arguments.size(); ++i) {
    if (norm->source[i] == -1) continue;  // Defaults come from the schema.
    const SchemaArgument& arg = schema.arguments[i];
    const Argument& value = norm->values[i];
    if (!arg.type.Accepts(value) && !IsWrappedNumber(arg.type, value)) {
      Report(node, absl::StrCat(
                       schema.QualifiedName(), ": argument '", arg.name,
                       "' of type ", arg.type.ToString(), " does not accept ",
                       Argument::KindName(value.kind()), " ",
                       value.DebugString()));
    }
  }
}

int64_t Checker::NumOutputs(const Node* producer) const {
  if (producer->is_call() && producer->target().schema != nullptr) {
    const OpSchema& s = *producer->target().schema;
    if (s.num_returns() != 1 || !s.returns[0].type.is_list) {
      return s.num_returns();
    }
  }
  const MetaValue* val = producer->meta().val();
  if (val != nullptr && val->is_tensor_list()) {
    return static_cast<int64_t>(val->tensors().size());
  }
  return -1;
}

void Checker::CheckGetitem(const Node* node) {
  const auto& args = node->args();
  if (args.size() != 2 || !node->kwargs().empty() || !args[0].is_node() ||
      args[1].kind() != Argument::Kind::kInt) {
    Report(node, "getitem takes exactly (node, int) arguments");
    return;
  }
  const Node* producer = args[0].node();
  if (!position_.contains(producer)) return;  // Reported as a reference.
  int64_t n = NumOutputs(producer);
  int64_t index = args[1].as_int();
  // Only a tuple producer has a known range; getitem of a single-output op
  // would index the tensor itself.
  const bool tuple_producer =
      n > 1 || (producer->meta().val() != nullptr &&
                producer->meta().val()->is_tensor_list());
  if (n >= 0 && tuple_producer && (index < -n || index >= n)) {
    Report(node,
           absl::StrCat("getitem index ", index, " is out of range: %",
                        Printable(producer->name()), " has ", n, " outputs"));
  }
}

void Checker::CheckTensor(const Node* node, const TensorMeta& t,
                          absl::string_view where) {
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (!t.shape[d].is_symbolic() && t.shape[d].value < 0) {
      Report(node, absl::StrCat(where, ": dim ", d, " is negative (",
                                t.shape[d].value, ")"));
    }
  }
  if (!t.strides.empty() && t.strides.size() != t.shape.size()) {
    Report(node, absl::StrCat(where, ": ", t.strides.size(),
                              " strides for a rank-", t.shape.size(),
                              " tensor"));
  }
}

void Checker::CheckMetadata(const Node* node) {
  // Tensors under every key, not only "val": each is saved and loaded back.
  for (const Metadata::Entry& e : node->meta().entries()) {
    if (e.key.empty()) Report(node, "metadata entry with an empty key");
    const std::string where = absl::StrCat("\"", Printable(e.key), "\"");
    if (e.value.is_tensor()) {
      CheckTensor(node, e.value.tensor(), where);
    } else if (e.value.is_tensor_list()) {
      const MetaValue::TensorList& ts = e.value.tensors();
      for (size_t k = 0; k < ts.size(); ++k) {
        if (ts[k].has_value()) {
          CheckTensor(node, *ts[k], absl::StrCat(where, "[", k, "]"));
        }
      }
    }
  }
  const MetaValue* val = node->meta().val();
  if (val == nullptr) return;
  if (val->is_tensor_list()) {
    const MetaValue::TensorList& ts = val->tensors();
    if (node->is_call() && node->target().schema != nullptr) {
      int n = node->target().schema->num_returns();
      if (n > 1 && static_cast<size_t>(n) != ts.size()) {
        Report(node, absl::StrCat("\"val\" has ", ts.size(),
                                  " entries but the op returns ", n,
                                  " values"));
      }
    }
  }
}

}  // namespace

std::string VerifierProblem::ToString() const {
  if (node.empty()) return message;
  return absl::StrCat("%", Printable(node), ": ", message);
}

std::vector<VerifierProblem> VerifyGraph(const Graph& graph,
                                         const VerifyOptions& options) {
  Checker checker(graph, options);
  return checker.Run();
}

absl::Status Verify(const Graph& graph, const VerifyOptions& options) {
  std::vector<VerifierProblem> problems = VerifyGraph(graph, options);
  if (problems.empty()) return absl::OkStatus();
  constexpr size_t kShown = 50;
  std::string message = absl::StrCat("graph verification failed with ",
                                     problems.size(), " problem",
                                     problems.size() == 1 ? "" : "s", ":");
  for (size_t i = 0; i < problems.size() && i < kShown; ++i) {
    absl::StrAppend(&message, "\n  ", problems[i].ToString());
  }
  if (problems.size() > kShown) {
    absl::StrAppend(&message, "\n  ... and ", problems.size() - kShown,
                    " more");
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace rewire
