// Writes several files into one directory as a single change, for outputs
// that belong together (the arrays of one `rewire run -o DIR`): after a
// failure at any point before Commit returns OK, the directory and every file
// in it are exactly as they were, and a directory that did not exist still
// does not. A new directory is staged as a hidden sibling and renamed into
// place whole; in an existing one each file is written to a hidden temporary
// next to its destination, and Commit renames them all, keeping a hard link
// to every file it replaces until the last rename succeeded so that a failed
// rename can put the earlier ones back. Files of the directory that are not
// part of the set are left alone. Not safe for two writers of one directory
// at once (the last Commit wins file by file).
#ifndef REWIRE_BASE_FILE_SET_H_
#define REWIRE_BASE_FILE_SET_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rewire {

class FileSetWriter {
 public:
  // Checks `dir` and prepares the staging area; creates nothing visible.
  // InvalidArgument when `dir` exists and is not a directory; NotFound when
  // its parent does not exist.
  static absl::StatusOr<FileSetWriter> Open(const std::string& dir);

  FileSetWriter(FileSetWriter&& other) noexcept;
  FileSetWriter& operator=(FileSetWriter&&) = delete;
  FileSetWriter(const FileSetWriter&) = delete;
  FileSetWriter& operator=(const FileSetWriter&) = delete;
  // Without a successful Commit, removes everything staged.
  ~FileSetWriter();

  // Stages `bytes` as the file `name` of the directory (written and flushed
  // now, visible only after Commit). `name` must be a plain file name (no
  // '/', not "." or "..") not added before, and must not name an existing
  // directory. An error abandons the whole set: everything staged is removed
  // at once and Commit then fails, so a caller that returns on the error
  // leaves no temporary behind even while the writer lives on.
  absl::Status Add(absl::string_view name, absl::string_view bytes);

  // Makes every added file visible at once (see the file comment). At most
  // once; after an error nothing of the set is visible or left staged.
  absl::Status Commit();

  // "DIR/name" for each added file, in order.
  std::vector<std::string> Paths() const;

 private:
  struct Entry {
    std::string name;
    std::string temp;  // the staged file's path
  };
  FileSetWriter(std::string dir, std::string staging_dir)
      : dir_(std::move(dir)), staging_dir_(std::move(staging_dir)) {}
  absl::Status Stage(absl::string_view name, absl::string_view bytes);
  void Abandon();

  std::string dir_;
  // Non-empty when `dir_` did not exist: the hidden sibling that Commit
  // renames to `dir_`.
  std::string staging_dir_;
  bool staging_created_ = false;
  std::vector<Entry> entries_;
  bool done_ = false;
};

}  // namespace rewire

#endif  // REWIRE_BASE_FILE_SET_H_
