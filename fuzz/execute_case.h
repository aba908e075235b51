// Decoding of the execute fuzzer's input into a run: a module loaded with
// tight limits, small random inputs built from the placeholders' "val"
// metadata, and ExecuteOptions whose per-tensor limits bound every
// allocation. Shared by fuzz/execute_fuzzer.cc and the regression tests, so a
// saved finding replays exactly as the fuzzer ran it.
//
// Input layout: kControlBytes control bytes, then a module: binary .pb, or
// .pbtxt when bit 6 of byte 0 says so. Byte mutations of a binary module
// rarely survive protobuf's length prefixes with a changed varint width, so
// large literals (kernel sizes, paddings, fill values) are reached through
// the text form, whose integers libFuzzer mutates as ASCII.
//   byte 0, bits 0-1: train/eval switch before the run (0 none, 1
//                     MoveExportedModelToEval, 2 MoveExportedModelToTrain,
//                     3 eval then train); a switch that fails leaves the
//                     module as loaded (the switch is atomic) and the run
//                     goes on
//           bit 2:    pass inputs by placeholder name (else positionally)
//           bit 3:    sprinkle special values (NaN, +-Inf, -0, huge, tiny)
//           bit 4:    a second training step on the state the first wrote
//           bit 5:    run a copy of the module again and compare bit for bit
//           bit 6:    the module is a text proto (.pbtxt)
//   byte 1: seed of the input values and of the Philox stream
//   byte 2: Philox offset
//   byte 3: symbolic dims: the k-th distinct symbol is 1 + (byte + k) % 4
//
// Refused (an error, nothing run): modules the loader refuses, inputs over
// kMaxElements elements or with a concrete dim over kMaxElements, and dtypes
// without CPU storage (complex).
#ifndef REWIRE_FUZZ_EXECUTE_CASE_H_
#define REWIRE_FUZZ_EXECUTE_CASE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace fuzz {

inline constexpr int kControlBytes = 4;
// Per tensor, inputs and everything the run allocates: a conv or matmul on
// such tensors is at most kMaxElements^2 multiply-adds, milliseconds.
inline constexpr int64_t kMaxElements = 4096;
inline constexpr int64_t kMaxTensorBytes = kMaxElements * 8;
// All the run's live tensors together, and the estimated work of one node
// (kernels/node_work.h): what the library's machine-sized defaults bound,
// at the fuzzer's scale, so that the refusals are exercised too.
inline constexpr int64_t kMaxTotalBytes = 64 * kMaxTensorBytes;
inline constexpr int64_t kMaxNodeWork = 4 * kMaxElements * kMaxElements;

// Load limits: few nodes, so that a run is a bounded number of bounded ops.
LoadOptions ExecuteLoadOptions();

struct ExecuteCase {
  ExportedModule module;
  // In InputPlaceholders() order, named by placeholder.
  std::vector<std::pair<std::string, Tensor>> inputs;
  ExecuteOptions options;
  bool named_inputs = false;
  bool second_step = false;
  bool check_determinism = false;
};

// Decodes `bytes` (layout above). Errors are refusals, not findings.
absl::StatusOr<ExecuteCase> DecodeExecuteCase(absl::string_view bytes);

// Execute with the case's inputs, by name or positionally as it says.
absl::StatusOr<ExecutionResult> RunCase(const ExecuteCase& c,
                                        ExportedModule& module,
                                        const ExecuteOptions& options);

}  // namespace fuzz
}  // namespace rewire

#endif  // REWIRE_FUZZ_EXECUTE_CASE_H_
