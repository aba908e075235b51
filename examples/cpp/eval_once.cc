// Moves an exported model to eval, runs it once on an input of ones, and
// saves the eval model: rewire's C++ API end to end.
// bazel run //examples/cpp:eval_once -- MODEL.pb OUT.pb
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ir/serialization.h"    // //ir:serialization
#include "ir/status_macros.h"    // //ir:status_macros
#include "kernels/executor.h"    // //kernels:executor
#include "rewrite/train_eval.h"  // //rewrite:train_eval

absl::Status EvalOnce(const std::string& in, const std::string& out) {
  ASSIGN_OR_RETURN(rewire::ExportedModule m, rewire::LoadModuleFromFile(in));
  ASSIGN_OR_RETURN(rewire::TrainEvalReport report,
                   rewire::MoveExportedModelToEval(m));
  std::cout << report.ToString();  // "train -> eval: 3 site(s) rewritten ..."

  // One float32 input of ones, shaped as the first placeholder's "val" says.
  std::vector<rewire::Node*> inputs = m.InputPlaceholders();
  if (inputs.empty() || inputs[0]->meta().val() == nullptr ||
      !inputs[0]->meta().val()->is_tensor()) {
    return absl::InvalidArgumentError("expected a tensor input");
  }
  const rewire::TensorMeta& val = inputs[0]->meta().val()->tensor();
  ASSIGN_OR_RETURN(int64_t numel, val.NumElements());  // error if symbolic
  std::vector<int64_t> shape;
  for (const rewire::Dim& d : val.shape) shape.push_back(d.value);
  ASSIGN_OR_RETURN(rewire::Tensor x, rewire::Tensor::FromVector<float>(
                                         shape, std::vector<float>(numel, 1)));

  ASSIGN_OR_RETURN(rewire::ExecutionResult r,
                   rewire::Execute(m, {{inputs[0]->name(), std::move(x)}}));
  for (const rewire::NamedTensor& o : r.outputs) {
    std::cout << o.name << ": " << o.tensor.DebugString() << "\n";
  }
  return rewire::SaveModuleToFile(m, out);  // atomic
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: eval_once MODEL OUT\n";
    return 2;
  }
  absl::Status s = EvalOnce(argv[1], argv[2]);
  if (!s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
