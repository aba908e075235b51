// Philox4x32-10 counter-based random numbers, shared by the CPU and CUDA kernels.
//
// Dropout and bernoulli_ masks in rewire must be bit-identical on CPU and CUDA
// for the same (seed, offset), so both sides compute the mask from this one
// header (the functions are __host__ __device__ under nvcc). The scheme:
//
//   * key   = (k0, k1) = (low 32 bits of seed, high 32 bits of seed)
//   * element i of a call that reserved counters starting at `offset` uses the
//     128-bit counter (c0, c1, c2, c3) = (lo32(offset + i / 4),
//     hi32(offset + i / 4), 0, 0) (64-bit wrap-around addition), and output
//     word i % 4 of Philox4x32-10(counter, key).
//   * a word w becomes the uniform u = (w >> 8) * 2^-24 in [0, 1) (24 bits, so
//     exactly representable as float).
//   * an element is kept (bernoulli value 1) iff u < q, where q is the keep
//     probability rounded to a multiple of 2^-24; in integers:
//     (w >> 8) < KeepThreshold(q). q = 1 keeps everything, q = 0 nothing.
//   * each call advances the generator offset by ceil(numel / 4), so calls
//     never share counters and element i depends only on (seed, offset, i).
#ifndef REWIRE_KERNELS_PHILOX_H_
#define REWIRE_KERNELS_PHILOX_H_

#include <cstdint>

#ifdef __CUDACC__
#define REWIRE_HOST_DEVICE __host__ __device__
#else
#define REWIRE_HOST_DEVICE
#endif

namespace rewire {
namespace philox {

// Constants from Salmon et al., "Parallel random numbers: as easy as 1, 2, 3".
constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;
constexpr int kRounds = 10;
// Number of output words per counter, hence elements per counter.
constexpr int kWordsPerCounter = 4;
// Scale of the 24-bit uniform: u = (w >> 8) * kUniformScale.
constexpr uint32_t kUniformOne = 1u << 24;

struct Block {
  uint32_t w[4];
};

// One Philox4x32 block with 10 rounds.
REWIRE_HOST_DEVICE inline Block Philox4x32_10(Block ctr, uint32_t k0,
                                              uint32_t k1) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * ctr.w[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * ctr.w[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32);
    const uint32_t lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32);
    const uint32_t lo1 = static_cast<uint32_t>(p1);
    Block next;
    next.w[0] = hi1 ^ ctr.w[1] ^ k0;
    next.w[1] = lo1;
    next.w[2] = hi0 ^ ctr.w[3] ^ k1;
    next.w[3] = lo0;
    ctr = next;
  }
  return ctr;
}

// The block for 64-bit counter index `counter` under `seed` (see top comment).
REWIRE_HOST_DEVICE inline Block BlockAt(uint64_t seed, uint64_t counter) {
  Block c;
  c.w[0] = static_cast<uint32_t>(counter);
  c.w[1] = static_cast<uint32_t>(counter >> 32);
  c.w[2] = 0;
  c.w[3] = 0;
  return Philox4x32_10(c, static_cast<uint32_t>(seed),
                       static_cast<uint32_t>(seed >> 32));
}

// u = (w >> 8) * 2^-24, exactly.
REWIRE_HOST_DEVICE inline float UniformFromWord(uint32_t w) {
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}

// Integer threshold for keep probability q: round(q * 2^24), clamped to
// [0, 2^24]. NaN maps to 0 (callers validate q first).
REWIRE_HOST_DEVICE inline uint32_t KeepThreshold(double q) {
  if (!(q > 0.0)) return 0;
  if (q >= 1.0) return kUniformOne;
  return static_cast<uint32_t>(q * 16777216.0 + 0.5);
}

REWIRE_HOST_DEVICE inline bool KeepWord(uint32_t w, uint32_t threshold) {
  return (w >> 8) < threshold;
}

// Keep decision of element i of a call whose counters start at `offset`.
REWIRE_HOST_DEVICE inline bool KeepElement(uint64_t seed, uint64_t offset,
                                           uint64_t i, uint32_t threshold) {
  const Block b = BlockAt(seed, offset + i / kWordsPerCounter);
  return KeepWord(b.w[i % kWordsPerCounter], threshold);
}

}  // namespace philox

// (seed, offset) state of the dropout random stream. Not thread-safe: one
// generator per stream of calls, as PyTorch's per-device generator.
class PhiloxGenerator {
 public:
  explicit PhiloxGenerator(uint64_t seed = 0, uint64_t offset = 0)
      : seed_(seed), offset_(offset) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }

  // Reserves the counters of a call over `numel` elements: returns the offset
  // to use for that call and advances by ceil(numel / 4).
  uint64_t Reserve(int64_t numel) {
    const uint64_t start = offset_;
    const uint64_t n = numel > 0 ? static_cast<uint64_t>(numel) : 0;
    offset_ += (n + philox::kWordsPerCounter - 1) / philox::kWordsPerCounter;
    return start;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace rewire

#endif  // REWIRE_KERNELS_PHILOX_H_
