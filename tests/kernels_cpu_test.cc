// CPU dropout and batch norm: PyTorch golden cases, statistics, exact edge
// cases, input validation, and bit-identity of every ISA path with the
// portable one.
#include "kernels/cpu_kernels.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {
namespace {

std::string RunfilePath(const std::string& rel) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" + (ws ? ws : "rewire") + "/" +
         rel;
}

Tensor RandomF32(std::vector<int64_t> shape, uint64_t seed, float lo = -2.0f,
                 float hi = 2.0f) {
  Tensor t = *Tensor::Empty(ScalarType::kFloat32, std::move(shape));
  float* d = t.data<float>();
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    d[i] = lo + (hi - lo) * static_cast<float>(s >> 40) / 16777216.0f;
  }
  return t;
}

std::vector<CpuIsa> SupportedIsas() {
  std::vector<CpuIsa> v;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (CpuIsaSupported(isa)) v.push_back(isa);
  }
  return v;
}

// Restores the default ISA after a test that forces one.
class IsaGuard {
 public:
  IsaGuard() : saved_(ActiveCpuIsa()) {}
  ~IsaGuard() { (void)SetCpuIsaForTesting(saved_); }

 private:
  CpuIsa saved_;
};

// ------------------------------------------------------------------ dropout

TEST(DropoutTest, MaskMatchesPhiloxReference) {
  for (int64_t n : {1, 3, 4, 63, 64, 65, 1000, 200003}) {
    Tensor x = RandomF32({n}, n);
    PhiloxGenerator gen(1234, 77);
    absl::StatusOr<NativeDropoutResult> r = NativeDropout(x, 0.3, true, gen);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(gen.offset(), 77u + (n + 3) / 4);
    const uint32_t thr = philox::KeepThreshold(0.7);
    const bool* m = r->mask.data<bool>();
    const float* y = r->output.data<float>();
    const float* xd = x.data<float>();
    const float scale = static_cast<float>(1.0 / 0.7);
    for (int64_t i = 0; i < n; ++i) {
      const bool keep = philox::KeepElement(1234, 77, i, thr);
      ASSERT_EQ(m[i], keep) << "n=" << n << " i=" << i;
      ASSERT_EQ(y[i], keep ? xd[i] * scale : 0.0f) << i;
    }
  }
}

TEST(DropoutTest, EveryIsaIsBitIdenticalToScalar) {
  IsaGuard guard;
  Tensor x = RandomF32({3, 5, 1001}, 9);  // odd size: vector body + tails
  std::vector<Tensor> outs, masks;
  std::vector<Tensor> bern;
  for (CpuIsa isa : SupportedIsas()) {
    ASSERT_TRUE(SetCpuIsaForTesting(isa).ok());
    // Offset near 2^32 so the counter's low word wraps inside the tensor.
    PhiloxGenerator gen(0xdeadbeefcafef00dull, 0xffffff00ull);
    absl::StatusOr<NativeDropoutResult> r = NativeDropout(x, 0.25, true, gen);
    ASSERT_TRUE(r.ok());
    outs.push_back(r->output);
    masks.push_back(r->mask);
    Tensor b = *Tensor::Empty(ScalarType::kFloat32, {3, 5, 1001});
    PhiloxGenerator gen2(0xdeadbeefcafef00dull, 0xffffff00ull);
    ASSERT_TRUE(Bernoulli_(b, 0.75, gen2).ok());
    bern.push_back(b);
  }
  for (size_t k = 1; k < outs.size(); ++k) {
    SCOPED_TRACE(CpuIsaName(SupportedIsas()[k]));
    EXPECT_EQ(std::memcmp(outs[0].raw_data(), outs[k].raw_data(), outs[0].nbytes()), 0);
    EXPECT_EQ(std::memcmp(masks[0].raw_data(), masks[k].raw_data(), masks[0].nbytes()), 0);
    EXPECT_EQ(std::memcmp(bern[0].raw_data(), bern[k].raw_data(), bern[0].nbytes()), 0);
  }
  // The decomposed form reproduces native_dropout's mask exactly.
  const bool* m = masks[0].data<bool>();
  const float* b = bern[0].data<float>();
  for (int64_t i = 0; i < masks[0].numel(); ++i) ASSERT_EQ(b[i], m[i] ? 1.0f : 0.0f);
}

TEST(DropoutTest, EveryIsaMatchesReferenceAtExtremeThresholds) {
  // Thresholds 0, 1, 2^24 - 1 and 2^24 (keep all): the ends of the vector
  // paths' integer comparison.
  IsaGuard guard;
  const int64_t n = 4099;
  const uint64_t seed = 0x0123456789abcdefull;
  for (CpuIsa isa : SupportedIsas()) {
    SCOPED_TRACE(CpuIsaName(isa));
    ASSERT_TRUE(SetCpuIsaForTesting(isa).ok());
    for (double q : {0.0, 4e-8, 1.0 - 4e-8, 1.0}) {
      const uint32_t thr = philox::KeepThreshold(q);
      Tensor bools = *Tensor::Empty(ScalarType::kBool, {n});
      Tensor floats = *Tensor::Empty(ScalarType::kFloat32, {n});
      PhiloxGenerator g1(seed, 0xfffffff0ull), g2(seed, 0xfffffff0ull);
      ASSERT_TRUE(Bernoulli_(bools, q, g1).ok());
      ASSERT_TRUE(Bernoulli_(floats, q, g2).ok());
      for (int64_t i = 0; i < n; ++i) {
        const bool keep = philox::KeepElement(seed, 0xfffffff0ull, i, thr);
        ASSERT_EQ(bools.data<bool>()[i], keep) << "q=" << q << " i=" << i;
        ASSERT_EQ(floats.data<float>()[i], keep ? 1.0f : 0.0f)
            << "q=" << q << " i=" << i;
      }
    }
  }
}

TEST(DropoutTest, SliceComputedSeparatelyGivesSameBits) {
  // Elements [4k, n) of a call at offset o equal a call over n - 4k elements
  // at offset o + k.
  Tensor x = RandomF32({10000}, 3);
  PhiloxGenerator g1(5, 0);
  NativeDropoutResult full = *NativeDropout(x, 0.5, true, g1);
  Tensor tail = *Tensor::Empty(ScalarType::kFloat32, {10000 - 400});
  std::memcpy(tail.raw_data(), x.data<float>() + 400, tail.nbytes());
  PhiloxGenerator g2(5, 100);
  NativeDropoutResult part = *NativeDropout(tail, 0.5, true, g2);
  EXPECT_EQ(std::memcmp(full.mask.data<bool>() + 400, part.mask.raw_data(),
                        part.mask.numel()),
            0);
}

TEST(DropoutTest, KeepRateAndScale) {
  const int64_t n = 1 << 20;
  Tensor x = *Tensor::Empty(ScalarType::kFloat32, {n});
  for (int64_t i = 0; i < n; ++i) x.data<float>()[i] = 1.0f;
  for (double p : {0.1, 0.5, 0.9}) {
    PhiloxGenerator gen(99, 0);
    NativeDropoutResult r = *NativeDropout(x, p, true, gen);
    int64_t kept = 0;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (int64_t i = 0; i < n; ++i) {
      if (r.mask.data<bool>()[i]) {
        ++kept;
        ASSERT_EQ(r.output.data<float>()[i], scale);
      } else {
        ASSERT_EQ(r.output.data<float>()[i], 0.0f);
      }
    }
    const double rate = static_cast<double>(kept) / n;
    // 6 standard deviations of a binomial keep rate.
    const double tol = 6 * std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(rate, 1.0 - p, tol) << "p=" << p;
  }
}

TEST(DropoutTest, ZeroOneAndEval) {
  Tensor x = RandomF32({1000}, 4);
  PhiloxGenerator gen(1, 0);
  Tensor y0 = *Dropout(x, 0.0, true, gen);
  EXPECT_EQ(std::memcmp(y0.raw_data(), x.raw_data(), x.nbytes()), 0);
  NativeDropoutResult r1 = *NativeDropout(x, 1.0, true, gen);
  for (int64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(r1.output.data<float>()[i], 0.0f);
    EXPECT_FALSE(r1.mask.data<bool>()[i]);
  }
  EXPECT_FALSE(std::isnan(r1.output.data<float>()[0]));
  EXPECT_EQ(gen.offset(), 0u);  // p = 0 and p = 1 draw nothing
  Tensor ye = *Dropout(x, 0.5, false, gen);
  EXPECT_EQ(std::memcmp(ye.raw_data(), x.raw_data(), x.nbytes()), 0);
  NativeDropoutResult re = *NativeDropout(x, 0.5, false, gen);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_TRUE(re.mask.data<bool>()[i]);
  Tensor inplace = *x.Clone();
  ASSERT_TRUE(Dropout_(inplace, 0.5, false, gen).ok());
  EXPECT_EQ(std::memcmp(inplace.raw_data(), x.raw_data(), x.nbytes()), 0);
}

TEST(DropoutTest, InPlaceMatchesOutOfPlace) {
  Tensor x = RandomF32({5000}, 5);
  PhiloxGenerator g1(8, 3), g2(8, 3);
  Tensor y = *Dropout(x, 0.4, true, g1);
  Tensor z = *x.Clone();
  ASSERT_TRUE(Dropout_(z, 0.4, true, g2).ok());
  EXPECT_EQ(std::memcmp(y.raw_data(), z.raw_data(), y.nbytes()), 0);
  EXPECT_EQ(g1.offset(), g2.offset());
}

TEST(DropoutTest, DecomposedPathMatchesNative) {
  Tensor x = RandomF32({4, 1000}, 6);
  const double p = 0.2;
  PhiloxGenerator g1(11, 0), g2(11, 0);
  NativeDropoutResult nat = *NativeDropout(x, p, true, g1);
  Tensor mask = *Tensor::Empty(ScalarType::kFloat32, {4, 1000});
  ASSERT_TRUE(Bernoulli_(mask, 1.0 - p, g2).ok());
  Tensor y = *Mul(x, mask);
  ASSERT_TRUE(DivScalar_(y, 1.0 - p).ok());
  for (int64_t i = 0; i < x.numel(); ++i) {
    // x / (1 - p) vs x * (1 / (1 - p)): equal within one rounding.
    EXPECT_NEAR(y.data<float>()[i], nat.output.data<float>()[i],
                1e-6f * std::fabs(nat.output.data<float>()[i]));
    EXPECT_EQ(mask.data<float>()[i] == 1.0f, nat.mask.data<bool>()[i]);
  }
  Tensor by_bool = *Mul(x, nat.mask);
  for (int64_t i = 0; i < x.numel(); ++i) {
    EXPECT_EQ(by_bool.data<float>()[i], nat.mask.data<bool>()[i] ? x.data<float>()[i] : 0.0f);
  }
}

TEST(DropoutTest, OtherDtypesUseTheSameMask) {
  const int64_t n = 999;
  Tensor xf = RandomF32({n}, 12);
  Tensor xd = *Tensor::Empty(ScalarType::kFloat64, {n});
  Tensor xh = *Tensor::Empty(ScalarType::kFloat16, {n});
  Tensor xb = *Tensor::Empty(ScalarType::kBFloat16, {n});
  for (int64_t i = 0; i < n; ++i) {
    xd.data<double>()[i] = xf.data<float>()[i];
    xh.data<Half>()[i] = FloatToHalf(xf.data<float>()[i]);
    xb.data<BFloat16>()[i] = FloatToBFloat16(xf.data<float>()[i]);
  }
  PhiloxGenerator g(21, 0);
  const NativeDropoutResult rf = *NativeDropout(xf, 0.6, true, g);
  for (const Tensor* x : {&xd, &xh, &xb}) {
    PhiloxGenerator g2(21, 0);
    absl::StatusOr<NativeDropoutResult> r = NativeDropout(*x, 0.6, true, g2);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(std::memcmp(r->mask.raw_data(), rf.mask.raw_data(), n), 0);
  }
  PhiloxGenerator g3(21, 0);
  const NativeDropoutResult rd = *NativeDropout(xd, 0.6, true, g3);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(rd.output.data<double>()[i],
              rf.mask.data<bool>()[i] ? xd.data<double>()[i] * (1.0 / 0.4) : 0.0);
  }
  Tensor bools = *Tensor::Empty(ScalarType::kBool, {n});
  PhiloxGenerator g4(21, 0);
  ASSERT_TRUE(Bernoulli_(bools, 0.4, g4).ok());
  EXPECT_EQ(std::memcmp(bools.raw_data(), rf.mask.raw_data(), n), 0);
}

TEST(DropoutTest, RejectsBadInput) {
  Tensor x = RandomF32({10}, 1);
  PhiloxGenerator gen(1, 0);
  for (double p : {-0.1, 1.5, std::nan("")}) {
    absl::StatusOr<Tensor> r = Dropout(x, p, true, gen);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("p must be in [0, 1]"), std::string::npos);
  }
  Tensor ints = *Tensor::Empty(ScalarType::kInt64, {3});
  EXPECT_EQ(NativeDropout(ints, 0.5, true, gen).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Dropout(Tensor(), 0.5, true, gen).ok());
  EXPECT_FALSE(Bernoulli_(ints, 0.5, gen).ok());
  EXPECT_FALSE(Mul(x, RandomF32({11}, 1)).ok());
  EXPECT_FALSE(Mul(x, ints).ok());
  EXPECT_EQ(gen.offset(), 0u);
}

// --------------------------------------------------------------- batch norm

struct BnCase {
  std::string name;
  bool training = false;
  double momentum = 0, eps = 0;
  std::vector<int64_t> shape;
  std::map<std::string, std::vector<float>> tensors;  // absent: 'none'
};

std::vector<BnCase> LoadBnCases() {
  std::ifstream in(RunfilePath("tests/testdata/batch_norm_cases.txt"));
  std::vector<BnCase> cases;
  std::string line;
  BnCase cur;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string key;
    ss >> key;
    if (key == "case") {
      cur = BnCase();
      ss >> cur.name;
    } else if (key == "end") {
      cases.push_back(cur);
    } else if (key == "training") {
      int t;
      ss >> t;
      cur.training = t != 0;
    } else if (key == "momentum") {
      ss >> cur.momentum;
    } else if (key == "eps") {
      ss >> cur.eps;
    } else if (key == "shape") {
      int64_t d;
      while (ss >> d) cur.shape.push_back(d);
    } else {
      std::string tok;
      std::vector<float> v;
      bool none = false;
      while (ss >> tok) {
        if (tok == "none") {
          none = true;
          break;
        }
        v.push_back(std::strtof(tok.c_str(), nullptr));
      }
      if (!none) cur.tensors[key] = v;
    }
  }
  return cases;
}

void ExpectClose(const Tensor& got, const std::vector<float>& want,
                 const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const float g = got.data<float>()[i];
    EXPECT_LE(std::fabs(g - want[i]), 1e-5 + 1.3e-6 * std::fabs(want[i]))
        << what << "[" << i << "]: got " << g << " want " << want[i];
  }
}

void RunGoldenCases() {
  const std::vector<BnCase> cases = LoadBnCases();
  ASSERT_EQ(cases.size(), 50u) << "tests/testdata/batch_norm_cases.txt";
  for (const BnCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto make = [&](const std::string& key, std::vector<int64_t> shape) {
      auto it = c.tensors.find(key);
      if (it == c.tensors.end()) return Tensor();
      return *Tensor::FromVector<float>(std::move(shape), it->second);
    };
    const int64_t ch = c.shape[1];
    Tensor input = make("input", c.shape);
    Tensor weight = make("weight", {ch});
    Tensor bias = make("bias", {ch});
    Tensor rm = make("running_mean_in", {ch});
    Tensor rv = make("running_var_in", {ch});
    Tensor rm_f = rm, rv_f = rv;
    absl::StatusOr<BatchNormResult> r =
        NativeBatchNorm(input, &weight, &bias, &rm, &rv, c.training,
                        c.momentum, c.eps);
    ASSERT_TRUE(r.ok()) << r.status();
    ExpectClose(r->output, c.tensors.at("output"), "output");
    if (c.training) {
      ExpectClose(r->save_mean, c.tensors.at("save_mean"), "save_mean");
      ExpectClose(r->save_invstd, c.tensors.at("save_invstd"), "save_invstd");
    } else {
      EXPECT_EQ(r->save_mean.numel(), 0);
    }
    if (rm.defined()) {
      ExpectClose(rm, c.tensors.at("running_mean_out"), "running_mean_out");
      ExpectClose(rv, c.tensors.at("running_var_out"), "running_var_out");
      // The functional form returns the same new stats and leaves its
      // inputs alone.
      Tensor rm_in = make("running_mean_in", {ch});
      Tensor rv_in = make("running_var_in", {ch});
      absl::StatusOr<BatchNormFunctionalResult> f =
          NativeBatchNormLegitFunctional(input, &weight, &bias, rm_in, rv_in,
                                         c.training, c.momentum, c.eps);
      ASSERT_TRUE(f.ok()) << f.status();
      ExpectClose(f->output, c.tensors.at("output"), "functional output");
      ExpectClose(f->running_mean, c.tensors.at("running_mean_out"), "functional rm");
      ExpectClose(f->running_var, c.tensors.at("running_var_out"), "functional rv");
      ExpectClose(rm_in, c.tensors.at("running_mean_in"), "functional rm input");
    }
  }
}

TEST(BatchNormTest, GoldenCasesEveryIsa) {
  IsaGuard guard;
  for (CpuIsa isa : SupportedIsas()) {
    SCOPED_TRACE(CpuIsaName(isa));
    ASSERT_TRUE(SetCpuIsaForTesting(isa).ok());
    RunGoldenCases();
  }
}

TEST(BatchNormTest, IsaPathsAgreeOnLargeInput) {
  IsaGuard guard;
  // Mean far from zero, odd inner size, several chunks per channel.
  Tensor x = RandomF32({3, 4, 171, 131}, 17, 95.0f, 105.0f);
  std::vector<Tensor> outs;
  std::vector<Tensor> means;
  for (CpuIsa isa : SupportedIsas()) {
    ASSERT_TRUE(SetCpuIsaForTesting(isa).ok());
    absl::StatusOr<BatchNormResult> r =
        NativeBatchNorm(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5);
    ASSERT_TRUE(r.ok());
    outs.push_back(r->output);
    means.push_back(r->save_mean);
  }
  for (size_t k = 1; k < outs.size(); ++k) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      ASSERT_NEAR(outs[k].data<float>()[i], outs[0].data<float>()[i], 2e-6f) << i;
    }
    for (int64_t c = 0; c < 4; ++c) {
      EXPECT_NEAR(means[k].data<float>()[c], means[0].data<float>()[c], 1e-5f);
    }
  }
  // Normalized output has mean ~0 and variance ~1 per channel.
  const int64_t inner = 171 * 131;
  for (int64_t c = 0; c < 4; ++c) {
    double s = 0, q = 0;
    for (int64_t n = 0; n < 3; ++n) {
      for (int64_t i = 0; i < inner; ++i) {
        const double v = outs[0].data<float>()[(n * 4 + c) * inner + i];
        s += v;
        q += v * v;
      }
    }
    EXPECT_NEAR(s / (3 * inner), 0.0, 1e-4);
    EXPECT_NEAR(q / (3 * inner), 1.0, 1e-3);
  }
}

TEST(BatchNormTest, OtherDtypesMatchFloat32) {
  Tensor xf = RandomF32({2, 3, 5, 7}, 23);
  Tensor w = RandomF32({3}, 24);
  Tensor b = RandomF32({3}, 25);
  BatchNormResult ref =
      *NativeBatchNorm(xf, &w, &b, nullptr, nullptr, true, 0.1, 1e-5);
  Tensor xd = *Tensor::Empty(ScalarType::kFloat64, xf.shape());
  Tensor xh = *Tensor::Empty(ScalarType::kFloat16, xf.shape());
  Tensor xb = *Tensor::Empty(ScalarType::kBFloat16, xf.shape());
  for (int64_t i = 0; i < xf.numel(); ++i) {
    xd.data<double>()[i] = xf.data<float>()[i];
    xh.data<Half>()[i] = FloatToHalf(xf.data<float>()[i]);
    xb.data<BFloat16>()[i] = FloatToBFloat16(xf.data<float>()[i]);
  }
  BatchNormResult rd = *NativeBatchNorm(xd, &w, &b, nullptr, nullptr, true, 0.1, 1e-5);
  EXPECT_EQ(rd.output.dtype(), ScalarType::kFloat64);
  EXPECT_EQ(rd.save_mean.dtype(), ScalarType::kFloat64);
  for (int64_t i = 0; i < xf.numel(); ++i) {
    EXPECT_NEAR(rd.output.data<double>()[i], ref.output.data<float>()[i], 1e-5);
  }
  for (const Tensor* x : {&xh, &xb}) {
    absl::StatusOr<BatchNormResult> r =
        NativeBatchNorm(*x, &w, &b, nullptr, nullptr, true, 0.1, 1e-5);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->save_mean.dtype(), ScalarType::kFloat32);
    const bool half = x->dtype() == ScalarType::kFloat16;
    const double tol = half ? 2e-2 : 1e-1;
    for (int64_t i = 0; i < xf.numel(); ++i) {
      const float got = half ? HalfToFloat(r->output.data<Half>()[i])
                             : BFloat16ToFloat(r->output.data<BFloat16>()[i]);
      EXPECT_NEAR(got, ref.output.data<float>()[i], tol) << i;
    }
  }
}

TEST(BatchNormTest, EvalIsScaleAndShift) {
  Tensor x = RandomF32({4, 3, 10}, 30);
  Tensor rm = *Tensor::FromVector<float>({3}, std::vector<float>{0.5f, -1.f, 2.f});
  Tensor rv = *Tensor::FromVector<float>({3}, std::vector<float>{1.f, 4.f, 0.25f});
  BatchNormResult r = *NativeBatchNormLegitNoTraining(x, nullptr, nullptr, rm, rv, 0.1, 0.0);
  for (int64_t n = 0; n < 4; ++n) {
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t i = 0; i < 10; ++i) {
        const int64_t k = (n * 3 + c) * 10 + i;
        const double want = (x.data<float>()[k] - rm.data<float>()[c]) /
                            std::sqrt(rv.data<float>()[c]);
        EXPECT_NEAR(r.output.data<float>()[k], want, 1e-5);
      }
    }
  }
  EXPECT_EQ(rm.data<float>()[0], 0.5f);  // eval leaves stats alone
}

TEST(BatchNormTest, RejectsBadInput) {
  Tensor x = RandomF32({2, 3, 4}, 1);
  Tensor w3 = RandomF32({3}, 2);
  Tensor w4 = RandomF32({4}, 2);
  auto code = [](const absl::StatusOr<BatchNormResult>& r) {
    return r.status().code();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  absl::StatusOr<BatchNormResult> r =
      NativeBatchNorm(x, &w4, nullptr, nullptr, nullptr, true, 0.1, 1e-5);
  EXPECT_EQ(code(r), kInvalid);
  EXPECT_NE(r.status().message().find("weight must have shape [3]"), std::string::npos)
      << r.status();
  EXPECT_EQ(code(NativeBatchNorm(x, nullptr, &w4, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  Tensor rm = RandomF32({3}, 3);
  Tensor rv4 = RandomF32({4}, 3);
  EXPECT_EQ(code(NativeBatchNorm(x, nullptr, nullptr, &rm, &rv4, true, 0.1, 1e-5)), kInvalid);
  EXPECT_EQ(code(NativeBatchNorm(x, nullptr, nullptr, &rm, nullptr, true, 0.1, 1e-5)), kInvalid);
  Tensor x1 = RandomF32({3}, 1);
  EXPECT_EQ(code(NativeBatchNorm(x1, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  Tensor x6 = RandomF32({1, 2, 1, 1, 1, 1}, 1);
  EXPECT_EQ(code(NativeBatchNorm(x6, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  Tensor one = RandomF32({1, 3}, 1);
  r = NativeBatchNorm(one, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5);
  EXPECT_NE(r.status().message().find("more than 1 value per channel"), std::string::npos);
  r = NativeBatchNorm(x, nullptr, nullptr, nullptr, nullptr, false, 0.1, 1e-5);
  EXPECT_NE(r.status().message().find("required in eval"), std::string::npos);
  EXPECT_EQ(code(NativeBatchNorm(x, nullptr, nullptr, nullptr, nullptr, true, 0.1, -1.0)), kInvalid);
  Tensor ints = *Tensor::Empty(ScalarType::kInt64, {2, 3});
  EXPECT_EQ(code(NativeBatchNorm(ints, nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  Tensor wi = *Tensor::Empty(ScalarType::kInt64, {3});
  EXPECT_EQ(code(NativeBatchNorm(x, &wi, nullptr, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  EXPECT_EQ(code(NativeBatchNorm(Tensor(), nullptr, nullptr, nullptr, nullptr, true, 0.1, 1e-5)), kInvalid);
  // An undefined optional tensor means absent.
  Tensor undef;
  EXPECT_TRUE(NativeBatchNorm(x, &undef, &w3, nullptr, nullptr, true, 0.1, 1e-5).ok());
}

}  // namespace
}  // namespace rewire
