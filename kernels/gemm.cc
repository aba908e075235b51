#include "kernels/gemm.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/tensor.h"
#include "oneapi/dnnl/dnnl.h"

namespace rewire {
namespace ops {

absl::Status Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return absl::OkStatus();
  const dnnl_status_t s = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k,
                                     alpha, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success) {
    return absl::InternalError(absl::StrCat("oneDNN sgemm (", m, " x ", n, " x ", k,
                                            ") failed with status ", static_cast<int>(s)));
  }
  return absl::OkStatus();
}

absl::Status Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double beta, double* c, int64_t ldc) {
  if (m == 0 || n == 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(Scratch<double> row, Scratch<double>::Make(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int64_t p = 0; p < k; ++p) {
      const double av = trans_a ? a[p * lda + i] : a[i * lda + p];
      if (trans_b) {
        for (int64_t j = 0; j < n; ++j) row[j] += av * b[j * ldb + p];
      } else {
        const double* br = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) row[j] += av * br[j];
      }
    }
    double* cr = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      // beta == 0 ignores C (NaN included), as BLAS does.
      cr[j] = alpha * row[j] + (beta == 0 ? 0.0 : beta * cr[j]);
    }
  }
  return absl::OkStatus();
}

}  // namespace ops
}  // namespace rewire
