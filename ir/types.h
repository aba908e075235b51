// Scalar types, devices, layouts and memory formats as PyTorch spells them.
//
// These are the literal kinds that appear in aten call arguments and in the
// "val" metadata of exported graphs. Each has a canonical spelling (the one
// torch.fx prints, e.g. `torch.float32`, `cuda:0`) used by the text form and the
// protobuf form, and a short spelling for shapes (`f32[2, 3]`).
#ifndef REWIRE_IR_TYPES_H_
#define REWIRE_IR_TYPES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rewire {

enum class ScalarType : uint8_t {
  kFloat32 = 0,
  kFloat64,
  kFloat16,
  kBFloat16,
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kUInt8,
  kBool,
  kComplex64,
  kComplex128,
};
inline constexpr int kNumScalarTypes = 12;

// "torch.float32".
absl::string_view ScalarTypeName(ScalarType t);
// "f32" (used inside shapes of the text form).
absl::string_view ScalarTypeShortName(ScalarType t);
// Accepts both spellings, with or without the "torch." prefix.
absl::StatusOr<ScalarType> ParseScalarType(absl::string_view s);
// Bytes per element.
int ScalarTypeSize(ScalarType t);
bool IsFloatingPoint(ScalarType t);

enum class DeviceType : uint8_t { kCpu = 0, kCuda, kMeta };

// A device with an optional index (-1: none given). "cuda" and "cuda:0" are
// different devices, as in PyTorch's device sets.
struct Device {
  DeviceType type = DeviceType::kCpu;
  int16_t index = -1;

  static Device Cpu() { return Device{DeviceType::kCpu, -1}; }
  static Device Cuda(int16_t index = 0) { return Device{DeviceType::kCuda, index}; }
  static Device Meta() { return Device{DeviceType::kMeta, -1}; }

  bool is_cpu() const { return type == DeviceType::kCpu; }
  bool is_cuda() const { return type == DeviceType::kCuda; }
  bool is_meta() const { return type == DeviceType::kMeta; }
  std::string ToString() const;  // "cpu", "cuda:1", "meta"

  friend bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
  friend bool operator<(const Device& a, const Device& b) {
    return a.type != b.type ? a.type < b.type : a.index < b.index;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Device& d) {
    return H::combine(std::move(h), d.type, d.index);
  }
};

// "cpu", "cuda", "cuda:3", "meta"; errors name the offending text.
absl::StatusOr<Device> ParseDevice(absl::string_view s);

enum class Layout : uint8_t { kStrided = 0, kSparseCoo, kSparseCsr };
absl::string_view LayoutName(Layout l);  // "torch.strided"
absl::StatusOr<Layout> ParseLayout(absl::string_view s);

enum class MemoryFormat : uint8_t {
  kContiguous = 0,
  kChannelsLast,
  kChannelsLast3d,
  kPreserve,
};
absl::string_view MemoryFormatName(MemoryFormat m);  // "torch.contiguous_format"
absl::StatusOr<MemoryFormat> ParseMemoryFormat(absl::string_view s);

}  // namespace rewire

#endif  // REWIRE_IR_TYPES_H_
