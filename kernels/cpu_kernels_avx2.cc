// AVX2 + FMA implementations; see cpu_isa.h for why this file includes
// nothing shared with generic code.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu_isa.h"

namespace rewire {
namespace cpu_isa {
namespace {

inline void MulHiLo(__m256i a, __m256i m, __m256i* hi, __m256i* lo) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

struct Lanes {
  __m256i c0, c1, c2, c3;
};

inline Lanes Philox8(__m256i c0, __m256i c1, uint32_t key0, uint32_t key1) {
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u);
  const __m256i m1 = _mm256_set1_epi64x(0xCD9E8D57u);
  __m256i c2 = _mm256_setzero_si256();
  __m256i c3 = _mm256_setzero_si256();
  uint32_t k0 = key0, k1 = key1;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    __m256i hi0, lo0, hi1, lo1;
    MulHiLo(c0, m0, &hi0, &lo0);
    MulHiLo(c2, m1, &hi1, &lo1);
    const __m256i n0 = _mm256_xor_si256(
        _mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    const __m256i n2 = _mm256_xor_si256(
        _mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Lanes{c0, c1, c2, c3};
}

}  // namespace

int64_t MaskSpanAvx2(const MaskSpan& s) {
  const int64_t blocks = s.n / 32;
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  // Both sides are below 2^24 + 1, so a signed compare is exact.
  const __m256i thr = _mm256_set1_epi32(static_cast<int>(s.threshold));
  const __m256 scale = _mm256_set1_ps(s.scale);
  const __m256 ones = _mm256_set1_ps(1.0f);
  const __m256i byte_one = _mm256_set1_epi8(1);
  const __m256i fix = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const bool stream_out = s.stream && s.out != nullptr &&
                          (reinterpret_cast<uintptr_t>(s.out) & 31) == 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint64_t base = s.counter + static_cast<uint64_t>(b) * 8;
    const uint32_t lo = static_cast<uint32_t>(base);
    const uint32_t hi = static_cast<uint32_t>(base >> 32);
    const __m256i lov = _mm256_set1_epi32(static_cast<int>(lo));
    const __m256i c0 = _mm256_add_epi32(lov, iota);
    // Unsigned c0 < lo (wrap-around) via sign-flipped signed compare: -1 there.
    const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(lov, sign),
                                               _mm256_xor_si256(c0, sign));
    const __m256i c1 =
        _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(hi)), wrapped);
    const Lanes r = Philox8(c0, c1, s.key0, s.key1);
    const __m256i m0 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r.c0, 8));
    const __m256i m1 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r.c1, 8));
    const __m256i m2 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r.c2, 8));
    const __m256i m3 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r.c3, 8));
    // Transpose: lane j of m_k is element 4j + k.
    const __m256i t0 = _mm256_unpacklo_epi32(m0, m1);
    const __m256i t1 = _mm256_unpacklo_epi32(m2, m3);
    const __m256i t2 = _mm256_unpackhi_epi32(m0, m1);
    const __m256i t3 = _mm256_unpackhi_epi32(m2, m3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t1);  // 0-3 | 16-19
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t1);  // 4-7 | 20-23
    const __m256i u2 = _mm256_unpacklo_epi64(t2, t3);  // 8-11 | 24-27
    const __m256i u3 = _mm256_unpackhi_epi64(t2, t3);  // 12-15 | 28-31
    __m256i e[4];
    e[0] = _mm256_permute2x128_si256(u0, u1, 0x20);
    e[1] = _mm256_permute2x128_si256(u2, u3, 0x20);
    e[2] = _mm256_permute2x128_si256(u0, u1, 0x31);
    e[3] = _mm256_permute2x128_si256(u2, u3, 0x31);
    const int64_t e0 = b * 32;
    if (s.out != nullptr) {
      for (int q = 0; q < 4; ++q) {
        const __m256 xv = s.x != nullptr ? _mm256_loadu_ps(s.x + e0 + 8 * q) : ones;
        const __m256 y =
            _mm256_and_ps(_mm256_mul_ps(xv, scale), _mm256_castsi256_ps(e[q]));
        if (stream_out) {
          _mm256_stream_ps(s.out + e0 + 8 * q, y);
        } else {
          _mm256_storeu_ps(s.out + e0 + 8 * q, y);
        }
      }
    }
    if (s.mask != nullptr) {
      const __m256i p01 = _mm256_packs_epi32(e[0], e[1]);
      const __m256i p23 = _mm256_packs_epi32(e[2], e[3]);
      const __m256i bytes = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(p01, p23), fix);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(s.mask + e0),
                          _mm256_and_si256(bytes, byte_one));
    }
  }
  if (stream_out) _mm_sfence();
  return blocks * 32;
}

void ShiftedSumsF32Avx2(const float* x, int64_t n, double shift, double* sum,
                        double* sumsq) {
  const __m256d sh = _mm256_set1_pd(shift);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d a = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), sh);
    const __m256d b = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), sh);
    s0 = _mm256_add_pd(s0, a);
    s1 = _mm256_add_pd(s1, b);
    q0 = _mm256_fmadd_pd(a, a, q0);
    q1 = _mm256_fmadd_pd(b, b, q1);
  }
  alignas(32) double sv[4], qv[4];
  _mm256_store_pd(sv, _mm256_add_pd(s0, s1));
  _mm256_store_pd(qv, _mm256_add_pd(q0, q1));
  double s = (sv[0] + sv[1]) + (sv[2] + sv[3]);
  double q = (qv[0] + qv[1]) + (qv[2] + qv[3]);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    s += d;
    q += d * d;
  }
  *sum += s;
  *sumsq += q;
}

void AffineF32Avx2(const float* x, float* y, int64_t n, float scale,
                   float bias, bool stream) {
  const __m256 sc = _mm256_set1_ps(scale);
  const __m256 bi = _mm256_set1_ps(bias);
  int64_t i = 0;
  while (i < n && (reinterpret_cast<uintptr_t>(y + i) & 31) != 0) {
    y[i] = static_cast<float>(static_cast<double>(x[i]) * scale + bias);
    ++i;
  }
  if (stream) {
    for (; i + 8 <= n; i += 8) {
      _mm256_stream_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), sc, bi));
    }
    _mm_sfence();
  } else {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), sc, bi));
    }
  }
  for (; i < n; ++i) y[i] = static_cast<float>(static_cast<double>(x[i]) * scale + bias);
}

}  // namespace cpu_isa
}  // namespace rewire
