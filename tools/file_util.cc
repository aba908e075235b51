// Implementation notes: POSIX calls (open/write/fsync/rename) rather than
// std::ofstream, because atomicity needs the temp file in the same directory
// (rename is atomic only within a file system) and errno for messages that
// say why a write failed.
#include "tools/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rewire {
namespace tools {
namespace {

absl::Status ErrnoError(int err, absl::string_view what,
                        absl::string_view path) {
  std::string msg = absl::StrCat(what, " '", path, "': ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             int64_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ErrnoError(err, "cannot stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is a directory, not a file"));
  }
  if (st.st_size > max_bytes) {
    close(fd);
    return absl::ResourceExhaustedError(absl::StrCat(
        "'", path, "' is ", st.st_size, " bytes, over the limit of ",
        max_bytes));
  }
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ErrnoError(err, "cannot read", path);
    }
    if (n == 0) break;
    if (static_cast<int64_t>(data.size()) + n > max_bytes) {
      close(fd);
      return absl::ResourceExhaustedError(
          absl::StrCat("'", path, "' is over the limit of ", max_bytes,
                       " bytes"));
    }
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

absl::StatusOr<std::string> MakeTempFileNextTo(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("empty output file name");
  }
  std::string tmpl =
      absl::StrCat(DirOf(path), "/.", BaseOf(path), ".tmp.XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = mkstemp(buf.data());
  if (fd < 0) return ErrnoError(errno, "cannot write", path);
  close(fd);
  return std::string(buf.data());
}

absl::Status CommitTempFile(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) {
    int err = errno;
    unlink(from.c_str());
    return ErrnoError(err, "cannot replace", to);
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes) {
  if (path.empty()) {
    return absl::InvalidArgumentError("empty output file name");
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': it is a directory"));
  }
  std::string tmpl =
      absl::StrCat(DirOf(path), "/.", BaseOf(path), ".tmp.XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = mkstemp(buf.data());
  if (fd < 0) return ErrnoError(errno, "cannot write", path);
  const std::string tmp(buf.data());
  auto fail = [&](int err, absl::string_view what) {
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError(err, what, path);
  };
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "cannot write");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // mkstemp creates 0600; give the file the usual umask-derived mode.
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  if (fsync(fd) != 0) return fail(errno, "cannot flush");
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoError(err, "cannot write", path);
  }
  return CommitTempFile(tmp, path);
}

std::string Extension(absl::string_view path) {
  size_t slash = path.rfind('/');
  absl::string_view base =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == absl::string_view::npos || dot == 0) return "";
  return std::string(base.substr(dot));
}

}  // namespace tools
}  // namespace rewire
