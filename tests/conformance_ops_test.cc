// Every aten op that a model of the conformance table exports (listed per
// torch version in tests/testdata/conformance_ops, written by
// python/tools/conformance_ops.py) has an executor kernel, so no row of
// docs/CONFORMANCE.md can stop at "no kernel for op".
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/executor.h"

namespace rewire {
namespace {

class ConformanceOpsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceOpsTest, EveryExportedOpHasAKernel) {
  std::ifstream in("tests/testdata/conformance_ops/" + GetParam());
  ASSERT_TRUE(in.good()) << GetParam();
  const std::vector<std::string> supported = SupportedOps();
  std::string line;
  int ops = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string op, forms, models;
    ss >> op >> forms >> models;
    ++ops;
    EXPECT_NE(std::find(supported.begin(), supported.end(), op), supported.end())
        << op << " (" << forms << ") of " << models;
  }
  EXPECT_GT(ops, 30);  // the list was read
}

INSTANTIATE_TEST_SUITE_P(Torch, ConformanceOpsTest,
                         ::testing::Values("torch-1.13.txt", "torch-2.15.txt"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 4);
                           std::replace(n.begin(), n.end(), '.', '_');
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace rewire
