// Model files of every format the program and the C API read and write:
// torch.export's .pt2 archives, rewire's binary and text protobufs, and the
// readable text form. One place decides the format of a path, so `rewire
// eval` and rewire_module_load_file accept the same files. A .pt2 is
// recognized by its content (a zip archive) whatever the file is called, so
// an archive saved as model.bin or model.pb still loads; the other formats
// are named by their extension.
#ifndef REWIRE_TOOLS_MODEL_FILES_H_
#define REWIRE_TOOLS_MODEL_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/load_checks.h"

namespace rewire {
namespace tools {

enum class ModelFileKind {
  kProto,    // .pb, .pbtxt
  kText,     // .txt, .rwir: the graph only, no state and no mode
  kPt2,      // .pt2
  kUnknown,  // any other extension
};

// The extension of the last path component including its dot (".pb"); ""
// when it has none or is a hidden name like ".bashrc".
absl::string_view PathExtension(absl::string_view path);

// The kind the extension of the last path component names.
ModelFileKind ModelKindOfPath(absl::string_view path);

// ".pb, .pbtxt, .pt2, .txt or .rwir", for messages.
extern const char kModelFormats[];

// Reads `path` once (a regular file of at most options.max_input_bytes) and
// loads it: as a .pt2 when its bytes are a zip archive, else by extension.
// Every format goes through the same checks (ir/load_checks.h). Errors name
// the file; a file that is neither a zip archive nor of a known extension is
// InvalidArgument listing the formats.
absl::StatusOr<ExportedModule> LoadModelFile(const std::string& path,
                                             const LoadOptions& options = {});

// Atomic; the format from the extension (unknown: InvalidArgument). The text
// form writes the graph only.
absl::Status SaveModelFile(const ExportedModule& module,
                           const std::string& path);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_MODEL_FILES_H_
