// The zip container of torch.export's .pt2 archives, over libzip: a reader
// that treats the archive as hostile and a writer of stored (uncompressed)
// entries, which is what torch.export.save writes.
//
// The reader refuses, naming the archive and the entry: archives libzip finds
// inconsistent (ZIP_CHECKCONS: truncated, overlapping or misdeclared
// entries), more entries than the limit, entry names that are empty, absolute,
// contain a ".." component, a backslash or a NUL, duplicate names, methods
// other than stored and deflate, encrypted entries, and declared sizes over
// the per-entry or total limit. Read() never returns more or fewer bytes than
// the entry declares (a deflate stream that expands past its declared size,
// a zip bomb, is an error after at most one byte more) and libzip checks each
// entry's CRC.
#ifndef REWIRE_PT2_ZIP_ARCHIVE_H_
#define REWIRE_PT2_ZIP_ARCHIVE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rewire {
namespace pt2 {

struct ZipLimits {
  int64_t max_entries = 1'000'000;
  int64_t max_entry_bytes = int64_t{4} << 30;
  // Sum of the declared sizes of all entries.
  int64_t max_total_bytes = int64_t{16} << 30;
};

class ZipReader {
 public:
  // Reads the directory of the archive held in `bytes`, which must outlive
  // the reader. `what` (a file name) prefixes every error.
  static absl::StatusOr<ZipReader> Open(absl::string_view bytes,
                                        absl::string_view what,
                                        const ZipLimits& limits = {});
  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;
  ~ZipReader();

  // Entry names in archive order.
  const std::vector<std::string>& names() const { return names_; }
  bool Contains(absl::string_view name) const {
    return index_.contains(name);
  }
  // The declared (uncompressed) size; -1 for a missing entry.
  int64_t SizeOf(absl::string_view name) const;
  // The entry's bytes. NotFound naming the entry when it is missing.
  absl::StatusOr<std::string> Read(absl::string_view name) const;

 private:
  struct Entry {
    uint64_t index;
    int64_t size;
  };
  struct Closer {
    void operator()(void* archive) const;
  };
  ZipReader() = default;

  std::string what_;
  std::unique_ptr<void, Closer> archive_;  // zip_t*
  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, Entry> index_;
};

// Collects entries and produces the archive's bytes, every entry stored, in
// the order added. Names are checked as the reader checks them.
class ZipWriter {
 public:
  absl::Status Add(absl::string_view name, std::string bytes);
  absl::StatusOr<std::string> Finish();

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  absl::flat_hash_map<std::string, size_t> index_;
};

// Why `name` is not acceptable as an entry name ("" when it is).
std::string EntryNameProblem(absl::string_view name);

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_ZIP_ARCHIVE_H_
