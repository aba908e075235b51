// Loading the .pt2 archives torch.export.save writes (archive format "pt2",
// ExportedProgram schema major version 8, weights stored raw, not pickled)
// as an ExportedModule, through the same ModuleFromProto checks and limits
// as a .pb. The archive holds one program (`<archive>/models/model.json`);
// its parameters, buffers and constants come from `data/weights/` and
// `data/constants/`, each checked against the size its tensor_meta gives.
// Refused with an error naming the entry: pickled tensors, non-contiguous
// or offset weight storage, a byte order other than little-endian, archives
// with several programs, and everything program_json.h refuses.
#ifndef REWIRE_PT2_PT2_READER_H_
#define REWIRE_PT2_PT2_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"

namespace rewire {
namespace pt2 {

// Keys of ExportedModule::source_files() a loaded .pt2 fills: the
// archive's top-level directory ("name/"), the program's name ("model"),
// and under kSourceEntry + relative path every entry but the tensor
// payloads (the program JSON, the weights and constants configs, sample
// inputs, version files, extra files).
inline constexpr char kSourcePrefix[] = "pt2.prefix";
inline constexpr char kSourceModel[] = "pt2.model";
inline constexpr char kSourceEntry[] = "pt2/";

// The archive entry (relative to its directory) where rewire records the
// module's train/eval mode, which torch's program has no field for:
// {"mode": "train" | "eval"}. torch.export.load reads it as an extra file.
inline constexpr char kModeEntry[] = "extra/rewire.json";

// Whether `bytes` start like a zip archive (a .pt2 whatever its name).
bool LooksLikeZip(absl::string_view bytes);

// `what` (a file name) prefixes every error.
absl::StatusOr<ExportedModule> LoadPt2FromBytes(
    absl::string_view bytes, absl::string_view what,
    const LoadOptions& options = {});

// Reads a regular file of at most options.max_input_bytes (base/file.h).
absl::StatusOr<ExportedModule> LoadPt2File(const std::string& path,
                                           const LoadOptions& options = {});

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_PT2_READER_H_
