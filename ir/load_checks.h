// The limits and checks every loader applies to the graph it built, whatever
// the file format (`.pb`, `.pbtxt`, the readable text form, `.pt2`).
//
// Each format's parser checks only what it needs to build a graph safely (a
// bound on allocation before building, references before resolving them);
// everything a graph must satisfy to be accepted is decided here, once, on
// the in-memory graph: the LoadOptions limits, the node shapes the protobuf
// form can hold, strings that proto3 can carry, and then the verifier. So
// any graph a loader accepts saves in every format and loads back.
#ifndef REWIRE_IR_LOAD_CHECKS_H_
#define REWIRE_IR_LOAD_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/graph.h"

namespace rewire {

// Limits that bound the work and memory a hostile input can cause. The
// defaults accept any real model.
struct LoadOptions {
  // Serialized size. protobuf cannot parse a message over 2 GiB, so larger
  // values act as 2 GiB - 1.
  int64_t max_input_bytes = int64_t{2147483647};
  int64_t max_nodes = 50'000'000;
  // Sum of all state tensors' data.
  int64_t max_total_tensor_bytes = int64_t{16} << 30;
  // Deepest list-in-list nesting of one argument ([1] is depth 1).
  int max_list_nesting = 32;
  // Rank of any state tensor or metadata tensor ("val" and every other key).
  int max_dims = 64;
  // Metadata entries on one node. Exporters write about a dozen; the cap
  // keeps a file from making one node hold millions.
  int64_t max_meta_keys_per_node = 1024;
};

// OK when every string of `module` (names, targets, keyword names, string
// arguments, metadata keys, string values and symbols, tensor names) is
// UTF-8, as proto3 requires; else InvalidArgument naming the node or tensor.
absl::Status CheckStringsAreUtf8(const ExportedModule& module);

// The checks above, on a graph a loader just built: node count, metadata
// keys per node (ResourceExhausted), the rank and element count of
// every metadata tensor, placeholders with at most a default value,
// get_attr without arguments, then Verify, then UTF-8 strings.
// InvalidArgument otherwise, naming the node and the limit or problem.
absl::Status CheckLoadedModule(const ExportedModule& module,
                               const LoadOptions& options);

}  // namespace rewire

#endif  // REWIRE_IR_LOAD_CHECKS_H_
