// AVX-512 (F + BW + BMI2) implementations; see cpu_isa.h for why this file
// includes nothing shared with generic code.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu_isa.h"

namespace rewire {
namespace cpu_isa {
namespace {

struct Lanes {
  __m512i c0, c1, c2, c3;
};

// 32x32->64 multiply of each 32-bit lane by m: returns hi and lo halves.
inline void MulHiLo(__m512i a, __m512i m, __m512i* hi, __m512i* lo) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

inline Lanes Philox16(__m512i c0, __m512i c1, uint32_t key0, uint32_t key1) {
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53u);
  const __m512i m1 = _mm512_set1_epi64(0xCD9E8D57u);
  __m512i c2 = _mm512_setzero_si512();
  __m512i c3 = _mm512_setzero_si512();
  uint32_t k0 = key0, k1 = key1;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    __m512i hi0, lo0, hi1, lo1;
    MulHiLo(c0, m0, &hi0, &lo0);
    MulHiLo(c2, m1, &hi1, &lo1);
    const __m512i n0 = _mm512_xor_si512(
        _mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    const __m512i n2 = _mm512_xor_si512(
        _mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Lanes{c0, c1, c2, c3};
}

}  // namespace

int64_t MaskSpanAvx512(const MaskSpan& s) {
  const int64_t blocks = s.n / 64;
  const __m512i iota =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i thr = _mm512_set1_epi32(static_cast<int>(s.threshold));
  const __m512 scale = _mm512_set1_ps(s.scale);
  const __m512 ones = _mm512_set1_ps(1.0f);
  const __m512i byte_one = _mm512_set1_epi8(1);
  const bool stream_out =
      s.stream && s.out != nullptr &&
      (reinterpret_cast<uintptr_t>(s.out) & 63) == 0;
  const bool stream_mask =
      s.stream && s.mask != nullptr &&
      (reinterpret_cast<uintptr_t>(s.mask) & 63) == 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint64_t base = s.counter + static_cast<uint64_t>(b) * 16;
    const uint32_t lo = static_cast<uint32_t>(base);
    const uint32_t hi = static_cast<uint32_t>(base >> 32);
    __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(lo)), iota);
    // Lanes whose low word wrapped carry into the high word.
    const __mmask16 wrapped =
        _mm512_cmplt_epu32_mask(c0, _mm512_set1_epi32(static_cast<int>(lo)));
    __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32(static_cast<int>(hi)),
                                       wrapped,
                                       _mm512_set1_epi32(static_cast<int>(hi)),
                                       _mm512_set1_epi32(1));
    const Lanes r = Philox16(c0, c1, s.key0, s.key1);
    const uint64_t k0 = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(r.c0, 8), thr);
    const uint64_t k1 = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(r.c1, 8), thr);
    const uint64_t k2 = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(r.c2, 8), thr);
    const uint64_t k3 = _mm512_cmplt_epu32_mask(_mm512_srli_epi32(r.c3, 8), thr);
    // Element 4j + k takes bit j of k_k.
    const uint64_t keep = _pdep_u64(k0, 0x1111111111111111ull) |
                          _pdep_u64(k1, 0x2222222222222222ull) |
                          _pdep_u64(k2, 0x4444444444444444ull) |
                          _pdep_u64(k3, 0x8888888888888888ull);
    const int64_t e0 = b * 64;
    if (s.out != nullptr) {
      for (int q = 0; q < 4; ++q) {
        const __mmask16 m = static_cast<__mmask16>(keep >> (16 * q));
        const __m512 xv =
            s.x != nullptr ? _mm512_loadu_ps(s.x + e0 + 16 * q) : ones;
        const __m512 y = _mm512_maskz_mul_ps(m, xv, scale);
        if (stream_out) {
          _mm512_stream_ps(s.out + e0 + 16 * q, y);
        } else {
          _mm512_storeu_ps(s.out + e0 + 16 * q, y);
        }
      }
    }
    if (s.mask != nullptr) {
      const __m512i mb = _mm512_maskz_mov_epi8(keep, byte_one);
      if (stream_mask) {
        _mm512_stream_si512(reinterpret_cast<__m512i*>(s.mask + e0), mb);
      } else {
        _mm512_storeu_si512(s.mask + e0, mb);
      }
    }
  }
  if (stream_out || stream_mask) _mm_sfence();
  return blocks * 64;
}

void ShiftedSumsF32Avx512(const float* x, int64_t n, double shift, double* sum,
                          double* sumsq) {
  const __m512d sh = _mm512_set1_pd(shift);
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512d a = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), sh);
    const __m512d b =
        _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)), sh);
    s0 = _mm512_add_pd(s0, a);
    s1 = _mm512_add_pd(s1, b);
    q0 = _mm512_fmadd_pd(a, a, q0);
    q1 = _mm512_fmadd_pd(b, b, q1);
  }
  alignas(64) double sv[8], qv[8];
  _mm512_store_pd(sv, _mm512_add_pd(s0, s1));
  _mm512_store_pd(qv, _mm512_add_pd(q0, q1));
  double s = 0.0, q = 0.0;
  for (int k = 0; k < 8; ++k) {
    s += sv[k];
    q += qv[k];
  }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - shift;
    s += d;
    q += d * d;
  }
  *sum += s;
  *sumsq += q;
}

void AffineF32Avx512(const float* x, float* y, int64_t n, float scale,
                   float bias, bool stream) {
  const __m512 sc = _mm512_set1_ps(scale);
  const __m512 bi = _mm512_set1_ps(bias);
  int64_t i = 0;
  // Peel to a 64-byte aligned output so streaming stores can be used.
  while (i < n && (reinterpret_cast<uintptr_t>(y + i) & 63) != 0) {
    y[i] = static_cast<float>(static_cast<double>(x[i]) * scale + bias);
    ++i;
  }
  if (stream) {
    for (; i + 16 <= n; i += 16) {
      _mm512_stream_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), sc, bi));
    }
    _mm_sfence();
  } else {
    for (; i + 16 <= n; i += 16) {
      _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), sc, bi));
    }
  }
  for (; i < n; ++i) y[i] = static_cast<float>(static_cast<double>(x[i]) * scale + bias);
}

}  // namespace cpu_isa
}  // namespace rewire
