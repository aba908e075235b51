// NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written) for
// the tensors `rewire run` takes as inputs and writes as outputs.
//
// The dtypes NumPy and rewire's tensors share a layout for are supported:
// float32, float64, float16, int64, int32, int16, int8, uint8 and bool,
// little-endian ('<', '=' or, for one-byte types, '|'), C order. This is the
// one codec of the project: `rewire run` and the Python bridge's helper both
// use it. Anything else
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
