#include "pt2/zip_archive.h"

#include <zip.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace rewire {
namespace pt2 {
namespace {

std::string LibzipMessage(zip_error_t* error) {
  return zip_error_strerror(error);
}

zip_t* AsZip(void* p) { return static_cast<zip_t*>(p); }

}  // namespace

std::string EntryNameProblem(absl::string_view name) {
  if (name.empty()) return "an empty entry name";
  if (name.front() == '/') return "an absolute entry name";
  if (name.find('\\') != absl::string_view::npos) {
    return "a backslash in an entry name";
  }
  if (name.find('\0') != absl::string_view::npos) {
    return "a NUL in an entry name";
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part == "..") return "a '..' component in an entry name";
  }
  return "";
}

void ZipReader::Closer::operator()(void* archive) const {
  if (archive != nullptr) zip_discard(AsZip(archive));
}

ZipReader::ZipReader(ZipReader&&) noexcept = default;
ZipReader& ZipReader::operator=(ZipReader&&) noexcept = default;
ZipReader::~ZipReader() = default;

absl::StatusOr<ZipReader> ZipReader::Open(absl::string_view bytes,
                                          absl::string_view what,
                                          const ZipLimits& limits) {
  ZipReader r;
  r.what_ = std::string(what);
  auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
  };
  // libzip reads an empty buffer as an empty archive; a real one has at
  // least its end-of-central-directory record.
  constexpr size_t kEndOfCentralDirectoryBytes = 22;
  if (bytes.size() < kEndOfCentralDirectoryBytes) {
    return fail(absl::StrCat("not a zip archive (", bytes.size(), " bytes)"));
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source =
      zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    std::string m = LibzipMessage(&error);
    zip_error_fini(&error);
    return fail(absl::StrCat("not a zip archive (", m, ")"));
  }
  zip_t* archive = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS,
                                        &error);
  if (archive == nullptr) {
    const bool duplicate = zip_error_code_zip(&error) == ZIP_ER_EXISTS;
    std::string m = LibzipMessage(&error);
    zip_error_fini(&error);
    zip_source_free(source);
    if (duplicate) return fail("an entry name appears twice");
    return fail(absl::StrCat("not a readable zip archive (", m, ")"));
  }
  zip_error_fini(&error);
  r.archive_.reset(archive);

  const zip_int64_t n = zip_get_num_entries(archive, 0);
  if (n < 0) return fail("cannot count its entries");
  if (n > limits.max_entries) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, ": ", n, " entries, over the limit of ", limits.max_entries));
  }
  int64_t total = 0;
  r.names_.reserve(static_cast<size_t>(n));
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW,
                       &st) != 0 ||
        (st.valid & ZIP_STAT_NAME) == 0 || (st.valid & ZIP_STAT_SIZE) == 0) {
      return fail(absl::StrCat("entry ", i, " cannot be read"));
    }
    const std::string name = st.name;
    const std::string shown = absl::CHexEscape(name);
    if (std::string problem = EntryNameProblem(name); !problem.empty()) {
      return fail(absl::StrCat("entry '", shown, "': ", problem));
    }
    if ((st.valid & ZIP_STAT_COMP_METHOD) != 0 &&
        st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
      return fail(absl::StrCat("entry '", shown, "': compression method ",
                               st.comp_method,
                               " (only stored and deflate are read)"));
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 &&
        st.encryption_method != ZIP_EM_NONE) {
      return fail(absl::StrCat("entry '", shown, "' is encrypted"));
    }
    if (st.size > static_cast<zip_uint64_t>(limits.max_entry_bytes)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": entry '", shown, "' declares ", st.size,
          " bytes, over the limit of ", limits.max_entry_bytes));
    }
    total += static_cast<int64_t>(st.size);
    if (total > limits.max_total_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          what, ": entries declare more than ", limits.max_total_bytes,
          " bytes in all"));
    }
    if (!r.index_
             .emplace(name, Entry{static_cast<uint64_t>(i),
                                  static_cast<int64_t>(st.size)})
             .second) {
      return fail(absl::StrCat("entry '", shown, "' appears twice"));
    }
    r.names_.push_back(name);
  }
  return r;
}

int64_t ZipReader::SizeOf(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second.size;
}

absl::StatusOr<std::string> ZipReader::Read(absl::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    return absl::NotFoundError(
        absl::StrCat(what_, ": no entry '", absl::CHexEscape(name), "'"));
  }
  const std::string shown = absl::CHexEscape(name);
  zip_file_t* f = zip_fopen_index(AsZip(archive_.get()), it->second.index, 0);
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what_, ": entry '", shown, "' cannot be opened (",
                     zip_strerror(AsZip(archive_.get())), ")"));
  }
  const size_t size = static_cast<size_t>(it->second.size);
  // One byte more than declared, so that a stream that expands past its
  // declared size is caught rather than truncated.
  std::string data(size + 1, '\0');
  size_t got = 0;
  while (got < data.size()) {
    zip_int64_t n = zip_fread(f, &data[got], data.size() - got);
    if (n < 0) {
      std::string m = zip_file_strerror(f);
      zip_fclose(f);
      return absl::InvalidArgumentError(absl::StrCat(
          what_, ": entry '", shown, "' is corrupt (", m, ")"));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  zip_fclose(f);
  if (got != size) {
    return absl::InvalidArgumentError(absl::StrCat(
        what_, ": entry '", shown, "' holds ", got > size ? "more" : "fewer",
        " bytes than the ", size, " it declares"));
  }
  data.resize(size);
  return data;
}

absl::Status ZipWriter::Add(absl::string_view name, std::string bytes) {
  if (std::string problem = EntryNameProblem(name); !problem.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zip entry '", absl::CHexEscape(name), "': ", problem));
  }
  if (!index_.emplace(std::string(name), entries_.size()).second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zip entry '", absl::CHexEscape(name), "' added twice"));
  }
  entries_.emplace_back(std::string(name), std::move(bytes));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ZipWriter::Finish() {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (out == nullptr) {
    std::string m = LibzipMessage(&error);
    zip_error_fini(&error);
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create a zip archive: ", m));
  }
  // Kept after zip_close so that the written bytes can be read back.
  zip_source_keep(out);
  zip_t* archive = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  if (archive == nullptr) {
    std::string m = LibzipMessage(&error);
    zip_error_fini(&error);
    zip_source_free(out);
    zip_source_free(out);
    return absl::InternalError(absl::StrCat("cannot create a zip archive: ", m));
  }
  zip_error_fini(&error);
  auto abandon = [&](absl::string_view why) {
    std::string m = zip_strerror(archive);
    zip_discard(archive);
    zip_source_free(out);
    return absl::InternalError(absl::StrCat(why, ": ", m));
  };
  for (const auto& [name, bytes] : entries_) {
    zip_source_t* data =
        zip_source_buffer(archive, bytes.data(), bytes.size(), 0);
    if (data == nullptr) return abandon("cannot add a zip entry");
    const zip_int64_t index =
        zip_file_add(archive, name.c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(data);
      return abandon(absl::StrCat("cannot add zip entry '", name, "'"));
    }
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                                 ZIP_CM_STORE, 0) != 0) {
      return abandon(absl::StrCat("cannot store zip entry '", name, "'"));
    }
  }
  if (zip_close(archive) != 0) return abandon("cannot write the zip archive");
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(out, &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0 ||
      zip_source_open(out) != 0) {
    zip_source_free(out);
    return absl::InternalError("cannot read back the written zip archive");
  }
  std::string result(static_cast<size_t>(st.size), '\0');
  const zip_int64_t n = zip_source_read(out, result.data(), result.size());
  zip_source_close(out);
  zip_source_free(out);
  if (n != static_cast<zip_int64_t>(result.size())) {
    return absl::InternalError("cannot read back the written zip archive");
  }
  return result;
}

}  // namespace pt2
}  // namespace rewire
