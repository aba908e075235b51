#include "ir/exported_module.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/printable.h"
#include "ir/status_macros.h"

namespace rewire {

absl::StatusOr<int64_t> StateTensor::ExpectedBytes() const {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", Printable(name), "': dim ", i, " is negative (", d, ")"));
    }
    if (d != 0 && n > INT64_MAX / d) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", Printable(name),
                       "': element count overflows int64 at dim ", i));
    }
    n *= d;
  }
  const int64_t item = ScalarTypeSize(dtype);
  if (n > INT64_MAX / item) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", Printable(name), "': byte size overflows int64"));
  }
  return n * item;
}

bool operator==(const StateTensor& a, const StateTensor& b) {
  return a.name == b.name && a.role == b.role && a.dtype == b.dtype &&
         a.shape == b.shape && a.device == b.device &&
         a.requires_grad == b.requires_grad &&
         a.placeholder == b.placeholder && a.data == b.data;
}

const StateTensor* ExportedModule::FindTensor(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const StateTensor* ExportedModule::TensorForPlaceholder(
    absl::string_view placeholder) const {
  if (placeholder.empty()) return nullptr;
  auto it = by_placeholder_.find(placeholder);
  return it == by_placeholder_.end() ? nullptr : &tensors_[it->second];
}

std::string& ExportedModule::mutable_tensor_data(size_t i) {
  REWIRE_CHECK(i < tensors_.size());
  return tensors_[i].data;
}

std::string* ExportedModule::MutableTensorData(absl::string_view name) {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second].data;
}

void ExportedModule::set_tensor_device(size_t i, Device device) {
  REWIRE_CHECK(i < tensors_.size());
  tensors_[i].device = device;
}

absl::Status ExportedModule::AddTensor(StateTensor t) {
  if (t.name.empty()) {
    return absl::InvalidArgumentError("tensor with an empty name");
  }
  if (by_name_.contains(t.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("duplicate tensor name '", Printable(t.name), "'"));
  }
  if (!t.placeholder.empty() && by_placeholder_.contains(t.placeholder)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "tensor '", Printable(t.name), "': placeholder '", t.placeholder,
        "' is already bound to tensor '",
        Printable(tensors_[by_placeholder_.at(t.placeholder)].name), "'"));
  }
  absl::StatusOr<int64_t> expected = t.ExpectedBytes();
  if (!expected.ok()) return expected.status();
  if (static_cast<uint64_t>(*expected) != t.data.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", Printable(t.name), "': data has ", t.data.size(),
        " bytes but ", ScalarTypeName(t.dtype), " shape [",
        absl::StrJoin(t.shape, ", "), "] needs ", *expected));
  }
  by_name_.emplace(t.name, tensors_.size());
  if (!t.placeholder.empty()) by_placeholder_.emplace(t.placeholder, tensors_.size());
  tensors_.push_back(std::move(t));
  return absl::OkStatus();
}

std::vector<Node*> ExportedModule::InputPlaceholders() const {
  absl::flat_hash_set<absl::string_view> bound;
  for (const StateTensor& t : tensors_) {
    if (!t.placeholder.empty()) bound.insert(t.placeholder);
  }
  std::vector<Node*> out;
  for (Node* n : *graph_) {
    if (n->is_placeholder() && !bound.contains(n->name())) out.push_back(n);
  }
  return out;
}

ExportedModule ExportedModule::Clone() const {
  ExportedModule copy(graph_->Clone());
  copy.tensors_ = tensors_;
  copy.by_name_ = by_name_;
  copy.by_placeholder_ = by_placeholder_;
  copy.mode_ = mode_;
  copy.train_eval_allowed_ = train_eval_allowed_;
  copy.source_files_ = source_files_;
  return copy;
}

bool GraphIsExported(const Graph& graph) {
  for (const Node* n : graph) {
    if (n->meta().val() != nullptr) return true;
  }
  return false;
}

bool ModelIsExported(const ExportedModule& module) {
  return GraphIsExported(module.graph());
}

// Like torch.ao.quantization.utils._assert_and_get_unique_device, only
// parameters and buffers count: constants are folded tensors the exporter
// created (often on cpu even for a CUDA model), not state the user placed.
// {cpu, meta} is cpu (a partly materialized model); upstream warns there, but
// a library should not print, and the answer carries no warning worth
// surfacing to a caller who asked for one device.
absl::StatusOr<std::optional<Device>> AssertAndGetUniqueDevice(
    const ExportedModule& module) {
  std::set<Device> devices;  // ordered: the error message is deterministic
  for (const StateTensor& t : module.tensors()) {
    if (t.role != TensorRole::kParameter && t.role != TensorRole::kBuffer) continue;
    // Nearly every tensor repeats the device before it: skip the set.
    if (!devices.empty() && t.device == *devices.begin() && devices.size() == 1) continue;
    devices.insert(t.device);
  }
  if (devices.empty()) return std::optional<Device>();
  if (devices.size() == 1) return std::optional<Device>(*devices.begin());
  if (devices.size() == 2 && devices.count(Device::Cpu()) &&
      devices.count(Device::Meta())) {
    return std::optional<Device>(Device::Cpu());
  }
  std::vector<std::string> names;
  for (const Device& d : devices) names.push_back(d.ToString());
  return absl::InvalidArgumentError(absl::StrCat(
      "AssertAndGetUniqueDevice only works with cpu or single-device CUDA "
      "modules, but got devices {",
      absl::StrJoin(names, ", "), "}"));
}

}  // namespace rewire
