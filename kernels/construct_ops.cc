#include "kernels/construct_ops.h"

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/philox.h"

namespace rewire {
namespace op_args {
namespace {

// ------------------------------------------- mode-dependent activations

// rrelu. Eval: a leaky relu with the mean slope (lower + upper) / 2, as
// PyTorch's rrelu_with_noise computes it when training is False. Training:
// each negative element gets its own slope lower + (upper - lower) * u, u
// uniform from the run's Philox stream (element i: word i of the call's
// counters, as dropout draws), and the noise is that slope (1 where x >= 0).
struct RreluResult {
  Tensor y;
  Tensor noise;  // defined in training only
};

template <typename T>
void RreluLoop(const T* x, T* y, T* noise, int64_t n, double lower, double upper,
               bool training, uint64_t seed, uint64_t offset) {
  const double mean = (lower + upper) / 2;
  for (int64_t i = 0; i < n; ++i) {
    double slope = mean;
    if (training) {
      const philox::Block blk = philox::BlockAt(seed, offset + i / philox::kWordsPerCounter);
      const double u = philox::UniformFromWord(blk.w[i % philox::kWordsPerCounter]);
      slope = lower + (upper - lower) * u;
    }
    const bool neg = x[i] < 0;
    y[i] = neg ? static_cast<T>(x[i] * slope) : x[i];
    if (noise != nullptr) noise[i] = neg ? static_cast<T>(slope) : T{1};
  }
}

absl::StatusOr<RreluResult> Rrelu(Ctx& c, Args& a, const Tensor& x) {
  ASSIGN_OR_RETURN(double lower, a.D("lower"));
  ASSIGN_OR_RETURN(double upper, a.D("upper"));
  ASSIGN_OR_RETURN(bool training, a.B("training"));
  if (!(lower <= upper)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rrelu: lower bound ", lower, " is greater than upper bound ", upper));
  }
  if (x.dtype() != ScalarType::kFloat32 && x.dtype() != ScalarType::kFloat64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rrelu needs a float32 or float64 input, got ", ScalarTypeName(x.dtype())));
  }
  RreluResult r;
  ASSIGN_OR_RETURN(r.y, Tensor::Empty(x.dtype(), x.shape()));
  if (training) {
    ASSIGN_OR_RETURN(r.noise, Tensor::Empty(x.dtype(), x.shape()));
  }
  const uint64_t offset = training ? c.gen->Reserve(x.numel()) : 0;
  if (x.dtype() == ScalarType::kFloat32) {
    RreluLoop<float>(x.data<float>(), r.y.data<float>(),
                     training ? r.noise.data<float>() : nullptr, x.numel(), lower, upper,
                     training, c.gen->seed(), offset);
  } else {
    RreluLoop<double>(x.data<double>(), r.y.data<double>(),
                      training ? r.noise.data<double>() : nullptr, x.numel(), lower, upper,
                      training, c.gen->seed(), offset);
  }
  return r;
}

// rrelu_with_noise(_) writes the noise into its argument in training.
absl::Status WriteNoise(Args& a, const RreluResult& r) {
  if (!r.noise.defined() || !a.Has("noise")) return absl::OkStatus();
  ASSIGN_OR_RETURN(Tensor * noise, a.T("noise"));
  if (noise->shape() != r.noise.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rrelu_with_noise: noise ", ShapeToString(noise->shape()), " does not match the input ",
        ShapeToString(r.noise.shape())));
  }
  return ops::CopyInto(*noise, r.noise);
}

}  // namespace

absl::StatusOr<RuntimeValue> OpRrelu(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(RreluResult r, Rrelu(c, a, *x));
  RETURN_IF_ERROR(WriteNoise(a, r));
  return V(std::move(r.y));
}
absl::StatusOr<RuntimeValue> OpRrelu_(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(RreluResult r, Rrelu(c, a, *x));
  RETURN_IF_ERROR(WriteNoise(a, r));
  RETURN_IF_ERROR(ops::CopyInto(*x, r.y));
  return V(*x);
}
absl::StatusOr<RuntimeValue> OpRreluWithNoiseFunctional(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * noise, a.T("noise"));
  ASSIGN_OR_RETURN(RreluResult r, Rrelu(c, a, *x));
  if (!r.noise.defined()) {
    ASSIGN_OR_RETURN(r.noise, noise->Clone());
  }
  return Tup({std::move(r.y), std::move(r.noise)});
}

// instance_norm: batch norm of the (1, N*C, ...) view with weight, bias
// and running stats repeated N times, as ATen decomposes it; the updated
// repeated stats are averaged back over N. In eval (use_input_stats False)
// it normalizes each channel with the running stats directly.
absl::StatusOr<RuntimeValue> OpInstanceNorm(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(Tensor * w, a.OptT("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  ASSIGN_OR_RETURN(Tensor * rm, a.OptT("running_mean"));
  ASSIGN_OR_RETURN(Tensor * rv, a.OptT("running_var"));
  ASSIGN_OR_RETURN(bool use_input_stats, a.B("use_input_stats"));
  ASSIGN_OR_RETURN(double momentum, a.D("momentum"));
  ASSIGN_OR_RETURN(double eps, a.D("eps"));
  if (x->dim() < 2) {
    return absl::InvalidArgumentError("instance_norm needs an (N, C, ...) input");
  }
  if ((rm == nullptr) != (rv == nullptr)) {
    return absl::InvalidArgumentError(
        "instance_norm needs both running_mean and running_var, or neither");
  }
  if (!use_input_stats) {
    if (rm == nullptr) {
      return absl::InvalidArgumentError(
          "instance_norm without input stats needs running stats");
    }
    ASSIGN_OR_RETURN(BatchNormResult r,
                     c.dev->native_batch_norm(*x, w, b, rm, rv, false, momentum, eps));
    return V(std::move(r.output));
  }
  const int64_t n = x->size(0), ch = x->size(1);
  std::vector<int64_t> folded = x->shape();
  folded[0] = 1;
  folded[1] = n * ch;  // cannot overflow: it is x's own element count's factor
  ASSIGN_OR_RETURN(Tensor xf, x->Reshape(folded));
  auto repeat = [&](Tensor* t) -> absl::StatusOr<Tensor> {
    if (t->dim() != 1 || t->size(0) != ch) {
      return absl::InvalidArgumentError(absl::StrCat(
          "instance_norm: per-channel tensor of shape [", ch, "] expected"));
    }
    std::vector<Tensor> parts(n, *t);
    return ops::Cat(parts, 0);
  };
  std::optional<Tensor> wr, br, rmr, rvr;
  if (w != nullptr) {
    ASSIGN_OR_RETURN(wr, repeat(w));
  }
  if (b != nullptr) {
    ASSIGN_OR_RETURN(br, repeat(b));
  }
  if (rm != nullptr) {
    ASSIGN_OR_RETURN(rmr, repeat(rm));
    ASSIGN_OR_RETURN(rvr, repeat(rv));
  }
  auto ptr = [](std::optional<Tensor>& t) { return t.has_value() ? &*t : nullptr; };
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(xf, ptr(wr), ptr(br), ptr(rmr),
                                            ptr(rvr), true, momentum, eps));
  if (rm != nullptr) {
    for (auto [rep, dst] : {std::pair{&*rmr, rm}, std::pair{&*rvr, rv}}) {
      ASSIGN_OR_RETURN(Tensor v, rep->Reshape({n, ch}));
      ASSIGN_OR_RETURN(Tensor mean, ops::Mean(v, {0}, false, std::nullopt));
      RETURN_IF_ERROR(ops::CopyInto(*dst, mean));
    }
  }
  ASSIGN_OR_RETURN(Tensor y, r.output.Reshape(x->shape()));
  return V(std::move(y));
}

// repeat: tiles `self` (left-padded with 1s to len(repeats) dims).
absl::StatusOr<RuntimeValue> OpRepeat(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::vector<int64_t> reps, a.Ints("repeats"));
  if (reps.size() < static_cast<size_t>(x->dim())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "repeat: ", reps.size(), " repeats for a ", x->dim(), "-d tensor"));
  }
  const size_t rank = reps.size();
  std::vector<int64_t> in(rank, 1), out(rank);
  for (int i = 0; i < x->dim(); ++i) in[rank - x->dim() + i] = x->size(i);
  for (size_t i = 0; i < rank; ++i) {
    if (reps[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("repeat: negative count ", reps[i]));
    }
    if (__builtin_mul_overflow(in[i], reps[i], &out[i])) {
      return absl::InvalidArgumentError("repeat: output size overflows");
    }
  }
  ASSIGN_OR_RETURN(Tensor y, ops::Full(out, 0.0, x->dtype()));
  const int64_t item = x->itemsize();
  const char* src = static_cast<const char*>(x->raw_data());
  char* dst = static_cast<char*>(y.raw_data());
  std::vector<int64_t> idx(rank, 0);
  for (int64_t e = 0; e < y.numel(); ++e) {
    int64_t off = 0;
    for (size_t i = 0; i < rank; ++i) off = off * in[i] + idx[i] % in[i];
    std::memcpy(dst + e * item, src + off * item, item);
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpNewEmpty(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  return SizedOp(a, "size", 0.0, x->dtype());
}
absl::StatusOr<RuntimeValue> OpEmptyPermuted(Ctx&, Args& a) {
  // Values are unspecified and this executor's tensors are row-major, so
  // the physical layout does not show.
  return SizedOp(a, "size", 0.0, ScalarType::kFloat32);
}

}  // namespace op_args
}  // namespace rewire
