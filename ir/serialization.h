// Conversion between ExportedModule and its protobuf form, and file I/O.
//
// Everything that reads bytes from outside the process is hostile input:
// ModuleFromProto verifies the whole proto (versions, names, references,
// order, arity and literal types against the schema registry, shapes, tensor
// sizes, configurable size limits) *before* building any IR, and reports the
// first problem as an absl::Status naming the node or tensor at fault. No
// input can crash, abort or recurse to a depth that grows with the graph: the
// graph is walked iteratively and list nesting is capped by LoadOptions (and
// protobuf's own recursion limit) before any recursive conversion.
//
// Saving is deterministic (the same module always gives the same bytes), so
// load(save(m)) saved again is bit-identical, and SaveModuleToFile is atomic:
// it writes a temporary file next to the destination and renames it over, so
// a failure never leaves a half-written or clobbered file behind.
//
// The readable IR text form (ir/text_format.h) is a separate module; these
// functions handle the two protobuf encodings only.
#ifndef REWIRE_IR_SERIALIZATION_H_
#define REWIRE_IR_SERIALIZATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "proto/graph.pb.h"

namespace rewire {

// The ir_version this code writes and the newest it reads.
inline constexpr uint32_t kCurrentIrVersion = 1;

enum class Format : uint8_t {
  kBinaryProto = 0,  // ".pb"
  kTextProto,        // ".pbtxt"
};

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
  // Rank of any state tensor or "val" tensor.
  int max_dims = 64;
};

// Verifies `proto` and builds the module. Errors name the node or tensor.
absl::StatusOr<ExportedModule> ModuleFromProto(const proto::GraphModule& proto,
                                               const LoadOptions& options = {});
// Infallible; strings are copied as they are (SerializeModule checks that
// they are UTF-8, as proto3 requires, before encoding).
proto::GraphModule ModuleToProto(const ExportedModule& module);

// Parses `bytes` in `format`, then ModuleFromProto.
absl::StatusOr<ExportedModule> LoadModuleFromBytes(
    absl::string_view bytes, Format format, const LoadOptions& options = {});
// The format comes from the extension: ".pb" binary, ".pbtxt" text; any
// other extension is an error. Reads regular files only, of at most
// `options.max_input_bytes` (base/file.h).
absl::StatusOr<ExportedModule> LoadModuleFromFile(
    const std::string& path, const LoadOptions& options = {});

// Deterministic serialization. Fails (naming the node or tensor) when a
// string is not valid UTF-8, which proto3 string fields cannot carry.
absl::StatusOr<std::string> SerializeModule(const ExportedModule& module,
                                            Format format);
// Atomic, with the umask-derived mode of a new file (base/file.h).
absl::Status SaveModuleToFile(const ExportedModule& module,
                              const std::string& path);

// The format for a file name (".pb" or ".pbtxt"), else InvalidArgument.
absl::StatusOr<Format> FormatFromPath(absl::string_view path);

}  // namespace rewire

#endif  // REWIRE_IR_SERIALIZATION_H_
