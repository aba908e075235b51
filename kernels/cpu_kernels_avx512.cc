// AVX-512 (F + BW + BMI2) implementations; see cpu_isa.h for why this file
// includes nothing shared with generic code.
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start from a self-initialized "undefined"
// vector, which -Wmaybe-uninitialized reports at every inlined use (GCC bug
// 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "kernels/cpu_isa.h"

namespace rewire {
namespace cpu_isa {
namespace {

// Philox4x32-10 on 8 counters per vector, one counter per 64-bit lane with
// each 32-bit state word in the low half of its lane. _mm512_mul_epu32 then
// gives the full 64-bit product of a round in place: its low half is the
// product's low word and one 64-bit shift brings down the high word, where
// the packed 16-lane form needs two multiplies, three shifts and two blends
// per word pair. The upper halves of the lanes carry garbage that never
// reaches a low half (multiplies read only low halves, shifts move upper to
// lower only from a fresh product, xors are lane-wise).
struct Words {
  __m512i w0, w1, w2, w3;
};

// Round keys broadcast once per span: key + r * Weyl constant, r = 0..9.
struct RoundKeys {
  __m512i k0[10];
  __m512i k1[10];
};

inline RoundKeys MakeRoundKeys(uint32_t key0, uint32_t key1) {
  RoundKeys rk;
  for (int r = 0; r < 10; ++r) {
    rk.k0[r] = _mm512_set1_epi32(static_cast<int>(key0));
    rk.k1[r] = _mm512_set1_epi32(static_cast<int>(key1));
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
  }
  return rk;
}

inline __m512i HighWord(__m512i product) {
  return _mm512_srli_epi64(product, 32);
}

inline __m512i Xor3(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi64(a, b, c, 0x96);
}

// Runs Philox4x32-10 on kVecs vectors of 64-bit counters (counter word 0 in
// the low half of each lane, word 1 in the high half; words 2 and 3 are 0).
// The vectors are independent, so interleaving them hides the multiply
// latency.
template <int kVecs>
inline void PhiloxLanes(const __m512i (&counter)[kVecs], const RoundKeys& rk,
                        Words (&out)[kVecs]) {
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53u);
  const __m512i m1 = _mm512_set1_epi64(0xCD9E8D57u);
  __m512i c0[kVecs], c1[kVecs], c2[kVecs], c3[kVecs];
  // Round 0 with c2 = c3 = 0: the second product is 0.
  for (int v = 0; v < kVecs; ++v) {
    const __m512i p0 = _mm512_mul_epu32(counter[v], m0);
    c0[v] = _mm512_xor_si512(HighWord(counter[v]), rk.k0[0]);
    c2[v] = _mm512_xor_si512(HighWord(p0), rk.k1[0]);
    c3[v] = p0;
  }
  // Round 1 with c1 = 0.
  for (int v = 0; v < kVecs; ++v) {
    const __m512i p0 = _mm512_mul_epu32(c0[v], m0);
    const __m512i p1 = _mm512_mul_epu32(c2[v], m1);
    c0[v] = _mm512_xor_si512(HighWord(p1), rk.k0[1]);
    c1[v] = p1;
    c2[v] = Xor3(HighWord(p0), c3[v], rk.k1[1]);
    c3[v] = p0;
  }
  for (int r = 2; r < 10; ++r) {
    for (int v = 0; v < kVecs; ++v) {
      const __m512i p0 = _mm512_mul_epu32(c0[v], m0);
      const __m512i p1 = _mm512_mul_epu32(c2[v], m1);
      c0[v] = Xor3(HighWord(p1), c1[v], rk.k0[r]);
      c1[v] = p1;
      c2[v] = Xor3(HighWord(p0), c3[v], rk.k1[r]);
      c3[v] = p0;
    }
  }
  for (int v = 0; v < kVecs; ++v) out[v] = Words{c0[v], c1[v], c2[v], c3[v]};
}

// Keep bits of the low 32-bit words of `w`: bit 2m for lane m.
inline uint32_t KeepBits(__m512i w, __m512i limit, __mmask16 all) {
  return _mm512_mask_cmplt_epu32_mask(0x5555, w, limit) | all;
}

// Dropout of 64 * kGroups elements starting at span element e, whose first
// counter is `counter`.
template <int kGroups>
inline void MaskBlocks(const MaskSpan& s, int64_t e, uint64_t counter,
                       const RoundKeys& rk, __m512i limit, __mmask16 all,
                       bool stream_out, bool stream_mask) {
  // Vector 2g holds counters counter + 16g + 2m (lane m) and vector 2g + 1
  // the odd ones, so their keep bits interleave into counter order with one
  // shift.
  constexpr int kVecs = 2 * kGroups;
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  const __m512i one = _mm512_set1_epi64(1);
  __m512i ctr[kVecs];
  for (int g = 0; g < kGroups; ++g) {
    ctr[2 * g] = _mm512_add_epi64(
        _mm512_set1_epi64(static_cast<int64_t>(counter + 16 * g)), even);
    ctr[2 * g + 1] = _mm512_add_epi64(ctr[2 * g], one);
  }
  Words w[kVecs];
  PhiloxLanes<kVecs>(ctr, rk, w);
  const __m512 scale = _mm512_set1_ps(s.scale);
  const __m512 ones = _mm512_set1_ps(1.0f);
  const __m512i byte_one = _mm512_set1_epi8(1);
  for (int g = 0; g < kGroups; ++g, e += 64) {
    const Words& a = w[2 * g];
    const Words& b = w[2 * g + 1];
    // Bit j of k_k: keep decision of word k of counter 16g + j.
    const uint32_t k0 =
        KeepBits(a.w0, limit, all) | (KeepBits(b.w0, limit, all) << 1);
    const uint32_t k1 =
        KeepBits(a.w1, limit, all) | (KeepBits(b.w1, limit, all) << 1);
    const uint32_t k2 =
        KeepBits(a.w2, limit, all) | (KeepBits(b.w2, limit, all) << 1);
    const uint32_t k3 =
        KeepBits(a.w3, limit, all) | (KeepBits(b.w3, limit, all) << 1);
    // Element 4j + k takes bit j of k_k.
    const uint64_t keep = _pdep_u64(k0, 0x1111111111111111ull) |
                          _pdep_u64(k1, 0x2222222222222222ull) |
                          _pdep_u64(k2, 0x4444444444444444ull) |
                          _pdep_u64(k3, 0x8888888888888888ull);
    if (s.out != nullptr) {
      for (int q = 0; q < 4; ++q) {
        const __mmask16 m = static_cast<__mmask16>(keep >> (16 * q));
        const __m512 xv =
            s.x != nullptr ? _mm512_loadu_ps(s.x + e + 16 * q) : ones;
        const __m512 y = _mm512_maskz_mul_ps(m, xv, scale);
        if (stream_out) {
          _mm512_stream_ps(s.out + e + 16 * q, y);
        } else {
          _mm512_storeu_ps(s.out + e + 16 * q, y);
        }
      }
    }
    if (s.mask != nullptr) {
      const __m512i mb = _mm512_maskz_mov_epi8(keep, byte_one);
      if (stream_mask) {
        _mm512_stream_si512(reinterpret_cast<__m512i*>(s.mask + e), mb);
      } else {
        _mm512_storeu_si512(s.mask + e, mb);
      }
    }
  }
}

}  // namespace

int64_t MaskSpanAvx512(const MaskSpan& s) {
  const int64_t blocks = s.n / 64;
  const RoundKeys rk = MakeRoundKeys(s.key0, s.key1);
  // keep iff (w >> 8) < threshold, i.e. w < threshold * 256. Threshold 2^24
  // (keep all) does not fit 32 bits that way and sets every bit instead.
  const bool keep_all = s.threshold >= (1u << 24);
  const __m512i limit =
      _mm512_set1_epi32(keep_all ? 0 : static_cast<int>(s.threshold << 8));
  const __mmask16 all = keep_all ? 0x5555 : 0;
  const bool stream_out = s.stream && s.out != nullptr &&
                          (reinterpret_cast<uintptr_t>(s.out) & 63) == 0;
  const bool stream_mask = s.stream && s.mask != nullptr &&
                           (reinterpret_cast<uintptr_t>(s.mask) & 63) == 0;
  int64_t b = 0;
  // Two blocks (32 counters) per step keep enough independent multiplies in
  // flight.
  for (; b + 2 <= blocks; b += 2) {
    MaskBlocks<2>(s, b * 64, s.counter + static_cast<uint64_t>(b) * 16, rk,
                  limit, all, stream_out, stream_mask);
  }
  if (b < blocks) {
    MaskBlocks<1>(s, b * 64, s.counter + static_cast<uint64_t>(b) * 16, rk,
                  limit, all, stream_out, stream_mask);
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
