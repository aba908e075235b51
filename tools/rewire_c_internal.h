// What the C API's translation units share: the handle types behind the
// opaque C structs and the exception guard every entry point runs inside.
// Private to //tools:rewire_c; C callers never see it.
#ifndef REWIRE_TOOLS_REWIRE_C_INTERNAL_H_
#define REWIRE_TOOLS_REWIRE_C_INTERNAL_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "ir/exported_module.h"
#include "kernels/tensor.h"
#include "tools/rewire_c.h"

struct rewire_module {
  rewire::ExportedModule module;
};

struct rewire_outputs {
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    rewire::Tensor data;  // contiguous; undefined for None
  };
  std::vector<Entry> entries;
  uint64_t final_offset = 0;
};

namespace rewire {
namespace c_api {

// Runs `body`, turning its status into a rewire_status and the thread's last
// error, and any C++ exception into REWIRE_INTERNAL / RESOURCE_EXHAUSTED.
rewire_status Guarded(absl::FunctionRef<absl::Status()> body);
// The int a C caller passed for an enum parameter. C lets an enum hold any
// int, but in C++ loading a value outside the enumerators' range is undefined
// (UBSan's -fsanitize=enum reports even the comparison that would reject
// it), so the bytes are read as an int before anything looks at them.
template <typename E>
int RawEnumValue(const E& e) {
  static_assert(sizeof(E) == sizeof(int), "C enums are int-sized");
  int value;
  std::memcpy(&value, &e, sizeof(value));
  return value;
}

// InvalidArgument "<what> is NULL".
absl::Status NullArgument(const char* what);

}  // namespace c_api
}  // namespace rewire

#endif  // REWIRE_TOOLS_REWIRE_C_INTERNAL_H_
