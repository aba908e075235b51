#include "ir/serialization.h"

#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/printable.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "ir/load_checks.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"

namespace rewire {
namespace {

// protobuf's own nesting cap for parsed input. An ArgumentList level costs
// two message levels, so this alone allows ~48 list levels; LoadOptions'
// max_list_nesting is the tighter, documented limit.
constexpr int kProtoRecursionLimit = 100;

// Where a problem is, rendered only when an error is actually reported:
// building a context string per node costs more than loading the node.
struct Where {
  Where() = default;
  Where(absl::string_view text) : fixed(text) {}  // NOLINT: implicit by design
  static Where ForNode(const proto::Node* n, int i) {
    Where w;
    w.node = n;
    w.index = i;
    return w;
  }
  Where WithMeta(absl::string_view key) const {
    Where w = *this;
    w.meta_key = key;
    w.in_meta = true;
    return w;
  }
  Where WithOutput(int i) const {
    Where w = *this;
    w.output = i;
    return w;
  }
  std::string str() const {
    std::string out(fixed);
    if (node != nullptr) {
      out = absl::StrCat("node '", Printable(node->name()), "' (#", index, ")");
    }
    if (in_meta) absl::StrAppend(&out, ", meta '", Printable(meta_key), "'");
    if (output >= 0) absl::StrAppend(&out, ", output ", output);
    return out;
  }

  absl::string_view fixed;
  const proto::Node* node = nullptr;
  int index = 0;
  absl::string_view meta_key;
  bool in_meta = false;
  int output = -1;
};

absl::Status Invalid(const Where& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where.str(), ": ", what));
}

// ------------------------------------------------------------------ enums

absl::StatusOr<ScalarType> DtypeFromProto(int d, const Where& where) {
  if (d == proto::DTYPE_UNSPECIFIED) return Invalid(where, "dtype is missing");
  if (!proto::Dtype_IsValid(d) || d > kNumScalarTypes) {
    return Invalid(where, absl::StrCat("unknown dtype ", d));
  }
  return static_cast<ScalarType>(d - 1);
}
proto::Dtype DtypeToProto(ScalarType t) {
  return static_cast<proto::Dtype>(static_cast<int>(t) + 1);
}

absl::StatusOr<Layout> LayoutFromProto(int l, const Where& where) {
  if (l == proto::LAYOUT_UNSPECIFIED) return Invalid(where, "layout is missing");
  if (!proto::Layout_IsValid(l)) {
    return Invalid(where, absl::StrCat("unknown layout ", l));
  }
  return static_cast<Layout>(l - 1);
}
proto::Layout LayoutToProto(Layout l) {
  return static_cast<proto::Layout>(static_cast<int>(l) + 1);
}

absl::StatusOr<MemoryFormat> MemoryFormatFromProto(int m,
                                                   const Where& where) {
  if (m == proto::MEMORY_FORMAT_UNSPECIFIED) {
    return Invalid(where, "memory format is missing");
  }
  if (!proto::MemoryFormat_IsValid(m)) {
    return Invalid(where, absl::StrCat("unknown memory format ", m));
  }
  return static_cast<MemoryFormat>(m - 1);
}
proto::MemoryFormat MemoryFormatToProto(MemoryFormat m) {
  return static_cast<proto::MemoryFormat>(static_cast<int>(m) + 1);
}

absl::StatusOr<OpKind> OpKindFromProto(int k, const Where& where) {
  switch (k) {
    case proto::OP_KIND_PLACEHOLDER:
      return OpKind::kPlaceholder;
    case proto::OP_KIND_GET_ATTR:
      return OpKind::kGetAttr;
    case proto::OP_KIND_CALL_FUNCTION:
      return OpKind::kCallFunction;
    case proto::OP_KIND_OUTPUT:
      return OpKind::kOutput;
    case proto::OP_KIND_UNSPECIFIED:
      return Invalid(where, "op kind is missing");
  }
  return Invalid(where, absl::StrCat("unknown op kind ", k));
}
proto::OpKind OpKindToProto(OpKind k) {
  switch (k) {
    case OpKind::kPlaceholder:
      return proto::OP_KIND_PLACEHOLDER;
    case OpKind::kGetAttr:
      return proto::OP_KIND_GET_ATTR;
    case OpKind::kCallFunction:
      return proto::OP_KIND_CALL_FUNCTION;
    case OpKind::kOutput:
      return proto::OP_KIND_OUTPUT;
  }
  return proto::OP_KIND_UNSPECIFIED;
}

absl::StatusOr<TensorRole> RoleFromProto(int r, const Where& where) {
  switch (r) {
    case proto::TENSOR_ROLE_PARAMETER:
      return TensorRole::kParameter;
    case proto::TENSOR_ROLE_BUFFER:
      return TensorRole::kBuffer;
    case proto::TENSOR_ROLE_CONSTANT:
      return TensorRole::kConstant;
    case proto::TENSOR_ROLE_UNSPECIFIED:
      return Invalid(where, "role is missing");
  }
  return Invalid(where, absl::StrCat("unknown role ", r));
}
proto::TensorRole RoleToProto(TensorRole r) {
  switch (r) {
    case TensorRole::kParameter:
      return proto::TENSOR_ROLE_PARAMETER;
    case TensorRole::kBuffer:
      return proto::TENSOR_ROLE_BUFFER;
    case TensorRole::kConstant:
      return proto::TENSOR_ROLE_CONSTANT;
  }
  return proto::TENSOR_ROLE_UNSPECIFIED;
}

absl::StatusOr<Device> DeviceFromProto(const std::string& s,
                                       const Where& where) {
  absl::StatusOr<Device> d = ParseDevice(s);
  if (!d.ok()) return Invalid(where, d.status().message());
  return *d;
}

// ------------------------------------------------------- structure checks

// Everything about the graph that must hold before any IR is built: names,
// op kinds, node order, and that every reference points to an earlier node.
// Graph::CreateNode would silently reorder some of these (it places any
// non-output node before an existing output), so order is checked here on
// the proto. Iterative throughout.
absl::Status CheckGraphStructure(
    const proto::Graph& g, const LoadOptions& options,
    absl::flat_hash_map<absl::string_view, int>* name_index) {
  const int n = g.nodes_size();
  if (n > options.max_nodes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "graph has ", n, " nodes, over the limit of ", options.max_nodes));
  }
  name_index->reserve(n);
  for (int i = 0; i < n; ++i) {
    const proto::Node& node = g.nodes(i);
    if (node.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node #", i, " has an empty name"));
    }
    auto [it, inserted] = name_index->emplace(node.name(), i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate node name '", Printable(node.name()),
                       "' (nodes #", it->second, " and #", i, ")"));
    }
  }
  int first_non_placeholder = -1;
  int output_index = -1;
  // Explicit stack for list arguments: (list, next item, depth).
  struct Frame {
    const proto::ArgumentList* list;
    int next;
    int depth;
  };
  std::vector<Frame> stack;
  absl::flat_hash_set<absl::string_view> seen_keys;
  for (int i = 0; i < n; ++i) {
    const proto::Node& node = g.nodes(i);
    const Where where = Where::ForNode(&node, i);
    ASSIGN_OR_RETURN(OpKind op, OpKindFromProto(node.op(), where));
    if (op == OpKind::kOutput) {
      if (output_index >= 0) {
        return Invalid(
            where, absl::StrCat("more than one output node (also '",
                                Printable(g.nodes(output_index).name()), "')"));
      }
      output_index = i;
      if (i != n - 1) {
        return Invalid(where, absl::StrCat("the output node is not last (",
                                           n - 1 - i, " nodes follow it)"));
      }
    }
    if (op == OpKind::kPlaceholder) {
      if (first_non_placeholder >= 0) {
        return Invalid(
            where,
            absl::StrCat("placeholder after non-placeholder node '",
                         Printable(g.nodes(first_non_placeholder).name()),
                         "' (placeholders must come first)"));
      }
    } else if (first_non_placeholder < 0) {
      first_non_placeholder = i;
    }

    // Arguments: references and nesting.
    // Argument slot names ("args[2]", "keyword argument 'p'") are built only
    // for error messages.
    struct Slot {
      int k;
      const std::string* kwarg;
      std::string str() const {
        return kwarg != nullptr
                   ? absl::StrCat("keyword argument '", Printable(*kwarg), "'")
                   : absl::StrCat("args[", k, "]");
      }
    };
    auto check_ref = [&](const std::string& ref,
                         const Slot& slot_ref) -> absl::Status {
      auto it = name_index->find(ref);
      if (it == name_index->end()) {
        return Invalid(
            where, absl::StrCat(slot_ref.str(), " refers to '", Printable(ref),
                                "', which is never defined"));
      }
      if (it->second == i) {
        return Invalid(where, absl::StrCat(slot_ref.str(), " refers to the node itself"));
      }
      if (it->second > i) {
        return Invalid(
            where, absl::StrCat(slot_ref.str(), " is a forward reference to '",
                                Printable(ref), "' (defined later, at #",
                                it->second, ")"));
      }
      return absl::OkStatus();
    };
    auto check_arg = [&](const proto::Argument& a,
                         const Slot& slot_ref) -> absl::Status {
      stack.clear();
      const proto::Argument* cur = &a;
      int depth = 0;
      while (true) {
        if (cur != nullptr) {
          switch (cur->value_case()) {
            case proto::Argument::VALUE_NOT_SET:
              return Invalid(where, absl::StrCat(slot_ref.str(), " has no value"));
            case proto::Argument::kNode:
              RETURN_IF_ERROR(check_ref(cur->node(), slot_ref));
              break;
            case proto::Argument::kList:
              if (depth + 1 > options.max_list_nesting) {
                return Invalid(
                    where, absl::StrCat(slot_ref.str(), " nests lists deeper than the "
                                              "limit of ",
                                        options.max_list_nesting));
              }
              stack.push_back({&cur->list(), 0, depth + 1});
              break;
            default:
              break;
          }
        }
        if (stack.empty()) return absl::OkStatus();
        Frame& top = stack.back();
        if (top.next == top.list->items_size()) {
          stack.pop_back();
          cur = nullptr;
          if (stack.empty()) return absl::OkStatus();
          continue;
        }
        cur = &top.list->items(top.next++);
        depth = top.depth;
      }
    };
    for (int k = 0; k < node.args_size(); ++k) {
      RETURN_IF_ERROR(check_arg(node.args(k), Slot{k, nullptr}));
    }
    seen_keys.clear();
    for (int k = 0; k < node.kwargs_size(); ++k) {
      const proto::Kwarg& kw = node.kwargs(k);
      if (kw.name().empty()) {
        return Invalid(where, absl::StrCat("kwargs[", k, "] has no name"));
      }
      if (!seen_keys.insert(kw.name()).second) {
        return Invalid(where,
                       absl::StrCat("keyword argument '", Printable(kw.name()),
                                    "' given twice"));
      }
      if (!kw.has_value()) {
        return Invalid(where,
                       absl::StrCat("keyword argument '", Printable(kw.name()),
                                    "' has no value"));
      }
      RETURN_IF_ERROR(check_arg(kw.value(), Slot{k, &kw.name()}));
    }
    // Before the keys are hashed or any entry built; CheckLoadedModule
    // holds the built graph to the same limit.
    if (node.meta_size() > options.max_meta_keys_per_node) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where.str(), ": ", node.meta_size(),
          " metadata keys, over the limit of ",
          options.max_meta_keys_per_node, " per node"));
    }
    seen_keys.clear();
    for (const proto::MetaEntry& e : node.meta()) {
      if (!seen_keys.insert(e.key()).second) {
        return Invalid(where, absl::StrCat("duplicate metadata key '",
                                           Printable(e.key()), "'"));
      }
    }
  }
  if (output_index < 0) {
    return absl::InvalidArgumentError("graph has no output node");
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------ conversion

// Recursion depth is bounded by max_list_nesting, checked iteratively in
// CheckGraphStructure before this runs.
absl::StatusOr<Argument> ArgumentFromProto(
    const proto::Argument& a, const std::vector<Node*>& nodes,
    const absl::flat_hash_map<absl::string_view, int>& name_index,
    const Where& where) {
  switch (a.value_case()) {
    case proto::Argument::kNone:
      return Argument::None();
    case proto::Argument::kNode:
      // CheckGraphStructure guaranteed an earlier, already built node.
      return Argument::Ref(nodes[name_index.at(a.node())]);
    case proto::Argument::kBoolValue:
      return Argument::Bool(a.bool_value());
    case proto::Argument::kIntValue:
      return Argument::Int(a.int_value());
    case proto::Argument::kDoubleValue:
      return Argument::Double(a.double_value());
    case proto::Argument::kStringValue:
      return Argument::String(a.string_value());
    case proto::Argument::kDtype: {
      ASSIGN_OR_RETURN(ScalarType t, DtypeFromProto(a.dtype(), where));
      return Argument::Dtype(t);
    }
    case proto::Argument::kDevice: {
      ASSIGN_OR_RETURN(Device d, DeviceFromProto(a.device(), where));
      return Argument::DeviceValue(d);
    }
    case proto::Argument::kLayout: {
      ASSIGN_OR_RETURN(Layout l, LayoutFromProto(a.layout(), where));
      return Argument::LayoutValue(l);
    }
    case proto::Argument::kMemoryFormat: {
      ASSIGN_OR_RETURN(MemoryFormat m,
                       MemoryFormatFromProto(a.memory_format(), where));
      return Argument::MemoryFormatValue(m);
    }
    case proto::Argument::kList: {
      std::vector<Argument> items;
      items.reserve(a.list().items_size());
      for (const proto::Argument& item : a.list().items()) {
        ASSIGN_OR_RETURN(Argument v,
                         ArgumentFromProto(item, nodes, name_index, where));
        items.push_back(std::move(v));
      }
      return Argument::List(std::move(items));
    }
    case proto::Argument::VALUE_NOT_SET:
      break;
  }
  return Invalid(where, "argument has no value");
}

// Iterative: a module built through the Graph API may nest deeper than any
// loader limit.
void ArgumentToProto(const Argument& root, proto::Argument* root_out) {
  std::vector<std::pair<const Argument*, proto::Argument*>> stack;
  stack.emplace_back(&root, root_out);
  while (!stack.empty()) {
    auto [a, out] = stack.back();
    stack.pop_back();
    switch (a->kind()) {
      case Argument::Kind::kNone:
        out->mutable_none();
        break;
      case Argument::Kind::kNode:
        out->set_node(a->node()->name());
        break;
      case Argument::Kind::kBool:
        out->set_bool_value(a->as_bool());
        break;
      case Argument::Kind::kInt:
        out->set_int_value(a->as_int());
        break;
      case Argument::Kind::kDouble:
        out->set_double_value(a->as_double());
        break;
      case Argument::Kind::kString:
        out->set_string_value(a->as_string());
        break;
      case Argument::Kind::kDtype:
        out->set_dtype(DtypeToProto(a->as_dtype()));
        break;
      case Argument::Kind::kDevice:
        out->set_device(a->as_device().ToString());
        break;
      case Argument::Kind::kLayout:
        out->set_layout(LayoutToProto(a->as_layout()));
        break;
      case Argument::Kind::kMemoryFormat:
        out->set_memory_format(MemoryFormatToProto(a->as_memory_format()));
        break;
      case Argument::Kind::kList: {
        proto::ArgumentList* list = out->mutable_list();
        // Create every item slot now so items keep their order however the
        // stack visits them.
        for (const Argument& item : a->as_list()) {
          stack.emplace_back(&item, list->add_items());
        }
        break;
      }
    }
  }
}

absl::StatusOr<TensorMeta> TensorMetaFromProto(const proto::TensorMeta& t,
                                               const LoadOptions& options,
                                               const Where& where) {
  TensorMeta out;
  ASSIGN_OR_RETURN(out.dtype, DtypeFromProto(t.dtype(), where));
  out.shape.reserve(t.shape_size());
  for (int i = 0; i < t.shape_size(); ++i) {
    const proto::Dim& d = t.shape(i);
    Dim dim;
    switch (d.value_case()) {
      case proto::Dim::kSize:
        if (d.size() < 0) {
          return Invalid(where, absl::StrCat("dim ", i, " is negative (",
                                             d.size(), ")"));
        }
        dim.value = d.size();
        break;
      case proto::Dim::kSymbol:
        if (d.symbol().empty()) {
          return Invalid(where, absl::StrCat("dim ", i, " has an empty symbol"));
        }
        dim.symbol = d.symbol();
        break;
      case proto::Dim::VALUE_NOT_SET:
        return Invalid(where, absl::StrCat("dim ", i, " has no value"));
    }
    out.shape.push_back(std::move(dim));
  }
  if (t.has_strides()) {
    if (t.strides_size() != t.shape_size()) {
      return Invalid(where, absl::StrCat(t.strides_size(), " strides for ",
                                         t.shape_size(), " dims"));
    }
    out.strides.assign(t.strides().begin(), t.strides().end());
  } else if (t.strides_size() > 0) {
    return Invalid(where, "strides given but has_strides is false");
  }
  ASSIGN_OR_RETURN(out.device, DeviceFromProto(t.device(), where));
  out.requires_grad = t.requires_grad();
  return out;
}

void TensorMetaToProto(const TensorMeta& t, proto::TensorMeta* out) {
  out->set_dtype(DtypeToProto(t.dtype));
  for (const Dim& d : t.shape) {
    proto::Dim* pd = out->add_shape();
    if (d.is_symbolic()) {
      pd->set_symbol(d.symbol.str());
    } else {
      pd->set_size(d.value);
    }
  }
  out->set_has_strides(!t.strides.empty());
  for (int64_t s : t.strides) out->add_strides(s);
  out->set_device(t.device.ToString());
  out->set_requires_grad(t.requires_grad);
}

absl::StatusOr<MetaValue> MetaValueFromProto(const proto::MetaValue& v,
                                             const LoadOptions& options,
                                             const Where& where) {
  switch (v.value_case()) {
    case proto::MetaValue::kTensor: {
      ASSIGN_OR_RETURN(TensorMeta t,
                       TensorMetaFromProto(v.tensor(), options, where));
      return MetaValue::Tensor(std::move(t));
    }
    case proto::MetaValue::kTensorList: {
      MetaValue::TensorList list;
      list.reserve(v.tensor_list().items_size());
      for (int i = 0; i < v.tensor_list().items_size(); ++i) {
        const proto::OptionalTensorMeta& item = v.tensor_list().items(i);
        if (!item.has_tensor()) {
          list.push_back(std::nullopt);
          continue;
        }
        ASSIGN_OR_RETURN(
            TensorMeta t,
            TensorMetaFromProto(item.tensor(), options,
                                where.WithOutput(i)));
        list.push_back(std::move(t));
      }
      return MetaValue::Tensors(std::move(list));
    }
    case proto::MetaValue::kIntValue:
      return MetaValue::Int(v.int_value());
    case proto::MetaValue::kDoubleValue:
      return MetaValue::Double(v.double_value());
    case proto::MetaValue::kBoolValue:
      return MetaValue::Bool(v.bool_value());
    case proto::MetaValue::kStringValue:
      return MetaValue::String(v.string_value());
    case proto::MetaValue::kNone:
      return MetaValue::None();
    case proto::MetaValue::VALUE_NOT_SET:
      break;
  }
  return Invalid(where, "metadata value is missing");
}

void MetaValueToProto(const MetaValue& v, proto::MetaValue* out) {
  if (v.is_tensor()) {
    TensorMetaToProto(v.tensor(), out->mutable_tensor());
  } else if (v.is_tensor_list()) {
    proto::TensorMetaList* list = out->mutable_tensor_list();
    for (const std::optional<TensorMeta>& t : v.tensors()) {
      proto::OptionalTensorMeta* item = list->add_items();
      if (t.has_value()) TensorMetaToProto(*t, item->mutable_tensor());
    }
  } else if (v.is_int()) {
    out->set_int_value(v.as_int());
  } else if (v.is_double()) {
    out->set_double_value(v.as_double());
  } else if (v.is_bool()) {
    out->set_bool_value(v.as_bool());
  } else if (v.is_string()) {
    out->set_string_value(v.as_string());
  } else {
    out->mutable_none();
  }
}

// Checks every tensor against the limits and the graph before any IR or
// data copy is made.
absl::Status CheckTensors(
    const proto::GraphModule& p, const LoadOptions& options,
    const absl::flat_hash_map<absl::string_view, int>& name_index) {
  absl::flat_hash_set<absl::string_view> names;
  absl::flat_hash_map<absl::string_view, absl::string_view> bound;
  int64_t total = 0;
  for (int i = 0; i < p.tensors_size(); ++i) {
    const proto::NamedTensor& t = p.tensors(i);
    if (t.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor #", i, " has an empty name"));
    }
    const std::string where_text =
        absl::StrCat("tensor '", Printable(t.name()), "'");
    const Where where(where_text);
    if (!names.insert(t.name()).second) {
      return Invalid(where, "duplicate tensor name");
    }
    RETURN_IF_ERROR(RoleFromProto(t.role(), where).status());
    ASSIGN_OR_RETURN(ScalarType dtype, DtypeFromProto(t.dtype(), where));
    if (t.shape_size() > options.max_dims) {
      return Invalid(where, absl::StrCat("rank ", t.shape_size(),
                                         " exceeds the limit of ",
                                         options.max_dims));
    }
    StateTensor probe;
    probe.name = t.name();
    probe.dtype = dtype;
    probe.shape.assign(t.shape().begin(), t.shape().end());
    ASSIGN_OR_RETURN(int64_t expected, probe.ExpectedBytes());
    if (static_cast<uint64_t>(expected) != t.data().size()) {
      return Invalid(where, absl::StrCat("data has ", t.data().size(),
                                         " bytes but ", ScalarTypeName(dtype),
                                         " ", t.shape_size(), "-d shape needs ",
                                         expected));
    }
    if (expected > options.max_total_tensor_bytes - total) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where_text, ": tensor data exceeds the limit of ",
          options.max_total_tensor_bytes, " bytes in total"));
    }
    total += expected;
    RETURN_IF_ERROR(DeviceFromProto(t.device(), where).status());
    if (!t.placeholder().empty()) {
      auto it = name_index.find(t.placeholder());
      if (it == name_index.end() ||
          p.graph().nodes(it->second).op() != proto::OP_KIND_PLACEHOLDER) {
        return Invalid(where, absl::StrCat("bound to placeholder '",
                                           Printable(t.placeholder()),
                                           "', which is not a placeholder of "
                                           "the graph"));
      }
      auto [b, inserted] = bound.emplace(t.placeholder(), t.name());
      if (!inserted) {
        return Invalid(where,
                       absl::StrCat("placeholder '", Printable(t.placeholder()),
                                    "' is already bound to tensor '",
                                    Printable(b->second), "'"));
      }
    }
  }
  return absl::OkStatus();
}

// `steal`, when given, is the same message as `p`; tensor data is moved out
// of it instead of copied.
absl::StatusOr<ExportedModule> FromProtoImpl(const proto::GraphModule& p,
                                             proto::GraphModule* steal,
                                             const LoadOptions& options) {
  if (p.ir_version() == 0) {
    return absl::InvalidArgumentError(
        "GraphModule has no ir_version (expected 1)");
  }
  if (p.ir_version() > kCurrentIrVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "GraphModule has ir_version ", p.ir_version(),
        ", newer than version ", kCurrentIrVersion,
        ", the newest this reader knows; upgrade rewire"));
  }
  ModuleMode mode;
  switch (p.mode()) {
    case proto::MODE_UNSPECIFIED:
    case proto::MODE_TRAIN:
      mode = ModuleMode::kTrain;
      break;
    case proto::MODE_EVAL:
      mode = ModuleMode::kEval;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown module mode ", p.mode()));
  }
  absl::flat_hash_map<absl::string_view, int> name_index;
  RETURN_IF_ERROR(CheckGraphStructure(p.graph(), options, &name_index));
  RETURN_IF_ERROR(CheckTensors(p, options, name_index));

  auto graph = std::make_unique<Graph>();
  const int n = p.graph().nodes_size();
  std::vector<Node*> nodes(n, nullptr);
  for (int i = 0; i < n; ++i) {
    const proto::Node& pn = p.graph().nodes(i);
    const Where where = Where::ForNode(&pn, i);
    Graph::NodeSpec spec;
    ASSIGN_OR_RETURN(spec.op, OpKindFromProto(pn.op(), where));
    spec.target = pn.target();
    spec.name = pn.name();
    spec.args.reserve(pn.args_size());
    for (const proto::Argument& a : pn.args()) {
      ASSIGN_OR_RETURN(Argument v,
                       ArgumentFromProto(a, nodes, name_index, where));
      spec.args.push_back(std::move(v));
    }
    spec.kwargs.reserve(pn.kwargs_size());
    for (const proto::Kwarg& kw : pn.kwargs()) {
      ASSIGN_OR_RETURN(Argument v,
                       ArgumentFromProto(kw.value(), nodes, name_index, where));
      spec.kwargs.push_back(Kwarg{kw.name(), std::move(v)});
    }
    for (const proto::MetaEntry& e : pn.meta()) {
      ASSIGN_OR_RETURN(
          MetaValue v,
          MetaValueFromProto(e.value(), options, where.WithMeta(e.key())));
      spec.meta.Set(e.key(), std::move(v));
    }
    absl::StatusOr<Node*> made = graph->Append(std::move(spec));
    if (!made.ok()) return Invalid(where, made.status().message());
    nodes[i] = *made;
  }
  ExportedModule module(std::move(graph));
  module.set_mode(mode);
  module.ReserveTensors(p.tensors_size());
  for (int i = 0; i < p.tensors_size(); ++i) {
    const proto::NamedTensor& t = p.tensors(i);
    StateTensor s;
    s.name = t.name();
    // Validated by CheckTensors.
    s.role = *RoleFromProto(t.role(), Where());
    s.dtype = *DtypeFromProto(t.dtype(), Where());
    s.shape.assign(t.shape().begin(), t.shape().end());
    s.device = *DeviceFromProto(t.device(), Where());
    s.requires_grad = t.requires_grad();
    s.placeholder = t.placeholder();
    if (steal != nullptr) {
      s.data = std::move(*steal->mutable_tensors(i)->mutable_data());
    } else {
      s.data = t.data();
    }
    RETURN_IF_ERROR(module.AddTensor(std::move(s)));
  }
  // The checks above are the proto-side ones (bounds before allocating,
  // references, kinds, tensor data); what the graph must satisfy is decided
  // by the checks every loader shares (ir/load_checks.h), so that one check
  // decides each property whatever the format.
  RETURN_IF_ERROR(CheckLoadedModule(module, options));
  return module;
}

// ------------------------------------------------------------ parsing

int ClampedInputLimit(const LoadOptions& options) {
  if (options.max_input_bytes < 0) return 0;
  return options.max_input_bytes > INT_MAX
             ? INT_MAX
             : static_cast<int>(options.max_input_bytes);
}

absl::Status CheckInputSize(absl::string_view bytes,
                            const LoadOptions& options) {
  const int limit = ClampedInputLimit(options);
  if (bytes.size() > static_cast<size_t>(limit)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("input is ", bytes.size(), " bytes, over the limit of ",
                     limit));
  }
  return absl::OkStatus();
}

class StatusErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!first_.empty()) return;
    first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                          message);
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::Status ParseProto(absl::string_view bytes, Format format,
                        const LoadOptions& options, proto::GraphModule* out) {
  RETURN_IF_ERROR(CheckInputSize(bytes, options));
  const int limit = ClampedInputLimit(options);
  // protobuf logs invalid UTF-8 and parse failures itself; the Status says
  // it all, so keep stderr quiet.
  google::protobuf::LogSilencer silence;
  if (format == Format::kBinaryProto) {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(bytes.data()),
        static_cast<int>(bytes.size()));
    in.SetTotalBytesLimit(limit);
    in.SetRecursionLimit(kProtoRecursionLimit);
    if (!out->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed binary GraphModule (", bytes.size(),
          " bytes): truncated, corrupt, nested too deeply or not a "
          "GraphModule"));
    }
    return absl::OkStatus();
  }
  google::protobuf::io::ArrayInputStream in(bytes.data(),
                                            static_cast<int>(bytes.size()));
  StatusErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.SetRecursionLimit(kProtoRecursionLimit);
  if (!parser.Parse(&in, out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed text GraphModule: ",
        errors.first().empty() ? "parse error" : errors.first()));
  }
  return absl::OkStatus();
}

// The text form's loader: the parser builds the graph, the shared checks
// decide whether it is accepted.
absl::StatusOr<ExportedModule> LoadModuleFromText(absl::string_view text,
                                                  const LoadOptions& options) {
  RETURN_IF_ERROR(CheckInputSize(text, options));
  TextParseOptions parse_options;
  parse_options.max_nesting = options.max_list_nesting;
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph,
                   ParseGraph(text, parse_options));
  ExportedModule module(std::move(graph));
  RETURN_IF_ERROR(CheckLoadedModule(module, options));
  return module;
}

absl::Status WithPath(const std::string& path, const absl::Status& s) {
  return absl::Status(s.code(),
                      absl::StrCat(Printable(path), ": ", s.message()));
}

}  // namespace

absl::StatusOr<ExportedModule> ModuleFromProto(const proto::GraphModule& proto,
                                               const LoadOptions& options) {
  return FromProtoImpl(proto, nullptr, options);
}

proto::GraphModule ModuleToProto(const ExportedModule& module) {
  proto::GraphModule p;
  p.set_ir_version(kCurrentIrVersion);
  p.set_producer("rewire");
  p.set_mode(module.mode() == ModuleMode::kEval ? proto::MODE_EVAL
                                                : proto::MODE_TRAIN);
  proto::Graph* g = p.mutable_graph();
  g->mutable_nodes()->Reserve(static_cast<int>(module.graph().size()));
  for (const Node* n : module.graph()) {
    proto::Node* pn = g->add_nodes();
    pn->set_name(n->name());
    pn->set_op(OpKindToProto(n->op()));
    pn->set_target(n->target().qualified);
    for (const Argument& a : n->args()) ArgumentToProto(a, pn->add_args());
    for (const Kwarg& kw : n->kwargs()) {
      proto::Kwarg* pk = pn->add_kwargs();
      pk->set_name(kw.name);
      ArgumentToProto(kw.value, pk->mutable_value());
    }
    for (const Metadata::Entry& e : n->meta().entries()) {
      proto::MetaEntry* pe = pn->add_meta();
      pe->set_key(e.key.str());
      MetaValueToProto(e.value, pe->mutable_value());
    }
  }
  for (const StateTensor& t : module.tensors()) {
    proto::NamedTensor* pt = p.add_tensors();
    pt->set_name(t.name);
    pt->set_role(RoleToProto(t.role));
    pt->set_dtype(DtypeToProto(t.dtype));
    for (int64_t d : t.shape) pt->add_shape(d);
    pt->set_device(t.device.ToString());
    pt->set_requires_grad(t.requires_grad);
    pt->set_placeholder(t.placeholder);
    pt->set_data(t.data);
  }
  return p;
}

absl::StatusOr<Format> FormatFromPath(absl::string_view path) {
  if (absl::EndsWith(path, ".pbtxt")) return Format::kTextProto;
  if (absl::EndsWith(path, ".pb")) return Format::kBinaryProto;
  if (absl::EndsWith(path, ".txt") || absl::EndsWith(path, ".rwir")) {
    return Format::kText;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot tell the format of '", Printable(path),
      "': expected a .pb (binary), .pbtxt (text proto), .txt or .rwir "
      "(readable text form) file"));
}

absl::StatusOr<ExportedModule> LoadModuleFromBytes(absl::string_view bytes,
                                                   Format format,
                                                   const LoadOptions& options) {
  if (format == Format::kText) return LoadModuleFromText(bytes, options);
  proto::GraphModule p;
  RETURN_IF_ERROR(ParseProto(bytes, format, options, &p));
  return FromProtoImpl(p, &p, options);
}

absl::StatusOr<ExportedModule> LoadModuleFromFile(const std::string& path,
                                                  const LoadOptions& options) {
  ASSIGN_OR_RETURN(Format format, FormatFromPath(path));
  ASSIGN_OR_RETURN(std::string bytes,
                   ReadFileToString(path, ClampedInputLimit(options)));
  absl::StatusOr<ExportedModule> m = LoadModuleFromBytes(bytes, format, options);
  if (!m.ok()) return WithPath(path, m.status());
  return m;
}

absl::StatusOr<std::string> SerializeModule(const ExportedModule& module,
                                            Format format) {
  // Also for the text form, which could spell any byte: its loader refuses
  // what the protobuf forms cannot carry, so saving does too.
  RETURN_IF_ERROR(CheckStringsAreUtf8(module));
  if (format == Format::kText) return PrintGraph(module.graph());
  proto::GraphModule p = ModuleToProto(module);
  std::string out;
  if (format == Format::kBinaryProto) {
    const size_t size = p.ByteSizeLong();
    if (size > static_cast<size_t>(INT_MAX)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "module serializes to ", size,
          " bytes; protobuf messages are limited to 2 GiB"));
    }
    {
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      p.SerializeWithCachedSizes(&coded);
      if (coded.HadError()) {
        return absl::InternalError("protobuf serialization failed");
      }
    }
    return out;
  }
  google::protobuf::TextFormat::Printer printer;
  if (!printer.PrintToString(p, &out)) {
    return absl::InternalError("protobuf text serialization failed");
  }
  return out;
}

absl::Status SaveModuleToFile(const ExportedModule& module,
                              const std::string& path) {
  ASSIGN_OR_RETURN(Format format, FormatFromPath(path));
  ASSIGN_OR_RETURN(std::string bytes, SerializeModule(module, format));
  return WriteFileAtomic(path, bytes);
}

}  // namespace rewire
