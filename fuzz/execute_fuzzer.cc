// Fuzz target (g): load + execute on small random inputs, with size limits.
//
// Input: 4 control bytes, then a .pb or .pbtxt module (layout in
// execute_case.h). The module is loaded with tight LoadOptions (128 nodes,
// 256 KiB of state), optionally switched to eval and/or train, given inputs
// of at most 4096 elements built from its placeholders' "val" metadata, and
// run by Execute with per-tensor limits of 4096 elements / 32 KiB on every
// allocation, so that no input can make a run allocate or loop without bound.
//
// Properties (each a bug if broken): Execute returns a status, never
// crashes, and never reports an internal error (InternalError or Unknown is
// a broken invariant, not a bad input); a failed run leaves the module's
// state untouched; a successful run changes exactly the state tensors it
// reports, never their dtype, shape or size, and returns CPU outputs within
// the limits; on request, a second training step on the written-back state
// obeys the same properties, and a run of a copy of the module gives
// bit-identical outputs and state (kernels are deterministic whatever the
// thread split).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "fuzz/execute_case.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "ir/exported_module.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace fuzz {
namespace {

bool SameTensor(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// One run of `module` with the properties above checked; the result if OK.
absl::StatusOr<ExecutionResult> CheckedRun(const ExecuteCase& c,
                                           ExportedModule& module,
                                           const ExecuteOptions& options) {
  const std::vector<StateTensor> before = module.tensors();
  absl::StatusOr<ExecutionResult> r = RunCase(c, module, options);
  if (!r.ok()) {
    const absl::StatusCode code = r.status().code();
    FUZZ_CHECK(code != absl::StatusCode::kInternal &&
                   code != absl::StatusCode::kUnknown,
               "internal error: " + r.status().ToString());
    FUZZ_CHECK(module.tensors() == before,
               "a failed run changed the module state: " +
                   r.status().ToString());
    return r;
  }
  const std::vector<StateTensor>& after = module.tensors();
  FUZZ_CHECK(after.size() == before.size(), "a run added or removed state");
  size_t changed = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    const StateTensor& a = after[i];
    const StateTensor& b = before[i];
    FUZZ_CHECK(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape &&
                   a.data.size() == b.data.size(),
               "a run changed the layout of state tensor " + b.name);
    if (a.data != b.data) ++changed;
  }
  FUZZ_CHECK(changed == r->updated_state.size(),
             "updated_state does not list exactly the changed tensors");
  for (const std::string& name : r->updated_state) {
    FUZZ_CHECK(module.FindTensor(name) != nullptr,
               "updated_state names no tensor: " + name);
  }
  for (const NamedTensor& out : r->outputs) {
    if (!out.tensor.defined()) continue;
    FUZZ_CHECK(out.tensor.is_cpu(), "output " + out.name + " is not on the CPU");
    FUZZ_CHECK(out.tensor.nbytes() <= options.max_tensor_bytes,
               "output " + out.name + " is over the byte limit");
  }
  return r;
}

void Fuzz(const uint8_t* data, size_t size) {
  absl::StatusOr<ExecuteCase> c = DecodeExecuteCase(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!c.ok()) return;
  ExportedModule twin;
  if (c->check_determinism) twin = c->module.Clone();
  absl::StatusOr<ExecutionResult> first =
      CheckedRun(*c, c->module, c->options);
  if (!first.ok()) return;
  if (c->check_determinism) {
    absl::StatusOr<ExecutionResult> again = CheckedRun(*c, twin, c->options);
    FUZZ_CHECK(again.ok(), "the same run failed the second time: " +
                               again.status().ToString());
    FUZZ_CHECK(again->outputs.size() == first->outputs.size() &&
                   again->final_offset == first->final_offset,
               "the same run gave a different number of outputs");
    for (size_t i = 0; i < first->outputs.size(); ++i) {
      FUZZ_CHECK(SameTensor(first->outputs[i].tensor, again->outputs[i].tensor),
                 "the same run gave different output " +
                     first->outputs[i].name);
    }
    FUZZ_CHECK(twin.tensors() == c->module.tensors(),
               "the same run wrote different state");
  }
  if (c->second_step) {
    ExecuteOptions next = c->options;
    next.offset = first->final_offset;
    (void)CheckedRun(*c, c->module, next);
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace rewire

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // protobuf logs every malformed UTF-8 string; the noise hides findings.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rewire::fuzz::Fuzz(data, size);
  return 0;
}
