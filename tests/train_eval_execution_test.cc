// End to end: an exported training graph in each exporter dialect, switched
// with MoveExportedModelToEval and run by the executor, computes what the same
// model's eval-form graph computes (the question model.eval() answers in
// eager PyTorch), and switching back to train restores training behaviour.
// Combines rewrite/ and kernels/, which never include each other.
#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/verifier.h"
#include "kernels/executor.h"
#include "rewrite/train_eval.h"
#include "tests/executor_test_util.h"

namespace rewire {
namespace {

using testing_util::MakeModel;
using testing_util::ModelInput;

std::vector<float> RunModel(ExportedModule& m, uint64_t seed) {
  ExecuteOptions o;
  o.seed = seed;
  auto r = Execute(m, std::vector<Tensor>{ModelInput()}, o);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->outputs.empty()) return {};
  const Tensor& t = r->outputs[0].tensor;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

void CopyState(const ExportedModule& from, ExportedModule& to,
               const std::string& name) {
  const StateTensor* src = from.FindTensor(name);
  std::string* dst = to.MutableTensorData(name);
  ASSERT_NE(src, nullptr);
  ASSERT_NE(dst, nullptr);
  *dst = src->data;
}

struct Dialect {
  const char* name;
  std::string text;
};

class TrainEvalExecutionTest : public ::testing::TestWithParam<int> {};

std::vector<Dialect> Dialects() {
  return {{"training_ir", testing_util::TrainingIrText(true)},
          {"pre_dispatch", testing_util::PreDispatchText()},
          {"core_aten", testing_util::CoreAtenText()},
          {"make_fx", testing_util::MakeFxText()}};
}

TEST_P(TrainEvalExecutionTest, MovedToEvalEqualsTheEvalGraph) {
  const Dialect d = Dialects()[GetParam()];
  SCOPED_TRACE(d.name);
  ExportedModule m = MakeModel(d.text);
  // One training step so the running statistics are not the initial ones.
  RunModel(m, /*seed=*/1);
  auto report = MoveExportedModelToEval(m);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(Verify(m.graph()).ok()) << Verify(m.graph());
  const std::vector<float> running_mean =
      testing_util::StateFloats(m, "b_bn_running_mean");

  const std::vector<float> a = RunModel(m, 2);
  const std::vector<float> b = RunModel(m, 3);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "eval output must not depend on the dropout seed";
  EXPECT_EQ(testing_util::StateFloats(m, "b_bn_running_mean"), running_mean)
      << "eval must not update running statistics";

  ExportedModule ref = MakeModel(testing_util::TrainingIrText(false));
  CopyState(m, ref, "b_bn_running_mean");
  CopyState(m, ref, "b_bn_running_var");
  const std::vector<float> expected = RunModel(ref, 4);
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], expected[i], 1e-5f + 1e-5f * std::fabs(expected[i]))
        << "output " << i;
  }
}

TEST_P(TrainEvalExecutionTest, MovedBackToTrainTrainsAgain) {
  const Dialect d = Dialects()[GetParam()];
  SCOPED_TRACE(d.name);
  ExportedModule m = MakeModel(d.text);
  ASSERT_TRUE(MoveExportedModelToEval(m).ok());
  ASSERT_TRUE(MoveExportedModelToTrain(m).ok());
  const std::vector<float> before =
      testing_util::StateFloats(m, "b_bn_running_mean");
  const std::vector<float> a = RunModel(m, 5);
  EXPECT_NE(testing_util::StateFloats(m, "b_bn_running_mean"), before)
      << "a training step must update the running mean again";
  const std::vector<float> b = RunModel(m, 6);
  EXPECT_NE(a, b) << "dropout must be active again (different seeds)";
}

INSTANTIATE_TEST_SUITE_P(Dialects, TrainEvalExecutionTest,
                         ::testing::Range(0, 4),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(Dialects()[info.param].name);
                         });

}  // namespace
}  // namespace rewire
