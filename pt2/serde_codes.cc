#include "pt2/serde_codes.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rewire {
namespace pt2 {
namespace {

struct DtypeEntry {
  int64_t code;
  proto::Dtype dtype;
  int64_t bytes;
};
constexpr DtypeEntry kDtypes[] = {
    {1, proto::DTYPE_UINT8, 1},      {2, proto::DTYPE_INT8, 1},
    {3, proto::DTYPE_INT16, 2},      {4, proto::DTYPE_INT32, 4},
    {5, proto::DTYPE_INT64, 8},      {6, proto::DTYPE_FLOAT16, 2},
    {7, proto::DTYPE_FLOAT32, 4},    {8, proto::DTYPE_FLOAT64, 8},
    {10, proto::DTYPE_COMPLEX64, 8}, {11, proto::DTYPE_COMPLEX128, 16},
    {12, proto::DTYPE_BOOL, 1},      {13, proto::DTYPE_BFLOAT16, 2},
};

struct LayoutEntry {
  int64_t code;
  proto::Layout layout;
};
constexpr LayoutEntry kLayouts[] = {
    {7, proto::LAYOUT_STRIDED},
    {1, proto::LAYOUT_SPARSE_COO},
    {2, proto::LAYOUT_SPARSE_CSR},
};

struct MemoryFormatEntry {
  int64_t code;
  proto::MemoryFormat format;
};
constexpr MemoryFormatEntry kMemoryFormats[] = {
    {1, proto::MEMORY_FORMAT_CONTIGUOUS},
    {2, proto::MEMORY_FORMAT_CHANNELS_LAST},
    {3, proto::MEMORY_FORMAT_CHANNELS_LAST_3D},
    {4, proto::MEMORY_FORMAT_PRESERVE},
};

absl::Status NoEquivalent(absl::string_view where, absl::string_view what,
                          int64_t code) {
  return absl::UnimplementedError(absl::StrCat(
      where, ": ", what, " ", code, " has no rewire equivalent"));
}

}  // namespace

absl::StatusOr<proto::Dtype> DtypeFromCode(int64_t code,
                                           absl::string_view where) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.code == code) return e.dtype;
  }
  return NoEquivalent(where, "scalar type", code);
}

absl::StatusOr<proto::Layout> LayoutFromCode(int64_t code,
                                             absl::string_view where) {
  for (const LayoutEntry& e : kLayouts) {
    if (e.code == code) return e.layout;
  }
  return NoEquivalent(where, "layout", code);
}

absl::StatusOr<proto::MemoryFormat> MemoryFormatFromCode(
    int64_t code, absl::string_view where) {
  for (const MemoryFormatEntry& e : kMemoryFormats) {
    if (e.code == code) return e.format;
  }
  return NoEquivalent(where, "memory format", code);
}

int64_t DtypeCode(proto::Dtype d) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.dtype == d) return e.code;
  }
  return 0;
}

int64_t LayoutCode(proto::Layout l) {
  for (const LayoutEntry& e : kLayouts) {
    if (e.layout == l) return e.code;
  }
  return 7;
}

int64_t MemoryFormatCode(proto::MemoryFormat m) {
  for (const MemoryFormatEntry& e : kMemoryFormats) {
    if (e.format == m) return e.code;
  }
  return 1;
}

int64_t ElementBytes(proto::Dtype d) {
  for (const DtypeEntry& e : kDtypes) {
    if (e.dtype == d) return e.bytes;
  }
  return 0;
}

}  // namespace pt2
}  // namespace rewire
