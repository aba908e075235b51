// CUDA implementations of the dropout and batch norm operator families,
// parallel to kernels/cpu_kernels.h: same arguments, same result structs,
// same numerics (docs/SEMANTICS.md §7), names prefixed with Cuda so an
// executor can dispatch on Tensor::device() without overload ambiguity.
//
// Plain C++ on purpose (no CUDA headers): callers compile with any host
// compiler, and only kernels/cuda_kernels.cu sees nvcc. Linking this library
// (//kernels:cuda_kernels, --config=cuda only) also registers the CUDA
// backend of Tensor, so Tensor::Empty/CopyTo work on cuda devices.
//
// Contract: every entry point validates its inputs (all tensors on the same
// CUDA device, dtypes, shapes, p, eps, momentum) and returns an absl::Status;
// CUDA runtime errors become Statuses too (ResourceExhausted when out of
// device memory, Unavailable without a usable device, Internal otherwise).
// Kernels run asynchronously on the device's legacy default stream; an error
// in a kernel that already started surfaces on the next synchronizing call
// (CudaSynchronize, or a copy to the host).
//
// Dropout masks are bit-identical to the CPU's for the same generator state
// (kernels/philox.h), and a call advances the generator exactly as the CPU
// call would. Batch norm statistics use a split Welford reduction: partial
// (count, mean, M2) states per (channel, chunk) block, merged per channel
// by a second kernel, so a few channels with many elements still fill the
// GPU. Results agree with the CPU's double accumulation to float32
// tolerance (and are deterministic run to run).
#ifndef REWIRE_KERNELS_CUDA_KERNELS_H_
#define REWIRE_KERNELS_CUDA_KERNELS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/cpu_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {

// Number of visible CUDA devices. Unavailable (with cudaGetDeviceCount's
// error string in the message) when there is no device or no usable driver.
absl::StatusOr<int> CudaDeviceCount();
// Waits for all work on `device` and reports any asynchronous kernel error.
absl::Status CudaSynchronize(int device = 0);

// ---------------------------------------------------------------- dropout
// See the CPU counterparts in kernels/cpu_kernels.h.
absl::StatusOr<Tensor> CudaDropout(const Tensor& input, double p, bool train,
                                   PhiloxGenerator& gen);
absl::Status CudaDropout_(Tensor& self, double p, bool train,
                          PhiloxGenerator& gen);
absl::StatusOr<NativeDropoutResult> CudaNativeDropout(const Tensor& input,
                                                      double p, bool train,
                                                      PhiloxGenerator& gen);
// Decomposed dropout: bernoulli_(1 - p) then mul and div_.
absl::Status CudaBernoulli_(Tensor& self, double q, PhiloxGenerator& gen);
absl::Status CudaDivScalar_(Tensor& self, double divisor);
absl::StatusOr<Tensor> CudaMul(const Tensor& a, const Tensor& b);

// ------------------------------------------------------------- batch norm
// Save/running statistics stay on the device. Training with running stats
// updates them in place with the unbiased batch variance.
absl::StatusOr<BatchNormResult> CudaNativeBatchNorm(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    Tensor* running_mean, Tensor* running_var, bool training, double momentum,
    double eps);
absl::StatusOr<BatchNormResult> CudaNativeBatchNormLegitNoStats(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    bool training, double momentum, double eps);
absl::StatusOr<BatchNormResult> CudaNativeBatchNormLegitNoTraining(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, double momentum,
    double eps);
absl::StatusOr<BatchNormFunctionalResult> CudaNativeBatchNormLegitFunctional(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, bool training,
    double momentum, double eps);
absl::StatusOr<Tensor> CudaBatchNorm(const Tensor& input, const Tensor* weight,
                                     const Tensor* bias, Tensor* running_mean,
                                     Tensor* running_var, bool training,
                                     double momentum, double eps);

}  // namespace rewire

#endif  // REWIRE_KERNELS_CUDA_KERNELS_H_
