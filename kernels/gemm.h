// Row-major matrix products for the CPU ops: C = alpha * op(A) @ op(B) +
// beta * C. float32 goes to oneDNN's sgemm (blocked, vectorized and
// threaded: the GEMM PyTorch's CPU matmul itself calls); float64 has a plain
// loop accumulating in double, since oneDNN has no f64 GEMM and models
// rarely run in double. Sizes are checked by the callers (common_ops.cc,
// attention_ops.cc); a failure oneDNN reports is an InternalError.
#ifndef REWIRE_KERNELS_GEMM_H_
#define REWIRE_KERNELS_GEMM_H_

#include <cstdint>

#include "absl/status/status.h"

namespace rewire {
namespace ops {

// op(A) is m x k (A stored k x m when trans_a), op(B) k x n (stored n x k
// when trans_b); lda, ldb, ldc are the row strides of the stored matrices.
absl::Status Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc);
absl::Status Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double beta, double* c, int64_t ldc);

}  // namespace ops
}  // namespace rewire

#endif  // REWIRE_KERNELS_GEMM_H_
