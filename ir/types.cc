#include "ir/types.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/printable.h"

namespace rewire {
namespace {

struct ScalarTypeInfo {
  ScalarType type;
  const char* name;
  const char* short_name;
  int size;
  bool floating;
};

constexpr ScalarTypeInfo kScalarTypes[kNumScalarTypes] = {
    {ScalarType::kFloat32, "torch.float32", "f32", 4, true},
    {ScalarType::kFloat64, "torch.float64", "f64", 8, true},
    {ScalarType::kFloat16, "torch.float16", "f16", 2, true},
    {ScalarType::kBFloat16, "torch.bfloat16", "bf16", 2, true},
    {ScalarType::kInt64, "torch.int64", "i64", 8, false},
    {ScalarType::kInt32, "torch.int32", "i32", 4, false},
    {ScalarType::kInt16, "torch.int16", "i16", 2, false},
    {ScalarType::kInt8, "torch.int8", "i8", 1, false},
    {ScalarType::kUInt8, "torch.uint8", "u8", 1, false},
    {ScalarType::kBool, "torch.bool", "b8", 1, false},
    {ScalarType::kComplex64, "torch.complex64", "c64", 8, false},
    {ScalarType::kComplex128, "torch.complex128", "c128", 16, false},
};

const ScalarTypeInfo& Info(ScalarType t) {
  return kScalarTypes[static_cast<int>(t)];
}

}  // namespace

absl::string_view ScalarTypeName(ScalarType t) { return Info(t).name; }
absl::string_view ScalarTypeShortName(ScalarType t) {
  return Info(t).short_name;
}
int ScalarTypeSize(ScalarType t) { return Info(t).size; }
bool IsFloatingPoint(ScalarType t) { return Info(t).floating; }

absl::StatusOr<ScalarType> ParseScalarType(absl::string_view s) {
  absl::string_view bare = s;
  absl::ConsumePrefix(&bare, "torch.");
  for (const ScalarTypeInfo& info : kScalarTypes) {
    absl::string_view full = info.name;
    absl::ConsumePrefix(&full, "torch.");
    if (bare == full || s == info.short_name) return info.type;
  }
  // PyTorch's aliases.
  if (bare == "float") return ScalarType::kFloat32;
  if (bare == "double") return ScalarType::kFloat64;
  if (bare == "half") return ScalarType::kFloat16;
  if (bare == "long") return ScalarType::kInt64;
  if (bare == "int") return ScalarType::kInt32;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dtype '", Printable(s), "'"));
}

std::string Device::ToString() const {
  const char* base = type == DeviceType::kCpu    ? "cpu"
                     : type == DeviceType::kCuda ? "cuda"
                                                 : "meta";
  if (index < 0) return base;
  return absl::StrCat(base, ":", index);
}

absl::StatusOr<Device> ParseDevice(absl::string_view s) {
  absl::string_view rest = s;
  Device d;
  if (absl::ConsumePrefix(&rest, "cpu")) {
    d.type = DeviceType::kCpu;
  } else if (absl::ConsumePrefix(&rest, "cuda")) {
    d.type = DeviceType::kCuda;
  } else if (absl::ConsumePrefix(&rest, "meta")) {
    d.type = DeviceType::kMeta;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown device '", Printable(s), "'"));
  }
  if (rest.empty()) return d;
  int index = 0;
  if (!absl::ConsumePrefix(&rest, ":") || !absl::SimpleAtoi(rest, &index) ||
      index < 0 || index > 32767 || rest.empty() ||
      !absl::ascii_isdigit(rest[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed device '", Printable(s), "'"));
  }
  d.index = static_cast<int16_t>(index);
  return d;
}

absl::string_view LayoutName(Layout l) {
  switch (l) {
    case Layout::kStrided:
      return "torch.strided";
    case Layout::kSparseCoo:
      return "torch.sparse_coo";
    case Layout::kSparseCsr:
      return "torch.sparse_csr";
  }
  return "torch.strided";
}

absl::StatusOr<Layout> ParseLayout(absl::string_view s) {
  for (Layout l : {Layout::kStrided, Layout::kSparseCoo, Layout::kSparseCsr}) {
    absl::string_view name = LayoutName(l);
    if (s == name || s == name.substr(6)) return l;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown layout '", Printable(s), "'"));
}

absl::string_view MemoryFormatName(MemoryFormat m) {
  switch (m) {
    case MemoryFormat::kContiguous:
      return "torch.contiguous_format";
    case MemoryFormat::kChannelsLast:
      return "torch.channels_last";
    case MemoryFormat::kChannelsLast3d:
      return "torch.channels_last_3d";
    case MemoryFormat::kPreserve:
      return "torch.preserve_format";
  }
  return "torch.contiguous_format";
}

absl::StatusOr<MemoryFormat> ParseMemoryFormat(absl::string_view s) {
  for (MemoryFormat m :
       {MemoryFormat::kContiguous, MemoryFormat::kChannelsLast,
        MemoryFormat::kChannelsLast3d, MemoryFormat::kPreserve}) {
    absl::string_view name = MemoryFormatName(m);
    if (s == name || s == name.substr(6)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown memory format '", Printable(s), "'"));
}

}  // namespace rewire
