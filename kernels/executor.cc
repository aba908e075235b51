// Graph interpretation: binding, the op table, liveness, staging and state
// write-back (see executor.h). The op adapters live with their families
// (kernels/*_adapters.cc) and register into the table through op_args.h.
#include "kernels/executor.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "ir/metadata.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/node_work.h"
#include "kernels/op_args.h"

namespace rewire {
namespace {

std::atomic<const DeviceOps*> g_cuda_ops{nullptr};
using op_args::Args;
using op_args::Ctx;
using op_args::OpEntry;
using op_args::OpRegistry;


// The op table: every family's adapters (the core ones last, so they win a
// name two families register).
const OpRegistry& OpTable() {
  static const auto* table = [] {
    auto* t = new OpRegistry;
    op_args::RegisterViewOps(*t);
    op_args::RegisterPointwiseOps(*t);
    op_args::RegisterIndexOps(*t);
    op_args::RegisterAttentionOps(*t);
    op_args::RegisterNormOps(*t);
    op_args::RegisterCoreOps(*t);
    return t;
  }();
  return *table;
}

// ----------------------------------------------------------- execution

absl::Status AtNode(const Node& node, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("node %", node.name(), " (",
                                             node.target().qualified, "): ",
                                             s.message()));
}

// Resolves an argument to a RuntimeValue; lists iteratively (explicit stack).
absl::StatusOr<RuntimeValue> Resolve(
    const Argument& arg,
    const absl::flat_hash_map<const Node*, RuntimeValue>& env) {
  auto leaf = [&](const Argument& a) -> absl::StatusOr<RuntimeValue> {
    if (a.is_node()) {
      auto it = env.find(a.node());
      if (it == env.end()) {
        return absl::InternalError(absl::StrCat("value of %", a.node()->name(),
                                                " is not available"));
      }
      return it->second;
    }
    return RuntimeValue::Literal(a);
  };
  if (!arg.is_list()) return leaf(arg);
  RuntimeValue root = RuntimeValue::List({});
  struct Frame {
    const std::vector<Argument>* items;
    size_t next;
    RuntimeValue* out;
  };
  std::vector<Frame> stack{{&arg.as_list(), 0, &root}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.items->size()) {
      stack.pop_back();
      continue;
    }
    const Argument& a = (*f.items)[f.next++];
    if (a.is_list()) {
      f.out->list.push_back(RuntimeValue::List({}));
      RuntimeValue* child = &f.out->list.back();
      // Reserve so the pointer stays valid while the child is filled.
      child->list.reserve(a.as_list().size());
      stack.push_back({&a.as_list(), 0, child});
    } else {
      ASSIGN_OR_RETURN(RuntimeValue v, leaf(a));
      f.out->list.push_back(std::move(v));
    }
  }
  return root;
}

// The largest byte size and element count (zero-size dims counted as 1, as
// ScopedTensorLimits counts them) among the tensors a node's "val" promises,
// for the pre-allocation check; 0 when unknown (symbolic or missing).
struct PromisedSize {
  int64_t bytes = 0;
  int64_t elements = 0;
};
PromisedSize Promised(const Node& node) {
  PromisedSize most;
  const MetaValue* val = node.meta().val();
  if (val == nullptr) return most;
  auto one = [&](const TensorMeta& t) {
    absl::StatusOr<int64_t> n = t.NumElements();
    if (!n.ok()) return;
    int64_t bytes;
    if (__builtin_mul_overflow(*n, static_cast<int64_t>(ScalarTypeSize(t.dtype)), &bytes)) {
      bytes = INT64_MAX;
    }
    int64_t elements = 1;
    for (const Dim& d : t.shape) {
      if (__builtin_mul_overflow(elements, std::max<int64_t>(d.value, 1), &elements)) {
        elements = INT64_MAX;
        break;
      }
    }
    most.bytes = std::max(most.bytes, bytes);
    most.elements = std::max(most.elements, elements);
  };
  if (val->is_tensor()) one(val->tensor());
  if (val->is_tensor_list()) {
    for (const auto& t : val->tensors()) {
      if (t.has_value()) one(*t);
    }
  }
  return most;
}

// Reading a byte other than 0 or 1 as a bool is undefined behaviour, and the
// bytes of state tensors and inputs (.npy files) come from outside.
absl::Status CheckBoolBytes(const void* data, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (int64_t i = 0; i < n; ++i) {
    if (bytes[i] > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bool element ", i, " is stored as ", static_cast<int>(bytes[i]),
          " (must be 0 or 1)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckInputAgainstMeta(const Node& node, const Tensor& t) {
  const MetaValue* val = node.meta().val();
  if (val == nullptr || !val->is_tensor()) return absl::OkStatus();
  const TensorMeta& m = val->tensor();
  if (m.dtype != t.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input for placeholder %", node.name(), " has dtype ",
        ScalarTypeName(t.dtype()), ", the graph expects ", ScalarTypeName(m.dtype)));
  }
  bool match = static_cast<int>(m.shape.size()) == t.dim();
  for (size_t i = 0; match && i < m.shape.size(); ++i) {
    if (!m.shape[i].is_symbolic() && m.shape[i].value != t.size(static_cast<int>(i))) {
      match = false;
    }
  }
  if (!match) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input for placeholder %", node.name(), " has shape ",
        ShapeToString(t.shape()), ", the graph expects ", m.ShortString()));
  }
  return absl::OkStatus();
}

// Staging: an op that needs host tensors (no device kernel) or contiguous
// ones (not `strided`) gets copies of the tensor arguments that are not, and
// the originals are kept so that in-place results go back where they
// belong: into device memory, or through the strides of a view.
bool NeedsStaging(const RuntimeValue& v, bool to_host) {
  std::vector<const RuntimeValue*> stack{&v};
  while (!stack.empty()) {
    const RuntimeValue* cur = stack.back();
    stack.pop_back();
    if (cur->is_tensor() && cur->tensor.defined() &&
        (!cur->tensor.is_contiguous() || (to_host && !cur->tensor.is_cpu()))) {
      return true;
    }
    for (const RuntimeValue& c : cur->list) stack.push_back(&c);
  }
  return false;
}

absl::Status Stage(RuntimeValue& v, bool to_host) {
  std::vector<RuntimeValue*> stack{&v};
  while (!stack.empty()) {
    RuntimeValue* cur = stack.back();
    stack.pop_back();
    if (cur->is_tensor() && cur->tensor.defined()) {
      if (to_host && !cur->tensor.is_cpu()) {
        ASSIGN_OR_RETURN(cur->tensor, cur->tensor.CopyTo(Device::Cpu()));
      } else if (!cur->tensor.is_contiguous()) {
        ASSIGN_OR_RETURN(cur->tensor, cur->tensor.Contiguous());
      }
    }
    for (RuntimeValue& c : cur->list) stack.push_back(&c);
  }
  return absl::OkStatus();
}

absl::Status StageToDevice(RuntimeValue& v, Device device) {
  std::vector<RuntimeValue*> stack{&v};
  while (!stack.empty()) {
    RuntimeValue* cur = stack.back();
    stack.pop_back();
    if (cur->is_tensor() && cur->tensor.defined() && cur->tensor.device() != device) {
      ASSIGN_OR_RETURN(cur->tensor, cur->tensor.CopyTo(device));
    }
    for (RuntimeValue& c : cur->list) stack.push_back(&c);
  }
  return absl::OkStatus();
}

// `t` in the layout `node`'s "val" records, when that differs from t's for
// some dim with more than one element; t itself otherwise (or when the
// record is missing, symbolic or unusable). Elementwise kernels here write
// row-major results where PyTorch's follow their inputs' layout, and
// as_strided / _reshape_alias strides were computed for PyTorch's.
absl::StatusOr<Tensor> InRecordedLayout(const Tensor& t, const Node& node) {
  const MetaValue* val = node.meta().val();
  if (val == nullptr || !val->is_tensor() || !t.is_cpu()) return t;
  const TensorMeta& m = val->tensor();
  if (m.strides.size() != static_cast<size_t>(t.dim()) || m.shape.size() != m.strides.size()) {
    return t;
  }
  bool differs = false;
  for (int d = 0; d < t.dim(); ++d) {
    if (m.shape[d].is_symbolic() || m.shape[d].value != t.size(d) || m.strides[d] < 0) return t;
    differs = differs || (t.size(d) > 1 && m.strides[d] != t.strides()[d]);
  }
  if (!differs || t.numel() == 0) return t;
  int64_t extent = 1;
  for (int d = 0; d < t.dim(); ++d) {
    int64_t span;
    if (__builtin_mul_overflow(t.size(d) - 1, m.strides[d], &span) ||
        __builtin_add_overflow(extent, span, &extent)) {
      return absl::InvalidArgumentError("the strides of its input's \"val\" overflow int64");
    }
  }
  ASSIGN_OR_RETURN(Tensor base, Tensor::Zeros(t.dtype(), {extent}));
  ASSIGN_OR_RETURN(Tensor out, base.AsStrided(t.shape(), std::vector<int64_t>(m.strides.begin(),
                                                                               m.strides.end()),
                                              0));
  CopyStridedElements(out.strided_data(), out.strides(), t.strided_data(), t.strides(),
                      t.shape(), t.itemsize());
  return out;
}

// Writes a staged in-place result back into the argument it stands for.
absl::Status WriteBack(Tensor& original, const Tensor& staged) {
  if (original.SharesStorageWith(staged) &&
      original.strided_data() == staged.strided_data() &&
      original.strides() == staged.strides()) {
    return absl::OkStatus();  // not staged: the kernel wrote it directly
  }
  if (original.shape() != staged.shape() || original.dtype() != staged.dtype()) {
    return absl::InternalError("staged in-place result changed shape or dtype");
  }
  if (original.is_cpu()) return original.CopyFrom(staged);
  if (!original.is_contiguous()) {
    return absl::UnimplementedError(absl::StrCat(
        "in-place op on a strided view of ", original.device().ToString(),
        " memory without a device kernel"));
  }
  const CudaBackend* be = GetCudaBackend();
  if (be == nullptr) return absl::UnavailableError("no CUDA backend");
  return be->copy(original.raw_data(), staged.raw_data(), original.nbytes(), /*kind=*/0,
                  original.device().index < 0 ? 0 : original.device().index);
}

// A state tensor's bytes as a Tensor: a copy, or (borrow) the module's own
// bytes read in place.
absl::StatusOr<Tensor> StateTensorToTensor(const StateTensor& st, bool borrow) {
  ASSIGN_OR_RETURN(int64_t expected, st.ExpectedBytes());
  if (static_cast<int64_t>(st.data.size()) != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state tensor ", st.name, ": ", st.data.size(), " bytes for ",
        ScalarTypeName(st.dtype), ShapeToString(st.shape), ", expected ", expected));
  }
  if (st.dtype == ScalarType::kBool) {
    absl::Status s = CheckBoolBytes(st.data.data(), expected);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("state tensor ", st.name, ": ", s.message()));
    }
  }
  absl::StatusOr<Tensor> t = borrow ? Tensor::Borrow(st.data.data(), expected, st.dtype, st.shape)
                                    : Tensor::Empty(st.dtype, st.shape);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat("state tensor ", st.name,
                                                        ": ", t.status().message()));
  }
  if (!borrow && expected > 0) std::memcpy(t->raw_data(), st.data.data(), expected);
  return t;
}

// For each state tensor: may the graph write it? A node writes an argument
// its schema marks mutable (or, for the batch norm family, its running
// stats), and a write to a view (a view op's result, a getitem of a split)
// is a write to the view's base. Unknown ops and arguments that do not
// normalize write nothing here: the run stops at them anyway.
std::vector<bool> WrittenState(const ExportedModule& module, const std::vector<Node*>& order) {
  absl::flat_hash_map<const Node*, const Node*> base;  // view -> storage base
  auto base_of = [&](const Node* n) {
    auto it = base.find(n);
    return it == base.end() ? n : it->second;
  };
  absl::flat_hash_set<const Node*> written;
  for (const Node* node : order) {
    if (!node->is_call()) continue;
    const TargetInfo& target = node->target();
    if (target.is_getitem) {
      if (!node->args().empty() && node->args()[0].is_node()) {
        base[node] = base_of(node->args()[0].node());
      }
      continue;
    }
    auto it = OpTable().find(target.qualified);
    if (it == OpTable().end() || target.schema == nullptr) continue;
    const OpEntry& entry = it->second;
    if (entry.aliases && !node->args().empty() && node->args()[0].is_node()) {
      base[node] = base_of(node->args()[0].node());
    }
    // Most ops write nothing: only those that may are normalized here.
    bool may_write = entry.writes_running_stats;
    for (const auto& arg : target.schema->arguments) may_write = may_write || arg.is_mutable;
    if (!may_write) continue;
    absl::StatusOr<NormalizedArgs> norm =
        NormalizeArguments(*target.schema, node->args(), node->kwargs());
    if (!norm.ok()) continue;
    for (size_t k = 0; k < norm->values.size() && k < target.schema->arguments.size(); ++k) {
      const auto& arg = target.schema->arguments[k];
      const bool writes = arg.is_mutable ||
                          (entry.writes_running_stats &&
                           (arg.name == "running_mean" || arg.name == "running_var"));
      if (writes && norm->values[k].is_node()) written.insert(base_of(norm->values[k].node()));
    }
  }
  const std::vector<StateTensor>& states = module.tensors();
  std::vector<bool> out(states.size(), false);
  for (const Node* n : written) {
    const StateTensor* st = nullptr;
    if (n->op() == OpKind::kPlaceholder) {
      st = module.TensorForPlaceholder(n->name());
      if (st == nullptr) st = module.TensorForPlaceholder(n->target().qualified);
    } else if (n->op() == OpKind::kGetAttr) {
      st = module.FindTensor(n->target().qualified);
    }
    if (st != nullptr) out[static_cast<size_t>(st - states.data())] = true;
  }
  return out;
}

absl::StatusOr<ExecutionResult> Run(
    ExportedModule& module,
    const absl::flat_hash_map<std::string, Tensor>& named,
    const std::vector<Tensor>* positional, const ExecuteOptions& options) {
  // Every tensor of the run, not only the results "val" describes.
  ScopedTensorLimits limits(options.max_tensor_bytes, options.max_tensor_elements,
                            options.max_total_bytes);
  Graph& graph = module.graph();
  // Device and kernels.
  Device device = Device::Cpu();
  if (options.device.has_value()) {
    device = *options.device;
  } else {
    ASSIGN_OR_RETURN(std::optional<Device> d, AssertAndGetUniqueDevice(module));
    if (d.has_value()) device = *d;
  }
  if (device.is_meta()) device = Device::Cpu();
  const DeviceOps* dev = &CpuDeviceOps();
  if (device.is_cuda()) {
    dev = GetCudaDeviceOps();
    if (dev == nullptr || GetCudaBackend() == nullptr) {
      return absl::UnavailableError(absl::StrCat(
          "the module lives on ", device.ToString(),
          " but this build has no CUDA kernels (build with --config=cuda)"));
    }
  }

  // Node order, last uses.
  std::vector<Node*> order;
  absl::flat_hash_map<const Node*, int> index;
  for (Node* n : graph) {
    index[n] = static_cast<int>(order.size());
    order.push_back(n);
  }
  std::vector<std::vector<const Node*>> release(order.size());
  {
    std::vector<int> last(order.size(), -1);
    for (size_t i = 0; i < order.size(); ++i) {
      for (Node* op : order[i]->Operands()) last[index[op]] = static_cast<int>(i);
    }
    for (size_t i = 0; i < order.size(); ++i) {
      // A value nobody reads is released right after it is made.
      release[last[i] < 0 ? i : last[i]].push_back(order[i]);
    }
  }

  // State tensors, converted lazily when first bound: those the graph may
  // write get a private copy (written back after a successful run, so a
  // failed one leaves the module as it was); the rest are read in place.
  const std::vector<StateTensor>& states = module.tensors();
  std::vector<Tensor> state_values(states.size());
  const std::vector<bool> written = WrittenState(module, order);
  auto bind_state = [&](const StateTensor* st) -> absl::StatusOr<Tensor> {
    const size_t i = static_cast<size_t>(st - states.data());
    if (!state_values[i].defined()) {
      ASSIGN_OR_RETURN(Tensor t, StateTensorToTensor(*st, /*borrow=*/!written[i] && device.is_cpu()));
      if (!device.is_cpu()) {
        ASSIGN_OR_RETURN(t, t.CopyTo(device));
      }
      state_values[i] = std::move(t);
    }
    return state_values[i];
  };

  std::vector<Node*> inputs = module.InputPlaceholders();
  if (positional != nullptr && positional->size() != inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the module has ", inputs.size(), " input placeholders, got ",
        positional->size(), " inputs"));
  }
  if (positional == nullptr) {
    for (const auto& [name, t] : named) {
      bool found = false;
      for (Node* n : inputs) found = found || n->name() == name || n->target().qualified == name;
      if (!found) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", name, "' names no input placeholder of the module"));
      }
    }
  }

  PhiloxGenerator gen(options.seed, options.offset);
  Ctx ctx{dev, &gen};
  absl::flat_hash_map<const Node*, RuntimeValue> env;
  int input_pos = 0;
  ExecutionResult result;

  for (size_t i = 0; i < order.size(); ++i) {
    Node* node = order[i];
    RuntimeValue out;
    switch (node->op()) {
      case OpKind::kPlaceholder: {
        const StateTensor* st = module.TensorForPlaceholder(node->name());
        if (st == nullptr) st = module.TensorForPlaceholder(node->target().qualified);
        if (st != nullptr) {
          absl::StatusOr<Tensor> t = bind_state(st);
          if (!t.ok()) return AtNode(*node, t.status());
          out = RuntimeValue::FromTensor(std::move(*t));
          break;
        }
        const Tensor* given = nullptr;
        if (positional != nullptr) {
          given = &(*positional)[input_pos++];
        } else {
          auto it = named.find(node->name());
          if (it == named.end()) it = named.find(node->target().qualified);
          if (it != named.end()) given = &it->second;
        }
        if (given == nullptr || !given->defined()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "no input for placeholder %", node->name()));
        }
        RETURN_IF_ERROR(CheckInputAgainstMeta(*node, *given));
        if (given->dtype() == ScalarType::kBool && given->is_cpu()) {
          absl::Status s = CheckBoolBytes(given->raw_data(), given->numel());
          if (!s.ok()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "input for placeholder %", node->name(), ": ", s.message()));
          }
        }
        // A copy: in-place ops in the graph must not write the caller's tensor.
        absl::StatusOr<Tensor> t = given->CopyTo(device);
        if (!t.ok()) return AtNode(*node, t.status());
        out = RuntimeValue::FromTensor(std::move(*t));
        break;
      }
      case OpKind::kGetAttr: {
        const StateTensor* st = module.FindTensor(node->target().qualified);
        if (st == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "get_attr %", node->name(), ": the module has no tensor '",
              node->target().qualified, "'"));
        }
        absl::StatusOr<Tensor> t = bind_state(st);
        if (!t.ok()) return AtNode(*node, t.status());
        out = RuntimeValue::FromTensor(std::move(*t));
        break;
      }
      case OpKind::kOutput: {
        // Flatten nested lists, in order, without recursion.
        std::vector<std::pair<const Argument*, bool>> stack;
        for (auto it = node->args().rbegin(); it != node->args().rend(); ++it) {
          stack.push_back({&*it, false});
        }
        while (!stack.empty()) {
          const Argument* a = stack.back().first;
          stack.pop_back();
          if (a->is_list()) {
            for (auto it = a->as_list().rbegin(); it != a->as_list().rend(); ++it) {
              stack.push_back({&*it, false});
            }
            continue;
          }
          NamedTensor nt;
          if (a->is_node()) {
            nt.name = a->node()->name();
            const RuntimeValue& v = env.at(a->node());
            // A node whose value is a list (split) contributes each element.
            std::vector<const RuntimeValue*> vs{&v};
            while (!vs.empty()) {
              const RuntimeValue* cur = vs.back();
              vs.pop_back();
              if (cur->is_list()) {
                for (auto it = cur->list.rbegin(); it != cur->list.rend(); ++it) vs.push_back(&*it);
                continue;
              }
              NamedTensor e;
              e.name = nt.name;
              if (cur->is_tensor()) {
                // Outputs are contiguous host tensors of their own, whatever
                // views made them and whether they read the module's state.
                if (cur->tensor.is_borrowed()) {
                  ASSIGN_OR_RETURN(e.tensor, cur->tensor.Clone());
                } else {
                  ASSIGN_OR_RETURN(e.tensor, cur->tensor.is_cpu()
                                                 ? cur->tensor.Contiguous()
                                                 : cur->tensor.CopyTo(Device::Cpu()));
                }
              } else if (cur->kind == RuntimeValue::Kind::kLiteral) {
                ASSIGN_OR_RETURN(ops::Scalar s, Args::ScalarOf(*cur, nt.name));
                ASSIGN_OR_RETURN(e.tensor, ops::Full({}, s.value, s.integral ? ScalarType::kInt64
                                                                            : ScalarType::kFloat64));
              }
              result.outputs.push_back(std::move(e));
            }
            continue;
          }
          if (!a->is_none()) {
            ASSIGN_OR_RETURN(ops::Scalar s, Args::ScalarOf(RuntimeValue::Literal(*a), "output"));
            ASSIGN_OR_RETURN(nt.tensor, ops::Full({}, s.value, s.integral ? ScalarType::kInt64
                                                                         : ScalarType::kFloat64));
          }
          result.outputs.push_back(std::move(nt));
        }
        break;
      }
      case OpKind::kCallFunction: {
        const TargetInfo& target = node->target();
        if (target.is_getitem) {
          if (node->args().size() != 2 || !node->args()[0].is_node() ||
              node->args()[1].kind() != Argument::Kind::kInt) {
            return AtNode(*node, absl::InvalidArgumentError(
                                     "getitem needs (node, int) arguments"));
          }
          const RuntimeValue& tuple = env.at(node->args()[0].node());
          const int64_t k = node->args()[1].as_int();
          const int64_t n = static_cast<int64_t>(tuple.list.size());
          if (!tuple.is_list() || k < -n || k >= n) {
            return AtNode(*node, absl::InvalidArgumentError(absl::StrCat(
                                     "index ", k, " out of range for a ",
                                     tuple.is_list() ? n : 0, "-element value")));
          }
          out = tuple.list[k < 0 ? k + n : k];
          break;
        }
        auto it = OpTable().find(target.qualified);
        if (it == OpTable().end()) {
          return absl::UnimplementedError(absl::StrCat(
              "no kernel for op ", target.qualified, " (node %", node->name(), ")"));
        }
        if (target.schema == nullptr) {
          return AtNode(*node, absl::InternalError("op has a kernel but no schema"));
        }
        const PromisedSize promised = Promised(*node);
        if (promised.bytes > options.max_tensor_bytes) {
          return AtNode(*node, absl::ResourceExhaustedError(absl::StrCat(
                                   "result of ", promised.bytes, " bytes exceeds the limit of ",
                                   options.max_tensor_bytes, " bytes")));
        }
        if (promised.elements > options.max_tensor_elements) {
          return AtNode(*node, absl::ResourceExhaustedError(absl::StrCat(
                                   "result of ", promised.elements,
                                   " elements exceeds the limit of ",
                                   options.max_tensor_elements, " elements")));
        }
        absl::StatusOr<NormalizedArgs> norm =
            NormalizeArguments(*target.schema, node->args(), node->kwargs());
        if (!norm.ok()) return AtNode(*node, absl::InvalidArgumentError(norm.status().message()));
        std::vector<RuntimeValue> values;
        values.reserve(norm->values.size());
        for (const Argument& a : norm->values) {
          absl::StatusOr<RuntimeValue> v = Resolve(a, env);
          if (!v.ok()) return AtNode(*node, v.status());
          values.push_back(std::move(*v));
        }
        {
          Args shapes(*target.schema, values);
          const int64_t work = EstimateNodeWork(target.qualified, shapes, promised.elements);
          if (work > options.max_node_work) {
            return AtNode(*node, absl::ResourceExhaustedError(absl::StrCat(
                                     "estimated work of ", work,
                                     " operations exceeds the limit of ", options.max_node_work,
                                     " per node (ExecuteOptions::max_node_work)")));
          }
        }
        if (options.before_node) RETURN_IF_ERROR(options.before_node(*node, values));
        // CPU-only ops on another device go through host copies, and ops
        // that need contiguous tensors through contiguous ones.
        const OpEntry& entry = it->second;
        if (entry.layout_sensitive && !values.empty() && values[0].is_tensor() &&
            node->args().size() > 0 && node->args()[0].is_node()) {
          absl::StatusOr<Tensor> laid = InRecordedLayout(values[0].tensor, *node->args()[0].node());
          if (!laid.ok()) return AtNode(*node, laid.status());
          values[0].tensor = *std::move(laid);
        }
        const bool to_host = !device.is_cpu() && !entry.device_native;
        bool staged = false;
        if (to_host || !entry.strided) {
          for (const RuntimeValue& v : values) staged = staged || NeedsStaging(v, to_host);
        }
        std::vector<RuntimeValue> originals;
        if (staged) {
          originals = values;
          for (RuntimeValue& v : values) RETURN_IF_ERROR(AtNode(*node, Stage(v, to_host)));
        }
        Args args(*target.schema, values);
        absl::StatusOr<RuntimeValue> r = entry.fn(ctx, args);
        if (!r.ok()) return AtNode(*node, r.status());
        out = std::move(*r);
        if (staged) {
          bool aliased = false;
          for (size_t k = 0; k < values.size(); ++k) {
            if (!target.schema->arguments[k].is_mutable || !values[k].is_tensor()) continue;
            RETURN_IF_ERROR(AtNode(*node, WriteBack(originals[k].tensor, values[k].tensor)));
            if (out.is_tensor() && out.tensor.SharesStorageWith(values[k].tensor)) {
              out = originals[k];
              aliased = true;
            }
          }
          if (!aliased && to_host) RETURN_IF_ERROR(StageToDevice(out, device));
          values = std::move(originals);
        }
        if (entry.rebinds_self && out.is_tensor() && !node->args().empty() &&
            node->args()[0].is_node()) {
          env[node->args()[0].node()] = out;
        }
        if (options.after_node) RETURN_IF_ERROR(options.after_node(*node, values, out));
        break;
      }
    }
    if (!node->is_output()) env[node] = std::move(out);
    for (const Node* dead : release[i]) env.erase(dead);
  }
  result.final_offset = gen.offset();

  // Write back state whose bytes changed, all or nothing: every copy and
  // check first, then the swaps, which cannot fail.
  std::vector<std::pair<size_t, std::string>> changed;
  for (size_t i = 0; i < states.size(); ++i) {
    if (!state_values[i].defined() || state_values[i].is_borrowed()) continue;
    Tensor host = state_values[i];
    if (!host.is_cpu()) {
      ASSIGN_OR_RETURN(host, host.CopyTo(Device::Cpu()));
    }
    const StateTensor& st = states[i];
    if (static_cast<int64_t>(st.data.size()) != host.nbytes()) {
      return absl::InternalError(absl::StrCat("state tensor ", st.name, " changed size"));
    }
    if (std::memcmp(st.data.data(), host.raw_data(), host.nbytes()) != 0) {
      changed.emplace_back(
          i, std::string(static_cast<const char*>(host.raw_data()), host.nbytes()));
    }
  }
  for (auto& [i, bytes] : changed) {
    module.mutable_tensor_data(i).swap(bytes);
    result.updated_state.push_back(states[i].name);
  }
  return result;
}

// Allocator limits surface as OutOfRange in tensor.h; for a caller running a
// model they are an exhausted resource like any failed allocation.
absl::Status MapAllocationErrors(absl::Status s) {
  if (s.code() == absl::StatusCode::kOutOfRange) {
    return absl::ResourceExhaustedError(s.message());
  }
  return s;
}

}  // namespace

int64_t DefaultMaxTotalBytes() {
  static const int64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page_size <= 0) return int64_t{4} << 30;
    int64_t memory = static_cast<int64_t>(pages) * static_cast<int64_t>(page_size);
    // A container's memory limit (cgroup v2, then v1) is the machine the
    // process really has: past it the kernel kills it, limits or not.
    for (const char* path : {"/sys/fs/cgroup/memory.max",
                             "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
      absl::StatusOr<std::string> text = ReadFileToString(path, 64);
      int64_t limit;
      if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &limit) &&
          limit > 0) {
        memory = std::min(memory, limit);
      }
    }
    return memory / 2;
  }();
  return bytes;
}

const DeviceOps& CpuDeviceOps() {
  static const DeviceOps ops = {
      "cpu",
      &Dropout,
      &Dropout_,
      &NativeDropout,
      &Bernoulli_,
      &NativeBatchNorm,
      &NativeBatchNormLegitFunctional,
  };
  return ops;
}

void RegisterCudaDeviceOps(const DeviceOps* ops) { g_cuda_ops.store(ops); }
const DeviceOps* GetCudaDeviceOps() { return g_cuda_ops.load(); }

absl::StatusOr<Tensor> StateToTensor(const StateTensor& st) {
  return StateTensorToTensor(st, /*borrow=*/false);
}

absl::StatusOr<ExecutionResult> Execute(
    ExportedModule& module,
    const std::vector<std::pair<std::string, Tensor>>& inputs,
    const ExecuteOptions& options) {
  absl::flat_hash_map<std::string, Tensor> named;
  for (const auto& [name, t] : inputs) {
    if (!named.emplace(name, t).second) {
      return absl::InvalidArgumentError(absl::StrCat("input '", name, "' given twice"));
    }
  }
  absl::StatusOr<ExecutionResult> r = Run(module, named, nullptr, options);
  if (!r.ok()) return MapAllocationErrors(r.status());
  return r;
}

absl::StatusOr<ExecutionResult> Execute(ExportedModule& module,
                                        const std::vector<Tensor>& inputs,
                                        const ExecuteOptions& options) {
  absl::StatusOr<ExecutionResult> r = Run(module, {}, &inputs, options);
  if (!r.ok()) return MapAllocationErrors(r.status());
  return r;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> out;
  for (const auto& [name, entry] : OpTable()) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rewire
