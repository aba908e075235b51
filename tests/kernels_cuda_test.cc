// CUDA kernels against the CPU kernels on the same inputs: dropout outputs
// and masks must be bit-identical, batch norm within PyTorch's float32
// tolerance. Skips when no CUDA device is present.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/cpu_kernels.h"
#include "kernels/cuda_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {
namespace {

const Device kGpu = Device::Cuda(0);

class CudaKernelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<int> count = CudaDeviceCount();
    if (!count.ok()) {
      GTEST_SKIP() << "no CUDA device (" << count.status().message()
                   << "); these tests run on a machine with a GPU";
    }
  }
};

// Deterministic pseudo-random floats in [lo, hi) (an LCG, not Philox, so the
// data is unrelated to the masks).
std::vector<float> RandomFloats(int64_t n, float lo, float hi, uint32_t seed) {
  std::vector<float> v(n);
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = lo + (hi - lo) * static_cast<float>(s >> 40) / 16777216.0f;
  }
  return v;
}

// A CPU tensor of `dtype` from float values.
Tensor MakeCpu(ScalarType dtype, const std::vector<int64_t>& shape,
               const std::vector<float>& v) {
  Tensor t = *Tensor::Empty(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (dtype) {
      case ScalarType::kFloat32: t.data<float>()[i] = v[i]; break;
      case ScalarType::kFloat64: t.data<double>()[i] = v[i]; break;
      case ScalarType::kFloat16: t.data<Half>()[i] = FloatToHalf(v[i]); break;
      case ScalarType::kBFloat16:
        t.data<BFloat16>()[i] = FloatToBFloat16(v[i]);
        break;
      default: ADD_FAILURE() << "unsupported dtype"; break;
    }
  }
  return t;
}

double ValueAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case ScalarType::kFloat32: return t.data<float>()[i];
    case ScalarType::kFloat64: return t.data<double>()[i];
    case ScalarType::kFloat16: return HalfToFloat(t.data<Half>()[i]);
    case ScalarType::kBFloat16: return BFloat16ToFloat(t.data<BFloat16>()[i]);
    default: return std::nan("");
  }
}

Tensor ToGpu(const Tensor& t) {
  absl::StatusOr<Tensor> r = t.CopyTo(kGpu);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : Tensor();
}

Tensor ToHost(const Tensor& t) {
  absl::StatusOr<Tensor> r = t.CopyTo(Device::Cpu());
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : Tensor();
}

// Byte equality of a CPU tensor and a CUDA tensor.
void ExpectBitIdentical(const Tensor& cpu, const Tensor& gpu,
                        const std::string& what) {
  ASSERT_TRUE(gpu.defined()) << what;
  const Tensor host = ToHost(gpu);
  ASSERT_EQ(cpu.dtype(), host.dtype()) << what;
  ASSERT_EQ(cpu.shape(), host.shape()) << what;
  const auto* a = static_cast<const uint8_t*>(cpu.raw_data());
  const auto* b = static_cast<const uint8_t*>(host.raw_data());
  const int64_t item = cpu.itemsize();
  for (int64_t i = 0; i < cpu.numel(); ++i) {
    if (std::memcmp(a + i * item, b + i * item, item) != 0) {
      ADD_FAILURE() << what << ": first difference at element " << i << " of "
                    << cpu.numel() << " (" << cpu.DebugString() << ")";
      return;
    }
  }
}

// |gpu - cpu| <= atol + rtol * |cpu| elementwise (PyTorch's float32
// tolerances; the CUDA statistics are a Welford reduction in double whose
// rounding differs from the CPU's double sums only in the last bits of a
// double, so the float results agree well within them).
void ExpectClose(const Tensor& cpu, const Tensor& gpu, const std::string& what,
                 double rtol = 1.3e-6, double atol = 1e-5) {
  ASSERT_TRUE(gpu.defined()) << what;
  const Tensor host = ToHost(gpu);
  ASSERT_EQ(cpu.dtype(), host.dtype()) << what;
  ASSERT_EQ(cpu.shape(), host.shape()) << what;
  int failures = 0;
  for (int64_t i = 0; i < cpu.numel() && failures < 5; ++i) {
    const double a = ValueAt(cpu, i), b = ValueAt(host, i);
    if (std::isnan(a) && std::isnan(b)) continue;
    if (!(std::fabs(a - b) <= atol + rtol * std::fabs(a))) {
      ADD_FAILURE() << what << ": element " << i << " cpu " << a << " cuda "
                    << b;
      ++failures;
    }
  }
}

const std::vector<std::vector<int64_t>>& DropoutShapes() {
  static const auto* shapes = new std::vector<std::vector<int64_t>>{
      {1},          {3},           {7},         {64},
      {3, 5},       {2, 3, 5, 7},  {4, 3, 17, 19},
      {2, 3, 4, 5, 6}, {1, 1, 1, 1, 1025}, {(1 << 20) + 3}};
  return *shapes;
}

TEST_F(CudaKernelsTest, NativeDropoutMatchesCpuBitForBit) {
  for (ScalarType dtype : {ScalarType::kFloat32, ScalarType::kFloat64,
                           ScalarType::kFloat16, ScalarType::kBFloat16}) {
    for (const auto& shape : DropoutShapes()) {
      for (double p : {0.0, 0.2, 0.5, 0.9, 1.0}) {
        const int64_t n = *CheckedNumel(shape);
        const Tensor x = MakeCpu(dtype, shape, RandomFloats(n, -3.f, 3.f, 7));
        const Tensor xg = ToGpu(x);
        PhiloxGenerator cpu_gen(0x123456789abcdefull, 5);
        PhiloxGenerator gpu_gen(0x123456789abcdefull, 5);
        auto c = NativeDropout(x, p, true, cpu_gen);
        auto g = CudaNativeDropout(xg, p, true, gpu_gen);
        ASSERT_TRUE(c.ok()) << c.status();
        ASSERT_TRUE(g.ok()) << g.status();
        const std::string what = absl::StrCat(ScalarTypeName(dtype), " ",
                                              ShapeToString(shape), " p=", p);
        ExpectBitIdentical(c->mask, g->mask, what + " mask");
        ExpectBitIdentical(c->output, g->output, what + " output");
        EXPECT_EQ(cpu_gen.offset(), gpu_gen.offset()) << what;
      }
    }
  }
}

TEST_F(CudaKernelsTest, DropoutAndInPlaceMatchCpu) {
  for (const auto& shape : DropoutShapes()) {
    const int64_t n = *CheckedNumel(shape);
    const Tensor x =
        MakeCpu(ScalarType::kFloat32, shape, RandomFloats(n, -1.f, 1.f, 3));
    PhiloxGenerator cg(42), gg(42);
    auto c = Dropout(x, 0.3, true, cg);
    auto g = CudaDropout(ToGpu(x), 0.3, true, gg);
    ASSERT_TRUE(c.ok() && g.ok());
    ExpectBitIdentical(*c, *g, "dropout " + ShapeToString(shape));
    // In place, continuing both streams.
    Tensor xc = *x.Clone();
    Tensor xg = ToGpu(x);
    ASSERT_TRUE(Dropout_(xc, 0.7, true, cg).ok());
    ASSERT_TRUE(CudaDropout_(xg, 0.7, true, gg).ok());
    ExpectBitIdentical(xc, xg, "dropout_ " + ShapeToString(shape));
    EXPECT_EQ(cg.offset(), gg.offset());
  }
}

TEST_F(CudaKernelsTest, EvalIsIdentity) {
  const Tensor x = MakeCpu(ScalarType::kFloat32, {3, 5, 7},
                           RandomFloats(105, -1.f, 1.f, 9));
  PhiloxGenerator gen(1);
  auto d = CudaDropout(ToGpu(x), 0.5, false, gen);
  ASSERT_TRUE(d.ok());
  ExpectBitIdentical(x, *d, "eval dropout");
  auto nd = CudaNativeDropout(ToGpu(x), 0.5, false, gen);
  ASSERT_TRUE(nd.ok());
  ExpectBitIdentical(x, nd->output, "eval native_dropout");
  const Tensor ones = ToHost(nd->mask);
  for (int64_t i = 0; i < ones.numel(); ++i) {
    ASSERT_EQ(static_cast<const uint8_t*>(ones.raw_data())[i], 1);
  }
  Tensor xg = ToGpu(x);
  ASSERT_TRUE(CudaDropout_(xg, 0.5, false, gen).ok());
  ExpectBitIdentical(x, xg, "eval dropout_");
  EXPECT_EQ(gen.offset(), 0u);
}

TEST_F(CudaKernelsTest, DecomposedDropoutMatchesCpu) {
  for (const auto& shape : DropoutShapes()) {
    const int64_t n = *CheckedNumel(shape);
    for (ScalarType dtype : {ScalarType::kFloat32, ScalarType::kBool,
                             ScalarType::kFloat16, ScalarType::kFloat64}) {
      Tensor c = *Tensor::Zeros(dtype, shape);
      Tensor g = ToGpu(c);
      PhiloxGenerator cg(99, 1000), gg(99, 1000);
      ASSERT_TRUE(Bernoulli_(c, 0.6, cg).ok());
      ASSERT_TRUE(CudaBernoulli_(g, 0.6, gg).ok());
      ExpectBitIdentical(c, g, absl::StrCat("bernoulli_ ", ScalarTypeName(dtype),
                                            ShapeToString(shape)));
      EXPECT_EQ(cg.offset(), gg.offset());
    }
    // bernoulli_ -> mul -> div_ equals native_dropout on both devices.
    const Tensor x =
        MakeCpu(ScalarType::kFloat32, shape, RandomFloats(n, -2.f, 2.f, 5));
    Tensor mc = *Tensor::Empty(ScalarType::kBool, shape);
    Tensor mg = ToGpu(mc);
    PhiloxGenerator cg(7), gg(7);
    ASSERT_TRUE(Bernoulli_(mc, 0.75, cg).ok());
    ASSERT_TRUE(CudaBernoulli_(mg, 0.75, gg).ok());
    auto yc = Mul(x, mc);
    auto yg = CudaMul(ToGpu(x), mg);
    ASSERT_TRUE(yc.ok() && yg.ok());
    ASSERT_TRUE(DivScalar_(*yc, 0.75).ok());
    ASSERT_TRUE(CudaDivScalar_(*yg, 0.75).ok());
    ExpectBitIdentical(*yc, *yg, "decomposed " + ShapeToString(shape));
    auto same = CudaMul(ToGpu(x), ToGpu(x));
    ASSERT_TRUE(same.ok());
    ExpectBitIdentical(*Mul(x, x), *same, "mul same dtype");
  }
}

struct BnCase {
  std::vector<int64_t> shape;
  float lo, hi;  // input range (an offset mean tests the shifted statistics)
};

std::vector<BnCase> BnCases() {
  return {
      {{37, 5}, -1.f, 1.f},
      {{2, 1}, 0.f, 1.f},
      {{4, 3, 7}, 10.f, 12.f},
      {{2, 3, 4, 5}, -2.f, 3.f},
      {{3, 5, 7, 9}, 100.f, 101.f},  // odd inner: scalar statistics path
      {{2, 3, 4, 5, 6}, -1.f, 1.f},
      {{8, 2, 128, 128}, -1.f, 2.f},  // small C, large N*H*W: split reduction
      {{1, 3, 1 << 20}, 5.f, 6.f},
      {{3, 1, 1001, 3}, -4.f, 4.f},   // one channel, odd sizes, tails
      {{2, 300, 3, 3}, -1.f, 1.f},    // many channels
  };
}

TEST_F(CudaKernelsTest, BatchNormTrainMatchesCpu) {
  for (const BnCase& bc : BnCases()) {
    for (ScalarType dtype : {ScalarType::kFloat32, ScalarType::kFloat64}) {
      const int64_t n = *CheckedNumel(bc.shape);
      const int64_t c = bc.shape[1];
      const Tensor x = MakeCpu(dtype, bc.shape, RandomFloats(n, bc.lo, bc.hi, 11));
      const Tensor w = MakeCpu(dtype, {c}, RandomFloats(c, 0.5f, 1.5f, 12));
      const Tensor b = MakeCpu(dtype, {c}, RandomFloats(c, -0.5f, 0.5f, 13));
      Tensor rm = MakeCpu(dtype, {c}, RandomFloats(c, -0.1f, 0.1f, 14));
      Tensor rv = MakeCpu(dtype, {c}, RandomFloats(c, 0.9f, 1.1f, 15));
      const Tensor wg = ToGpu(w), bg = ToGpu(b);
      Tensor rmg = ToGpu(rm), rvg = ToGpu(rv);
      auto cr = NativeBatchNorm(x, &w, &b, &rm, &rv, true, 0.1, 1e-5);
      auto gr = CudaNativeBatchNorm(ToGpu(x), &wg, &bg, &rmg, &rvg, true, 0.1,
                                    1e-5);
      ASSERT_TRUE(cr.ok()) << cr.status();
      ASSERT_TRUE(gr.ok()) << gr.status();
      const std::string what =
          absl::StrCat(ScalarTypeName(dtype), ShapeToString(bc.shape));
      ExpectClose(cr->output, gr->output, what + " output");
      ExpectClose(cr->save_mean, gr->save_mean, what + " save_mean");
      ExpectClose(cr->save_invstd, gr->save_invstd, what + " save_invstd");
      ExpectClose(rm, rmg, what + " running_mean");
      ExpectClose(rv, rvg, what + " running_var");
      // Without affine parameters or running stats.
      auto cn = NativeBatchNormLegitNoStats(x, nullptr, nullptr, true, 0.1, 1e-3);
      auto gn = CudaNativeBatchNormLegitNoStats(ToGpu(x), nullptr, nullptr, true,
                                                0.1, 1e-3);
      ASSERT_TRUE(cn.ok() && gn.ok());
      ExpectClose(cn->output, gn->output, what + " no_stats output");
      ExpectClose(cn->save_invstd, gn->save_invstd, what + " no_stats invstd");
    }
  }
}

TEST_F(CudaKernelsTest, BatchNormEvalAndFunctionalMatchCpu) {
  for (const BnCase& bc : BnCases()) {
    for (ScalarType dtype : {ScalarType::kFloat32, ScalarType::kFloat16,
                             ScalarType::kBFloat16}) {
      const int64_t n = *CheckedNumel(bc.shape);
      const int64_t c = bc.shape[1];
      const Tensor x = MakeCpu(dtype, bc.shape, RandomFloats(n, bc.lo, bc.hi, 21));
      // float32 parameters with a narrow input, as mixed-precision models.
      const Tensor w = MakeCpu(ScalarType::kFloat32, {c}, RandomFloats(c, 0.5f, 1.5f, 22));
      const Tensor b = MakeCpu(ScalarType::kFloat32, {c}, RandomFloats(c, -0.5f, 0.5f, 23));
      const Tensor rm = MakeCpu(ScalarType::kFloat32, {c}, RandomFloats(c, bc.lo, bc.hi, 24));
      const Tensor rv = MakeCpu(ScalarType::kFloat32, {c}, RandomFloats(c, 0.5f, 2.f, 25));
      const Tensor wg = ToGpu(w), bg = ToGpu(b), rmg = ToGpu(rm), rvg = ToGpu(rv);
      const std::string what =
          absl::StrCat(ScalarTypeName(dtype), ShapeToString(bc.shape));
      // Narrow dtypes: one rounding to half/bfloat16 may land on either side
      // of a tie-adjacent value, so allow one unit in the last place.
      const double rtol = dtype == ScalarType::kFloat32 ? 1.3e-6
                          : dtype == ScalarType::kFloat16 ? 1e-3 : 8e-3;
      const double atol = dtype == ScalarType::kFloat32 ? 1e-5 : 1e-3;
      auto ce = NativeBatchNormLegitNoTraining(x, &w, &b, rm, rv, 0.1, 1e-5);
      auto ge = CudaNativeBatchNormLegitNoTraining(ToGpu(x), &wg, &bg, rmg, rvg,
                                                   0.1, 1e-5);
      ASSERT_TRUE(ce.ok()) << ce.status();
      ASSERT_TRUE(ge.ok()) << ge.status();
      ExpectClose(ce->output, ge->output, what + " eval", rtol, atol);
      EXPECT_EQ(ge->save_mean.numel(), 0);

      auto cf = NativeBatchNormLegitFunctional(x, &w, &b, rm, rv, true, 0.1, 1e-5);
      auto gf = CudaNativeBatchNormLegitFunctional(ToGpu(x), &wg, &bg, rmg, rvg,
                                                   true, 0.1, 1e-5);
      ASSERT_TRUE(cf.ok()) << cf.status();
      ASSERT_TRUE(gf.ok()) << gf.status();
      ExpectClose(cf->output, gf->output, what + " functional", rtol, atol);
      ExpectClose(cf->save_mean, gf->save_mean, what + " functional mean");
      ExpectClose(cf->running_mean, gf->running_mean, what + " functional rm");
      ExpectClose(cf->running_var, gf->running_var, what + " functional rv");
      // The functional form leaves its inputs alone.
      ExpectBitIdentical(rm, rmg, what + " input running_mean unchanged");
      auto bo = CudaBatchNorm(ToGpu(x), &wg, &bg, nullptr, nullptr, true, 0.1, 1e-5);
      ASSERT_TRUE(bo.ok()) << bo.status();
      ExpectClose(cf->output, *bo, what + " batch_norm", rtol, atol);
    }
  }
  ASSERT_TRUE(CudaSynchronize(0).ok());
}

TEST_F(CudaKernelsTest, InvalidInputsAreStatuses) {
  const Tensor cpu = *Tensor::Zeros(ScalarType::kFloat32, {2, 3});
  const Tensor gpu = ToGpu(cpu);
  PhiloxGenerator gen(0);
  EXPECT_EQ(CudaDropout(cpu, 0.5, true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaDropout(gpu, 1.5, true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaDropout(gpu, std::nan(""), true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaDropout(Tensor(), 0.5, true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Tensor ints = ToGpu(*Tensor::Zeros(ScalarType::kInt32, {4}));
  EXPECT_EQ(CudaDropout(ints, 0.5, true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaMul(gpu, cpu).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Tensor w3 = ToGpu(*Tensor::Zeros(ScalarType::kFloat32, {3}));
  const Tensor w4 = ToGpu(*Tensor::Zeros(ScalarType::kFloat32, {4}));
  const Tensor w3_cpu = *Tensor::Zeros(ScalarType::kFloat32, {3});
  Tensor rm = ToGpu(w3), rv = ToGpu(w3);
  EXPECT_EQ(CudaNativeBatchNorm(gpu, &w4, nullptr, nullptr, nullptr, true, 0.1,
                                1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaNativeBatchNorm(gpu, &w3_cpu, nullptr, nullptr, nullptr, true,
                                0.1, 1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaNativeBatchNorm(gpu, nullptr, nullptr, nullptr, nullptr, false,
                                0.1, 1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CudaNativeBatchNorm(gpu, nullptr, nullptr, &rm, &rv, true, 0.1,
                                -1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Tensor one = ToGpu(*Tensor::Zeros(ScalarType::kFloat32, {1, 3}));
  EXPECT_EQ(CudaNativeBatchNorm(one, nullptr, nullptr, nullptr, nullptr, true,
                                0.1, 1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Tensor flat = ToGpu(*Tensor::Zeros(ScalarType::kFloat32, {6}));
  EXPECT_EQ(CudaNativeBatchNorm(flat, nullptr, nullptr, &rm, &rv, false, 0.1,
                                1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Larger than any GPU: a ResourceExhausted status, not a crash.
  const int64_t saved = Tensor::MaxBytes();
  Tensor::SetMaxBytes(int64_t{1} << 50);
  absl::StatusOr<Tensor> huge =
      Tensor::Empty(ScalarType::kFloat32, {int64_t{1} << 47}, kGpu);
  Tensor::SetMaxBytes(saved);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted)
      << huge.status();
  EXPECT_TRUE(CudaSynchronize(0).ok());
}

}  // namespace
}  // namespace rewire
