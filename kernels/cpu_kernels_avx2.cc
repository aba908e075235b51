// AVX2 + FMA implementations; see cpu_isa.h for why this file includes
// nothing shared with generic code.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu_isa.h"

namespace rewire {
namespace cpu_isa {
namespace {

// Philox4x32-10 on 4 counters per vector, one counter per 64-bit lane with
// each 32-bit state word in the low half of its lane, so _mm256_mul_epu32
// yields a round's full product in place (low word) and one shift yields the
// high word; the packed 8-lane form needs two multiplies, three shifts and
// two blends per word pair. Upper lane halves carry garbage that never
// reaches a low half.
struct Words {
  __m256i w0, w1, w2, w3;
};

// Round keys broadcast once per span: key + r * Weyl constant, r = 0..9.
struct RoundKeys {
  __m256i k0[10];
  __m256i k1[10];
};

inline RoundKeys MakeRoundKeys(uint32_t key0, uint32_t key1) {
  RoundKeys rk;
  for (int r = 0; r < 10; ++r) {
    rk.k0[r] = _mm256_set1_epi32(static_cast<int>(key0));
    rk.k1[r] = _mm256_set1_epi32(static_cast<int>(key1));
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
  }
  return rk;
}

inline __m256i HighWord(__m256i product) {
  return _mm256_srli_epi64(product, 32);
}

// Runs Philox4x32-10 on two vectors of 64-bit counters (counter word 0 in
// the low half of each lane, word 1 in the high half; words 2 and 3 are 0),
// interleaved to hide the multiply latency.
inline void PhiloxLanes(__m256i ctr_a, __m256i ctr_b, const RoundKeys& rk,
                        Words* a, Words* b) {
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53u);
  const __m256i m1 = _mm256_set1_epi64x(0xCD9E8D57u);
  __m256i c0[2], c1[2], c2[2], c3[2];
  const __m256i ctr[2] = {ctr_a, ctr_b};
  // Round 0 with c2 = c3 = 0: the second product is 0.
  for (int v = 0; v < 2; ++v) {
    const __m256i p0 = _mm256_mul_epu32(ctr[v], m0);
    c0[v] = _mm256_xor_si256(HighWord(ctr[v]), rk.k0[0]);
    c2[v] = _mm256_xor_si256(HighWord(p0), rk.k1[0]);
    c3[v] = p0;
  }
  // Round 1 with c1 = 0.
  for (int v = 0; v < 2; ++v) {
    const __m256i p0 = _mm256_mul_epu32(c0[v], m0);
    const __m256i p1 = _mm256_mul_epu32(c2[v], m1);
    c0[v] = _mm256_xor_si256(HighWord(p1), rk.k0[1]);
    c1[v] = p1;
    c2[v] = _mm256_xor_si256(_mm256_xor_si256(HighWord(p0), c3[v]), rk.k1[1]);
    c3[v] = p0;
  }
  for (int r = 2; r < 10; ++r) {
    for (int v = 0; v < 2; ++v) {
      const __m256i p0 = _mm256_mul_epu32(c0[v], m0);
      const __m256i p1 = _mm256_mul_epu32(c2[v], m1);
      c0[v] = _mm256_xor_si256(_mm256_xor_si256(HighWord(p1), c1[v]), rk.k0[r]);
      c1[v] = p1;
      c2[v] = _mm256_xor_si256(_mm256_xor_si256(HighWord(p0), c3[v]), rk.k1[r]);
      c3[v] = p0;
    }
  }
  *a = Words{c0[0], c1[0], c2[0], c3[0]};
  *b = Words{c0[1], c1[1], c2[1], c3[1]};
}

// 32-bit lane 2m of the result is the low word of lane m of `even`, lane
// 2m + 1 that of `odd`.
inline __m256i Interleave(__m256i even, __m256i odd) {
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

}  // namespace

int64_t MaskSpanAvx2(const MaskSpan& s) {
  const int64_t blocks = s.n / 32;
  const RoundKeys rk = MakeRoundKeys(s.key0, s.key1);
  const __m256i even = _mm256_setr_epi64x(0, 2, 4, 6);
  const __m256i one = _mm256_set1_epi64x(1);
  // Both sides are below 2^24 + 1, so a signed compare is exact.
  const __m256i thr = _mm256_set1_epi32(static_cast<int>(s.threshold));
  const __m256 scale = _mm256_set1_ps(s.scale);
  const __m256 ones = _mm256_set1_ps(1.0f);
  const __m256i byte_one = _mm256_set1_epi8(1);
  const __m256i fix = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const bool stream_out = s.stream && s.out != nullptr &&
                          (reinterpret_cast<uintptr_t>(s.out) & 31) == 0;
  for (int64_t b = 0; b < blocks; ++b) {
    // Vector a holds counters base + 2m (lane m), vector b the odd ones;
    // 64-bit adds carry into the counter's high word.
    const uint64_t base = s.counter + static_cast<uint64_t>(b) * 8;
    const __m256i ctr_a =
        _mm256_add_epi64(_mm256_set1_epi64x(static_cast<int64_t>(base)), even);
    const __m256i ctr_b = _mm256_add_epi64(ctr_a, one);
    Words wa, wb;
    PhiloxLanes(ctr_a, ctr_b, rk, &wa, &wb);
    // Lane j of word vector k is word k of counter base + j.
    const __m256i r0 = Interleave(wa.w0, wb.w0);
    const __m256i r1 = Interleave(wa.w1, wb.w1);
    const __m256i r2 = Interleave(wa.w2, wb.w2);
    const __m256i r3 = Interleave(wa.w3, wb.w3);
    const __m256i m0 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r0, 8));
    const __m256i m1 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r1, 8));
    const __m256i m2 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r2, 8));
    const __m256i m3 = _mm256_cmpgt_epi32(thr, _mm256_srli_epi32(r3, 8));
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
