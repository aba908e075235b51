// Whole-file reads and atomic whole-file writes, the one way rewire touches
// the files it loads and produces (models, .npy arrays, .dot graphs, rendered
// images, bridge outputs). Reads accept regular files only and stop at a size
// cap, so a FIFO, a device such as /dev/zero or a huge file cannot block or
// exhaust memory. Writes go to a hidden temporary file in the destination's
// directory which is written, flushed and renamed over the destination, so a
// failure at any point (unwritable directory, full disk, killed process)
// leaves an existing destination exactly as it was and never a half-written
// file. New files get the mode open(2) would give them (0666 minus the
// umask). Errors are absl::Status values that name the path and say why.
#ifndef REWIRE_BASE_FILE_H_
#define REWIRE_BASE_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rewire {

// Large enough for any model rewire handles (protobuf itself stops at 2 GiB),
// small enough that a mistaken path fails instead of exhausting memory.
inline constexpr int64_t kDefaultMaxFileBytes = int64_t{4} << 30;

// The bytes of the regular file `path`. NotFound / PermissionDenied from
// open(2); InvalidArgument for a directory, FIFO, socket or device;
// ResourceExhausted (naming the limit) when the file exceeds `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(
    const std::string& path, int64_t max_bytes = kDefaultMaxFileBytes);

// Replaces `path` with `bytes` atomically (see the file comment). On error
// the temporary is removed and `path` is untouched.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes);

// The first half of WriteFileAtomic, for callers that rename several files
// into place together (base/file_set.h): `bytes` written, flushed and closed
// in a new hidden file next to `path`, whose name is returned. On error
// nothing is left behind.
absl::StatusOr<std::string> WriteTempFileNextTo(const std::string& path,
                                                absl::string_view bytes);

// For output another program writes itself (Graphviz): a new, empty, hidden
// file next to `path` with the mode WriteFileAtomic would give `path`. The
// caller fills it, then calls RenameOver or removes it.
absl::StatusOr<std::string> CreateTempFileNextTo(const std::string& path);

// rename(temp, path); on failure removes `temp` and leaves `path` as it was.
absl::Status RenameOver(const std::string& temp, const std::string& path);

// The directory part of `path` ("." when there is none, "/" for a file in
// the root) and its last component, without touching the file system.
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);

// The status for errno `err` from `what` ("cannot open", ...) on `path`:
// NotFound, PermissionDenied, ResourceExhausted (full disk or quota),
// InvalidArgument (a directory where a file is expected) or Unknown, with the
// path and strerror in the message. The status carries `err` as a payload
// (ErrnoOf), so callers can tell a failed system call from bad contents
// whatever code it maps to.
absl::Status ErrnoError(int err, absl::string_view what,
                        absl::string_view path);
// The errno an ErrnoError status carries; nullopt for any other status.
std::optional<int> ErrnoOf(const absl::Status& status);

// 0666 & ~umask, the mode open(2) gives a new file. The mask comes from
// /proc/self/status (022 when that is unreadable) because umask(2) can only be
// read by setting it, which would race with other threads creating files.
mode_t NewFileMode();

}  // namespace rewire

#endif  // REWIRE_BASE_FILE_H_
