// Conversion between ExportedModule and its protobuf form, and file I/O in
// every model format (the two protobuf encodings and the readable text form).
//
// Everything that reads bytes from outside the process is hostile input:
// ModuleFromProto checks the proto (versions, names, references, order,
// kinds, tensor sizes, configurable size limits) *before* building any IR,
// then every loader runs the same checks on what it built
// (CheckLoadedModule, ir/load_checks.h: limits, schemas, shapes, UTF-8), and
// reports the first problem as an absl::Status naming the node or tensor at
// fault. So whatever a loader accepts saves in every format and loads back. No
// input can crash, abort or recurse to a depth that grows with the graph: the
// graph is walked iteratively and list nesting is capped by LoadOptions (and
// protobuf's own recursion limit) before any recursive conversion.
//
// Saving is deterministic (the same module always gives the same bytes), so
// load(save(m)) saved again is bit-identical, and SaveModuleToFile is atomic:
// it writes a temporary file next to the destination and renames it over, so
// a failure never leaves a half-written or clobbered file behind.
//
// The readable text form (ir/text_format.h) holds the graph only: saving a
// module in it drops state tensors and mode, and loading gives a module in
// training mode without tensors.
#ifndef REWIRE_IR_SERIALIZATION_H_
#define REWIRE_IR_SERIALIZATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/load_checks.h"
#include "proto/graph.pb.h"

namespace rewire {

// The ir_version this code writes and the newest it reads.
inline constexpr uint32_t kCurrentIrVersion = 1;

enum class Format : uint8_t {
  kBinaryProto = 0,  // ".pb"
  kTextProto,        // ".pbtxt"
  kText,             // ".txt" or ".rwir": the readable text form, graph only
};

// LoadOptions (the limits every loader applies) is in ir/load_checks.h.

// Verifies `proto` and builds the module. Errors name the node or tensor.
absl::StatusOr<ExportedModule> ModuleFromProto(const proto::GraphModule& proto,
                                               const LoadOptions& options = {});
// Infallible; strings are copied as they are (SerializeModule checks that
// they are UTF-8, as proto3 requires, before encoding).
proto::GraphModule ModuleToProto(const ExportedModule& module);

// Parses `bytes` in `format`, then ModuleFromProto.
absl::StatusOr<ExportedModule> LoadModuleFromBytes(
    absl::string_view bytes, Format format, const LoadOptions& options = {});
// The format comes from the extension (FormatFromPath); any other extension
// is an error. Reads regular files only, of at most
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

// The format for a file name (".pb", ".pbtxt", ".txt" or ".rwir"), else
// InvalidArgument.
absl::StatusOr<Format> FormatFromPath(absl::string_view path);

}  // namespace rewire

#endif  // REWIRE_IR_SERIALIZATION_H_
