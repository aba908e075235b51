// POSIX calls (open/read/write/fsync/rename) rather than iostreams, because
// refusing FIFOs needs fstat on the descriptor that is read, atomicity needs
// the temporary in the destination's directory (rename is atomic only within
// one file system), and useful messages need errno.
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/file_faults.h"
#include "base/printable.h"

namespace rewire {
namespace {

// Closes `fd` on every path out of a function.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  // Closes now, for callers that must see close()'s error (buffered write
  // errors on some file systems surface only there). `path` is for fault
  // injection (base/file_faults.h).
  int Close(const char* path = "") {
    int rc = file_faults::Close(fd_, path);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

absl::string_view KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// mkstemp in the directory of `path` under a hidden name, so listings and
// globs over the directory do not pick up a half-written file. Sets *fd.
absl::StatusOr<std::string> MakeHiddenTemp(const std::string& path, int* fd) {
  if (path.empty()) return absl::InvalidArgumentError("empty output file name");
  std::string name =
      absl::StrCat(DirName(path), "/.", BaseName(path), ".tmp.XXXXXX");
  *fd = file_faults::Mkostemp(&name[0], O_CLOEXEC);
  if (*fd < 0) {
    return ErrnoError(errno, "cannot create a temporary file next to", path);
  }
  // mkstemp creates 0600; the result should look like any other new file.
  if (fchmod(*fd, NewFileMode()) != 0) {
    int err = errno;
    close(*fd);
    unlink(name.c_str());
    return ErrnoError(err, "cannot set the mode of a temporary file next to",
                      path);
  }
  return name;
}

}  // namespace

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

namespace {
constexpr char kErrnoPayload[] = "type.rewire/errno";

absl::Status ErrnoCode(int err, std::string msg) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(msg);
    case EISDIR:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::UnknownError(msg);
  }
}
}  // namespace

absl::Status ErrnoError(int err, absl::string_view what,
                        absl::string_view path) {
  absl::Status s =
      ErrnoCode(err, absl::StrCat(what, " '", Printable(path),
                                  "': ", std::strerror(err)));
  s.SetPayload(kErrnoPayload, absl::Cord(absl::StrCat(err)));
  return s;
}

std::optional<int> ErrnoOf(const absl::Status& status) {
  auto p = status.GetPayload(kErrnoPayload);  // absl::optional, not std::
  int err = 0;
  if (!p.has_value() || !absl::SimpleAtoi(std::string(*p), &err)) return std::nullopt;
  return err;
}

mode_t NewFileMode() {
  mode_t mask = 022;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    // The "Umask:" line is within the first few hundred bytes.
    char buf[4096];
    ssize_t n;
    do {
      n = read(fd, buf, sizeof(buf));
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n > 0) {
      for (absl::string_view line :
           absl::StrSplit(absl::string_view(buf, static_cast<size_t>(n)),
                          '\n')) {
        if (!absl::ConsumePrefix(&line, "Umask:")) continue;
        line = absl::StripAsciiWhitespace(line);
        mode_t value = 0;
        bool valid = !line.empty() && line.size() <= 4;
        for (char c : line) {
          if (c < '0' || c > '7') valid = false;
          value = value * 8 + static_cast<mode_t>(c - '0');
        }
        if (valid) mask = value & 0777;
        break;
      }
    }
  }
  return 0666 & ~mask;
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes) {
  // O_NONBLOCK so that opening a FIFO with no writer returns at once and can
  // be refused below instead of blocking forever.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", Printable(path),
                     "': ", KindOf(st.st_mode), ", not a regular file"));
  }
  auto too_big = [&]() {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot read '", Printable(path),
                     "': it is over the limit of ", max_bytes, " bytes"));
  };
  if (st.st_size > max_bytes) return too_big();
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot read", path);
    }
    if (n == 0) break;
    // The file may have grown since fstat.
    if (static_cast<int64_t>(data.size()) + n > max_bytes) return too_big();
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<std::string> CreateTempFileNextTo(const std::string& path) {
  int fd = -1;
  absl::StatusOr<std::string> name = MakeHiddenTemp(path, &fd);
  if (name.ok()) close(fd);
  return name;
}

absl::Status RenameOver(const std::string& temp, const std::string& path) {
  if (file_faults::Rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(temp.c_str());
    return ErrnoError(err, "cannot rename the temporary file over", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WriteTempFileNextTo(const std::string& path,
                                                absl::string_view bytes) {
  int fd = -1;
  absl::StatusOr<std::string> temp = MakeHiddenTemp(path, &fd);
  if (!temp.ok()) return temp.status();
  FdCloser closer(fd);
  auto fail = [&](int err, absl::string_view what) {
    closer.Close();
    unlink(temp->c_str());
    return ErrnoError(err, what, path);
  };
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = file_faults::Write(fd, p, left, temp->c_str());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "cannot write");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (file_faults::Fsync(fd, temp->c_str()) != 0) {
    return fail(errno, "cannot flush");
  }
  if (closer.Close(temp->c_str()) != 0) {
    int err = errno;
    unlink(temp->c_str());
    return ErrnoError(err, "cannot write", path);
  }
  return temp;
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes) {
  absl::StatusOr<std::string> temp = WriteTempFileNextTo(path, bytes);
  if (!temp.ok()) return temp.status();
  return RenameOver(*temp, path);
}

}  // namespace rewire
