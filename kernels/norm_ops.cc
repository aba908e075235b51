#include "kernels/norm_ops.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/elementwise_util.h"

namespace rewire {
namespace ops {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit

absl::StatusOr<GroupNormResult> GroupNorm(const Tensor& input, const Tensor* weight,
                                          const Tensor* bias, int64_t groups, double eps) {
  RETURN_IF_ERROR(CheckFloat(input, "group_norm"));
  if (input.dim() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group_norm: expected an input of at least 2 dims, got ", ShapeToString(input.shape())));
  }
  const int64_t n = input.size(0), c = input.size(1);
  if (groups <= 0 || c % groups != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "group_norm: ", c, " channels do not split into ", groups, " groups"));
  }
  for (const Tensor* p : {weight, bias}) {
    if (p != nullptr && p->defined() && (p->numel() != c || p->dtype() != input.dtype())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "group_norm: weight and bias must have ", c, " elements of the input's dtype, got ",
          p->DebugString()));
    }
  }
  const int64_t hw = n * c == 0 ? 0 : input.numel() / (n * c);
  const int64_t cg = c / groups;
  GroupNormResult r;
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(input.dtype(), input.shape()));
  ASSIGN_OR_RETURN(r.mean, Tensor::Empty(input.dtype(), {n, groups}));
  ASSIGN_OR_RETURN(r.rstd, Tensor::Empty(input.dtype(), {n, groups}));
  VisitFloat(input.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* x = input.data<T>();
    const T* w = (weight != nullptr && weight->defined()) ? weight->data<T>() : nullptr;
    const T* b = (bias != nullptr && bias->defined()) ? bias->data<T>() : nullptr;
    T* y = r.output.data<T>();
    for (int64_t s = 0; s < n; ++s) {
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t base = (s * c + g * cg) * hw;
        const auto [mean, rstd] = MeanAndRstd(x + base, cg * hw, eps);
        r.mean.data<T>()[s * groups + g] = static_cast<T>(mean);
        r.rstd.data<T>()[s * groups + g] = static_cast<T>(rstd);
        // Without elements per channel, the channels need no visit (n * c
        // may be far larger than the statistics just written).
        for (int64_t ch = 0; hw > 0 && ch < cg; ++ch) {
          const int64_t cc = g * cg + ch;
          const double scale = rstd * (w != nullptr ? static_cast<double>(w[cc]) : 1.0);
          const double shift = b != nullptr ? static_cast<double>(b[cc]) : 0.0;
          const int64_t off = (s * c + cc) * hw;
          for (int64_t i = 0; i < hw; ++i) {
            y[off + i] = static_cast<T>((x[off + i] - mean) * scale + shift);
          }
        }
      }
    }
  });
  return r;
}

}  // namespace ops
}  // namespace rewire
