// Tests for Validate: correct graphs pass in every dialect, wrong ones fail.
#include "kernels/validate.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/text_format.h"
#include "tests/executor_test_util.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;
using testing_util::MakeModel;
using testing_util::ModelInput;

TEST(ValidateTest, CorrectGraphsPassInEveryDialect) {
  for (const std::string& text :
       {testing_util::TrainingIrText(true), testing_util::PreDispatchText(),
        testing_util::CoreAtenText(), testing_util::MakeFxText()}) {
    ExportedModule m = MakeModel(text);
    const auto before = m.tensors();
    ValidationReport report;
    absl::Status s = Validate(m, {{"x", ModelInput()}}, {}, &report);
    EXPECT_TRUE(s.ok()) << s << "\n" << report.ToString();
    EXPECT_EQ(report.checks.size(), 2u) << report.ToString();
    EXPECT_TRUE(m.tensors() == before) << "Validate changed the module";
  }
}

TEST(ValidateTest, EvalGraphPasses) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(false));
  m.set_mode(ModuleMode::kEval);
  ValidationReport report;
  absl::Status s = Validate(m, {{"x", ModelInput()}}, {}, &report);
  EXPECT_TRUE(s.ok()) << s << "\n" << report.ToString();
  EXPECT_THAT(report.ToString(), HasSubstr("dropout eval-form"));
  EXPECT_THAT(report.ToString(), HasSubstr("batch norm eval-form"));
}

TEST(ValidateTest, EvalModuleWithTrainFormNodesFails) {
  ExportedModule m = MakeModel(testing_util::TrainingIrText(true));
  m.set_mode(ModuleMode::kEval);
  ValidationReport report;
  absl::Status s = Validate(m, {{"x", ModelInput()}}, {}, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("train-form dropout in an eval graph"));
  EXPECT_THAT(s.message(), HasSubstr("train-form batch norm"));
  EXPECT_EQ(report.num_failed(), 2);
}

TEST(ValidateTest, WrongKernelResultsAreCaught) {
  ExportedModule m = MakeModel(testing_util::CoreAtenText());
  ValidateOptions opt;
  opt.alter_result_for_testing = [](const Node& node, RuntimeValue& v) {
    if (node.name() == "f") {  // corrupt the new running var
      float* rv = v.list[4].tensor.data<float>();
      rv[0] += 0.01f;
    }
    if (node.name() == "nd") {  // scale kept values wrongly
      float* y = v.list[0].tensor.data<float>();
      for (int64_t i = 0; i < v.list[0].tensor.numel(); ++i) y[i] *= 1.001f;
    }
  };
  ValidationReport report;
  absl::Status s = Validate(m, {{"x", ModelInput()}}, opt, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("%f: running stats differ"));
  EXPECT_THAT(s.message(), HasSubstr("%nd: kept values deviate"));

  ExportedModule m2 = MakeModel(testing_util::TrainingIrText(false));
  ValidateOptions opt2;
  opt2.alter_result_for_testing = [](const Node& node, RuntimeValue& v) {
    if (node.name() == "bn") v.tensor.data<float>()[5] += 0.001f;
  };
  absl::Status s2 = Validate(m2, {{"x", ModelInput()}}, opt2, &report);
  EXPECT_THAT(s2.message(), HasSubstr("running-statistics reference"));
}

// The checker's double copies of the tensors it compares are the run's
// memory too: a run that fits its total alone is refused once they count.
TEST(ValidateTest, CheckerCopiesCountAgainstTheRunsTotal) {
  auto g = ParseGraph(R"(graph():
    %x : f32[1000000] = placeholder[target=x]
    %d = aten.dropout.default(%x, 0.5, False)
    return (%d,)
)");
  ASSERT_TRUE(g.ok()) << g.status();
  ExportedModule m(std::move(*g));
  m.set_mode(ModuleMode::kEval);
  auto x = Tensor::Zeros(ScalarType::kFloat32, {1000000});
  ASSERT_TRUE(x.ok());
  ValidateOptions options;
  options.execute.max_total_bytes = 12000000;  // x's copy and %d: 8 MB
  EXPECT_TRUE(Execute(m, {{"x", *x}}, options.execute).ok());
  ValidationReport report;
  absl::Status s = Validate(m, {{"x", *x}}, options, &report);  // + 16 MB of doubles
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(s.message(), HasSubstr("limit of 12000000 bytes in total"));
  options.execute.max_total_bytes = 32000000;
  EXPECT_TRUE(Validate(m, {{"x", *x}}, options, &report).ok()) << report.ToString();
}

}  // namespace
}  // namespace rewire
