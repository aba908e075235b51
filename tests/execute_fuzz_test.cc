// The execute fuzzer's inputs as plain tests (docs/RELIABILITY.md, target
// (g)): every checked-in seed decodes and runs, every regression input
// (fuzz/corpus/execute_fuzzer/regression-*, tests/testdata/execute_*) fails
// cleanly with the status its fix promises, and each fix is pinned by a small
// graph in the text form as well.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/file.h"
#include "fuzz/execute_case.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/text_format.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

// Decodes and runs a fuzz input as the fuzzer does (first run only).
absl::Status Replay(const std::string& bytes) {
  auto c = fuzz::DecodeExecuteCase(bytes);
  if (!c.ok()) return c.status();
  return fuzz::RunCase(*c, c->module, c->options).status();
}

TEST(ExecuteFuzzTest, EverySeedRunsAndEveryRegressionInputFailsCleanly) {
  int seeds = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("fuzz/corpus/execute_fuzzer")) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    absl::Status s = Replay(ReadFile(entry.path().string()));
    if (absl::StartsWith(name, "regression-")) {
      EXPECT_NE(s.code(), absl::StatusCode::kInternal) << s;
      continue;
    }
    EXPECT_TRUE(s.ok()) << s;
    ++seeds;
  }
  // Four variants of each of the 5 + 5 seed models (fuzz/make_seeds.cc),
  // and the PyTorch-made construct graphs (tests/testdata/constructs)
  // switched to eval (_01) and to eval and back (_03; not rrelu, whose
  // training form has no kernel).
  EXPECT_EQ(seeds, 40 + 88);
}

// Runs a graph in the text form on one float input x of `shape`, with the
// fuzzer's limits.
absl::StatusOr<ExecutionResult> RunText(const std::string& text,
                                        std::vector<int64_t> shape = {4}) {
  auto g = ParseGraph(text);
  if (!g.ok()) return g.status();
  ExportedModule m(std::move(*g));
  ExecuteOptions options;
  options.max_tensor_bytes = fuzz::kMaxTensorBytes;
  options.max_tensor_elements = fuzz::kMaxElements;
  auto x = Tensor::Zeros(ScalarType::kFloat32, std::move(shape));
  if (!x.ok()) return x.status();
  return Execute(m, {*x}, options);
}

// ------------------------------------------------- fuzzer regressions

// aten.cat of a 0-D tensor: NormalizeDim accepted dim 0 of a scalar and Cat
// indexed its empty shape (UBSan: reference binding to null pointer). The
// fuzz input is an input x without "val", which the fuzzer feeds a scalar.
TEST(ExecuteFuzzTest, FuzzRegressionCatOfZeroDimTensorIsRefused) {
  absl::Status s = Replay(ReadFile("tests/testdata/execute_cat_zero_dim.bin"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("zero-dimensional"));
  auto r = RunText(R"(graph():
    %x = placeholder
    %cat = aten.cat.default([%x, %x], 0)
    return (%cat,)
)",
                   {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("%cat"));
  // One dim is enough.
  EXPECT_TRUE(RunText(R"(graph():
    %x = placeholder
    %cat = aten.cat.default([%x, %x], -1)
    return (%cat,)
)")
                  .ok());
}

// add_ of int64 INT64_MAX and 1 (num_batches_tracked renamed so that it
// became an input, which the fuzzer filled with INT64_MAX): the exact int64
// path overflowed a signed integer. Integer tensors wrap around in two's
// complement, as in PyTorch; an alpha beyond int64 no longer takes that path.
TEST(ExecuteFuzzTest, FuzzRegressionInt64ArithmeticWrapsAround) {
  EXPECT_TRUE(
      Replay(ReadFile("tests/testdata/execute_int64_add_overflow.bin")).ok());
  auto g = ParseGraph(R"(graph():
    %x : i64[2] = placeholder
    %add = aten.add.Tensor(%x, 1)
    %sub = aten.sub.Tensor(%x, %add, alpha=3)
    %mul = aten.mul.Tensor(%x, %x)
    %alpha = aten.add.Tensor(%x, %x, alpha=9223372036854775807)
    return (%add, %sub, %mul, %alpha)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  auto r = Execute(m, {*Tensor::FromVector<int64_t>(
                          {2}, std::vector<int64_t>{kMax, -1})});
  ASSERT_TRUE(r.ok()) << r.status();
  auto values = [&](int i) {
    const Tensor& t = r->outputs[i].tensor;
    return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + 2);
  };
  EXPECT_EQ(values(0), (std::vector<int64_t>{kMin, 0}));
  // kMax - 3 * kMin == kMax + kMin (mod 2^64).
  EXPECT_EQ(values(1), (std::vector<int64_t>{-1, -1}));
  // (2^63 - 1)^2 == 1 (mod 2^64).
  EXPECT_EQ(values(2), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(r->outputs[3].tensor.dtype(), ScalarType::kInt64);
}

// ------------------------------------- found while writing the target
// Undefined behaviour the fuzzer had not reached when these were fixed; the
// graphs are also in its corpus (fuzz/corpus/execute_fuzzer/regression-*).

// Float -> int8/int16/int32/uint8 casts of out-of-range values were
// undefined behaviour (only int64 was guarded); they give 0 now, like NaN.
TEST(ExecuteFuzzTest, OutOfRangeCastsToSmallIntegersGiveZero) {
  auto g = ParseGraph(R"(graph():
    %x : f64[6] = placeholder
    %i8 = aten._to_copy.default(%x, dtype=torch.int8)
    %u8 = aten._to_copy.default(%x, dtype=torch.uint8)
    %i32 = aten._to_copy.default(%x, dtype=torch.int32)
    %full = aten.full.default([1], 1000.0, dtype=torch.int8)
    return (%i8, %u8, %i32, %full)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  auto r = Execute(
      m, {*Tensor::FromVector<double>(
             {6}, std::vector<double>{1000, -128.7, std::nan(""), 255.9, -1,
                                      3e9})});
  ASSERT_TRUE(r.ok()) << r.status();
  auto as_ints = [&](int i) {
    const Tensor& t = r->outputs[i].tensor;
    std::vector<int64_t> out;
    for (int64_t k = 0; k < t.numel(); ++k) {
      const char* p = static_cast<const char*>(t.raw_data()) + k * t.itemsize();
      switch (t.dtype()) {
        case ScalarType::kInt8: out.push_back(*reinterpret_cast<const int8_t*>(p)); break;
        case ScalarType::kUInt8: out.push_back(*reinterpret_cast<const uint8_t*>(p)); break;
        default: out.push_back(*reinterpret_cast<const int32_t*>(p)); break;
      }
    }
    return out;
  };
  EXPECT_EQ(as_ints(0), (std::vector<int64_t>{0, -128, 0, 0, -1, 0}));
  EXPECT_EQ(as_ints(1), (std::vector<int64_t>{0, 0, 0, 255, 0, 0}));
  EXPECT_EQ(as_ints(2), (std::vector<int64_t>{1000, -128, 0, 255, -1, 0}));
  EXPECT_EQ(as_ints(3), (std::vector<int64_t>{0}));
}

// Window arithmetic of max_pool2d, avg_pool2d and conv2d on kernel sizes,
// paddings, strides and dilations near int64's range overflowed (undefined
// behaviour), and max_pool2d looped over every tap of a 10^12-tap window
// that hangs mostly off a 2-pixel input. Sizes are computed in 128 bits and
// only the taps inside the input are visited.
TEST(ExecuteFuzzTest, HugeWindowParametersNeitherOverflowNorHang) {
  struct Case {
    const char* what;
    const char* op;
    absl::StatusCode code;
    std::vector<int64_t> shape;  // of the result when OK
  };
  const Case cases[] = {
      {"10^12-tap max pool window padded to fit",
       "aten.max_pool2d.default(%x, [1000000000000, 1], [1, 1], "
       "[500000000000, 0])",
       absl::StatusCode::kOk, {1, 1, 3, 2}},
      {"avg pool window of INT64_MAX taps",
       "aten.avg_pool2d.default(%x, [9223372036854775807, 1], [1, 1], "
       "[4611686018427387903, 0])",
       absl::StatusCode::kOk, {1, 1, 2, 2}},
      {"pool dilation * kernel beyond int64",
       "aten.max_pool2d.default(%x, [9, 1], [1, 1], [0, 0], "
       "[2000000000000000000, 1])",
       absl::StatusCode::kInvalidArgument, {}},
      {"pool padding * 2 beyond int64",
       "aten.max_pool2d.default(%x, [9223372036854775807, 1], [1, 1], "
       "[4611686018427387904, 0])",
       absl::StatusCode::kInvalidArgument, {}},
      {"conv output size beyond int64",
       "aten.conv2d.default(%x, %w, None, [1, 1], [4611686018427387904, 0])",
       absl::StatusCode::kInvalidArgument, {}},
      {"conv stride and padding of 2^62",
       "aten.conv2d.default(%x, %w, None, [4611686018427387904, 1], "
       "[4611686018427387904, 0])",
       absl::StatusCode::kOk, {1, 1, 3, 2}},
      {"conv dilation * kernel beyond int64",
       "aten.conv2d.default(%x, %w3, None, [1, 1], [0, 0], "
       "[9223372036854775807, 1])",
       absl::StatusCode::kInvalidArgument, {}},
      {"conv kernel one larger than the input, stride 2 (PyTorch refuses)",
       "aten.conv2d.default(%x, %w3, None, [2, 1])",
       absl::StatusCode::kInvalidArgument, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto g = ParseGraph(std::string(R"(graph():
    %x : f32[1, 1, 2, 2] = placeholder
    %w : f32[1, 1, 1, 1] = placeholder
    %w3 : f32[1, 1, 3, 1] = placeholder
    %y = )") + c.op + "\n    return (%y,)\n");
    ASSERT_TRUE(g.ok()) << g.status();
    ExportedModule m(std::move(*g));
    auto r = Execute(m, {*Tensor::Zeros(ScalarType::kFloat32, {1, 1, 2, 2}),
                         *Tensor::Zeros(ScalarType::kFloat32, {1, 1, 1, 1}),
                         *Tensor::Zeros(ScalarType::kFloat32, {1, 1, 3, 1})});
    EXPECT_EQ(r.status().code(), c.code) << r.status();
    if (r.ok()) {
      EXPECT_EQ(r->outputs[0].tensor.shape(), c.shape);
    }
  }
}

// split with a split_size near int64's range rounded the piece count up
// with len + split_size - 1, which overflowed.
TEST(ExecuteFuzzTest, SplitSizeNearInt64MaxIsOnePiece) {
  auto r = RunText(R"(graph():
    %x = placeholder
    %split = aten.split.Tensor(%x, 9223372036854775807)
    %getitem = getitem(%split, 0)
    return (%split,)
)");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].tensor.shape(), (std::vector<int64_t>{4}));
}

// _reshape_alias multiplied its sizes (from the graph) to check the strides
// and overflowed.
TEST(ExecuteFuzzTest, ReshapeAliasSizeOverflowIsRefused) {
  auto r = RunText(R"(graph():
    %x = placeholder
    %a = aten._reshape_alias.default(%x, [4611686018427387904, 4, 4], [16, 4, 1])
    return (%a,)
)");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("overflows"));
  EXPECT_TRUE(RunText(R"(graph():
    %x = placeholder
    %a = aten._reshape_alias.default(%x, [2, 2], [2, 1])
    return (%a,)
)")
                  .ok());
}

// A bool state tensor stored as byte 2 (any byte is valid in the file) was
// read as a bool: undefined behaviour. State and inputs are checked.
TEST(ExecuteFuzzTest, BoolBytesOtherThanZeroOrOneAreRefused) {
  auto g = ParseGraph(R"(graph():
    %x = placeholder
    %m = placeholder
    %f = aten._to_copy.default(%m, dtype=torch.float32)
    return (%f,)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  StateTensor mask;
  mask.name = mask.placeholder = "m";
  mask.role = TensorRole::kBuffer;
  mask.dtype = ScalarType::kBool;
  mask.shape = {2};
  mask.data = std::string("\x01\x02", 2);
  ASSERT_TRUE(m.AddTensor(mask).ok());
  auto x = *Tensor::Zeros(ScalarType::kFloat32, {4});
  auto r = Execute(m, {x});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("state tensor m"));
  EXPECT_THAT(r.status().message(), HasSubstr("bool element 1"));
  m.mutable_tensor_data(0) = std::string("\x01\x00", 2);
  EXPECT_TRUE(Execute(m, {x}).ok());

  auto g2 = ParseGraph(R"(graph():
    %b = placeholder
    %f = aten._to_copy.default(%b, dtype=torch.float32)
    return (%f,)
)");
  ExportedModule m2(std::move(*g2));
  Tensor b = *Tensor::Zeros(ScalarType::kBool, {3});
  static_cast<uint8_t*>(b.raw_data())[2] = 7;
  auto r2 = Execute(m2, {b});
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r2.status().message(), HasSubstr("%b"));
}

}  // namespace
}  // namespace rewire
