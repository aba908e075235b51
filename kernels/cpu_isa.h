// Internal interface between the CPU kernels and their ISA-specific
// (AVX2, AVX-512) implementations. Plain declarations only.
//
// The ISA files are compiled with -mavx2 / -mavx512f and must not include any
// header with inline or template code shared with generic code: the linker
// keeps one copy of an inline function, and if that were the AVX-512 one the
// whole program would crash on CPUs without AVX-512. So this header holds
// nothing but POD structs and function declarations, and the ISA files
// re-implement Philox with intrinsics (checked bit-for-bit against
// kernels/philox.h by the tests).
#ifndef REWIRE_KERNELS_CPU_ISA_H_
#define REWIRE_KERNELS_CPU_ISA_H_

#include <cstdint>

namespace rewire {
namespace cpu_isa {

// One dropout / bernoulli span. Element e (0 <= e < n) uses Philox counter
// `counter + e / 4` and output word e % 4 (see kernels/philox.h), i.e. the
// span starts on a counter boundary.
struct MaskSpan {
  const float* x;     // input; nullptr means all ones (bernoulli_ fill)
  float* out;         // out[e] = keep ? x[e] * scale : 0; may be nullptr
  uint8_t* mask;      // mask[e] = keep (0/1); may be nullptr
  int64_t n;
  uint64_t counter;
  uint32_t key0, key1;
  uint32_t threshold;  // keep iff (word >> 8) < threshold
  float scale;
  bool stream;  // use non-temporal stores where aligned (large outputs)
};

// Process the longest prefix of the span that is a multiple of the vector
// block (64 elements for AVX-512, 32 for AVX2) and return its length; the
// caller finishes the tail with the portable code.
int64_t MaskSpanAvx2(const MaskSpan& s);
int64_t MaskSpanAvx512(const MaskSpan& s);

// Adds sum(x - shift) and sum((x - shift)^2), accumulated in double, to
// *sum and *sumsq. Processes all n elements.
void ShiftedSumsF32Avx2(const float* x, int64_t n, double shift, double* sum,
                        double* sumsq);
void ShiftedSumsF32Avx512(const float* x, int64_t n, double shift, double* sum,
                          double* sumsq);

// y = fma(x, scale, bias) (one rounding) for all n elements.
void AffineF32Avx2(const float* x, float* y, int64_t n, float scale,
                   float bias, bool stream);
void AffineF32Avx512(const float* x, float* y, int64_t n, float scale,
                     float bias, bool stream);

}  // namespace cpu_isa
}  // namespace rewire

#endif  // REWIRE_KERNELS_CPU_ISA_H_
