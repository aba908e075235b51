#include "pt2/pt2_writer.h"

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/file.h"
#include "ir/serialization.h"
#include "ir/status_macros.h"
#include "pt2/program_json.h"
#include "pt2/pt2_reader.h"
#include "pt2/zip_archive.h"

namespace rewire {
namespace pt2 {
namespace {

using json = nlohmann::json;

const std::string* Source(const ExportedModule& module,
                          const std::string& key) {
  auto it = module.source_files().find(key);
  return it == module.source_files().end() ? nullptr : &it->second;
}

}  // namespace

absl::StatusOr<std::string> SerializePt2(const ExportedModule& module,
                                         absl::string_view what) {
  const std::string* prefix_source = Source(module, kSourcePrefix);
  const std::string* model_source = Source(module, kSourceModel);
  const std::string prefix = prefix_source != nullptr ? *prefix_source : "model/";
  const std::string model = model_source != nullptr ? *model_source : "model";
  const std::string program_entry = absl::StrCat("models/", model, ".json");
  const std::string weights_entry =
      absl::StrCat("data/weights/", model, "_weights_config.json");
  const std::string constants_entry =
      absl::StrCat("data/constants/", model, "_constants_config.json");

  // The original program and configs, parsed, when the module has them.
  auto parsed = [&](const std::string& relative) -> absl::StatusOr<json> {
    const std::string* text = Source(module, absl::StrCat(kSourceEntry, relative));
    if (text == nullptr) return json();
    return ParseJson(*text, relative);
  };
  ASSIGN_OR_RETURN(json program, parsed(program_entry));
  ASSIGN_OR_RETURN(json weights, parsed(weights_entry));
  ASSIGN_OR_RETURN(json constants, parsed(constants_entry));
  OriginalProgram original;
  if (!program.is_null()) original.program = &program;
  if (!weights.is_null()) original.weights = &weights;
  if (!constants.is_null()) original.constants = &constants;

  ASSIGN_OR_RETURN(ProgramFiles files,
                   ProtoToProgram(ModuleToProto(module), original, what));

  // The regenerated entries, then whatever else the source archive held.
  std::map<std::string, std::string> entries;
  for (auto& [path, bytes] : files.payloads) entries[path] = std::move(bytes);
  entries[weights_entry] = files.weights_config.dump();
  entries[constants_entry] = files.constants_config.dump();
  entries[program_entry] = files.program.dump();
  entries[kModeEntry] =
      json{{"mode", module.mode() == ModuleMode::kEval ? "eval" : "train"}}
          .dump();
  const std::map<std::string, std::string> defaults = {
      {absl::StrCat("data/sample_inputs/", model, ".pt"), ""},
      {"archive_format", "pt2"},
      {"archive_version", "0"},
      {".data/version", "6"},
      {"byteorder", "little"},
  };
  for (const auto& [key, bytes] : module.source_files()) {
    absl::string_view relative = key;
    if (!absl::ConsumePrefix(&relative, kSourceEntry)) continue;
    entries.emplace(std::string(relative), bytes);  // regenerated ones win
  }
  for (const auto& [relative, bytes] : defaults) entries.emplace(relative, bytes);

  ZipWriter zip;
  for (auto& [relative, bytes] : entries) {
    RETURN_IF_ERROR(zip.Add(absl::StrCat(prefix, relative), std::move(bytes)));
  }
  return zip.Finish();
}

absl::Status SavePt2File(const ExportedModule& module,
                         const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, SerializePt2(module, path));
  return WriteFileAtomic(path, bytes);
}

}  // namespace pt2
}  // namespace rewire
