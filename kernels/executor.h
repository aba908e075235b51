// The executor: runs an ExportedModule's graph, node by node, with native
// kernels, exactly as written (it never rewrites: an eval-mode module runs
// whatever dropout and batch norm forms its graph holds).
//
// Binding: each placeholder takes, in order of preference, the StateTensor
// whose `placeholder` names it (lifted parameters and buffers), else a caller
// input (by placeholder name, or positionally in InputPlaceholders() order);
// get_attr nodes take the StateTensor named by their target. State tensors are
// converted from raw bytes once (dtype, shape and byte size checked) and, when
// the run succeeds, every one whose bytes changed is written back: in-place
// ops and `copy_` into buffers (running_mean, running_var,
// num_batches_tracked) therefore update the module, as a PyTorch training
// step would. A failed run leaves the module untouched.
//
// Memory: last-use indices are computed once, and a value is released right
// after the node that uses it last, so a deep model holds only its live
// activations. Sizes from the nodes' "val" metadata are checked against
// ExecuteOptions::max_tensor_bytes and max_tensor_elements before the kernel
// allocates, every allocation of the run is held to the same limits, and the
// live bytes of all of them together (inputs' copies, state copies,
// activations, kernel temporaries) to max_total_bytes.
//
// Time: before each kernel runs, its work is estimated from its arguments'
// shapes (kernels/node_work.h: FLOPs for convolution, matmul, attention,
// einsum and pooling, element visits for the rest) and a node over
// ExecuteOptions::max_node_work is refused. Kernels skip tensors without
// elements, whatever their other dims. With a bounded node count (the
// loader's limits), these bound a run's memory and time on a hostile graph.
//
// Defaults: the limits are on by default and sized to the machine (half of
// its physical memory for the live total; 2^40 operations per node, about a
// minute on one core and far above any node of ResNet-50 at batch 32); a
// caller that trusts its models may raise them, INT64_MAX meaning no limit.
//
// Devices: dropout, bernoulli_ and the batch norm family dispatch through a
// DeviceOps table (the CPU one always, a CUDA one when the CUDA kernels library
// registers itself in a --config=cuda build). Other ops have CPU kernels only;
// on CUDA their operands are staged through host memory. A CUDA module in a
// build without CUDA kernels is an Unavailable error.
//
// Errors: an op without a kernel is Unimplemented naming the op and the node;
// shape and dtype errors are InvalidArgument naming the node; allocations over
// a limit and nodes over the work limit are ResourceExhausted naming the node
// and the limit. Nothing recurses over the graph.
#ifndef REWIRE_KERNELS_EXECUTOR_H_
#define REWIRE_KERNELS_EXECUTOR_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ir/argument.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "kernels/cpu_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {

// A runtime value of a node: a tensor, a tuple/list of values (multi-output
// ops, split, list arguments), a literal (int, float, bool, dtype, ...) or
// None.
struct RuntimeValue {
  enum class Kind : uint8_t { kNone = 0, kTensor, kList, kLiteral };
  Kind kind = Kind::kNone;
  Tensor tensor;
  std::vector<RuntimeValue> list;
  Argument literal;

  static RuntimeValue None() { return RuntimeValue(); }
  static RuntimeValue FromTensor(Tensor t) {
    RuntimeValue v;
    v.kind = Kind::kTensor;
    v.tensor = std::move(t);
    return v;
  }
  static RuntimeValue List(std::vector<RuntimeValue> items) {
    RuntimeValue v;
    v.kind = Kind::kList;
    v.list = std::move(items);
    return v;
  }
  static RuntimeValue Literal(Argument a) {
    RuntimeValue v;
    v.kind = a.is_none() ? Kind::kNone : Kind::kLiteral;
    v.literal = std::move(a);
    return v;
  }
  bool is_tensor() const { return kind == Kind::kTensor; }
  bool is_none() const { return kind == Kind::kNone; }
  bool is_list() const { return kind == Kind::kList; }
};

// Device implementations of the ops whose speed matters. The signatures are
// those of kernels/cpu_kernels.h; a CUDA build registers its own table.
struct DeviceOps {
  const char* name;
  absl::StatusOr<Tensor> (*dropout)(const Tensor&, double, bool,
                                    PhiloxGenerator&);
  absl::Status (*dropout_)(Tensor&, double, bool, PhiloxGenerator&);
  absl::StatusOr<NativeDropoutResult> (*native_dropout)(const Tensor&, double,
                                                        bool, PhiloxGenerator&);
  absl::Status (*bernoulli_)(Tensor&, double, PhiloxGenerator&);
  absl::StatusOr<BatchNormResult> (*native_batch_norm)(
      const Tensor&, const Tensor*, const Tensor*, Tensor*, Tensor*, bool,
      double, double);
  absl::StatusOr<BatchNormFunctionalResult> (*batch_norm_functional)(
      const Tensor&, const Tensor*, const Tensor*, const Tensor&, const Tensor&,
      bool, double, double);
};
const DeviceOps& CpuDeviceOps();
// Called from a static initializer of the CUDA kernels library.
void RegisterCudaDeviceOps(const DeviceOps* ops);
const DeviceOps* GetCudaDeviceOps();

// Half of this machine's memory (physical memory from sysconf, or the
// container's cgroup limit when lower), the default of
// ExecuteOptions::max_total_bytes; 4 GiB when it cannot be read.
int64_t DefaultMaxTotalBytes();
// The default of ExecuteOptions::max_node_work (operations, node_work.h).
inline constexpr int64_t kDefaultMaxNodeWork = int64_t{1} << 40;

struct ExecuteOptions {
  // Philox stream of dropout and bernoulli_ (kernels/philox.h); the result
  // reports the offset after the run so consecutive steps draw fresh masks.
  uint64_t seed = 0;
  uint64_t offset = 0;
  // Where to run; default: the module's unique device (cpu when it has no
  // tensors; meta counts as cpu).
  std::optional<Device> device;
  // Largest single tensor the run may create, in bytes and in elements (a
  // zero-size dim counting as 1, so that a [0, 10^15] result cannot make a
  // kernel loop 10^15 times). Checked from a node's "val" metadata before its
  // kernel runs, and for every tensor the run allocates or reshapes (input
  // copies, state, results, kernel temporaries) by the allocator
  // (ScopedTensorLimits in kernels/tensor.h), since "val" may be missing,
  // symbolic or wrong. Over a limit: ResourceExhausted naming the node, and
  // nothing larger was allocated. With max_total_bytes, max_node_work and a
  // bound on the node count, these bound the memory and time of a run on a
  // hostile graph.
  int64_t max_tensor_bytes = int64_t{16} << 30;
  int64_t max_tensor_elements = std::numeric_limits<int64_t>::max();
  // Live bytes of all the tensors the run allocates, counted by the same
  // allocator scope until each is freed: an allocation that would go over
  // is ResourceExhausted naming the node. The module's own state bytes,
  // read in place, are not counted; the caller's inputs are, as the run's
  // copies of them. INT64_MAX: no limit.
  int64_t max_total_bytes = DefaultMaxTotalBytes();
  // Estimated work of one node (kernels/node_work.h), checked before its
  // kernel runs: over it, ResourceExhausted naming the node, the estimate
  // and the limit, and the kernel never starts. INT64_MAX: no limit.
  int64_t max_node_work = kDefaultMaxNodeWork;

  // Observation points (Validate uses them). `args` are the node's arguments
  // normalized to its schema order (node->target().schema). before_node runs
  // before the kernel (in-place ops have not written yet); after_node may
  // inspect or replace the result. A non-OK status aborts the run.
  std::function<absl::Status(const Node&, absl::Span<const RuntimeValue> args)>
      before_node;
  std::function<absl::Status(const Node&, absl::Span<const RuntimeValue> args,
                             RuntimeValue& result)>
      after_node;
};

struct NamedTensor {
  std::string name;  // the output node's argument node name ("" for literals)
  Tensor tensor;     // undefined for a None output
};

struct ExecutionResult {
  // The output node's arguments, nested lists flattened, in order; on the
  // CPU.
  std::vector<NamedTensor> outputs;
  uint64_t final_offset = 0;
  // State tensors whose bytes the run changed (written back to the module).
  std::vector<std::string> updated_state;
};

// Inputs by placeholder name. Every input placeholder needs one.
absl::StatusOr<ExecutionResult> Execute(
    ExportedModule& module,
    const std::vector<std::pair<std::string, Tensor>>& inputs,
    const ExecuteOptions& options = {});
// Inputs in InputPlaceholders() order.
absl::StatusOr<ExecutionResult> Execute(ExportedModule& module,
                                        const std::vector<Tensor>& inputs,
                                        const ExecuteOptions& options = {});

// Qualified targets with a kernel ("aten.conv2d.default", ...), sorted.
std::vector<std::string> SupportedOps();

// Converts a StateTensor's bytes to a CPU tensor (dtype, shape and byte count
// checked, naming the tensor).
absl::StatusOr<Tensor> StateToTensor(const StateTensor& state);

}  // namespace rewire

#endif  // REWIRE_KERNELS_EXECUTOR_H_
