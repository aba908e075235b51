// Runs every PyTorch-made golden case of tests/testdata/op_goldens (written
// by python/tools/export_op_goldens.py: the graph PyTorch exported, its
// inputs and eager PyTorch's outputs) through the executor and compares
// each output: shape, dtype and values within the case's tolerance.
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ir/serialization.h"
#include "kernels/common_ops.h"
#include "kernels/executor.h"
#include "tools/npy.h"

namespace rewire {
namespace {

constexpr char kDir[] = "tests/testdata/op_goldens/";

struct Case {
  std::string name;
  int inputs = 0;
  int outputs = 0;
  double atol = 0;
};

std::vector<Case> ReadCases() {
  std::vector<Case> out;
  std::ifstream in(std::string(kDir) + "cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    Case c;
    ss >> c.name >> c.inputs >> c.outputs >> c.atol;
    out.push_back(c);
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class OpGoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(OpGoldenTest, MatchesEagerPyTorch) {
  const Case& c = GetParam();
  const std::string base = std::string(kDir) + c.name;
  absl::StatusOr<ExportedModule> m = LoadModuleFromFile(base + ".pbtxt");
  ASSERT_TRUE(m.ok()) << m.status();
  std::vector<Tensor> inputs;
  for (int i = 0; i < c.inputs; ++i) {
    absl::StatusOr<Tensor> t = tools::ReadNpyFile(base + ".in" + std::to_string(i) + ".npy");
    ASSERT_TRUE(t.ok()) << t.status();
    inputs.push_back(*t);
  }
  absl::StatusOr<ExecutionResult> r = Execute(*m, inputs);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(static_cast<int>(r->outputs.size()), c.outputs);
  for (int i = 0; i < c.outputs; ++i) {
    SCOPED_TRACE("output " + std::to_string(i));
    absl::StatusOr<Tensor> want = tools::ReadNpyFile(base + ".out" + std::to_string(i) + ".npy");
    ASSERT_TRUE(want.ok()) << want.status();
    const Tensor& got = r->outputs[i].tensor;
    ASSERT_EQ(got.shape(), want->shape());
    ASSERT_EQ(got.dtype(), want->dtype()) << ScalarTypeName(got.dtype()) << " vs "
                                          << ScalarTypeName(want->dtype());
    Tensor g = *ops::Cast(got, ScalarType::kFloat64);
    Tensor w = *ops::Cast(*want, ScalarType::kFloat64);
    const double* gp = g.data<double>();
    const double* wp = w.data<double>();
    for (int64_t k = 0; k < g.numel(); ++k) {
      if (std::isnan(wp[k])) {
        EXPECT_TRUE(std::isnan(gp[k])) << "element " << k;
      } else if (std::isinf(wp[k])) {
        EXPECT_EQ(gp[k], wp[k]) << "element " << k;
      } else {
        EXPECT_NEAR(gp[k], wp[k], c.atol + 1e-6 * std::abs(wp[k])) << "element " << k;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, OpGoldenTest, ::testing::ValuesIn(ReadCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(OpGoldenCasesTest, EveryCaseIsListed) {
  // An empty or unreadable cases.txt would instantiate nothing and pass.
  EXPECT_GE(ReadCases().size(), 20u);
}

}  // namespace
}  // namespace rewire
