// The graph verifier: checks the invariants every pass may rely on.
//
// Loaders run it on untrusted input and rewrite pipelines run it after each
// pass (XLA's invariant checker), so it reports every problem it finds rather
// than stopping at the first, and each problem names its node. It never
// trusts the structure it checks: references are validated against a map of
// the graph's own nodes before they are followed. Iterative and linear in the
// graph size (plus the argument count); a million-node chain is routine.
//
// Checks:
//  - structure: every node belongs to this graph; names are non-empty and
//    unique; placeholders come first; exactly one output node, last, and it
//    is the graph's output(); the users recorded by the graph agree with the
//    arguments (Note [Operand slots] in graph.h).
//  - references: every node argument refers to a node of this graph defined
//    earlier (no self, forward or dangling references).
//  - schemas: for ops in the schema registry, arguments normalize
//    (NormalizeArguments: arity, keywords, required arguments) and every
//    value's kind fits the schema type (SchemaType::Accepts: `1` for a bool,
//    a string for a float, a literal where a Tensor is expected...).
//  - getitem: args are (node, int), no kwargs, and the index is within the
//    producer's outputs (schema returns, else the length of its "val" tuple).
//  - metadata: keys are non-empty; tensors (under "val" and every other key)
//    have non-negative concrete dims and as many strides as dims when
//    strides are recorded; a multi-output op's "val" tuple has one entry per
//    schema return.
//  - optionally (`report_unknown_ops`) call targets without a schema.
#ifndef REWIRE_IR_VERIFIER_H_
#define REWIRE_IR_VERIFIER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ir/graph.h"

namespace rewire {

struct VerifyOptions {
  // Report call_function targets (other than getitem) with no registered
  // schema. Off by default: graphs may hold ops rewire does not know.
  bool report_unknown_ops = false;
  // Check arguments of known ops against their schemas.
  bool check_schemas = true;
  // Check "val" metadata.
  bool check_metadata = true;
  // Stop after this many problems (0: no limit). The walk itself stays
  // linear either way.
  size_t max_problems = 0;
};

struct VerifierProblem {
  // The node's name ("" for problems of the graph as a whole).
  std::string node;
  std::string message;
  // "%node: message" (or just the message for graph-level problems).
  std::string ToString() const;
};

// All problems found, in graph order; empty when the graph is valid.
std::vector<VerifierProblem> VerifyGraph(const Graph& graph,
                                         const VerifyOptions& options = {});

// OK, or InvalidArgument listing every problem (the first 50 in full, then a
// count), one per line.
absl::Status Verify(const Graph& graph, const VerifyOptions& options = {});

}  // namespace rewire

#endif  // REWIRE_IR_VERIFIER_H_
