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
#include "kernels/gemm.h"
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
  std::vector<int64_t> lse_shape(query.shape().begin(), query.shape().end() - 1);
  ASSIGN_OR_RETURN(Tensor weights, Tensor::Empty(query.dtype(), score_shape));
  ASSIGN_OR_RETURN(Tensor lse, Tensor::Empty(ScalarType::kFloat32, lse_shape));
  ASSIGN_OR_RETURN(Tensor out, Tensor::Empty(query.dtype(), out_shape));
  int64_t batches = 1;
  for (int d = 0; d < r - 2; ++d) batches *= query.size(d);
  const int64_t nq = query.dim() >= 3 ? query.size(r - 3) : 1;  // query heads
  const int64_t nk = nq / group;
  ASSIGN_OR_RETURN(auto mask_io, Io(mask != nullptr ? mask->dtype() : ScalarType::kFloat32));
  float* lse_out = lse.data<float>();
  // The key/value batch of query batch n: same outer index, head / group.
  auto kv_batch = [&](int64_t n) { return (n / nq) * nk + (n % nq) / group; };
  absl::Status st;
  // Without scores (or without outputs) the loops below would only count
  // `batches`, which zero-size dims leave unbounded: skip them.
  const int64_t score_batches = weights.numel() == 0 ? 0 : batches;
  const int64_t out_batches = out.numel() == 0 ? 0 : batches;
  ASSIGN_OR_RETURN(Scratch<double> row, Scratch<double>::Make(score_batches == 0 ? 0 : S));
  VisitFloat(query.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* q = query.data<T>();
    const T* k = key.data<T>();
    T* w = weights.data<T>();
    for (int64_t n = 0; n < score_batches && st.ok(); ++n) {
      const int64_t kn = kv_batch(n);
      // Scores of the whole batch: one GEMM, q k^T * scale.
      st = Gemm(false, true, L, S, E, static_cast<T>(scale), q + n * L * E, E, k + kn * S * E, E,
                T{0}, w + n * L * S, S);
      if (!st.ok()) return;
      for (int64_t l = 0; l < L; ++l) {
        T* wr = w + (n * L + l) * S;
        int64_t moff = 0;  // the mask element of (n, l, 0)
        if (mask != nullptr) {
          int64_t rem = (n * L + l) * S;
          for (int d = static_cast<int>(score_shape.size()) - 1; d >= 0; --d) {
            moff += (rem % score_shape[d]) * mask_strides[d];
            rem /= score_shape[d];
          }
        }
        for (int64_t s = 0; s < S; ++s) {
          double v = wr[s];
          if (options.is_causal && s > l) v = kNegInf;
          if (mask != nullptr) {
            const double m = mask_io.first(mask->raw_data(), moff + s * mask_strides.back());
            if (mask->dtype() == ScalarType::kBool) {
              if (m == 0) v = kNegInf;
            } else {
              v += m;
            }
          }
          row[s] = v;
        }
        lse_out[n * L + l] = static_cast<float>(SoftmaxRow(row.data(), S));
        for (int64_t s = 0; s < S; ++s) wr[s] = static_cast<T>(row[s]);
      }
    }
  });
  RETURN_IF_ERROR(st);
  if (options.dropout) {
    RETURN_IF_ERROR(options.dropout(weights));
  }
  VisitFloat(query.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* v = value.data<T>();
    const T* w = weights.data<T>();
    T* o = out.data<T>();
    for (int64_t n = 0; n < out_batches && st.ok(); ++n) {
      st = Gemm(false, false, L, Ev, S, T{1}, w + n * L * S, S, v + kv_batch(n) * S * Ev, Ev,
                T{0}, o + n * L * Ev, Ev);
    }
  });
  RETURN_IF_ERROR(st);
  return AttentionResult{std::move(out), std::move(lse)};
}

}  // namespace ops
}  // namespace rewire
