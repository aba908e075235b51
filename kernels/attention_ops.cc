#include "kernels/attention_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/elementwise_util.h"
#include "kernels/view_ops.h"

namespace rewire {
namespace ops {
namespace {

using namespace elementwise_util;  // NOLINT(build/namespaces): this file's toolkit

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Softmax of row[0..n) in place (in double); a row of only -inf becomes
// zeros. Returns the log of the denominator plus the row's max (the
// logsumexp), -inf for such a row.
double SoftmaxRow(double* row, int64_t n) {
  double mx = kNegInf;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, row[i]);
  if (mx == kNegInf) {
    std::fill(row, row + n, 0.0);
    return kNegInf;
  }
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = std::exp(row[i] - mx);
    sum += row[i];
  }
  for (int64_t i = 0; i < n; ++i) row[i] /= sum;
  return mx + std::log(sum);
}

}  // namespace

absl::StatusOr<AttentionResult> ScaledDotProductAttention(
    const Tensor& query, const Tensor& key, const Tensor& value,
    const AttentionOptions& options) {
  const char* op = "scaled_dot_product_attention";
  RETURN_IF_ERROR(CheckFloat(query, op));
  if (key.dtype() != query.dtype() || value.dtype() != query.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": query, key and value must share a dtype, got ", query.DebugString(), ", ",
        key.DebugString(), ", ", value.DebugString()));
  }
  RETURN_IF_ERROR(CheckCpu(key, op));
  RETURN_IF_ERROR(CheckCpu(value, op));
  const int r = query.dim();
  if (r < 2 || key.dim() != r || value.dim() != r) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": query, key and value must have the same rank >= 2, got ",
        ShapeToString(query.shape()), ", ", ShapeToString(key.shape()), ", ",
        ShapeToString(value.shape())));
  }
  const int64_t L = query.size(r - 2), E = query.size(r - 1);
  const int64_t S = key.size(r - 2), Ev = value.size(r - 1);
  if (key.size(r - 1) != E || value.size(r - 2) != S) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": key ", ShapeToString(key.shape()), " and value ", ShapeToString(value.shape()),
        " do not match query ", ShapeToString(query.shape())));
  }
  // Leading dims equal, except that with enable_gqa the heads (dim -3) of
  // key and value may divide the query's.
  int64_t group = 1;
  for (int d = 0; d < r - 2; ++d) {
    const bool heads = d == r - 3;
    if (key.size(d) != value.size(d)) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": key and value differ in dim ", d));
    }
    if (key.size(d) == query.size(d)) continue;
    if (heads && options.enable_gqa && key.size(d) > 0 && query.size(d) % key.size(d) == 0) {
      group = query.size(d) / key.size(d);
      continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": query ", ShapeToString(query.shape()), " and key ", ShapeToString(key.shape()),
        " differ in dim ", d, options.enable_gqa ? "" : " (grouped heads need enable_gqa)"));
  }
  if (options.is_causal && options.attn_mask != nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": an explicit attn_mask should not be set when is_causal=True"));
  }
  std::vector<int64_t> score_shape(query.shape().begin(), query.shape().end() - 1);
  score_shape.push_back(S);
  std::vector<int64_t> mask_strides;
  const Tensor* mask = options.attn_mask;
  if (mask != nullptr) {
    RETURN_IF_ERROR(CheckCpu(*mask, "attn_mask"));
    if (mask->dtype() != ScalarType::kBool && mask->dtype() != query.dtype()) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": attn_mask must be bool or of the query's dtype, got ", mask->DebugString()));
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> b, BroadcastShapes(mask->shape(), score_shape));
    if (b != score_shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": attn_mask ", ShapeToString(mask->shape()), " does not broadcast to ",
          ShapeToString(score_shape)));
    }
    mask_strides = BroadcastStrides(mask->shape(), score_shape);
  }
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(E)));
  std::vector<int64_t> out_shape = query.shape();
  out_shape.back() = Ev;
  ASSIGN_OR_RETURN(Tensor weights, Tensor::Empty(ScalarType::kFloat64, score_shape));
  std::vector<int64_t> lse_shape(query.shape().begin(), query.shape().end() - 1);
  ASSIGN_OR_RETURN(Tensor lse, Tensor::Empty(ScalarType::kFloat32, lse_shape));
  int64_t batches = 1;
  for (int d = 0; d < r - 2; ++d) batches *= query.size(d);
  const int64_t nq = query.dim() >= 3 ? query.size(r - 3) : 1;  // query heads
  const int64_t nk = nq / group;
  ASSIGN_OR_RETURN(auto mask_io, Io(mask != nullptr ? mask->dtype() : ScalarType::kFloat32));
  double* w = weights.data<double>();
  float* lse_out = lse.data<float>();
  VisitFloat(query.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* q = query.data<T>();
    const T* k = key.data<T>();
    for (int64_t n = 0; n < batches; ++n) {
      // The key/value batch of query batch n: same outer index, head / group.
      const int64_t kn = (n / nq) * nk + (n % nq) / group;
      for (int64_t l = 0; l < L; ++l) {
        double* row = w + (n * L + l) * S;
        const T* qr = q + (n * L + l) * E;
        for (int64_t s = 0; s < S; ++s) {
          const T* kr = k + (kn * S + s) * E;
          double dot = 0;
          for (int64_t e = 0; e < E; ++e) dot += static_cast<double>(qr[e]) * kr[e];
          double v = dot * scale;
          if (options.is_causal && s > l) v = kNegInf;
          if (mask != nullptr) {
            int64_t off = 0;
            int64_t rem = (n * L + l) * S + s;
            for (int d = static_cast<int>(score_shape.size()) - 1; d >= 0; --d) {
              off += (rem % score_shape[d]) * mask_strides[d];
              rem /= score_shape[d];
            }
            const double m = mask_io.first(mask->raw_data(), off);
            if (mask->dtype() == ScalarType::kBool) {
              if (m == 0) v = kNegInf;
            } else {
              v += m;
            }
          }
          row[s] = v;
        }
        lse_out[n * L + l] = static_cast<float>(SoftmaxRow(row, S));
      }
    }
  });
  if (options.dropout) {
    RETURN_IF_ERROR(options.dropout(weights));
  }
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(query.dtype(), out_shape));
  VisitFloat(query.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* v = value.data<T>();
    T* o = out.data<T>();
    const double* wp = weights.data<double>();
    std::vector<double> acc(Ev);
    for (int64_t n = 0; n < batches; ++n) {
      const int64_t kn = (n / nq) * nk + (n % nq) / group;
      for (int64_t l = 0; l < L; ++l) {
        std::fill(acc.begin(), acc.end(), 0.0);
        const double* row = wp + (n * L + l) * S;
        for (int64_t s = 0; s < S; ++s) {
          const T* vr = v + (kn * S + s) * Ev;
          for (int64_t e = 0; e < Ev; ++e) acc[e] += row[s] * vr[e];
        }
        for (int64_t e = 0; e < Ev; ++e) o[(n * L + l) * Ev + e] = static_cast<T>(acc[e]);
      }
    }
  });
  return AttentionResult{std::move(out), std::move(lse)};
}

}  // namespace ops
}  // namespace rewire
