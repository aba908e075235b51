#include "tools/run_outputs.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "tools/npy.h"

namespace rewire {
namespace tools {

std::string OutputLabel(size_t index, absl::string_view node_name) {
  return node_name.empty() ? absl::StrCat("output_", index)
                           : std::string(node_name);
}

std::string SafeFileName(absl::string_view name) {
  std::string s;
  s.reserve(name.size() + 1);
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    s.push_back(ok ? c : '_');
  }
  if (s.empty() || s[0] == '.') s.insert(s.begin(), 'o');
  return s;
}

std::vector<std::string> DistinctFileStems(
    absl::Span<const std::string> labels) {
  std::vector<std::string> stems;
  stems.reserve(labels.size());
  for (const std::string& label : labels) stems.push_back(SafeFileName(label));
  // Every output's own stem is claimed up front, so a suffixed duplicate can
  // never take the name a later output would have had by itself.
  absl::flat_hash_set<std::string> claimed(stems.begin(), stems.end());
  absl::flat_hash_set<std::string> given;
  for (size_t i = 0; i < stems.size(); ++i) {
    if (given.insert(stems[i]).second) continue;
    std::string candidate = absl::StrCat(stems[i], "_", i);
    for (int k = 1; claimed.contains(candidate); ++k) {
      candidate = absl::StrCat(stems[i], "_", i, "_", k);
    }
    claimed.insert(candidate);
    given.insert(candidate);
    stems[i] = std::move(candidate);
  }
  return stems;
}

absl::StatusOr<std::vector<std::string>> WriteOutputs(
    FileSetWriter& writer, absl::Span<const NamedTensor> outputs) {
  std::vector<std::string> labels;
  labels.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    labels.push_back(OutputLabel(i, outputs[i].name));
  }
  const std::vector<std::string> stems = DistinctFileStems(labels);
  std::vector<std::string> written(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!outputs[i].tensor.defined()) continue;
    auto named = [&](const absl::Status& s) {
      return absl::Status(s.code(),
                          absl::StrCat("output ", labels[i], ": ", s.message()));
    };
    absl::StatusOr<std::string> bytes = EncodeNpy(outputs[i].tensor);
    if (!bytes.ok()) return named(bytes.status());
    absl::Status s = writer.Add(absl::StrCat(stems[i], ".npy"), *bytes);
    if (!s.ok()) return named(s);
  }
  RETURN_IF_ERROR(writer.Commit());
  std::vector<std::string> paths = writer.Paths();
  size_t next = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].tensor.defined()) written[i] = std::move(paths[next++]);
  }
  return written;
}

}  // namespace tools
}  // namespace rewire
