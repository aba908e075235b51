// Whole-file reads and atomic writes for the rewire program and the C API.
//
// Every file the tools produce (models, .npy arrays, .dot graphs, rendered
// images) goes through WriteFileAtomic: the bytes land in a temporary file in
// the destination's directory, which is flushed and then renamed over the
// destination. A failure at any point (unwritable directory, full disk,
// killed process) therefore leaves an existing destination exactly as it was
// and never a half-written file, so scripts can trust that a file either holds
// a complete result or is the old one. Errors name the file.
#ifndef REWIRE_TOOLS_FILE_UTIL_H_
#define REWIRE_TOOLS_FILE_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rewire {
namespace tools {

// The file's bytes; NotFound / PermissionDenied / InvalidArgument (a
// directory) naming the path. Refuses files larger than `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(
    const std::string& path, int64_t max_bytes = int64_t{4} << 30);

// Temp file next to `path`, then rename(). On error the temp file is removed
// and `path` is untouched.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes);

// A fresh temporary path in the directory of `path` (created empty, so the
// name is reserved); the caller renames or removes it. Used where another
// program (Graphviz) must write the data itself.
absl::StatusOr<std::string> MakeTempFileNextTo(const std::string& path);

// rename(from, to) with an error naming both; removes `from` on failure.
absl::Status CommitTempFile(const std::string& from, const std::string& to);

// The final path component's extension including the dot (".pb"), or "".
std::string Extension(absl::string_view path);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_FILE_UTIL_H_
