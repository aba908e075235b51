// Writing an ExportedModule as a .pt2 archive that torch.export.load reads.
// A module read from a .pt2 (pt2_reader.h) keeps what rewire's IR does not
// model in its source_files(), and the writer carries all of it through:
// the program's other fields, the archive's directory name, sample inputs,
// version and extra entries, and the payload names of its tensors. Only the
// graph, its tensor values, the signature and the payloads are regenerated
// (program_json.h). A module from elsewhere gets a fresh archive named
// "model" with empty sample inputs. Entries are stored, in torch's order.
#ifndef REWIRE_PT2_PT2_WRITER_H_
#define REWIRE_PT2_PT2_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ir/exported_module.h"

namespace rewire {
namespace pt2 {

// The archive's bytes. `what` names the destination in errors.
absl::StatusOr<std::string> SerializePt2(const ExportedModule& module,
                                         absl::string_view what = "pt2");

// Atomic (base/file.h): on error `path` is untouched.
absl::Status SavePt2File(const ExportedModule& module,
                         const std::string& path);

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_PT2_WRITER_H_
