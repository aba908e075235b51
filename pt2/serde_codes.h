// The integer codes torch.export's serialized programs use for dtypes,
// layouts and memory formats (torch/_export/serde/schema.py ScalarType,
// Layout, MemoryFormat), against rewire's protobuf enums, one table each
// for both directions, so that the reader and the writer cannot disagree.
#ifndef REWIRE_PT2_SERDE_CODES_H_
#define REWIRE_PT2_SERDE_CODES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/graph.pb.h"

namespace rewire {
namespace pt2 {

// Unimplemented naming `where` and the code for one rewire has no
// equivalent for.
absl::StatusOr<proto::Dtype> DtypeFromCode(int64_t code,
                                           absl::string_view where);
absl::StatusOr<proto::Layout> LayoutFromCode(int64_t code,
                                             absl::string_view where);
absl::StatusOr<proto::MemoryFormat> MemoryFormatFromCode(
    int64_t code, absl::string_view where);

// 0 for DTYPE_UNSPECIFIED.
int64_t DtypeCode(proto::Dtype d);
// Strided for LAYOUT_UNSPECIFIED, contiguous for MEMORY_FORMAT_UNSPECIFIED.
int64_t LayoutCode(proto::Layout l);
int64_t MemoryFormatCode(proto::MemoryFormat m);

// Bytes per element; 0 for DTYPE_UNSPECIFIED.
int64_t ElementBytes(proto::Dtype d);

}  // namespace pt2
}  // namespace rewire

#endif  // REWIRE_PT2_SERDE_CODES_H_
