// The serialized ExportedProgram of a .pt2 archive (`models/<name>.json`,
// torch/_export/serde/schema.py, schema major version 8) translated into
// rewire's protobuf IR, so that a .pt2 goes through the same checks as a
// .pb (ModuleFromProto) and nothing downstream knows where it came from.
//
// The translation follows torch.export's own deserializer where the two
// representations differ: a node with several outputs becomes the call plus
// one getitem node per output (except the placeholders the serializer
// invents, `<node>_unused_<i>`, for outputs the FX graph never read);
// signature inputs become lifted placeholders bound to named parameters,
// buffers and constants; buffer, parameter and user-input mutations, which
// the functional dialects return as extra outputs, become
// `aten.copy_.default(target, value)` before the output node, so the executor
// updates the state in place (as rewire's Python bridge does). What rewire's
// IR cannot hold (higher-order ops and their subgraphs, custom objects,
// tokens, symbolic inputs, complex literals) is refused with Unimplemented
// naming the node, never dropped.
#ifndef REWIRE_PT2_PROGRAM_JSON_H_
#define REWIRE_PT2_PROGRAM_JSON_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "proto/graph.pb.h"

namespace rewire {
namespace pt2 {

// The schema major version read, and the newest minor version this code
// was written against (newer minors are read: they only add fields).
inline constexpr int kSchemaMajor = 8;
inline constexpr int kSchemaMinorKnown = 20;

// JSON nesting deeper than this is refused while parsing (real programs stay
// below 20).
inline constexpr int kMaxJsonDepth = 256;

// Parses JSON text; errors name `what` and the byte offset.
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         absl::string_view what);

// A state tensor's bytes, by its fully qualified name ("bn.running_mean"),
// the kind of input that feeds it ("parameter", "buffer",
// "tensor_constant") and the byte size its signature entry gives (dtype and
// shape in tensor_values), which the bytes must have.
using StateBytesFn = std::function<absl::StatusOr<std::string>(
    const std::string& fqn, const std::string& kind, int64_t bytes)>;

// Translates `program` (a parsed model.json) into a GraphModule whose
// tensors carry their bytes from `state_bytes`. State tensors whose sizes
// add up to more than `max_state_bytes` are refused (ResourceExhausted)
// before `state_bytes` is asked for them.
absl::StatusOr<proto::GraphModule> ProgramToProto(
    const nlohmann::json& program, const StateBytesFn& state_bytes,
    int64_t max_state_bytes, absl::string_view what);

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_PROGRAM_JSON_H_
