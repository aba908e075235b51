// The C++ example of README.md, compiled and run, so the documentation cannot
// drift from the API: load an exported model, move it to eval, run it, save.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "gtest/gtest.h"
#include "ir/serialization.h"
#include "ir/status_macros.h"
#include "kernels/executor.h"
#include "rewrite/train_eval.h"
#include "tools/synthetic_model.h"

namespace {

// Verbatim from README.md ("C++ API").
absl::Status EvalOnce(const std::string& path, rewire::Tensor x) {
  ASSIGN_OR_RETURN(rewire::ExportedModule m, rewire::LoadModuleFromFile(path));
  ASSIGN_OR_RETURN(rewire::TrainEvalReport report,
                   rewire::MoveExportedModelToEval(m));
  std::cout << report.ToString();   // "train -> eval: 3 site(s) rewritten ..."
  ASSIGN_OR_RETURN(rewire::ExecutionResult r,
                   rewire::Execute(m, {{"x", std::move(x)}}));
  std::cout << r.outputs[0].tensor.DebugString() << "\n";
  return rewire::SaveModuleToFile(m, "eval.pb");   // atomic
}

TEST(ReadmeExampleTest, LoadEvalRunSave) {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : ".";
  ASSERT_EQ(chdir(dir.c_str()), 0);
  rewire::SyntheticModelOptions o;
  o.blocks = 2;
  auto model = rewire::BuildSyntheticModel(o);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE(rewire::SaveModuleToFile(*model, "model.pb").ok());
  auto x = rewire::Tensor::FromVector<float>(
      {o.batch, o.channels, o.height, o.width},
      std::vector<float>(o.batch * o.channels * o.height * o.width, 0.5f));
  ASSERT_TRUE(x.ok()) << x.status();
  absl::Status s = EvalOnce("model.pb", std::move(*x));
  ASSERT_TRUE(s.ok()) << s;
  auto saved = rewire::LoadModuleFromFile("eval.pb");
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->mode(), rewire::ModuleMode::kEval);
}

}  // namespace
