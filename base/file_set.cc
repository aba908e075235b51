#include "base/file_set.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/file.h"
#include "base/file_faults.h"

namespace rewire {
namespace {

std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The mode mkdir(2) would give a new directory: NewFileMode() with an execute
// bit wherever it has a read bit (0755 under the usual umask 022), since
// mkdtemp creates 0700 and the umask's execute bits cannot be read back.
mode_t NewDirectoryMode() {
  const mode_t file_mode = NewFileMode();
  return file_mode | ((file_mode & 0444) >> 2);
}

// Durability of the renames; a failure here loses nothing already visible,
// so it is not reported.
void SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace

absl::StatusOr<FileSetWriter> FileSetWriter::Open(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("empty output directory name");
  }
  std::string dir = WithoutTrailingSlashes(path);
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output directory '", dir, "' exists and is not a directory"));
    }
    return FileSetWriter(std::move(dir), "");
  }
  if (errno != ENOENT) return ErrnoError(errno, "cannot inspect", dir);
  const std::string parent = DirName(dir);
  if (stat(parent.c_str(), &st) != 0) {
    return ErrnoError(errno, "cannot create a directory in", parent);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(
        "cannot create output directory '", dir, "': '", parent,
        "' is not a directory"));
  }
  // Created on the first Add, so that a writer opened before a computation
  // that then fails leaves nothing behind even if it is never destroyed.
  std::string staging =
      absl::StrCat(parent, "/.", BaseName(dir), ".tmp.XXXXXX");
  return FileSetWriter(std::move(dir), std::move(staging));
}

FileSetWriter::FileSetWriter(FileSetWriter&& other) noexcept
    : dir_(std::move(other.dir_)),
      staging_dir_(std::move(other.staging_dir_)),
      staging_created_(other.staging_created_),
      entries_(std::move(other.entries_)),
      done_(other.done_) {
  other.entries_.clear();
  other.staging_created_ = false;
  other.done_ = true;
}

FileSetWriter::~FileSetWriter() {
  if (!done_) Abandon();
}

void FileSetWriter::Abandon() {
  for (const Entry& e : entries_) unlink(e.temp.c_str());
  entries_.clear();
  if (staging_created_) {
    rmdir(staging_dir_.c_str());
    staging_created_ = false;
  }
  done_ = true;
}

absl::Status FileSetWriter::Add(absl::string_view name,
                                absl::string_view bytes) {
  absl::Status s = Stage(name, bytes);
  if (!s.ok() && !done_) Abandon();
  return s;
}

absl::Status FileSetWriter::Stage(absl::string_view name,
                                  absl::string_view bytes) {
  if (done_) {
    return absl::FailedPreconditionError(
        absl::StrCat("output set for '", dir_, "' already committed"));
  }
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != absl::string_view::npos ||
      name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output file name '", absl::CHexEscape(name), "' is not a plain file name"));
  }
  for (const Entry& e : entries_) {
    if (e.name == name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output file '", name, "' added twice to '", dir_, "'"));
    }
  }
  std::string in_dir;
  if (!staging_dir_.empty()) {
    if (!staging_created_) {
      if (file_faults::Mkdtemp(&staging_dir_[0]) == nullptr) {
        return ErrnoError(errno, "cannot create a directory next to", dir_);
      }
      staging_created_ = true;
      if (chmod(staging_dir_.c_str(), NewDirectoryMode()) != 0) {
        return ErrnoError(errno, "cannot set the mode of", dir_);
      }
    }
    in_dir = staging_dir_;
  } else {
    in_dir = dir_;
    const std::string dest = absl::StrCat(dir_, "/", name);
    struct stat st;
    if (lstat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot write '", dest, "': it is a directory"));
    }
  }
  absl::StatusOr<std::string> temp =
      WriteTempFileNextTo(absl::StrCat(in_dir, "/", name), bytes);
  if (!temp.ok()) {
    // The staging path alone would not tell the user which output failed.
    return absl::Status(temp.status().code(),
                        absl::StrCat("output '", dir_, "/", name,
                                     "': ", temp.status().message()));
  }
  entries_.push_back(Entry{std::string(name), *std::move(temp)});
  return absl::OkStatus();
}

std::vector<std::string> FileSetWriter::Paths() const {
  std::vector<std::string> paths;
  paths.reserve(entries_.size());
  for (const Entry& e : entries_) {
    paths.push_back(absl::StrCat(dir_, "/", e.name));
  }
  return paths;
}

absl::Status FileSetWriter::Commit() {
  if (done_) {
    return absl::FailedPreconditionError(
        absl::StrCat("output set for '", dir_, "' already committed"));
  }
  if (!staging_dir_.empty()) {
    if (!staging_created_) {
      // Nothing was added: the (empty) directory is still the result asked
      // for.
      if (file_faults::Mkdir(dir_.c_str(), NewDirectoryMode()) != 0 && errno != EEXIST) {
        absl::Status s = ErrnoError(errno, "cannot create directory", dir_);
        Abandon();
        return s;
      }
      done_ = true;
      return absl::OkStatus();
    }
    // Final names inside the staging directory, then the directory whole.
    for (Entry& e : entries_) {
      std::string final_name = absl::StrCat(staging_dir_, "/", e.name);
      if (file_faults::Rename(e.temp.c_str(), final_name.c_str()) != 0) {
        absl::Status s =
            ErrnoError(errno, "cannot write", absl::StrCat(dir_, "/", e.name));
        Abandon();
        return s;
      }
      e.temp = std::move(final_name);
    }
    SyncDirectory(staging_dir_);
    if (file_faults::Rename(staging_dir_.c_str(), dir_.c_str()) != 0) {
      absl::Status s =
          ErrnoError(errno, "cannot rename the staged outputs to", dir_);
      Abandon();
      return s;
    }
    SyncDirectory(DirName(dir_));
    done_ = true;
    return absl::OkStatus();
  }

  // An existing directory: rename file by file, able to undo.
  struct Replaced {
    std::string dest;
    std::string backup;  // empty when `dest` did not exist
  };
  std::vector<Replaced> replaced;
  replaced.reserve(entries_.size());
  // Puts back what the renames so far replaced and removes the temporaries
  // of entries `first_pending` on.
  auto undo = [&](size_t first_pending, absl::Status cause) {
    for (auto it = replaced.rbegin(); it != replaced.rend(); ++it) {
      if (it->backup.empty()) {
        unlink(it->dest.c_str());
      } else {
        rename(it->backup.c_str(), it->dest.c_str());
      }
    }
    for (size_t j = first_pending; j < entries_.size(); ++j) {
      unlink(entries_[j].temp.c_str());
    }
    done_ = true;
    return cause;
  };
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    Replaced r{absl::StrCat(dir_, "/", e.name), ""};
    bool moved_aside = false;
    struct stat st;
    if (lstat(r.dest.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        // Became a directory since Add: never moved aside or replaced.
        return undo(i, absl::InvalidArgumentError(absl::StrCat(
                           "cannot write '", r.dest, "': it is a directory")));
      }
      // The temporary's name is unique in the directory, so is this one.
      r.backup = absl::StrCat(e.temp, ".old");
      if (file_faults::Link(r.dest.c_str(), r.backup.c_str()) != 0) {
        const int err = errno;
        if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS &&
            err != EMLINK) {
          r.backup.clear();
          return undo(i, ErrnoError(err, "cannot keep the old", r.dest));
        }
        // A file system without hard links: move the old file aside
        // instead (it is missing for the moment until the rename below).
        if (file_faults::Rename(r.dest.c_str(), r.backup.c_str()) != 0) {
          return undo(i, ErrnoError(errno, "cannot keep the old", r.dest));
        }
        moved_aside = true;
      }
    }
    if (file_faults::Rename(e.temp.c_str(), r.dest.c_str()) != 0) {
      absl::Status s = ErrnoError(errno, "cannot rename a temporary over",
                                  r.dest);
      if (moved_aside) {
        rename(r.backup.c_str(), r.dest.c_str());
      } else if (!r.backup.empty()) {
        // A second link to the unchanged file: rename(2) between two links
        // of one file does nothing, so it must be unlinked.
        unlink(r.backup.c_str());
      }
      return undo(i, std::move(s));
    }
    replaced.push_back(std::move(r));
  }
  for (const Replaced& r : replaced) {
    if (!r.backup.empty()) unlink(r.backup.c_str());
  }
  SyncDirectory(dir_);
  done_ = true;
  return absl::OkStatus();
}

}  // namespace rewire
