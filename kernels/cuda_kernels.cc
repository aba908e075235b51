#include "kernels/cuda_kernels.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/cuda_launch.h"

namespace rewire {
namespace {

namespace ci = cuda_internal;

absl::Status FromCuda(const ci::CudaResult& r, absl::string_view what) {
  if (r.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": CUDA error ", r.code, " (",
                                       r.what != nullptr ? r.what : "unknown",
                                       ")");
  if (r.out_of_memory) return absl::ResourceExhaustedError(msg);
  if (r.no_device) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

// ------------------------------------------------------ Tensor backend

void* BackendAllocate(int device_index, int64_t bytes, std::string* error) {
  void* p = nullptr;
  const ci::CudaResult r = ci::Allocate(device_index, bytes, &p);
  if (!r.ok()) {
    *error = r.what != nullptr ? r.what : "unknown CUDA error";
    return nullptr;
  }
  return p;
}

void BackendFree(int device_index, void* ptr) { ci::Free(device_index, ptr); }

absl::Status BackendCopy(void* dst, const void* src, int64_t bytes, int kind,
                         int device_index) {
  return FromCuda(ci::Copy(dst, src, bytes, kind, device_index),
                  "Tensor copy");
}

const CudaBackend kBackend = {&BackendAllocate, &BackendFree, &BackendCopy};

// Registered when this library is linked (alwayslink), before main.
const bool kRegistered = [] {
  RegisterCudaBackend(&kBackend);
  return true;
}();

// ------------------------------------------------------------- validation

absl::StatusOr<int> DtypeCode(ScalarType t, absl::string_view op,
                              absl::string_view name) {
  switch (t) {
    case ScalarType::kFloat32: return ci::kF32;
    case ScalarType::kFloat64: return ci::kF64;
    case ScalarType::kFloat16: return ci::kF16;
    case ScalarType::kBFloat16: return ci::kBF16;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": ", name, " dtype ", ScalarTypeName(t),
                       " is not supported (float32, float64, float16, "
                       "bfloat16)"));
  }
}

absl::Status CheckCudaTensor(const Tensor& t, absl::string_view op,
                             absl::string_view name) {
  if (!t.defined()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " is undefined"));
  }
  if (!t.device().is_cuda()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " is on ", t.device().ToString(),
                     "; the CUDA kernels need cuda tensors"));
  }
  return absl::OkStatus();
}

absl::Status CheckSameDevice(const Tensor& t, const Tensor& ref,
                             absl::string_view op, absl::string_view name) {
  RETURN_IF_ERROR(CheckCudaTensor(t, op, name));
  if (t.device() != ref.device()) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": ", name, " is on ", t.device().ToString(),
                     " but the input is on ", ref.device().ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckProbability(double p, absl::string_view op) {
  if (!(p >= 0.0 && p <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": p must be in [0, 1], got ", p));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ dropout core

// out = dropout(x) (out may alias x); mask optional. Mirrors the CPU's
// DropoutInto, including which calls reserve generator counters.
absl::Status DropoutInto(const Tensor& x, Tensor& out, uint8_t* mask, double p,
                         PhiloxGenerator& gen, absl::string_view op) {
  ASSIGN_OR_RETURN(const int dtype, DtypeCode(x.dtype(), op, "input"));
  const int device = x.device().index;
  const int64_t n = x.numel();
  const double keep = 1.0 - p;
  const bool draws = p > 0.0 && p < 1.0;
  if (!draws) {
    if (p == 0.0) {
      if (out.raw_data() != x.raw_data()) {
        RETURN_IF_ERROR(FromCuda(
            ci::Copy(out.raw_data(), x.raw_data(), x.nbytes(), 2, device), op));
      }
    } else {
      // +0 is all-zero bits in every floating dtype.
      RETURN_IF_ERROR(
          FromCuda(ci::Memset(out.raw_data(), 0, out.nbytes(), device), op));
    }
    if (mask != nullptr) {
      RETURN_IF_ERROR(
          FromCuda(ci::Memset(mask, p == 0.0 ? 1 : 0, n, device), op));
    }
    return absl::OkStatus();
  }
  ci::MaskArgs a;
  a.x = x.raw_data();
  a.out = out.raw_data();
  a.mask = mask;
  a.n = n;
  a.dtype = dtype;
  a.seed = gen.seed();
  a.offset = gen.Reserve(n);
  a.threshold = philox::KeepThreshold(keep);
  a.scale = 1.0 / keep;
  a.device = device;
  return FromCuda(ci::LaunchMask(a), op);
}

// ------------------------------------------------------ batch norm core

struct BnView {
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  Tensor* running_mean = nullptr;
  Tensor* running_var = nullptr;
  int64_t n = 0, c = 0, inner = 0;
};

const Tensor* Present(const Tensor* t) {
  return t != nullptr && t->defined() ? t : nullptr;
}
Tensor* Present(Tensor* t) { return t != nullptr && t->defined() ? t : nullptr; }

absl::Status CheckParam(const Tensor* t, const Tensor& input,
                        absl::string_view name, int64_t c) {
  constexpr absl::string_view op = "batch_norm";
  if (t == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(CheckSameDevice(*t, input, op, name));
  RETURN_IF_ERROR(DtypeCode(t->dtype(), op, name).status());
  if (t->dim() != 1 || t->size(0) != c) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": ", name, " must have shape [", c,
        "] (the channel count, input dim 1), got ", ShapeToString(t->shape())));
  }
  return absl::OkStatus();
}

absl::StatusOr<BnView> Validate(const Tensor& input, const Tensor* weight,
                                const Tensor* bias, Tensor* rm, Tensor* rv,
                                bool training, double momentum, double eps) {
  constexpr absl::string_view op = "batch_norm";
  RETURN_IF_ERROR(CheckCudaTensor(input, op, "input"));
  RETURN_IF_ERROR(DtypeCode(input.dtype(), op, "input").status());
  if (input.dim() < 2 || input.dim() > 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": input must have 2 to 5 dims (N, C, ...), got shape ",
        ShapeToString(input.shape())));
  }
  BnView v;
  v.weight = Present(weight);
  v.bias = Present(bias);
  v.running_mean = Present(rm);
  v.running_var = Present(rv);
  v.n = input.size(0);
  v.c = input.size(1);
  v.inner = 1;
  for (int d = 2; d < input.dim(); ++d) v.inner *= input.size(d);
  RETURN_IF_ERROR(CheckParam(v.weight, input, "weight", v.c));
  RETURN_IF_ERROR(CheckParam(v.bias, input, "bias", v.c));
  RETURN_IF_ERROR(CheckParam(v.running_mean, input, "running_mean", v.c));
  RETURN_IF_ERROR(CheckParam(v.running_var, input, "running_var", v.c));
  RETURN_IF_ERROR(CheckBatchNormScalars(
      op, v.running_mean != nullptr, v.running_var != nullptr, eps, momentum,
      training, v.n * v.inner, v.c, input.shape()));
  return v;
}

absl::StatusOr<BatchNormResult> BatchNormImpl(const Tensor& input,
                                              const BnView& v, bool training,
                                              double momentum, double eps) {
  const Device dev = input.device();
  const ScalarType stat_type = input.dtype() == ScalarType::kFloat64
                                   ? ScalarType::kFloat64
                                   : ScalarType::kFloat32;
  BatchNormResult r;
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(input.dtype(), input.shape(), dev));
  ASSIGN_OR_RETURN(r.save_mean,
                   Tensor::Empty(stat_type, {training ? v.c : 0}, dev));
  ASSIGN_OR_RETURN(r.save_invstd,
                   Tensor::Empty(stat_type, {training ? v.c : 0}, dev));
  ci::BatchNormArgs a;
  a.x = input.raw_data();
  a.y = r.output.raw_data();
  a.dtype = *DtypeCode(input.dtype(), "", "");  // validated
  a.n = v.n;
  a.c = v.c;
  a.inner = v.inner;
  if (v.weight != nullptr) {
    a.weight = v.weight->raw_data();
    a.weight_dtype = *DtypeCode(v.weight->dtype(), "", "");
  }
  if (v.bias != nullptr) {
    a.bias = v.bias->raw_data();
    a.bias_dtype = *DtypeCode(v.bias->dtype(), "", "");
  }
  if (v.running_mean != nullptr) {
    a.running_mean = v.running_mean->raw_data();
    a.running_mean_dtype = *DtypeCode(v.running_mean->dtype(), "", "");
    a.running_var = v.running_var->raw_data();
    a.running_var_dtype = *DtypeCode(v.running_var->dtype(), "", "");
  }
  a.save_mean = r.save_mean.raw_data();
  a.save_invstd = r.save_invstd.raw_data();
  a.stat_dtype = stat_type == ScalarType::kFloat64 ? ci::kF64 : ci::kF32;
  a.training = training;
  a.momentum = momentum;
  a.eps = eps;
  a.device = dev.index;
  RETURN_IF_ERROR(FromCuda(ci::LaunchBatchNorm(a), "batch_norm"));
  return r;
}

}  // namespace

// ------------------------------------------------------------- public API

absl::StatusOr<int> CudaDeviceCount() {
  int count = 0;
  const ci::CudaResult r = ci::DeviceCount(&count);
  if (!r.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cudaGetDeviceCount: ", r.what != nullptr ? r.what : "unknown error"));
  }
  if (count == 0) {
    return absl::UnavailableError("cudaGetDeviceCount: 0 devices");
  }
  return count;
}

absl::Status CudaSynchronize(int device) {
  return FromCuda(ci::Synchronize(device), "cudaDeviceSynchronize");
}

absl::StatusOr<Tensor> CudaDropout(const Tensor& input, double p, bool train,
                                   PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCudaTensor(input, "dropout", "input"));
  RETURN_IF_ERROR(CheckProbability(p, "dropout"));
  RETURN_IF_ERROR(DtypeCode(input.dtype(), "dropout", "input").status());
  if (!train) return input.Clone();
  ASSIGN_OR_RETURN(Tensor out,
                   Tensor::Empty(input.dtype(), input.shape(), input.device()));
  RETURN_IF_ERROR(DropoutInto(input, out, nullptr, p, gen, "dropout"));
  return out;
}

absl::Status CudaDropout_(Tensor& self, double p, bool train,
                          PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCudaTensor(self, "dropout_", "self"));
  RETURN_IF_ERROR(CheckProbability(p, "dropout_"));
  RETURN_IF_ERROR(DtypeCode(self.dtype(), "dropout_", "self").status());
  if (!train) return absl::OkStatus();
  return DropoutInto(self, self, nullptr, p, gen, "dropout_");
}

absl::StatusOr<NativeDropoutResult> CudaNativeDropout(const Tensor& input,
                                                      double p, bool train,
                                                      PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCudaTensor(input, "native_dropout", "input"));
  RETURN_IF_ERROR(CheckProbability(p, "native_dropout"));
  RETURN_IF_ERROR(
      DtypeCode(input.dtype(), "native_dropout", "input").status());
  NativeDropoutResult r;
  ASSIGN_OR_RETURN(r.mask, Tensor::Empty(ScalarType::kBool, input.shape(),
                                         input.device()));
  if (!train) {
    ASSIGN_OR_RETURN(r.output, input.Clone());
    RETURN_IF_ERROR(FromCuda(ci::Memset(r.mask.raw_data(), 1, r.mask.numel(),
                                        input.device().index),
                             "native_dropout"));
    return r;
  }
  ASSIGN_OR_RETURN(r.output,
                   Tensor::Empty(input.dtype(), input.shape(), input.device()));
  RETURN_IF_ERROR(DropoutInto(input, r.output,
                              static_cast<uint8_t*>(r.mask.raw_data()), p, gen,
                              "native_dropout"));
  return r;
}

absl::Status CudaBernoulli_(Tensor& self, double q, PhiloxGenerator& gen) {
  RETURN_IF_ERROR(CheckCudaTensor(self, "bernoulli_", "self"));
  RETURN_IF_ERROR(CheckProbability(q, "bernoulli_"));
  const bool is_bool = self.dtype() == ScalarType::kBool;
  int dtype = ci::kF32;
  if (!is_bool) {
    ASSIGN_OR_RETURN(dtype, DtypeCode(self.dtype(), "bernoulli_", "self"));
  }
  ci::MaskArgs a;
  a.n = self.numel();
  a.dtype = dtype;
  a.seed = gen.seed();
  a.offset = gen.Reserve(a.n);  // always, as the CPU's bernoulli_
  a.threshold = philox::KeepThreshold(q);
  a.device = self.device().index;
  if (is_bool) {
    a.mask = static_cast<uint8_t*>(self.raw_data());
  } else {
    a.out = self.raw_data();
  }
  return FromCuda(ci::LaunchMask(a), "bernoulli_");
}

absl::Status CudaDivScalar_(Tensor& self, double divisor) {
  RETURN_IF_ERROR(CheckCudaTensor(self, "div_", "self"));
  ASSIGN_OR_RETURN(const int dtype, DtypeCode(self.dtype(), "div_", "self"));
  return FromCuda(ci::LaunchDivScalar(self.raw_data(), self.numel(), dtype,
                                      divisor, self.device().index),
                  "div_");
}

absl::StatusOr<Tensor> CudaMul(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckCudaTensor(a, "mul", "self"));
  RETURN_IF_ERROR(CheckSameDevice(b, a, "mul", "other"));
  ASSIGN_OR_RETURN(const int dtype, DtypeCode(a.dtype(), "mul", "self"));
  if (a.shape() != b.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat("mul: shapes differ: ", ShapeToString(a.shape()), " vs ",
                     ShapeToString(b.shape()), " (no broadcasting here)"));
  }
  if (b.dtype() != a.dtype() && b.dtype() != ScalarType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mul: other must have self's dtype ", ScalarTypeName(a.dtype()),
        " or be bool, got ", ScalarTypeName(b.dtype())));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), a.shape(), a.device()));
  RETURN_IF_ERROR(FromCuda(
      ci::LaunchMul(a.raw_data(), b.raw_data(), b.dtype() == ScalarType::kBool,
                    out.raw_data(), a.numel(), dtype, a.device().index),
      "mul"));
  return out;
}

absl::StatusOr<BatchNormResult> CudaNativeBatchNorm(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    Tensor* running_mean, Tensor* running_var, bool training, double momentum,
    double eps) {
  ASSIGN_OR_RETURN(BnView v, Validate(input, weight, bias, running_mean,
                                      running_var, training, momentum, eps));
  return BatchNormImpl(input, v, training, momentum, eps);
}

absl::StatusOr<BatchNormResult> CudaNativeBatchNormLegitNoStats(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    bool training, double momentum, double eps) {
  return CudaNativeBatchNorm(input, weight, bias, nullptr, nullptr, training,
                             momentum, eps);
}

absl::StatusOr<BatchNormResult> CudaNativeBatchNormLegitNoTraining(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, double momentum,
    double eps) {
  // Eval never writes the running stats, so dropping const is safe.
  return CudaNativeBatchNorm(input, weight, bias,
                             const_cast<Tensor*>(&running_mean),
                             const_cast<Tensor*>(&running_var), false,
                             momentum, eps);
}

absl::StatusOr<BatchNormFunctionalResult> CudaNativeBatchNormLegitFunctional(
    const Tensor& input, const Tensor* weight, const Tensor* bias,
    const Tensor& running_mean, const Tensor& running_var, bool training,
    double momentum, double eps) {
  RETURN_IF_ERROR(CheckCudaTensor(running_mean, "batch_norm", "running_mean"));
  RETURN_IF_ERROR(CheckCudaTensor(running_var, "batch_norm", "running_var"));
  BatchNormFunctionalResult r;
  ASSIGN_OR_RETURN(r.running_mean, running_mean.Clone());
  ASSIGN_OR_RETURN(r.running_var, running_var.Clone());
  ASSIGN_OR_RETURN(BatchNormResult b,
                   CudaNativeBatchNorm(input, weight, bias, &r.running_mean,
                                       &r.running_var, training, momentum,
                                       eps));
  r.output = std::move(b.output);
  r.save_mean = std::move(b.save_mean);
  r.save_invstd = std::move(b.save_invstd);
  return r;
}

absl::StatusOr<Tensor> CudaBatchNorm(const Tensor& input, const Tensor* weight,
                                     const Tensor* bias, Tensor* running_mean,
                                     Tensor* running_var, bool training,
                                     double momentum, double eps) {
  ASSIGN_OR_RETURN(BatchNormResult r,
                   CudaNativeBatchNorm(input, weight, bias, running_mean,
                                       running_var, training, momentum, eps));
  return std::move(r.output);
}

}  // namespace rewire
