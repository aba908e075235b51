#include "kernels/pool_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/elementwise_util.h"

namespace rewire {
namespace ops {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit


int64_t PoolOutputSize(int64_t in, int64_t k, int64_t pad, int64_t s,
                       int64_t d, bool ceil_mode) {
  // In 128 bits: the parameters come from the graph, and their products need
  // not fit in int64 (nor need the result; it saturates).
  const absl::int128 wide_s = s;
  const absl::int128 num = absl::int128(in) + absl::int128(2) * pad -
                           absl::int128(d) * (absl::int128(k) - 1) - 1 +
                           (ceil_mode ? wide_s - 1 : absl::int128(0));
  // Floor division (num may be negative for too-small inputs).
  absl::int128 out = (num >= 0 ? num / wide_s : -((-num + wide_s - 1) / wide_s)) + 1;
  if (ceil_mode && (out - 1) * wide_s >= absl::int128(in) + pad) --out;
  return static_cast<int64_t>(std::max(
      absl::int128(std::numeric_limits<int64_t>::min()),
      std::min(out, absl::int128(std::numeric_limits<int64_t>::max()))));
}

namespace {
struct PoolGeom {
  int64_t planes, h, w, oh, ow;
  std::vector<int64_t> out_shape;
};

absl::StatusOr<PoolGeom> PoolSetup(const Tensor& x, const Pool2dParams& p,
                                   const char* op) {
  RETURN_IF_ERROR(CheckFloat(x, op));
  if (x.dim() != 3 && x.dim() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": expected 3-D or 4-D input, got ", ShapeToString(x.shape())));
  }
  for (int i = 0; i < 2; ++i) {
    if (p.kernel[i] < 1 || p.stride[i] < 1 || p.dilation[i] < 1 || p.padding[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": kernel, stride and dilation must be positive, padding >= 0"));
    }
    if (p.padding[i] > p.kernel[i] / 2) {  // pad * 2 > kernel, without overflow
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": pad should be at most half of the effective kernel size"));
    }
  }
  PoolGeom g;
  g.h = x.size(x.dim() - 2);
  g.w = x.size(x.dim() - 1);
  g.planes = g.h * g.w == 0 ? 0 : x.numel() / (g.h * g.w);
  g.oh = PoolOutputSize(g.h, p.kernel[0], p.padding[0], p.stride[0], p.dilation[0], p.ceil_mode);
  g.ow = PoolOutputSize(g.w, p.kernel[1], p.padding[1], p.stride[1], p.dilation[1], p.ceil_mode);
  if (g.oh <= 0 || g.ow <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": output size is too small for input ", ShapeToString(x.shape())));
  }
  g.out_shape = x.shape();
  g.out_shape[x.dim() - 2] = g.oh;
  g.out_shape[x.dim() - 1] = g.ow;
  return g;
}
}  // namespace

absl::StatusOr<MaxPoolResult> MaxPool2d(const Tensor& x, const Pool2dParams& p,
                                        bool with_indices) {
  ASSIGN_OR_RETURN(PoolGeom g, PoolSetup(x, p, "max_pool2d"));
  MaxPoolResult r;
  ASSIGN_OR_RETURN(r.output, Tensor::Empty(x.dtype(), g.out_shape));
  if (with_indices) {
    ASSIGN_OR_RETURN(r.indices, Tensor::Empty(ScalarType::kInt64, g.out_shape));
  }
  if (r.output.numel() == 0) return r;
  // The window taps of each output column, computed once for every row.
  ASSIGN_OR_RETURN(Scratch<Taps> cols, Scratch<Taps>::Make(g.ow));
  for (int64_t ox = 0; ox < g.ow; ++ox) {
    cols[ox] = ValidTaps(ox, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1], g.w);
  }
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = r.output.data<T>();
    int64_t* idx = with_indices ? r.indices.data<int64_t>() : nullptr;
    // Planes are independent: split them over the threads.
    ParallelElements(g.planes, [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* plane = in + pl * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const Taps ty = ValidTaps(oy, p.kernel[0], p.stride[0], p.padding[0],
                                  p.dilation[0], g.h);
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          const Taps& tx = cols[ox];
          T best = -std::numeric_limits<T>::infinity();
          int64_t best_i = -1;
          bool nan = false;
          for (int64_t i = ty.first; i < ty.last && !nan; ++i) {
            const int64_t yy = ty.first_pos + (i - ty.first) * p.dilation[0];
            const T* row = plane + yy * g.w;
            for (int64_t j = tx.first; j < tx.last; ++j) {
              const int64_t xx = tx.first_pos + (j - tx.first) * p.dilation[1];
              const T v = row[xx];
              // NaN propagates, as in PyTorch.
              if (v > best || best_i < 0 || std::isnan(v)) {
                best = v;
                best_i = yy * g.w + xx;
                if (std::isnan(v)) {
                  nan = true;
                  break;
                }
              }
            }
          }
          const int64_t o = (pl * g.oh + oy) * g.ow + ox;
          out[o] = best;
          if (idx != nullptr) idx[o] = best_i;
        }
      }
    }
    }, /*grain=*/1);
  });
  return r;
}

absl::StatusOr<Tensor> AvgPool2d(const Tensor& x, const Pool2dParams& p,
                                 bool count_include_pad,
                                 std::optional<int64_t> divisor_override) {
  ASSIGN_OR_RETURN(PoolGeom g, PoolSetup(x, p, "avg_pool2d"));
  if (divisor_override.has_value() && *divisor_override == 0) {
    return absl::InvalidArgumentError("avg_pool2d: divisor must be non-zero");
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), g.out_shape));
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for (int64_t pl = 0; pl < g.planes; ++pl) {
      const T* plane = in + pl * g.h * g.w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          // Window bounds in 128 bits (graph parameters), then clamped to
          // the input, so that the loops below stay within it.
          const absl::int128 hs_pad = absl::int128(oy) * p.stride[0] - p.padding[0];
          const absl::int128 ws_pad = absl::int128(ox) * p.stride[1] - p.padding[1];
          const absl::int128 he_pad =
              std::min(hs_pad + p.kernel[0], absl::int128(g.h) + p.padding[0]);
          const absl::int128 we_pad =
              std::min(ws_pad + p.kernel[1], absl::int128(g.w) + p.padding[1]);
          const double pool = static_cast<double>(he_pad - hs_pad) *
                              static_cast<double>(we_pad - ws_pad);
          auto clamp = [](absl::int128 v, int64_t hi) {
            return static_cast<int64_t>(
                std::max(absl::int128(0), std::min(v, absl::int128(hi))));
          };
          const int64_t hs = clamp(hs_pad, g.h), he = clamp(he_pad, g.h);
          const int64_t ws = clamp(ws_pad, g.w), we = clamp(we_pad, g.w);
          double acc = 0;
          for (int64_t yy = hs; yy < he; ++yy) {
            for (int64_t xx = ws; xx < we; ++xx) acc += plane[yy * g.w + xx];
          }
          const double div = divisor_override.has_value()
                                 ? static_cast<double>(*divisor_override)
                                 : count_include_pad
                                       ? pool
                                       : static_cast<double>(he - hs) *
                                             static_cast<double>(we - ws);
          y[(pl * g.oh + oy) * g.ow + ox] = static_cast<T>(acc / div);
        }
      }
    }
  });
  return out;
}

absl::StatusOr<Tensor> AdaptiveAvgPool2d(const Tensor& x,
                                         std::array<int64_t, 2> os) {
  RETURN_IF_ERROR(CheckFloat(x, "adaptive_avg_pool2d"));
  if ((x.dim() != 3 && x.dim() != 4) || os[0] < 0 || os[1] < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "adaptive_avg_pool2d: expected 3-D or 4-D input and output_size >= 0, got ",
        ShapeToString(x.shape())));
  }
  const int64_t h = x.size(x.dim() - 2), w = x.size(x.dim() - 1);
  if ((h == 0 || w == 0) && x.numel() != 0) {
    return absl::InvalidArgumentError("adaptive_avg_pool2d: empty spatial dims");
  }
  const int64_t planes = h * w == 0 ? 0 : x.numel() / (h * w);
  std::vector<int64_t> shape = x.shape();
  shape[x.dim() - 2] = os[0];
  shape[x.dim() - 1] = os[1];
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(x.dtype(), shape));
  VisitFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* y = out.data<T>();
    for (int64_t pl = 0; pl < planes; ++pl) {
      for (int64_t oy = 0; oy < os[0]; ++oy) {
        const int64_t hs = (oy * h) / os[0];
        const int64_t he = ((oy + 1) * h + os[0] - 1) / os[0];
        for (int64_t ox = 0; ox < os[1]; ++ox) {
          const int64_t ws = (ox * w) / os[1];
          const int64_t we = ((ox + 1) * w + os[1] - 1) / os[1];
          double acc = 0;
          for (int64_t yy = hs; yy < he; ++yy) {
            for (int64_t xx = ws; xx < we; ++xx) acc += in[(pl * h + yy) * w + xx];
          }
          y[(pl * os[0] + oy) * os[1] + ox] =
              static_cast<T>(acc / static_cast<double>((he - hs) * (we - ws)));
        }
      }
    }
  });
  return out;
}

}  // namespace ops
}  // namespace rewire
