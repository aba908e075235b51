// ExportedModule: an exported graph together with its parameters, buffers and
// train/eval mode — the C++ counterpart of a torch.export'ed GraphModule.
//
// Tensors are stored as raw little-endian bytes with dtype, shape and device;
// the executor converts them to kernel tensors. A placeholder is bound to a
// state tensor when the tensor's `placeholder` names it (torch.export lifts
// parameters and buffers into placeholders); get_attr nodes refer to tensors
// by name. ModelIsExported and AssertAndGetUniqueDevice follow
// torch.ao.quantization's semantics exactly (SEMANTICS.md §1).
#ifndef REWIRE_IR_EXPORTED_MODULE_H_
#define REWIRE_IR_EXPORTED_MODULE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/graph.h"
#include "ir/types.h"

namespace rewire {

enum class TensorRole : uint8_t { kParameter = 0, kBuffer, kConstant };

// A named parameter, buffer or constant with its data.
struct StateTensor {
  std::string name;         // "layer1.0.bn1.running_mean"
  TensorRole role = TensorRole::kParameter;
  ScalarType dtype = ScalarType::kFloat32;
  std::vector<int64_t> shape;
  Device device;
  bool requires_grad = false;
  // The graph placeholder this tensor feeds, or empty when it is reached
  // through get_attr by `name`.
  std::string placeholder;
  std::string data;  // raw little-endian bytes, numel * itemsize

  // Bytes the data must have for this dtype and shape; error on negative
  // dims or overflow, naming the tensor.
  absl::StatusOr<int64_t> ExpectedBytes() const;
  friend bool operator==(const StateTensor& a, const StateTensor& b);
};

enum class ModuleMode : uint8_t { kTrain = 0, kEval };

class ExportedModule {
 public:
  ExportedModule() : graph_(std::make_unique<Graph>()) {}
  explicit ExportedModule(std::unique_ptr<Graph> graph)
      : graph_(std::move(graph)) {}
  ExportedModule(ExportedModule&&) = default;
  ExportedModule& operator=(ExportedModule&&) = default;

  Graph& graph() { return *graph_; }
  const Graph& graph() const { return *graph_; }

  // State tensors, in the order they were added. Their names and
  // placeholders key the lookups below, so they are fixed once added; only
  // the fields below that no lookup reads can change.
  const std::vector<StateTensor>& tensors() const { return tensors_; }
  const StateTensor* FindTensor(absl::string_view name) const;
  // The state tensor bound to placeholder `placeholder`, or nullptr.
  const StateTensor* TensorForPlaceholder(absl::string_view placeholder) const;
  // Adds a tensor; error if the name or the placeholder is taken, or the data
  // size disagrees with dtype and shape.
  absl::Status AddTensor(StateTensor t);
  void ReserveTensors(size_t n) { tensors_.reserve(n); }
  // The bytes of tensors()[i] (`name`: of that tensor, or nullptr), for
  // updating state in place. Their size is the caller's to keep: the
  // executor checks it before every run.
  std::string& mutable_tensor_data(size_t i);
  std::string* MutableTensorData(absl::string_view name);
  // The device of tensors()[i] (a CUDA model's state lives on the GPU).
  void set_tensor_device(size_t i, Device device);

  // Exported graphs start in training mode (torch.export records training
  // behaviour unless the model was exported in eval).
  ModuleMode mode() const { return mode_; }
  void set_mode(ModuleMode m) { mode_ = m; }

  // Whether Train()/Eval() may switch the graph (AllowExportedModelTrainEval
  // in rewrite/ sets this; until then they fail, as upstream's
  // _disallow_eval_train makes them raise).
  bool train_eval_allowed() const { return train_eval_allowed_; }
  void set_train_eval_allowed(bool v) { train_eval_allowed_ = v; }

  // What the file the module was read from holds beyond rewire's IR, by
  // name, so that a writer of the same format can carry it through
  // unchanged (a .pt2's serialized program and its other archive entries;
  // pt2/pt2_reader.h says which). Copied by Clone; not part of the .pb form.
  const std::map<std::string, std::string>& source_files() const {
    return source_files_;
  }
  std::map<std::string, std::string>& mutable_source_files() {
    return source_files_;
  }

  // Placeholders not bound to a state tensor: the model's real inputs.
  std::vector<Node*> InputPlaceholders() const;

  // Deep copy.
  ExportedModule Clone() const;

 private:
  std::unique_ptr<Graph> graph_;
  std::vector<StateTensor> tensors_;
  // Name and placeholder -> position in tensors_, so binding a model with
  // hundreds of thousands of lifted tensors stays linear.
  absl::flat_hash_map<std::string, size_t> by_name_;
  absl::flat_hash_map<std::string, size_t> by_placeholder_;
  ModuleMode mode_ = ModuleMode::kTrain;
  bool train_eval_allowed_ = false;
  std::map<std::string, std::string> source_files_;
};

// True iff some node carries a "val" entry (torch's model_is_exported).
// Never fails; false for an empty graph.
bool ModelIsExported(const ExportedModule& module);
bool GraphIsExported(const Graph& graph);

// The single device of all parameters and buffers: nullopt when there are
// none ("none" upstream); {cpu, meta} counts as cpu; more than one device
// otherwise is an InvalidArgument error listing them ("... only works with cpu
// or single-device CUDA modules, but got devices {cpu, cuda:0}").
absl::StatusOr<std::optional<Device>> AssertAndGetUniqueDevice(
    const ExportedModule& module);

}  // namespace rewire

#endif  // REWIRE_IR_EXPORTED_MODULE_H_
