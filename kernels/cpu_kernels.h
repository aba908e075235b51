// CPU implementations of the dropout and batch norm operator families of
// exported PyTorch graphs, with PyTorch's numerics (docs/SEMANTICS.md §7).
//
// Every entry point validates its inputs and returns an absl::Status naming
// the problem; bad input never crashes. Work runs on ThreadPool::Default()
// over all cores, with AVX2 or AVX-512 inner loops picked at run time
// (__builtin_cpu_supports) and a portable scalar path for tails and for CPUs
// without them. Results never depend on the thread count: dropout masks are a
// pure function of (seed, offset, element index) (kernels/philox.h) and batch
// norm reduces fixed-size partial sums in a fixed order.
//
// Dtypes: float32 is the fast path; float64, float16 and bfloat16 compute
// through double/float. Dropout of a dropped element stores +0 (PyTorch's
// x * 0 gives NaN for non-finite x and -0 for negative x).
#ifndef REWIRE_KERNELS_CPU_KERNELS_H_
#define REWIRE_KERNELS_CPU_KERNELS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {

// Instruction sets of the vectorized inner loops.
enum class CpuIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* CpuIsaName(CpuIsa isa);
// Whether this CPU can run `isa` (AVX2 needs AVX2+FMA; AVX-512 needs
// F+BW+BMI2).
bool CpuIsaSupported(CpuIsa isa);
// The ISA the kernels use now (the best supported one unless overridden).
CpuIsa ActiveCpuIsa();
// Forces the kernels onto `isa` (process-wide), for tests and benchmarks.
// FailedPrecondition if this CPU does not support it.
absl::Status SetCpuIsaForTesting(CpuIsa isa);

// ---------------------------------------------------------------- dropout
// Training drops each element with probability p (keep probability 1 - p)
// and scales kept ones by 1 / (1 - p); p = 0 is the identity, p = 1 gives
// zeros. Eval (train = false) is the identity. Each training call with
// 0 < p < 1 reserves ceil(numel / 4) counters of `gen` (see philox.h); p = 0
// and p = 1 reserve nothing, as they draw nothing.
absl::StatusOr<Tensor> Dropout(const Tensor& input, double p, bool train,
                               PhiloxGenerator& gen);
absl::Status Dropout_(Tensor& self, double p, bool train,
                      PhiloxGenerator& gen);

struct NativeDropoutResult {
  Tensor output;
  Tensor mask;  // bool, same shape; true where kept (all true in eval)
};
// aten::native_dropout(input, p, train).
absl::StatusOr<NativeDropoutResult> NativeDropout(const Tensor& input, double p,
                                                  bool train,
                                                  PhiloxGenerator& gen);

// The decomposed (make_fx) dropout: bernoulli_(1 - p), mul, div_(1 - p).
// bernoulli_ sets each element to 1 with probability q and 0 otherwise, from
// the same stream as Dropout: Bernoulli_(t, 1 - p) with the generator at
// offset o gives exactly the keep mask of Dropout(x, p) at offset o. Any of
// the floating dtypes or bool. Reserves ceil(numel / 4) counters.
absl::Status Bernoulli_(Tensor& self, double q, PhiloxGenerator& gen);
// self /= divisor (floating dtypes). Division by zero follows IEEE.
absl::Status DivScalar_(Tensor& self, double divisor);
// Elementwise a * b for same-shape tensors; b may be bool (a mask) or of a's
// dtype. The result has a's dtype.
absl::StatusOr<Tensor> Mul(const Tensor& a, const Tensor& b);

// ------------------------------------------------------------- batch norm
// Input (N, C, ...) with 2 to 5 dims; weight, bias, running_mean and
// running_var are optional (nullptr or undefined) 1-D tensors of C floating
// elements. Training normalizes with the batch statistics over all dims but
// 1 (accumulated in double) and, when running stats are given, updates them
// in place: rm = (1 - m) * rm + m * mean, rv = (1 - m) * rv + m * var *
// n / (n - 1). Training needs more than one value per channel. Eval uses the
// running statistics (required) and updates nothing.
// The device-independent argument checks every batch norm form makes (CPU
// and CUDA alike): running stats paired, eps finite and >= 0, momentum
// finite, more than one value per channel when training, running stats
// present in eval mode. `op` prefixes the message.
absl::Status CheckBatchNormScalars(absl::string_view op, bool has_running_mean,
                                   bool has_running_var, double eps,
                                   double momentum, bool training,
                                   int64_t values_per_channel, int64_t channels,
                                   absl::Span<const int64_t> input_shape);

struct BatchNormResult {
  Tensor output;
  // Batch mean and 1 / sqrt(biased var + eps), shape [C]; float32 for
  // float16/bfloat16 input, else the input dtype. Shape [0] in eval.
  Tensor save_mean;
  Tensor save_invstd;
};
// aten::native_batch_norm and aten::_native_batch_norm_legit (with stats).
absl::StatusOr<BatchNormResult> NativeBatchNorm(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    Tensor* running_mean, Tensor* running_var, bool training, double momentum,
    double eps);
// aten::_native_batch_norm_legit.no_stats (training without running stats).
absl::StatusOr<BatchNormResult> NativeBatchNormLegitNoStats(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    bool training, double momentum, double eps);
// aten::_native_batch_norm_legit_no_training (eval).
absl::StatusOr<BatchNormResult> NativeBatchNormLegitNoTraining(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, double momentum,
    double eps);

struct BatchNormFunctionalResult {
  Tensor output;
  Tensor save_mean;
  Tensor save_invstd;
  Tensor running_mean;  // new tensors; the inputs are left unchanged
  Tensor running_var;
};
// aten::_native_batch_norm_legit_functional.
absl::StatusOr<BatchNormFunctionalResult> NativeBatchNormLegitFunctional(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, bool training,
    double momentum, double eps);
// aten::batch_norm (output only).
absl::StatusOr<Tensor> BatchNorm(const Tensor& input, const Tensor* weight,
                                 const Tensor* bias, Tensor* running_mean,
                                 Tensor* running_var, bool training,
                                 double momentum, double eps);

}  // namespace rewire

#endif  // REWIRE_KERNELS_CPU_KERNELS_H_
