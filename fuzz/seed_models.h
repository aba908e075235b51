// Small valid models of every exporter dialect rewire handles, shared by the
// seed-corpus generator, the fuzz targets that need a fixed graph, and the
// reliability tests.
//
// The graphs are written in the readable text form (ir/text_format.h) because
// that is what a reviewer can check against PyTorch's own printouts; the
// binary and text protobuf seeds are derived from them by //fuzz:make_seeds,
// so the three corpora always describe the same models.
#ifndef REWIRE_FUZZ_SEED_MODELS_H_
#define REWIRE_FUZZ_SEED_MODELS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ir/exported_module.h"

namespace rewire {
namespace fuzz {

struct SeedModel {
  std::string name;  // file stem, e.g. "training_ir"
  std::string text;  // the graph in the readable text form
};

// training IR (aten.dropout / aten.batch_norm), pre-dispatch
// (_native_batch_norm_legit + getitem), core ATen (native_dropout +
// _native_batch_norm_legit_functional + copy_), make_fx (empty_like /
// bernoulli_ / div_ / mul + native_batch_norm + getitem), and a relu chain.
const std::vector<SeedModel>& SeedModels();

// More models for the execute fuzzer, so that its corpus reaches every op the
// executor has a kernel for: a conv net in training IR, a grouped-conv net in
// core ATen eval form with a symbolic batch, an MLP through the activations
// and arithmetic, the shape ops and factories, and the remaining dropout and
// batch norm forms. Each runs on the inputs DecodeExecuteCase builds
// (//fuzz:make_seeds checks that it does).
const std::vector<SeedModel>& ExecutionSeedModels();

// Parses `text` and binds every placeholder other than the model inputs
// (named x or x_1) and every get_attr to a state tensor of the node's "val"
// dtype and shape, filled with a small deterministic pattern, so the module
// loads, verifies and has parameters like a real export.
absl::StatusOr<ExportedModule> BuildSeedModule(const std::string& text);

}  // namespace fuzz
}  // namespace rewire

#endif  // REWIRE_FUZZ_SEED_MODELS_H_
