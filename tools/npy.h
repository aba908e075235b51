// NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written) for
// the tensors `rewire run` takes as inputs and writes as outputs.
//
// Only what rewire's kernels produce and consume is supported: float32,
// float64, int64 and bool, little-endian ('<' or '|'), C order. Anything else
// (big-endian data, Fortran order, other dtypes, object arrays) is refused
// with an error that names the file and the field rather than being converted
// silently, because a silently transposed or byte-swapped input gives wrong
// outputs that look plausible. The parser is hostile-input safe: the header is
// bounded, every size is checked for overflow, and the payload length must
// match the shape exactly.
#ifndef REWIRE_TOOLS_NPY_H_
#define REWIRE_TOOLS_NPY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kernels/tensor.h"

namespace rewire {
namespace tools {

// Decodes .npy bytes; `what` (a file name) prefixes every error.
absl::StatusOr<Tensor> ParseNpy(absl::string_view bytes, absl::string_view what);
// A CPU tensor as .npy 1.0 bytes (header padded to 64 bytes, as NumPy does).
absl::StatusOr<std::string> EncodeNpy(const Tensor& tensor);

absl::StatusOr<Tensor> ReadNpyFile(const std::string& path);
// Atomic (base/file.h).
absl::Status WriteNpyFile(const std::string& path, const Tensor& tensor);

}  // namespace tools
}  // namespace rewire

#endif  // REWIRE_TOOLS_NPY_H_
