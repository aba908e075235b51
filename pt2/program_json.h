// The serialized ExportedProgram of a .pt2 archive (`models/<name>.json`,
// torch/_export/serde/schema.py, schema major version 8) translated into
// rewire's protobuf IR and back (program_json_write.cc), so that a .pt2 goes through the same checks as a
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
#include <utility>
#include <vector>

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

// The program has no node for a getitem, so the string metadata of the
// getitem nodes of a multi-output call (rewire's stash may sit on one) is
// kept in the call's metadata under this key, as a JSON object from output
// index to that getitem's entries; torch ignores the key.
inline constexpr char kGetitemMetadataKey[] = "rewire_getitem_metadata";

// JSON nesting deeper than this is refused before parsing (real programs
// stay below 20).
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

// The pieces of a .pt2 a module was read from that the writer keeps: every
// field of the program the IR does not model (range constraints, module
// call graph, verifiers, buffer persistence, metadata), and the payload file
// names of unchanged tensors. Null members: a program written from scratch.
struct OriginalProgram {
  const nlohmann::json* program = nullptr;
  const nlohmann::json* weights = nullptr;    // <model>_weights_config.json
  const nlohmann::json* constants = nullptr;  // <model>_constants_config.json
};

// What a .pt2 holds for one program.
struct ProgramFiles {
  nlohmann::json program;
  nlohmann::json weights_config;
  nlohmann::json constants_config;
  // Payloads by path relative to the archive's directory
  // ("data/weights/weight_0"), raw little-endian bytes.
  std::vector<std::pair<std::string, std::string>> payloads;
};

// The inverse of ProgramToProto: getitem nodes fold into their producer's
// outputs (unread outputs get `<node>_unused_<i>`), trailing
// `copy_(placeholder, value)` nodes become mutation outputs, lifted state
// becomes input specs and payloads. Arguments are named by rewire's schema
// for the op, else by the original program's node of the same name;
// Unimplemented for an op with neither.
absl::StatusOr<ProgramFiles> ProtoToProgram(const proto::GraphModule& module,
                                            const OriginalProgram& original,
                                            absl::string_view what);

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_PROGRAM_JSON_H_
