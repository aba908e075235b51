// A synthetic exported model: repeated conv -> batch_norm -> relu -> dropout
// blocks in torch.export's training-IR dialect, with lifted parameters and
// buffers, "val" metadata on every node and real (seeded) weights.
//
// It is what the rewrite benchmark measures and what `rewire gen` writes, so
// anyone can reproduce the figures at any size. Block b reads the previous
// block's output; each block is 12 nodes (7 lifted state placeholders, conv,
// batch norm, relu, dropout, and the num_batches_tracked update).
#ifndef REWIRE_TOOLS_SYNTHETIC_MODEL_H_
#define REWIRE_TOOLS_SYNTHETIC_MODEL_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "ir/exported_module.h"

namespace rewire {

struct SyntheticModelOptions {
  int64_t blocks = 4;
  int64_t batch = 2;
  int64_t channels = 4;
  int64_t height = 8;
  int64_t width = 8;
  double dropout_p = 0.1;
  double momentum = 0.1;
  double eps = 1e-5;
  uint64_t seed = 0;
  // Batch norm as the pre-dispatch dialect writes it
  // (_native_batch_norm_legit + getitem, 13 nodes per block) instead of the
  // training IR's batch_norm: a replacement that changes the op, which the
  // rewriter applies by inserting and erasing nodes rather than in place.
  bool pre_dispatch_batch_norm = false;
};

// Nodes a model with `blocks` blocks has (2 graph inputs/outputs included).
int64_t SyntheticModelNodeCount(int64_t blocks,
                                bool pre_dispatch_batch_norm = false);

absl::StatusOr<ExportedModule> BuildSyntheticModel(
    const SyntheticModelOptions& options);

}  // namespace rewire

#endif  // REWIRE_TOOLS_SYNTHETIC_MODEL_H_
