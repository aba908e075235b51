#include "kernels/linalg_ops.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/dnnl_conv.h"
#include "kernels/elementwise_util.h"
#include "kernels/gemm.h"

namespace rewire {
namespace ops {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit


absl::StatusOr<Tensor> Conv2d(const Tensor& input_in, const Tensor& weight,
                              const Tensor* bias, std::array<int64_t, 2> stride,
                              std::array<int64_t, 2> padding,
                              std::array<int64_t, 2> dilation, int64_t groups) {
  RETURN_IF_ERROR(CheckFloat(input_in, "conv2d"));
  RETURN_IF_ERROR(CheckFloat(weight, "conv2d weight"));
  const bool unbatched = input_in.dim() == 3;
  if (input_in.dim() != 4 && !unbatched) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: expected 3-D or 4-D input, got ", ShapeToString(input_in.shape())));
  }
  Tensor input = input_in;
  if (unbatched) {
    std::vector<int64_t> batched = input_in.shape();
    batched.insert(batched.begin(), 1);
    ASSIGN_OR_RETURN(input, input_in.Reshape(std::move(batched)));
  }
  if (weight.dim() != 4 || weight.dtype() != input.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: weight must be 4-D of the input's dtype, got ", weight.DebugString()));
  }
  for (int i = 0; i < 2; ++i) {
    if (stride[i] < 1 || padding[i] < 0 || dilation[i] < 1) {
      return absl::InvalidArgumentError("conv2d: stride and dilation must be >= 1, padding >= 0");
    }
  }
  const int64_t n = input.size(0), c = input.size(1), h = input.size(2), w = input.size(3);
  const int64_t o = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  if (groups < 1 || c % groups != 0 || o % groups != 0 || weight.size(1) * groups != c) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: input ", ShapeToString(input.shape()), ", weight ",
        ShapeToString(weight.shape()), " and groups=", groups, " do not agree"));
  }
  if (bias != nullptr && bias->defined() &&
      (bias->dim() != 1 || bias->size(0) != o || bias->dtype() != input.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: bias must be [", o, "] of the input's dtype, got ", bias->DebugString()));
  }
  // In 128 bits: paddings and dilations come from the graph, and their
  // products need not fit in int64.
  auto out_size = [&](int64_t in, int i, int64_t k) {
    const absl::int128 num =
        absl::int128(in) + absl::int128(2) * padding[i] -
        absl::int128(dilation[i]) * (absl::int128(k) - 1) - 1;
    // Floor division, as PyTorch: truncation turned a kernel one larger than
    // the padded input (num == -1) with stride > 1 into one output row.
    const absl::int128 s = stride[i];
    return (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  };
  const absl::int128 oh_wide = out_size(h, 0, kh);
  const absl::int128 ow_wide = out_size(w, 1, kw);
  if (oh_wide <= 0 || ow_wide <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conv2d: kernel larger than padded input ", ShapeToString(input.shape())));
  }
  if (oh_wide > std::numeric_limits<int64_t>::max() ||
      ow_wide > std::numeric_limits<int64_t>::max()) {
    return absl::InvalidArgumentError(
        "conv2d: padding too large (the output size overflows int64)");
  }
  const int64_t oh = static_cast<int64_t>(oh_wide);
  const int64_t ow = static_cast<int64_t>(ow_wide);
  std::vector<int64_t> out_shape = {n, o, oh, ow};
  if (unbatched) out_shape.erase(out_shape.begin());
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(input.dtype(), out_shape));
  if (out.numel() == 0) return out;
  const bool has_bias = bias != nullptr && bias->defined();
  // oneDNN takes the shapes models have; window parameters far beyond any
  // model's (which a hostile graph may hold, and which oneDNN refuses) and
  // the no-input-channel case go to the loop below, exact for any size.
  bool dnnl_shape = input.numel() > 0 && weight.numel() > 0;
  for (int i = 0; i < 2; ++i) {
    constexpr int64_t kMax = int64_t{1} << 16;
    dnnl_shape = dnnl_shape && stride[i] <= kMax && padding[i] <= kMax && dilation[i] <= kMax;
  }
  if (input.dtype() == ScalarType::kFloat32 && dnnl_shape) {
    const Conv2dGeometry geo{n, c, h, w, o, kh, kw, oh, ow, groups, stride, padding, dilation};
    RETURN_IF_ERROR(DnnlConv2d(geo, input.data<float>(), weight.data<float>(),
                               has_bias ? bias->data<float>() : nullptr, out.data<float>()));
    return out;
  }
  // float64 (oneDNN has no f64 convolution) and the shapes above: a direct
  // loop accumulating in double.
  const int64_t cg = c / groups, og = o / groups;
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* k = weight.data<T>();
    const T* b = (bias != nullptr && bias->defined()) ? bias->data<T>() : nullptr;
    T* y = out.data<T>();
    for (int64_t ni = 0; ni < n; ++ni) {
      for (int64_t oc = 0; oc < o; ++oc) {
        const int64_t g = oc / og;
        for (int64_t y0 = 0; y0 < oh; ++y0) {
          const Taps ty = ValidTaps(y0, kh, stride[0], padding[0], dilation[0], h);
          for (int64_t x0 = 0; x0 < ow; ++x0) {
            const Taps tx = ValidTaps(x0, kw, stride[1], padding[1], dilation[1], w);
            double acc = b ? static_cast<double>(b[oc]) : 0.0;
            for (int64_t ic = 0; ic < cg; ++ic) {
              const T* plane = x + ((ni * c) + g * cg + ic) * h * w;
              const T* kern = k + ((oc * cg) + ic) * kh * kw;
              for (int64_t i = ty.first; i < ty.last; ++i) {
                const int64_t yy = ty.first_pos + (i - ty.first) * dilation[0];
                for (int64_t j = tx.first; j < tx.last; ++j) {
                  const int64_t xx = tx.first_pos + (j - tx.first) * dilation[1];
                  acc += static_cast<double>(plane[yy * w + xx]) * kern[i * kw + j];
                }
              }
            }
            y[((ni * o + oc) * oh + y0) * ow + x0] = static_cast<T>(acc);
          }
        }
      }
    }
  });
  return out;
}

namespace {
// c[m, n] = alpha * a[m, k] @ b[k, n] (+ beta * c0 broadcast) into out.
absl::Status CheckMatmulPair(const Tensor& a, const Tensor& b, const char* op) {
  RETURN_IF_ERROR(CheckFloat(a, op));
  RETURN_IF_ERROR(CheckFloat(b, op));
  if (a.dtype() != b.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": dtypes differ: ", ScalarTypeName(a.dtype()), " vs ",
        ScalarTypeName(b.dtype())));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<Tensor> Mm(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckMatmulPair(a, b, "mm"));
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mm: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), {a.size(0), b.size(1)}));
  absl::Status st;
  VisitFloat(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    st = Gemm(false, false, m, n, k, T{1}, a.data<T>(), k, b.data<T>(), n, T{0},
              out.data<T>(), n);
  });
  RETURN_IF_ERROR(st);
  return out;
}

absl::StatusOr<Tensor> Bmm(const Tensor& a, const Tensor& b) {
  RETURN_IF_ERROR(CheckMatmulPair(a, b, "bmm"));
  if (a.dim() != 3 || b.dim() != 3 || a.size(0) != b.size(0) || a.size(2) != b.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bmm: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  const int64_t bs = a.size(0), m = a.size(1), k = a.size(2), n = b.size(2);
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(a.dtype(), {bs, m, n}));
  if (out.numel() == 0) return out;  // the batch loop would still count bs
  absl::Status st;
  VisitFloat(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < bs && st.ok(); ++i) {
      st = Gemm(false, false, m, n, k, T{1}, a.data<T>() + i * m * k, k,
                b.data<T>() + i * k * n, n, T{0}, out.data<T>() + i * m * n, n);
    }
  });
  RETURN_IF_ERROR(st);
  return out;
}

absl::StatusOr<Tensor> Linear(const Tensor& input, const Tensor& weight,
                              const Tensor* bias) {
  RETURN_IF_ERROR(CheckMatmulPair(input, weight, "linear"));
  if (input.dim() < 1 || weight.dim() != 2 ||
      input.size(input.dim() - 1) != weight.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linear: input ", ShapeToString(input.shape()), " and weight ",
        ShapeToString(weight.shape()), " do not agree (in_features)"));
  }
  const int64_t k = weight.size(1), n = weight.size(0);
  const bool has_bias = bias != nullptr && bias->defined();
  if (has_bias && (bias->dtype() != input.dtype() || bias->numel() != n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linear: bias must have ", n, " elements of the input's dtype, got ",
        bias->DebugString()));
  }
  std::vector<int64_t> shape = input.shape();
  shape.back() = n;
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(input.dtype(), shape));
  if (out.numel() == 0) return out;
  // Rows from the result: with k == 0 the input has no elements to count
  // them, and the result is the bias alone.
  const int64_t m = out.numel() / n;
  absl::Status st;
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    st = Gemm(false, true, m, n, k, T{1}, input.data<T>(), k, weight.data<T>(), k, T{0}, y, n);
    if (has_bias) {
      const T* b = bias->data<T>();
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) y[i * n + j] += b[j];
      }
    }
  });
  RETURN_IF_ERROR(st);
  return out;
}

namespace {
// beta * self (broadcast to prod's shape) + alpha * prod, in prod's dtype.
absl::StatusOr<Tensor> ScaleAdd(const Tensor& self, const Tensor& prod, double beta,
                                double alpha, const char* op) {
  RETURN_IF_ERROR(CheckFloat(self, op));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, BroadcastShapes(self.shape(), prod.shape()));
  if (shape != prod.shape()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": self ", ShapeToString(self.shape()), " does not broadcast to ",
        ShapeToString(prod.shape())));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(prod.dtype(), prod.shape()));
  const auto ss = BroadcastStrides(self.shape(), shape);
  const auto sp = BroadcastStrides(shape, shape);
  ASSIGN_OR_RETURN(auto is, Io(self.dtype()));
  ASSIGN_OR_RETURN(auto io, Io(prod.dtype()));
  ForEachBroadcast(shape, ss, sp, [&](int64_t i, int64_t os, int64_t op_i) {
    // beta == 0 ignores self entirely (NaN included), as in PyTorch.
    const double s = beta == 0.0 ? 0.0 : beta * is.first(self.raw_data(), os);
    io.second(out.raw_data(), i, s + alpha * io.first(prod.raw_data(), op_i));
  });
  return out;
}
}  // namespace

absl::StatusOr<Tensor> Addmm(const Tensor& self, const Tensor& m1,
                             const Tensor& m2, double beta, double alpha) {
  ASSIGN_OR_RETURN(Tensor prod, Mm(m1, m2));
  return ScaleAdd(self, prod, beta, alpha, "addmm");
}

absl::StatusOr<Tensor> Baddbmm(const Tensor& self, const Tensor& batch1,
                               const Tensor& batch2, double beta, double alpha) {
  ASSIGN_OR_RETURN(Tensor prod, Bmm(batch1, batch2));
  return ScaleAdd(self, prod, beta, alpha, "baddbmm");
}

absl::StatusOr<Tensor> Matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 2 && b.dim() == 2) return Mm(a, b);
  if (a.dim() == 1 && b.dim() == 1) {
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({1, a.numel()}));
    ASSIGN_OR_RETURN(Tensor b2, b.Reshape({b.numel(), 1}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b2));
    return r.Reshape({});
  }
  if (a.dim() == 1 && b.dim() == 2) {
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({1, a.numel()}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b));
    return r.Reshape({b.size(1)});
  }
  if (a.dim() == 2 && b.dim() == 1) {
    ASSIGN_OR_RETURN(Tensor b2, b.Reshape({b.numel(), 1}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a, b2));
    return r.Reshape({a.size(0)});
  }
  if (a.dim() == 3 && b.dim() == 3) return Bmm(a, b);
  if (a.dim() >= 3 && b.dim() == 2) {
    // Folding the batch dims into rows is exact for a shared right operand.
    const int64_t k = a.size(a.dim() - 1);
    ASSIGN_OR_RETURN(Tensor a2, a.Reshape({k == 0 ? 0 : a.numel() / k, k}));
    ASSIGN_OR_RETURN(Tensor r, Mm(a2, b));
    std::vector<int64_t> shape = a.shape();
    shape.back() = b.size(1);
    return r.Reshape(shape);
  }
  if (a.dim() == 0 || b.dim() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul: both arguments need at least 1 dimension, got ", ShapeToString(a.shape()),
        " and ", ShapeToString(b.shape())));
  }
  // Batched: 1-D operands become a row / a column, the batch dims broadcast,
  // and the product is one bmm.
  ASSIGN_OR_RETURN(Tensor a2, a.dim() == 1 ? a.Reshape({1, a.numel()}) : absl::StatusOr<Tensor>(a));
  ASSIGN_OR_RETURN(Tensor b2, b.dim() == 1 ? b.Reshape({b.numel(), 1}) : absl::StatusOr<Tensor>(b));
  const int64_t m = a2.size(a2.dim() - 2), k = a2.size(a2.dim() - 1);
  const int64_t k2 = b2.size(b2.dim() - 2), n = b2.size(b2.dim() - 1);
  if (k != k2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "matmul: shapes ", ShapeToString(a.shape()), " and ", ShapeToString(b.shape()),
        " cannot be multiplied"));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> batch,
                   BroadcastShapes(absl::MakeConstSpan(a2.shape()).subspan(0, a2.dim() - 2),
                                   absl::MakeConstSpan(b2.shape()).subspan(0, b2.dim() - 2)));
  ASSIGN_OR_RETURN(const int64_t nb, CheckedNumel(batch));
  auto batched = [&](const Tensor& t, int64_t rows, int64_t cols) -> absl::StatusOr<Tensor> {
    std::vector<int64_t> full = batch;
    full.push_back(rows);
    full.push_back(cols);
    Tensor e = t;
    if (t.shape() != full) {
      ASSIGN_OR_RETURN(e, Tensor::Empty(t.dtype(), full));
      RETURN_IF_ERROR(CopyInto(e, t));
    }
    return e.Reshape({nb, rows, cols});
  };
  ASSIGN_OR_RETURN(Tensor a3, batched(a2, m, k));
  ASSIGN_OR_RETURN(Tensor b3, batched(b2, k, n));
  ASSIGN_OR_RETURN(Tensor r, Bmm(a3, b3));
  std::vector<int64_t> shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  return r.Reshape(std::move(shape));
}

}  // namespace ops
}  // namespace rewire
