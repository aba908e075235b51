// Op adapters of the executor's core families: dropout and batch norm
// (through DeviceOps, the kernels of cpu_kernels.h), and the common ops of
// common_ops.h (arithmetic, activations, convolution, matrix products,
// creation and copies, pooling, reductions, layer norm).
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/linalg_ops.h"
#include "kernels/construct_ops.h"
#include "kernels/op_args.h"
#include "kernels/pool_ops.h"

namespace rewire {
namespace op_args {
namespace {

// ------------------------------------------------------ dropout family

absl::StatusOr<RuntimeValue> OpDropout(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  ASSIGN_OR_RETURN(bool train, a.B("train"));
  if (!train) {
    // The input itself, as ATen's dropout returns it in eval (no copy).
    if (!(p >= 0 && p <= 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dropout probability has to be between 0 and 1, but got ", p));
    }
    return V(*x);
  }
  ASSIGN_OR_RETURN(Tensor y, c.dev->dropout(*x, p, train, *c.gen));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpDropout_(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  ASSIGN_OR_RETURN(bool train, a.B("train"));
  RETURN_IF_ERROR(c.dev->dropout_(*x, p, train, *c.gen));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpNativeDropout(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  ASSIGN_OR_RETURN(RuntimeValue * tv, a.Get("train"));
  // train=None means training (ATen only skips dropout for an explicit False).
  bool train = true;
  if (!tv->is_none()) {
    ASSIGN_OR_RETURN(train, a.B("train"));
  }
  ASSIGN_OR_RETURN(NativeDropoutResult r, c.dev->native_dropout(*x, p, train, *c.gen));
  return Tup({std::move(r.output), std::move(r.mask)});
}

absl::StatusOr<RuntimeValue> OpBernoulliFloat_(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  RETURN_IF_ERROR(c.dev->bernoulli_(*x, p, *c.gen));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpBernoulliP(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  ASSIGN_OR_RETURN(Tensor y, x->Clone());
  RETURN_IF_ERROR(c.dev->bernoulli_(y, p, *c.gen));
  return V(std::move(y));
}

// feature_dropout / alpha_dropout and their feature and in-place variants.
// Noise is drawn per element, or per (N, C) feature map for the feature
// forms, from the same Philox stream as dropout.
absl::StatusOr<RuntimeValue> AlphaOrFeatureDropout(Ctx& c, Args& a, bool feature,
                                            bool alpha, bool inplace) {
  ASSIGN_OR_RETURN(Tensor * x, a.T(inplace ? "self" : "input"));
  ASSIGN_OR_RETURN(double p, a.D("p"));
  ASSIGN_OR_RETURN(bool train, a.B("train"));
  if (!(p >= 0 && p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("dropout probability must be in [0, 1], got ", p));
  }
  if (!train || p == 0) return V(*x);
  if (!IsFloatingPoint(x->dtype())) {
    return absl::InvalidArgumentError("dropout needs a floating input");
  }
  std::vector<int64_t> noise_shape = x->shape();
  if (feature) {
    if (x->dim() < 2) {
      return absl::InvalidArgumentError(
          "feature dropout needs at least 2 dims (N, C, ...)");
    }
    for (int i = 2; i < x->dim(); ++i) noise_shape[i] = 1;
  }
  ASSIGN_OR_RETURN(Tensor noise, ops::Full(noise_shape, 0.0, x->dtype()));
  RETURN_IF_ERROR(c.dev->bernoulli_(noise, 1.0 - p, *c.gen));
  Tensor out;
  if (!alpha) {
    if (p == 1) {
      ASSIGN_OR_RETURN(out, ops::Full(x->shape(), 0.0, x->dtype()));
    } else {
      ASSIGN_OR_RETURN(Tensor scaled, ops::BinaryScalar(ops::BinaryKind::kDiv, noise,
                                                         ops::Scalar::Float(1.0 - p)));
      ASSIGN_OR_RETURN(out, ops::Binary(ops::BinaryKind::kMul, *x, scaled));
    }
  } else {
    // PyTorch's _dropout_impl: a = 1 / sqrt((alpha^2 p + 1)(1 - p)),
    // b = (noise - 1) * alpha * a + alpha * a * p, out = x * noise * a + b.
    constexpr double kAlpha = 1.7580993408473766;
    const double av = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1) * (1 - p));
    ASSIGN_OR_RETURN(Tensor b, ops::BinaryScalar(ops::BinaryKind::kSub, noise, ops::Scalar::Int(1)));
    ASSIGN_OR_RETURN(b, ops::BinaryScalar(ops::BinaryKind::kMul, b, ops::Scalar::Float(kAlpha * av)));
    ASSIGN_OR_RETURN(b, ops::BinaryScalar(ops::BinaryKind::kAdd, b, ops::Scalar::Float(kAlpha * av * p)));
    ASSIGN_OR_RETURN(Tensor n2, ops::BinaryScalar(ops::BinaryKind::kMul, noise, ops::Scalar::Float(av)));
    ASSIGN_OR_RETURN(out, ops::Binary(ops::BinaryKind::kMul, *x, n2));
    ASSIGN_OR_RETURN(out, ops::Binary(ops::BinaryKind::kAdd, out, b));
  }
  if (inplace) {
    RETURN_IF_ERROR(ops::CopyInto(*x, out));
    return V(*x);
  }
  return V(std::move(out));
}
absl::StatusOr<RuntimeValue> OpFeatureDropout(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, true, false, false); }
absl::StatusOr<RuntimeValue> OpFeatureDropout_(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, true, false, true); }
absl::StatusOr<RuntimeValue> OpAlphaDropout(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, false, true, false); }
absl::StatusOr<RuntimeValue> OpAlphaDropout_(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, false, true, true); }
absl::StatusOr<RuntimeValue> OpFeatureAlphaDropout(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, true, true, false); }
absl::StatusOr<RuntimeValue> OpFeatureAlphaDropout_(Ctx& c, Args& a) { return AlphaOrFeatureDropout(c, a, true, true, true); }

// --------------------------------------------------- batch norm family

struct BnIn {
  Tensor* x;
  Tensor* w;
  Tensor* b;
  Tensor* rm;
  Tensor* rv;
  bool training;
  double momentum;
  double eps;
};

absl::StatusOr<BnIn> ReadBn(Args& a, const char* train_name, const char* mom,
                            const char* eps, bool has_stats) {
  BnIn in{};
  ASSIGN_OR_RETURN(in.x, a.T("input"));
  ASSIGN_OR_RETURN(in.w, a.OptT("weight"));
  ASSIGN_OR_RETURN(in.b, a.OptT("bias"));
  if (has_stats) {
    ASSIGN_OR_RETURN(in.rm, a.OptT("running_mean"));
    ASSIGN_OR_RETURN(in.rv, a.OptT("running_var"));
  }
  in.training = false;
  if (train_name != nullptr) {
    ASSIGN_OR_RETURN(in.training, a.B(train_name));
  }
  ASSIGN_OR_RETURN(in.momentum, a.D(mom));
  ASSIGN_OR_RETURN(in.eps, a.D(eps));
  return in;
}

absl::StatusOr<RuntimeValue> OpBatchNorm(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, "training", "momentum", "eps", true));
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(*in.x, in.w, in.b, in.rm, in.rv,
                                            in.training, in.momentum, in.eps));
  return V(std::move(r.output));
}

absl::StatusOr<RuntimeValue> OpNativeBatchNorm(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, "training", "momentum", "eps", true));
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(*in.x, in.w, in.b, in.rm, in.rv,
                                            in.training, in.momentum, in.eps));
  return Tup({std::move(r.output), std::move(r.save_mean), std::move(r.save_invstd)});
}

absl::StatusOr<RuntimeValue> OpBnLegitNoStats(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, "training", "momentum", "eps", false));
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(*in.x, in.w, in.b, nullptr, nullptr,
                                            in.training, in.momentum, in.eps));
  return Tup({std::move(r.output), std::move(r.save_mean), std::move(r.save_invstd)});
}

absl::StatusOr<RuntimeValue> OpBnLegitNoTraining(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, nullptr, "momentum", "eps", true));
  if (in.rm == nullptr || in.rv == nullptr) {
    return absl::InvalidArgumentError("running_mean and running_var are required");
  }
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(*in.x, in.w, in.b, in.rm, in.rv,
                                            false, in.momentum, in.eps));
  return Tup({std::move(r.output), std::move(r.save_mean), std::move(r.save_invstd)});
}

absl::StatusOr<RuntimeValue> OpBnFunctional(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, "training", "momentum", "eps", true));
  if (in.rm == nullptr || in.rv == nullptr) {
    return absl::InvalidArgumentError("running_mean and running_var are required");
  }
  ASSIGN_OR_RETURN(BatchNormFunctionalResult r,
                   c.dev->batch_norm_functional(*in.x, in.w, in.b, *in.rm, *in.rv,
                                                in.training, in.momentum, in.eps));
  return Tup({std::move(r.output), std::move(r.save_mean), std::move(r.save_invstd),
              std::move(r.running_mean), std::move(r.running_var)});
}

absl::StatusOr<RuntimeValue> OpCudnnBatchNorm(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(BnIn in, ReadBn(a, "training", "exponential_average_factor",
                                   "epsilon", true));
  ASSIGN_OR_RETURN(BatchNormResult r,
                   c.dev->native_batch_norm(*in.x, in.w, in.b, in.rm, in.rv,
                                            in.training, in.momentum, in.eps));
  // The 4th output is cuDNN's reserve space; nothing reads it in a forward
  // graph, so an empty byte tensor stands in.
  ASSIGN_OR_RETURN(Tensor reserve, Tensor::Empty(ScalarType::kUInt8, {0}, in.x->device()));
  return Tup({std::move(r.output), std::move(r.save_mean), std::move(r.save_invstd),
              std::move(reserve)});
}

// ------------------------------------------------------------ common ops

template <ops::BinaryKind K>
absl::StatusOr<RuntimeValue> OpBinTensor(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(RuntimeValue * sv, a.Get("self"));
  ASSIGN_OR_RETURN(RuntimeValue * o, a.Get("other"));
  ops::Scalar alpha = ops::Scalar::Int(1);
  if (a.Has("alpha")) {
    ASSIGN_OR_RETURN(alpha, a.S("alpha"));
  }
  if (!sv->is_tensor() && o->is_tensor() && o->tensor.defined()) {
    // A Python number as self (core ATen's `1 - x` is sub.Tensor(1, x)): a
    // 0-dim tensor of the dtype PyTorch gives number (op) tensor, so it does
    // not promote the tensor.
    ASSIGN_OR_RETURN(ops::Scalar n, Args::ScalarOf(*sv, "self"));
    const ScalarType other = o->tensor.dtype();
    const ScalarType dt = IsFloatingPoint(other) || n.integral ? other : ScalarType::kFloat32;
    ASSIGN_OR_RETURN(Tensor st, ops::Full({}, n.value, dt));
    ASSIGN_OR_RETURN(Tensor y, ops::Binary(K, st, o->tensor, alpha));
    return V(std::move(y));
  }
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  if (!o->is_tensor()) {
    // torch.export can pass a Python number where the schema says Tensor.
    ASSIGN_OR_RETURN(ops::Scalar s, Args::ScalarOf(*o, "other"));
    ASSIGN_OR_RETURN(Tensor y, ops::BinaryScalar(K, *x, s, alpha));
    return V(std::move(y));
  }
  ASSIGN_OR_RETURN(Tensor y, ops::Binary(K, *x, o->tensor, alpha));
  return V(std::move(y));
}

template <ops::BinaryKind K>
absl::StatusOr<RuntimeValue> OpBinTensor_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(RuntimeValue * o, a.Get("other"));
  ops::Scalar alpha = ops::Scalar::Int(1);
  if (a.Has("alpha")) {
    ASSIGN_OR_RETURN(alpha, a.S("alpha"));
  }
  if (!o->is_tensor()) {
    ASSIGN_OR_RETURN(ops::Scalar s, Args::ScalarOf(*o, "other"));
    RETURN_IF_ERROR(ops::BinaryScalarInPlace(K, *x, s, alpha));
  } else {
    RETURN_IF_ERROR(ops::BinaryInPlace(K, *x, o->tensor, alpha));
  }
  return V(*x);
}

template <ops::BinaryKind K>
absl::StatusOr<RuntimeValue> OpBinScalar(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("other"));
  ops::Scalar alpha = ops::Scalar::Int(1);
  if (a.Has("alpha")) {
    ASSIGN_OR_RETURN(alpha, a.S("alpha"));
  }
  ASSIGN_OR_RETURN(Tensor y, ops::BinaryScalar(K, *x, s, alpha));
  return V(std::move(y));
}

template <ops::BinaryKind K>
absl::StatusOr<RuntimeValue> OpBinScalar_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("other"));
  ops::Scalar alpha = ops::Scalar::Int(1);
  if (a.Has("alpha")) {
    ASSIGN_OR_RETURN(alpha, a.S("alpha"));
  }
  RETURN_IF_ERROR(ops::BinaryScalarInPlace(K, *x, s, alpha));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpRsub(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(ops::Scalar s, a.S("other"));
  ASSIGN_OR_RETURN(ops::Scalar alpha, a.S("alpha"));
  ASSIGN_OR_RETURN(Tensor y, ops::RsubScalar(*x, s, alpha));
  return V(std::move(y));
}

template <ops::UnaryKind K>
absl::StatusOr<RuntimeValue> OpUnary(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor y, ops::Unary(K, *x));
  return V(std::move(y));
}

template <ops::UnaryKind K>
absl::StatusOr<RuntimeValue> OpUnary_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  RETURN_IF_ERROR(ops::UnaryInPlace(K, *x));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpGelu(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(RuntimeValue * ap, a.Get("approximate"));
  std::string approx = "none";
  if (ap->kind == RuntimeValue::Kind::kLiteral && ap->literal.kind() == Argument::Kind::kString) {
    approx = ap->literal.as_string();
  }
  if (approx != "none" && approx != "tanh") {
    return absl::InvalidArgumentError(absl::StrCat("gelu: unknown approximate '", approx, "'"));
  }
  ASSIGN_OR_RETURN(Tensor y, ops::Unary(approx == "tanh" ? ops::UnaryKind::kGeluTanh
                                                          : ops::UnaryKind::kGelu, *x));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpHardtanh(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double lo, a.D("min_val"));
  ASSIGN_OR_RETURN(double hi, a.D("max_val"));
  ASSIGN_OR_RETURN(Tensor y, ops::Hardtanh(*x, lo, hi));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpHardtanh_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double lo, a.D("min_val"));
  ASSIGN_OR_RETURN(double hi, a.D("max_val"));
  RETURN_IF_ERROR(ops::Hardtanh_(*x, lo, hi));
  return V(*x);
}

absl::StatusOr<RuntimeValue> OpPow(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(double e, a.D("exponent"));
  ASSIGN_OR_RETURN(Tensor y, ops::PowScalar(*x, e));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpSoftmax(Ctx&, Args& a, bool log) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  Tensor in = *x;
  if (a.Has("dtype")) {
    ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
    if (dt.has_value() && *dt != in.dtype()) {
      ASSIGN_OR_RETURN(in, ops::Cast(in, *dt));
    }
  }
  ASSIGN_OR_RETURN(Tensor y, ops::Softmax(in, dim, log));
  return V(std::move(y));
}
absl::StatusOr<RuntimeValue> OpSoftmaxF(Ctx& c, Args& a) { return OpSoftmax(c, a, false); }
absl::StatusOr<RuntimeValue> OpLogSoftmaxF(Ctx& c, Args& a) { return OpSoftmax(c, a, true); }

absl::StatusOr<RuntimeValue> OpConvolution(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(Tensor * w, a.T("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  if (a.Has("transposed")) {
    ASSIGN_OR_RETURN(bool transposed, a.B("transposed"));
    if (transposed) {
      return absl::UnimplementedError("no kernel for transposed convolution");
    }
  }
  if (w->dim() != 4) {
    return absl::UnimplementedError(absl::StrCat(
        "no kernel for ", w->dim() - 2, "-D convolution (only 2-D)"));
  }
  ASSIGN_OR_RETURN(auto stride, a.Pair("stride"));
  ASSIGN_OR_RETURN(auto padding, a.Pair("padding"));
  ASSIGN_OR_RETURN(auto dilation, a.Pair("dilation"));
  ASSIGN_OR_RETURN(int64_t groups, a.I("groups"));
  ASSIGN_OR_RETURN(Tensor y, ops::Conv2d(*x, *w, b, stride, padding, dilation, groups));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpLinear(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(Tensor * w, a.T("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  ASSIGN_OR_RETURN(Tensor y, ops::Linear(*x, *w, b));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpAddmm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * s, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * m1, a.T("mat1"));
  ASSIGN_OR_RETURN(Tensor * m2, a.T("mat2"));
  ASSIGN_OR_RETURN(double beta, a.D("beta"));
  ASSIGN_OR_RETURN(double alpha, a.D("alpha"));
  ASSIGN_OR_RETURN(Tensor y, ops::Addmm(*s, *m1, *m2, beta, alpha));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpBaddbmm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * s, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * b1, a.T("batch1"));
  ASSIGN_OR_RETURN(Tensor * b2, a.T("batch2"));
  ASSIGN_OR_RETURN(double beta, a.D("beta"));
  ASSIGN_OR_RETURN(double alpha, a.D("alpha"));
  ASSIGN_OR_RETURN(Tensor y, ops::Baddbmm(*s, *b1, *b2, beta, alpha));
  return V(std::move(y));
}

absl::StatusOr<RuntimeValue> OpMm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("mat2"));
  ASSIGN_OR_RETURN(Tensor r, ops::Mm(*x, *y));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpBmm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("mat2"));
  ASSIGN_OR_RETURN(Tensor r, ops::Bmm(*x, *y));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpMatmul(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * y, a.T("other"));
  ASSIGN_OR_RETURN(Tensor r, ops::Matmul(*x, *y));
  return V(std::move(r));
}












absl::StatusOr<RuntimeValue> OpToCopy(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(RuntimeValue * dv, a.Get("device"));
  Tensor src = *x;
  if (dv->kind == RuntimeValue::Kind::kLiteral && dv->literal.kind() == Argument::Kind::kDevice &&
      !dv->literal.as_device().is_cpu() && !dv->literal.as_device().is_meta()) {
    return absl::UnimplementedError(absl::StrCat(
        "no kernel for _to_copy to ", dv->literal.as_device().ToString(),
        " (the executor runs a graph on one device)"));
  }
  ASSIGN_OR_RETURN(Tensor r, ops::Cast(src, dt.value_or(src.dtype())));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpCopy_(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * self, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * src, a.T("src"));
  RETURN_IF_ERROR(ops::CopyInto(*self, *src));
  return V(*self);
}

// Functional copy (core ATen's form of copy_): src broadcast to self's shape
// and dtype, in a new tensor.
absl::StatusOr<RuntimeValue> OpCopy(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * self, a.T("self"));
  ASSIGN_OR_RETURN(Tensor * src, a.T("src"));
  ASSIGN_OR_RETURN(Tensor out, self->Clone());
  RETURN_IF_ERROR(ops::CopyInto(out, *src));
  return V(std::move(out));
}

absl::StatusOr<RuntimeValue> LikeOp(Args& a, std::optional<double> fill) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  // empty_like is zero-filled: deterministic, and the values are unspecified
  // in PyTorch anyway.
  ASSIGN_OR_RETURN(Tensor r, ops::Full(x->shape(), fill.value_or(0.0), dt.value_or(x->dtype())));
  return V(std::move(r));
}
absl::StatusOr<RuntimeValue> OpEmptyLike(Ctx&, Args& a) { return LikeOp(a, std::nullopt); }
absl::StatusOr<RuntimeValue> OpZerosLike(Ctx&, Args& a) { return LikeOp(a, 0.0); }
absl::StatusOr<RuntimeValue> OpOnesLike(Ctx&, Args& a) { return LikeOp(a, 1.0); }

absl::StatusOr<RuntimeValue> OpEmpty(Ctx&, Args& a) { return SizedOp(a, "size", 0.0, ScalarType::kFloat32); }
absl::StatusOr<RuntimeValue> OpZeros(Ctx&, Args& a) { return SizedOp(a, "size", 0.0, ScalarType::kFloat32); }
absl::StatusOr<RuntimeValue> OpOnes(Ctx&, Args& a) { return SizedOp(a, "size", 1.0, ScalarType::kFloat32); }
absl::StatusOr<RuntimeValue> OpFull(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(RuntimeValue * fv, a.Get("fill_value"));
  ASSIGN_OR_RETURN(ops::Scalar s, Args::ScalarOf(*fv, "fill_value"));
  ScalarType dflt = s.integral ? ScalarType::kInt64 : ScalarType::kFloat32;
  if (fv->literal.kind() == Argument::Kind::kBool) dflt = ScalarType::kBool;
  return SizedOp(a, "size", s.value, dflt);
}

absl::StatusOr<RuntimeValue> OpMaxPool(Ctx&, Args& a, bool with_indices) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ops::Pool2dParams p;
  ASSIGN_OR_RETURN(p.kernel, a.Pair("kernel_size"));
  ASSIGN_OR_RETURN(std::vector<int64_t> stride, a.Ints("stride", 2));
  p.stride = stride.empty() ? p.kernel : std::array<int64_t, 2>{stride[0], stride[1]};
  ASSIGN_OR_RETURN(p.padding, a.Pair("padding"));
  ASSIGN_OR_RETURN(p.dilation, a.Pair("dilation"));
  ASSIGN_OR_RETURN(p.ceil_mode, a.B("ceil_mode"));
  ASSIGN_OR_RETURN(ops::MaxPoolResult r, ops::MaxPool2d(*x, p, with_indices));
  if (with_indices) return Tup({std::move(r.output), std::move(r.indices)});
  return V(std::move(r.output));
}
absl::StatusOr<RuntimeValue> OpMaxPool2d(Ctx& c, Args& a) { return OpMaxPool(c, a, false); }
absl::StatusOr<RuntimeValue> OpMaxPool2dIdx(Ctx& c, Args& a) { return OpMaxPool(c, a, true); }

absl::StatusOr<RuntimeValue> OpAvgPool2d(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ops::Pool2dParams p;
  ASSIGN_OR_RETURN(p.kernel, a.Pair("kernel_size"));
  ASSIGN_OR_RETURN(std::vector<int64_t> stride, a.Ints("stride", 2));
  p.stride = stride.empty() ? p.kernel : std::array<int64_t, 2>{stride[0], stride[1]};
  ASSIGN_OR_RETURN(p.padding, a.Pair("padding"));
  ASSIGN_OR_RETURN(p.ceil_mode, a.B("ceil_mode"));
  ASSIGN_OR_RETURN(bool cip, a.B("count_include_pad"));
  ASSIGN_OR_RETURN(std::optional<int64_t> div, a.OptI("divisor_override"));
  ASSIGN_OR_RETURN(Tensor r, ops::AvgPool2d(*x, p, cip, div));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpAdaptiveAvgPool2d(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(auto os, a.Pair("output_size"));
  ASSIGN_OR_RETURN(Tensor r, ops::AdaptiveAvgPool2d(*x, os));
  return V(std::move(r));
}

absl::StatusOr<RuntimeValue> OpReduce(Args& a, bool mean) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  std::vector<int64_t> dims;
  bool keepdim = false;
  if (a.Has("dim")) {
    ASSIGN_OR_RETURN(dims, a.Ints("dim"));
    ASSIGN_OR_RETURN(keepdim, a.B("keepdim"));
  }
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, mean ? ops::Mean(*x, dims, keepdim, dt)
                                  : ops::Sum(*x, dims, keepdim, dt));
  return V(std::move(r));
}
absl::StatusOr<RuntimeValue> OpMean(Ctx&, Args& a) { return OpReduce(a, true); }
absl::StatusOr<RuntimeValue> OpSum(Ctx&, Args& a) { return OpReduce(a, false); }

absl::StatusOr<RuntimeValue> OpCat(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(std::vector<Tensor> ts, a.Tensors("tensors"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(Tensor r, ops::Cat(ts, dim));
  return V(std::move(r));
}


absl::StatusOr<RuntimeValue> OpSymSize(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("self"));
  ASSIGN_OR_RETURN(int64_t dim, a.I("dim"));
  ASSIGN_OR_RETURN(int d, ops::NormalizeDim(dim, x->dim()));
  return RuntimeValue::Literal(Argument::Int(x->dim() == 0 ? 1 : x->size(d)));
}

absl::StatusOr<RuntimeValue> OpNativeLayerNorm(Ctx&, Args& a) {
  ASSIGN_OR_RETURN(Tensor * x, a.T("input"));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, a.Ints("normalized_shape"));
  ASSIGN_OR_RETURN(Tensor * w, a.OptT("weight"));
  ASSIGN_OR_RETURN(Tensor * b, a.OptT("bias"));
  ASSIGN_OR_RETURN(double eps, a.D("eps"));
  ASSIGN_OR_RETURN(ops::LayerNormResult r, ops::LayerNorm(*x, shape, w, b, eps));
  return Tup({std::move(r.output), std::move(r.mean), std::move(r.rstd)});
}

absl::StatusOr<RuntimeValue> OpLayerNorm(Ctx& c, Args& a) {
  ASSIGN_OR_RETURN(RuntimeValue v, OpNativeLayerNorm(c, a));
  return std::move(v.list[0]);
}

}  // namespace

// Ops the CPU kernels of cpu_kernels.h serve (through DeviceOps) are marked
// device-native; the rest are CPU-only.
void RegisterCoreOps(OpRegistry& t) {
  using K = ops::BinaryKind;
  using U = ops::UnaryKind;
  auto dev = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    e.device_native = true;
    t[name] = e;
  };
  auto cpu = [&](const char* name, OpFn fn) {
    OpEntry e;
    e.fn = fn;
    t[name] = e;
  };
  dev("aten.dropout.default", OpDropout);
  dev("aten.dropout_.default", OpDropout_);
  dev("aten.native_dropout.default", OpNativeDropout);
  dev("aten.bernoulli_.float", OpBernoulliFloat_);
  dev("aten.bernoulli.p", OpBernoulliP);
  cpu("aten.feature_dropout.default", OpFeatureDropout);
  cpu("aten.feature_dropout_.default", OpFeatureDropout_);
  cpu("aten.alpha_dropout.default", OpAlphaDropout);
  cpu("aten.alpha_dropout_.default", OpAlphaDropout_);
  cpu("aten.feature_alpha_dropout.default", OpFeatureAlphaDropout);
  cpu("aten.feature_alpha_dropout_.default", OpFeatureAlphaDropout_);
  dev("aten.batch_norm.default", OpBatchNorm);
  dev("aten.native_batch_norm.default", OpNativeBatchNorm);
  dev("aten._native_batch_norm_legit.default", OpNativeBatchNorm);
  dev("aten._native_batch_norm_legit.no_stats", OpBnLegitNoStats);
  dev("aten._native_batch_norm_legit_no_training.default", OpBnLegitNoTraining);
  dev("aten._native_batch_norm_legit_functional.default", OpBnFunctional);
  dev("aten.cudnn_batch_norm.default", OpCudnnBatchNorm);
  cpu("aten.native_layer_norm.default", OpNativeLayerNorm);
  cpu("aten.layer_norm.default", OpLayerNorm);
  cpu("aten.empty_like.default", OpEmptyLike);
  cpu("aten.zeros_like.default", OpZerosLike);
  cpu("aten.ones_like.default", OpOnesLike);
  cpu("aten.empty.memory_format", OpEmpty);
  cpu("aten.new_empty.default", OpNewEmpty);
  cpu("aten.empty_permuted.default", OpEmptyPermuted);
  cpu("aten.repeat.default", OpRepeat);
  cpu("aten.instance_norm.default", OpInstanceNorm);
  cpu("aten.rrelu.default", OpRrelu);
  cpu("aten.rrelu_.default", OpRrelu_);
  cpu("aten.rrelu_with_noise.default", OpRrelu);
  cpu("aten.rrelu_with_noise_.default", OpRrelu_);
  cpu("aten.rrelu_with_noise_functional.default", OpRreluWithNoiseFunctional);
  cpu("aten.zeros.default", OpZeros);
  cpu("aten.ones.default", OpOnes);
  cpu("aten.full.default", OpFull);
  cpu("aten.copy_.default", OpCopy_);
  cpu("aten.copy.default", OpCopy);
  cpu("aten._to_copy.default", OpToCopy);
  cpu("aten.add.Tensor", OpBinTensor<K::kAdd>);
  cpu("aten.add.Scalar", OpBinScalar<K::kAdd>);
  cpu("aten.add_.Tensor", OpBinTensor_<K::kAdd>);
  cpu("aten.add_.Scalar", OpBinScalar_<K::kAdd>);
  cpu("aten.sub.Tensor", OpBinTensor<K::kSub>);
  cpu("aten.sub.Scalar", OpBinScalar<K::kSub>);
  cpu("aten.sub_.Tensor", OpBinTensor_<K::kSub>);
  cpu("aten.rsub.Scalar", OpRsub);
  cpu("aten.mul.Tensor", OpBinTensor<K::kMul>);
  cpu("aten.mul.Scalar", OpBinScalar<K::kMul>);
  cpu("aten.mul_.Tensor", OpBinTensor_<K::kMul>);
  cpu("aten.mul_.Scalar", OpBinScalar_<K::kMul>);
  cpu("aten.div.Tensor", OpBinTensor<K::kDiv>);
  cpu("aten.div.Scalar", OpBinScalar<K::kDiv>);
  cpu("aten.div_.Tensor", OpBinTensor_<K::kDiv>);
  cpu("aten.div_.Scalar", OpBinScalar_<K::kDiv>);
  cpu("aten.neg.default", OpUnary<U::kNeg>);
  cpu("aten.abs.default", OpUnary<U::kAbs>);
  cpu("aten.log.default", OpUnary<U::kLog>);
  cpu("aten.erf.default", OpUnary<U::kErf>);
  cpu("aten.reciprocal.default", OpUnary<U::kReciprocal>);
  cpu("aten.exp.default", OpUnary<U::kExp>);
  cpu("aten.sqrt.default", OpUnary<U::kSqrt>);
  cpu("aten.rsqrt.default", OpUnary<U::kRsqrt>);
  cpu("aten.pow.Tensor_Scalar", OpPow);
  cpu("aten.relu.default", OpUnary<U::kRelu>);
  cpu("aten.relu_.default", OpUnary_<U::kRelu>);
  cpu("aten.hardtanh.default", OpHardtanh);
  cpu("aten.hardtanh_.default", OpHardtanh_);
  cpu("aten.sigmoid.default", OpUnary<U::kSigmoid>);
  cpu("aten.sigmoid_.default", OpUnary_<U::kSigmoid>);
  cpu("aten.tanh.default", OpUnary<U::kTanh>);
  cpu("aten.silu.default", OpUnary<U::kSilu>);
  cpu("aten.silu_.default", OpUnary_<U::kSilu>);
  cpu("aten.gelu.default", OpGelu);
  cpu("aten.hardswish.default", OpUnary<U::kHardswish>);
  cpu("aten.hardswish_.default", OpUnary_<U::kHardswish>);
  cpu("aten.hardsigmoid.default", OpUnary<U::kHardsigmoid>);
  cpu("aten.softmax.int", OpSoftmaxF);
  cpu("aten._softmax.default", OpSoftmaxF);
  cpu("aten.log_softmax.int", OpLogSoftmaxF);
  cpu("aten._log_softmax.default", OpLogSoftmaxF);
  cpu("aten.conv2d.default", OpConvolution);
  cpu("aten.convolution.default", OpConvolution);
  cpu("aten.linear.default", OpLinear);
  cpu("aten.addmm.default", OpAddmm);
  cpu("aten.baddbmm.default", OpBaddbmm);
  cpu("aten.mm.default", OpMm);
  cpu("aten.bmm.default", OpBmm);
  cpu("aten.matmul.default", OpMatmul);
  cpu("aten.cat.default", OpCat);
  cpu("aten.sym_size.int", OpSymSize);
  cpu("aten.max_pool2d.default", OpMaxPool2d);
  cpu("aten.max_pool2d_with_indices.default", OpMaxPool2dIdx);
  cpu("aten.avg_pool2d.default", OpAvgPool2d);
  cpu("aten.adaptive_avg_pool2d.default", OpAdaptiveAvgPool2d);
  cpu("aten._adaptive_avg_pool2d.default", OpAdaptiveAvgPool2d);
  cpu("aten.mean.default", OpMean);
  cpu("aten.mean.dim", OpMean);
  cpu("aten.sum.dim_IntList", OpSum);
  for (const char* name : {"aten.batch_norm.default", "aten.native_batch_norm.default",
                           "aten._native_batch_norm_legit.default",
                           "aten.cudnn_batch_norm.default", "aten.instance_norm.default"}) {
    t[name].writes_running_stats = true;
  }
}

}  // namespace op_args
}  // namespace rewire
