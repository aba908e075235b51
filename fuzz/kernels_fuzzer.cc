// Fuzz target (f): the CPU dropout and batch norm kernels on small random
// shapes, values and parameters.
//
// Input layout (FuzzedDataProvider): op selector, dtype, rank and dims (each
// dim <= 8, element count capped at 4096 so one input stays in microseconds),
// p / momentum / eps as arbitrary doubles (NaN, Inf, negative, > 1 included),
// optional weight/bias/running stats whose length may disagree with the
// channel count, then element values (raw floats: NaN and Inf included).
//
// Properties: every call returns a status (never crashes, never reads or
// writes out of bounds under ASan); successful results have the input's
// shape; dropout masks are identical on every CPU ISA the machine supports
// (masks are a pure function of seed, offset and index, kernels/philox.h).
//
// Whole-module execution (load + Execute on small inputs) is target (g),
// execute_fuzzer.cc.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "kernels/cpu_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"

namespace rewire {
namespace {

constexpr int64_t kMaxNumel = 4096;

ScalarType PickFloatType(FuzzedDataProvider& in) {
  static constexpr ScalarType kTypes[] = {
      ScalarType::kFloat32, ScalarType::kFloat64, ScalarType::kFloat16,
      ScalarType::kBFloat16, ScalarType::kBool, ScalarType::kInt64};
  return kTypes[in.ConsumeIntegralInRange<size_t>(0, 5)];
}

// A tensor of `shape` whose bytes come from the input (zero-padded).
Tensor MakeTensor(FuzzedDataProvider& in, ScalarType dtype,
                  std::vector<int64_t> shape) {
  auto t = Tensor::Empty(dtype, std::move(shape));
  if (!t.ok()) return Tensor();
  std::vector<uint8_t> bytes =
      in.ConsumeBytes<uint8_t>(static_cast<size_t>(t->nbytes()));
  bytes.resize(static_cast<size_t>(t->nbytes()), 0);
  if (dtype == ScalarType::kBool) {
    for (uint8_t& b : bytes) b &= 1;  // a bool must be 0 or 1
  }
  if (!bytes.empty()) std::memcpy(t->raw_data(), bytes.data(), bytes.size());
  return *t;
}

std::vector<int64_t> PickShape(FuzzedDataProvider& in) {
  const int rank = in.ConsumeIntegralInRange<int>(0, 5);
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (int d = 0; d < rank; ++d) {
    int64_t dim = in.ConsumeIntegralInRange<int64_t>(0, 8);
    if (numel * (dim == 0 ? 1 : dim) > kMaxNumel) dim = 1;
    numel *= dim == 0 ? 1 : dim;
    shape.push_back(dim);
  }
  return shape;
}

// An optional 1-D parameter: absent, of the channel count, or of a wrong one.
Tensor MaybeParam(FuzzedDataProvider& in, ScalarType dtype, int64_t channels) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return Tensor();
    case 1:
      return MakeTensor(in, dtype, {in.ConsumeIntegralInRange<int64_t>(0, 9)});
    default:
      return MakeTensor(in, dtype, {channels});
  }
}

Tensor* Ptr(Tensor& t) { return t.defined() ? &t : nullptr; }

void CheckShape(const Tensor& out, const Tensor& in, const char* op) {
  FUZZ_CHECK(out.shape() == in.shape(),
             std::string(op) + ": output shape differs from input");
}

// Same mask under every supported ISA.
void CheckDropoutAcrossIsas(const Tensor& x, double p, uint64_t seed) {
  const CpuIsa saved = ActiveCpuIsa();
  std::string reference;
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (!CpuIsaSupported(isa) || !SetCpuIsaForTesting(isa).ok()) continue;
    PhiloxGenerator gen(seed, 0);
    auto r = NativeDropout(x, p, /*train=*/true, gen);
    if (!r.ok()) {
      FUZZ_CHECK(reference.empty(), "dropout fails on one ISA only");
      continue;
    }
    std::string mask(static_cast<const char*>(r->mask.raw_data()),
                     static_cast<size_t>(r->mask.nbytes()));
    if (isa == CpuIsa::kScalar) {
      reference = mask;
    } else {
      FUZZ_CHECK(mask == reference, std::string("dropout mask differs on ") +
                                        CpuIsaName(isa));
    }
  }
  (void)SetCpuIsaForTesting(saved);
}

}  // namespace
}  // namespace rewire

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rewire;  // NOLINT: test-only brevity
  FuzzedDataProvider in(data, size);
  const int op = in.ConsumeIntegralInRange<int>(0, 8);
  const ScalarType dtype = PickFloatType(in);
  const std::vector<int64_t> shape = PickShape(in);
  const double p = in.ConsumeFloatingPoint<double>();
  const double momentum = in.ConsumeFloatingPoint<double>();
  const double eps = in.ConsumeFloatingPoint<double>();
  const bool train = in.ConsumeBool();
  const uint64_t seed = in.ConsumeIntegral<uint64_t>();
  const int64_t channels = shape.size() >= 2 ? shape[1] : 1;
  Tensor w = MaybeParam(in, dtype, channels);
  Tensor b = MaybeParam(in, dtype, channels);
  Tensor rm = MaybeParam(in, dtype, channels);
  Tensor rv = MaybeParam(in, dtype, channels);
  Tensor x = MakeTensor(in, dtype, shape);
  if (!x.defined()) return 0;
  PhiloxGenerator gen(seed, 0);
  switch (op) {
    case 0: {
      auto r = Dropout(x, p, train, gen);
      if (r.ok()) CheckShape(*r, x, "Dropout");
      break;
    }
    case 1: {
      Tensor y = x;
      (void)Dropout_(y, p, train, gen);
      break;
    }
    case 2: {
      auto r = NativeDropout(x, p, train, gen);
      if (r.ok()) {
        CheckShape(r->output, x, "NativeDropout");
        CheckShape(r->mask, x, "NativeDropout mask");
        if (train) CheckDropoutAcrossIsas(x, p, seed);
      }
      break;
    }
    case 3: {
      Tensor y = x;
      if (Bernoulli_(y, p, gen).ok() && DivScalar_(y, 1.0 - p).ok()) {
        auto r = Mul(x, y);
        if (r.ok()) CheckShape(*r, x, "Mul");
      }
      break;
    }
    case 4: {
      auto r = NativeBatchNorm(x, Ptr(w), Ptr(b), Ptr(rm), Ptr(rv), train,
                               momentum, eps);
      if (r.ok()) CheckShape(r->output, x, "NativeBatchNorm");
      break;
    }
    case 5: {
      auto r = NativeBatchNormLegitNoStats(x, Ptr(w), Ptr(b), train, momentum,
                                           eps);
      if (r.ok()) CheckShape(r->output, x, "NativeBatchNormLegitNoStats");
      break;
    }
    case 6: {
      if (!rm.defined() || !rv.defined()) break;
      auto r = NativeBatchNormLegitNoTraining(x, Ptr(w), Ptr(b), rm, rv,
                                              momentum, eps);
      if (r.ok()) CheckShape(r->output, x, "NativeBatchNormLegitNoTraining");
      break;
    }
    case 7: {
      if (!rm.defined() || !rv.defined()) break;
      auto r = NativeBatchNormLegitFunctional(x, Ptr(w), Ptr(b), rm, rv, train,
                                              momentum, eps);
      if (r.ok()) CheckShape(r->output, x, "NativeBatchNormLegitFunctional");
      break;
    }
    default: {
      auto r = BatchNorm(x, Ptr(w), Ptr(b), Ptr(rm), Ptr(rv), train, momentum,
                         eps);
      if (r.ok()) CheckShape(*r, x, "BatchNorm");
      break;
    }
  }
  return 0;
}
