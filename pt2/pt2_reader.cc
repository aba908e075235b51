#include "pt2/pt2_reader.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "ir/status_macros.h"
#include "pt2/program_json.h"
#include "pt2/serde_codes.h"
#include "pt2/zip_archive.h"

namespace rewire {
namespace pt2 {
namespace {

using json = nlohmann::json;

// The entries of one archive: "<prefix>archive_format" and the rest.
class Archive {
 public:
  Archive(const ZipReader& zip, std::string prefix, std::string what)
      : zip_(zip), prefix_(std::move(prefix)), what_(std::move(what)) {}

  absl::StatusOr<std::string> Read(absl::string_view relative) const {
    return zip_.Read(absl::StrCat(prefix_, relative));
  }
  bool Has(absl::string_view relative) const {
    return zip_.Contains(absl::StrCat(prefix_, relative));
  }
  const std::string& prefix() const { return prefix_; }
  const std::string& what() const { return what_; }

  // The config JSON `relative`, or an empty config when the archive has
  // none (an archive without constants may omit it).
  absl::StatusOr<json> Config(absl::string_view relative) const {
    if (!Has(relative)) return json::object({{"config", json::object()}});
    ASSIGN_OR_RETURN(std::string text, Read(relative));
    return ParseJson(text, absl::StrCat(what_, ": ", prefix_, relative));
  }

 private:
  const ZipReader& zip_;
  std::string prefix_;
  std::string what_;
};

// The state tensor `fqn`'s bytes from a weights or constants config.
absl::StatusOr<std::string> StateBytes(const Archive& archive,
                                       const json& config,
                                       absl::string_view directory,
                                       const std::string& fqn) {
  const std::string where =
      absl::StrCat(archive.what(), ": ", archive.prefix(), directory,
                   " entry for '", absl::CHexEscape(fqn), "'");
  auto configs = config.find("config");
  if (configs == config.end() || !configs->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": the config has no 'config' object"));
  }
  auto entry = configs->find(fqn);
  if (entry == configs->end() || !entry->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": missing"));
  }
  auto field = [&](const char* key) -> const json* {
    auto it = entry->find(key);
    return it == entry->end() ? nullptr : &*it;
  };
  const json* pickle = field("use_pickle");
  if (pickle != nullptr && pickle->is_boolean() && pickle->get<bool>()) {
    return absl::UnimplementedError(absl::StrCat(
        where, ": stored with use_pickle: true (rewire reads raw tensors "
        "only)"));
  }
  const json* path = field("path_name");
  const json* meta = field("tensor_meta");
  if (path == nullptr || !path->is_string() || meta == nullptr ||
      !meta->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": needs 'path_name' and 'tensor_meta'"));
  }
  // Elements and contiguity from the tensor_meta.
  int64_t numel = 1;
  std::vector<int64_t> sizes, strides;
  auto ints = [&](const char* key, std::vector<int64_t>& out) -> bool {
    auto it = meta->find(key);
    if (it == meta->end() || !it->is_array()) return false;
    for (const json& s : *it) {
      auto v = s.find("as_int");
      if (!s.is_object() || v == s.end() || !v->is_number_integer()) {
        return false;
      }
      out.push_back(v->get<int64_t>());
    }
    return true;
  };
  if (!ints("sizes", sizes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": sizes are not concrete integers"));
  }
  for (int64_t s : sizes) {
    if (s < 0 || (s > 0 && numel > INT64_MAX / s)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": sizes overflow"));
    }
    numel *= s;
  }
  auto dtype = meta->find("dtype");
  if (dtype == meta->end() || !dtype->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": tensor_meta has no integer dtype"));
  }
  ASSIGN_OR_RETURN(proto::Dtype d, DtypeFromCode(dtype->get<int64_t>(), where));
  const int64_t element = ElementBytes(d);
  if (numel > INT64_MAX / element) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": sizes overflow"));
  }
  const int64_t bytes = numel * element;
  if (ints("strides", strides) && numel > 1) {
    int64_t expected = 1;
    for (size_t d = sizes.size(); d-- > 0;) {
      if (sizes[d] != 1 && strides[d] != expected) {
        return absl::UnimplementedError(absl::StrCat(
            where, ": non-contiguous storage (strides ",
            absl::StrJoin(strides, ", "), ")"));
      }
      expected *= sizes[d];
    }
  }
  auto offset = meta->find("storage_offset");
  if (offset != meta->end() && offset->is_object()) {
    auto v = offset->find("as_int");
    if (v != offset->end() && v->is_number_integer() && v->get<int64_t>() != 0) {
      return absl::UnimplementedError(
          absl::StrCat(where, ": a storage offset of ", v->get<int64_t>()));
    }
  }
  const std::string file =
      absl::StrCat(directory, path->get<std::string>());
  if (!archive.Has(file)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": its file ", archive.prefix(), file, " is missing"));
  }
  ASSIGN_OR_RETURN(std::string data, archive.Read(file));
  if (static_cast<int64_t>(data.size()) < bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", archive.prefix(), file, " holds ", data.size(),
        " bytes; its tensor_meta needs ", bytes));
  }
  // The file is the tensor's whole storage, which may be longer than a
  // tensor that views its start.
  data.resize(static_cast<size_t>(bytes));
  return data;
}

}  // namespace

bool LooksLikeZip(absl::string_view bytes) {
  return absl::StartsWith(bytes, absl::string_view("PK\x03\x04", 4)) ||
         absl::StartsWith(bytes, absl::string_view("PK\x05\x06", 4));
}

absl::StatusOr<ExportedModule> LoadPt2FromBytes(absl::string_view bytes,
                                                absl::string_view what,
                                                const LoadOptions& options) {
  ZipLimits limits;
  limits.max_entry_bytes = options.max_input_bytes;
  limits.max_total_bytes = options.max_total_tensor_bytes + options.max_input_bytes;
  ASSIGN_OR_RETURN(ZipReader zip, ZipReader::Open(bytes, what, limits));

  std::string prefix;
  int archives = 0;
  for (const std::string& name : zip.names()) {
    // "archive_format" or "<one directory>/archive_format".
    absl::string_view n = name;
    if (!absl::ConsumeSuffix(&n, "archive_format")) continue;
    const bool top_level =
        n.empty() || (n.back() == '/' && n.find('/') == n.size() - 1);
    if (top_level) {
      prefix = std::string(n);
      ++archives;
    }
  }
  if (archives != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, archives == 0 ? ": no <name>/archive_format entry: not a .pt2 "
                              "archive"
                            : ": more than one archive_format entry"));
  }
  const Archive archive(zip, prefix, std::string(what));
  ASSIGN_OR_RETURN(std::string format, archive.Read("archive_format"));
  if (format != "pt2") {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": archive_format is '", absl::CHexEscape(format),
        "', not 'pt2'"));
  }
  if (archive.Has("byteorder")) {
    ASSIGN_OR_RETURN(std::string order, archive.Read("byteorder"));
    if (order != "little") {
      return absl::UnimplementedError(absl::StrCat(
          what, ": byteorder '", absl::CHexEscape(order),
          "' (rewire reads little-endian archives)"));
    }
  }
  std::vector<std::string> models;
  const std::string models_dir = absl::StrCat(prefix, "models/");
  for (const std::string& name : zip.names()) {
    absl::string_view n = name;
    if (absl::ConsumePrefix(&n, models_dir) && absl::ConsumeSuffix(&n, ".json") &&
        !n.empty() && n.find('/') == absl::string_view::npos) {
      models.emplace_back(n);
    }
  }
  if (models.size() != 1) {
    return absl::UnimplementedError(absl::StrCat(
        what, ": ", models.size(), " programs in ", models_dir,
        " (rewire reads archives with exactly one)"));
  }
  const std::string& model = models[0];
  const std::string model_entry = absl::StrCat("models/", model, ".json");
  ASSIGN_OR_RETURN(std::string program_text, archive.Read(model_entry));
  ASSIGN_OR_RETURN(json program,
                   ParseJson(program_text,
                             absl::StrCat(what, ": ", prefix, model_entry)));
  program_text.clear();
  ASSIGN_OR_RETURN(json weights, archive.Config(absl::StrCat(
                                     "data/weights/", model,
                                     "_weights_config.json")));
  ASSIGN_OR_RETURN(json constants, archive.Config(absl::StrCat(
                                       "data/constants/", model,
                                       "_constants_config.json")));
  auto state_bytes = [&](const std::string& fqn, const std::string& kind,
                         int64_t) -> absl::StatusOr<std::string> {
    if (kind == "tensor_constant") {
      return StateBytes(archive, constants, "data/constants/", fqn);
    }
    auto configs = weights.find("config");
    if (configs != weights.end() && configs->is_object() &&
        configs->contains(fqn)) {
      return StateBytes(archive, weights, "data/weights/", fqn);
    }
    // Non-persistent buffers are saved with the constants.
    return StateBytes(archive, constants, "data/constants/", fqn);
  };
  ASSIGN_OR_RETURN(
      proto::GraphModule proto,
      ProgramToProto(program, state_bytes, options.max_total_tensor_bytes,
                     absl::StrCat(what, ": ", prefix, model_entry)));
  if (archive.Has(kModeEntry)) {
    ASSIGN_OR_RETURN(std::string text, archive.Read(kModeEntry));
    ASSIGN_OR_RETURN(json extra,
                     ParseJson(text, absl::StrCat(what, ": ", prefix, kModeEntry)));
    const json* mode = extra.is_object() && extra.contains("mode")
                           ? &extra["mode"]
                           : nullptr;
    if (mode == nullptr || !mode->is_string() ||
        (*mode != "train" && *mode != "eval")) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": ", prefix, kModeEntry,
          ": expected {\"mode\": \"train\" or \"eval\"}"));
    }
    proto.set_mode(*mode == "eval" ? proto::MODE_EVAL : proto::MODE_TRAIN);
  }
  ASSIGN_OR_RETURN(ExportedModule module, ModuleFromProto(proto, options));
  // Everything but the tensor payloads, which the module holds, for
  // pt2_writer.h to carry through.
  std::map<std::string, std::string>& source = module.mutable_source_files();
  source[kSourcePrefix] = prefix;
  source[kSourceModel] = model;
  for (const std::string& name : zip.names()) {
    absl::string_view relative = name;
    if (!absl::ConsumePrefix(&relative, prefix)) continue;
    const bool config = absl::EndsWith(relative, "_config.json");
    if (!config && (absl::StartsWith(relative, "data/weights/") ||
                    absl::StartsWith(relative, "data/constants/"))) {
      continue;
    }
    ASSIGN_OR_RETURN(source[absl::StrCat(kSourceEntry, relative)],
                     zip.Read(name));
  }
  return module;
}

absl::StatusOr<ExportedModule> LoadPt2File(const std::string& path,
                                           const LoadOptions& options) {
  ASSIGN_OR_RETURN(std::string bytes,
                   ReadFileToString(path, options.max_input_bytes));
  return LoadPt2FromBytes(bytes, path, options);
}

}  // namespace pt2
}  // namespace rewire
