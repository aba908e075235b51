#include "tools/model_files.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/serialization.h"
#include "ir/status_macros.h"
#include "pt2/pt2_reader.h"
#include "pt2/pt2_writer.h"

namespace rewire {
namespace tools {
absl::string_view PathExtension(absl::string_view path) {
  const size_t slash = path.rfind('/');
  const absl::string_view base =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == absl::string_view::npos || dot == 0) return "";
  return base.substr(dot);
}

const char kModelFormats[] = ".pb, .pbtxt, .pt2, .txt or .rwir";

ModelFileKind ModelKindOfPath(absl::string_view path) {
  const absl::string_view ext = PathExtension(path);
  if (ext == ".pb" || ext == ".pbtxt") return ModelFileKind::kProto;
  if (ext == ".txt" || ext == ".rwir") return ModelFileKind::kText;
  if (ext == ".pt2") return ModelFileKind::kPt2;
  return ModelFileKind::kUnknown;
}

absl::StatusOr<ExportedModule> LoadModelFile(const std::string& path,
                                             const LoadOptions& options) {
  ASSIGN_OR_RETURN(std::string bytes,
                   ReadFileToString(path, options.max_input_bytes));
  const ModelFileKind kind = ModelKindOfPath(path);
  if (kind == ModelFileKind::kPt2 || pt2::LooksLikeZip(bytes)) {
    return pt2::LoadPt2FromBytes(bytes, path, options);
  }
  if (kind == ModelFileKind::kUnknown) {
    return absl::InvalidArgumentError(absl::StrCat(
        Printable(path), ": not a .pt2 archive, and the extension names no "
        "other model format (expected ", kModelFormats, ")"));
  }
  ASSIGN_OR_RETURN(Format format, FormatFromPath(path));
  absl::StatusOr<ExportedModule> m = LoadModuleFromBytes(bytes, format, options);
  if (!m.ok()) {
    return absl::Status(m.status().code(), absl::StrCat(Printable(path), ": ",
                                                        m.status().message()));
  }
  return m;
}

absl::Status SaveModelFile(const ExportedModule& module,
                           const std::string& path) {
  switch (ModelKindOfPath(path)) {
    case ModelFileKind::kUnknown:
      return absl::InvalidArgumentError(
          absl::StrCat(Printable(path), ": unknown output extension (expected ",
                       kModelFormats, ")"));
    case ModelFileKind::kPt2:
      return pt2::SavePt2File(module, path);
    case ModelFileKind::kProto:
    case ModelFileKind::kText:
      break;
  }
  return SaveModuleToFile(module, path);
}

}  // namespace tools
}  // namespace rewire
