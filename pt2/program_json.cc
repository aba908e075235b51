#include "pt2/program_json.h"
#include "pt2/serde_codes.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "ir/status_macros.h"

namespace rewire {
namespace pt2 {
namespace {

using json = nlohmann::json;

absl::Status Bad(absl::string_view where, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

absl::Status Unsupported(absl::string_view where, absl::string_view why) {
  return absl::UnimplementedError(absl::StrCat(where, ": ", why));
}

std::string Shown(absl::string_view s) { return absl::CHexEscape(s); }

absl::StatusOr<const json*> Member(const json& obj, const char* key,
                                   absl::string_view where) {
  if (!obj.is_object()) return Bad(where, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) return Bad(where, absl::StrCat("missing '", key, "'"));
  return &*it;
}

// nullptr when absent or null.
const json* Optional(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

absl::StatusOr<std::string> String(const json& v, absl::string_view where) {
  if (!v.is_string()) return Bad(where, "expected a string");
  return v.get<std::string>();
}

absl::StatusOr<int64_t> Int(const json& v, absl::string_view where) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Bad(where, "integer out of the int64 range");
    }
    return v.get<int64_t>();
  }
  return Bad(where, "expected an integer");
}

absl::StatusOr<bool> Bool(const json& v, absl::string_view where) {
  if (!v.is_boolean()) return Bad(where, "expected true or false");
  return v.get<bool>();
}

// torch writes the non-finite floats as the strings "Infinity", "-Infinity"
// and "NaN", since JSON has no literal for them.
absl::StatusOr<double> Float(const json& v, absl::string_view where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  }
  return Bad(where, "expected a number");
}

// The single (key, value) of a serialized union.
absl::StatusOr<std::pair<std::string, const json*>> UnionOf(
    const json& v, absl::string_view where) {
  if (!v.is_object() || v.size() != 1) {
    return Bad(where, "expected an object with exactly one member");
  }
  return std::make_pair(v.begin().key(), &v.begin().value());
}

absl::StatusOr<std::string> DeviceOf(const json& v, absl::string_view where) {
  ASSIGN_OR_RETURN(const json* type, Member(v, "type", where));
  ASSIGN_OR_RETURN(std::string t, String(*type, where));
  if (const json* index = Optional(v, "index"); index != nullptr) {
    ASSIGN_OR_RETURN(int64_t i, Int(*index, where));
    return absl::StrCat(t, ":", i);
  }
  return t;
}

// A SymInt of a size or stride: an integer, or a symbol's expression.
struct SymInt {
  bool is_int = true;
  int64_t value = 0;
  std::string expr;
};

absl::StatusOr<SymInt> SymIntOf(const json& v, absl::string_view where) {
  ASSIGN_OR_RETURN(auto u, UnionOf(v, where));
  if (u.first == "as_int") {
    ASSIGN_OR_RETURN(int64_t i, Int(*u.second, where));
    return SymInt{true, i, ""};
  }
  if (u.first == "as_expr") {
    ASSIGN_OR_RETURN(const json* e, Member(*u.second, "expr_str", where));
    ASSIGN_OR_RETURN(std::string s, String(*e, where));
    return SymInt{false, 0, std::move(s)};
  }
  return Bad(where, absl::StrCat("unknown SymInt kind '", Shown(u.first), "'"));
}

class Translator {
 public:
  Translator(const json& program, const StateBytesFn& state_bytes,
             int64_t max_state_bytes, absl::string_view what)
      : program_(program),
        state_bytes_(state_bytes),
        max_state_bytes_(max_state_bytes),
        what_(what) {}

  absl::StatusOr<proto::GraphModule> Run();

 private:
  absl::Status CheckVersion();
  absl::StatusOr<proto::TensorMeta> TensorMetaOf(const json& meta,
                                                 absl::string_view where);
  // "val" metadata of the tensor `name` (from tensor_values), if it has one.
  absl::Status AddVal(const std::string& name, proto::Node& node,
                      absl::string_view where);
  absl::Status Argument(const json& arg, proto::Argument* out,
                        absl::string_view where);
  absl::Status NodeRef(const json& tensor_arg, proto::Argument* out,
                       absl::string_view where);
  absl::Status Inputs(const json& signature);
  absl::Status CallNode(const json& node, size_t index);
  absl::Status Outputs(const json& graph, const json& signature);
  std::string FreshName(absl::string_view base);
  proto::Node* NewNode(std::string name, proto::OpKind op,
                       std::string target);

  const json& program_;
  const StateBytesFn& state_bytes_;
  const int64_t max_state_bytes_;
  int64_t state_bytes_so_far_ = 0;
  std::string what_;
  const json* tensor_values_ = nullptr;
  proto::GraphModule out_;
  absl::flat_hash_set<std::string> names_;
  int64_t fresh_ = 0;
};

absl::Status Translator::CheckVersion() {
  ASSIGN_OR_RETURN(const json* v, Member(program_, "schema_version", what_));
  ASSIGN_OR_RETURN(const json* major, Member(*v, "major", what_));
  ASSIGN_OR_RETURN(const json* minor, Member(*v, "minor", what_));
  ASSIGN_OR_RETURN(int64_t ma, Int(*major, what_));
  ASSIGN_OR_RETURN(int64_t mi, Int(*minor, what_));
  if (ma != kSchemaMajor) {
    return absl::FailedPreconditionError(absl::StrCat(
        what_, ": ExportedProgram schema version ", ma, ".", mi,
        "; rewire reads major version ", kSchemaMajor, " (known up to ",
        kSchemaMajor, ".", kSchemaMinorKnown, ")"));
  }
  return absl::OkStatus();
}

proto::Node* Translator::NewNode(std::string name, proto::OpKind op,
                                 std::string target) {
  names_.insert(name);
  proto::Node* n = out_.mutable_graph()->add_nodes();
  n->set_name(std::move(name));
  n->set_op(op);
  n->set_target(std::move(target));
  return n;
}

std::string Translator::FreshName(absl::string_view base) {
  std::string name(base);
  while (names_.contains(name)) name = absl::StrCat(base, "_", ++fresh_);
  return name;
}

absl::StatusOr<proto::TensorMeta> Translator::TensorMetaOf(
    const json& meta, absl::string_view where) {
  proto::TensorMeta t;
  ASSIGN_OR_RETURN(const json* dtype, Member(meta, "dtype", where));
  ASSIGN_OR_RETURN(int64_t code, Int(*dtype, where));
  ASSIGN_OR_RETURN(proto::Dtype d, DtypeFromCode(code, where));
  t.set_dtype(d);
  ASSIGN_OR_RETURN(const json* sizes, Member(meta, "sizes", where));
  if (!sizes->is_array()) return Bad(where, "'sizes' is not a list");
  for (const json& s : *sizes) {
    ASSIGN_OR_RETURN(SymInt dim, SymIntOf(s, where));
    proto::Dim* out = t.add_shape();
    if (dim.is_int) {
      out->set_size(dim.value);
    } else {
      out->set_symbol(dim.expr);
    }
  }
  if (const json* strides = Optional(meta, "strides"); strides != nullptr) {
    if (!strides->is_array()) return Bad(where, "'strides' is not a list");
    bool concrete = true;
    std::vector<int64_t> values;
    for (const json& s : *strides) {
      ASSIGN_OR_RETURN(SymInt st, SymIntOf(s, where));
      if (!st.is_int) concrete = false;
      values.push_back(st.value);
    }
    if (concrete) {
      t.set_has_strides(true);
      for (int64_t v : values) t.add_strides(v);
    }
  }
  if (const json* device = Optional(meta, "device"); device != nullptr) {
    ASSIGN_OR_RETURN(std::string dev, DeviceOf(*device, where));
    t.set_device(dev);
  }
  if (const json* rg = Optional(meta, "requires_grad"); rg != nullptr) {
    ASSIGN_OR_RETURN(bool b, Bool(*rg, where));
    t.set_requires_grad(b);
  }
  if (const json* layout = Optional(meta, "layout"); layout != nullptr) {
    ASSIGN_OR_RETURN(int64_t l, Int(*layout, where));
    if (l != 7) {
      return Unsupported(where, absl::StrCat("tensor layout ", l,
                                             " (only strided tensors)"));
    }
  }
  return t;
}

absl::Status Translator::AddVal(const std::string& name, proto::Node& node,
                                absl::string_view where) {
  auto it = tensor_values_->find(name);
  if (it == tensor_values_->end()) return absl::OkStatus();
  ASSIGN_OR_RETURN(proto::TensorMeta meta,
                   TensorMetaOf(*it, absl::StrCat(where, ": tensor_values['",
                                                  Shown(name), "']")));
  proto::MetaEntry* e = node.add_meta();
  e->set_key("val");
  *e->mutable_value()->mutable_tensor() = std::move(meta);
  return absl::OkStatus();
}

absl::Status Translator::NodeRef(const json& tensor_arg, proto::Argument* out,
                                 absl::string_view where) {
  ASSIGN_OR_RETURN(const json* name, Member(tensor_arg, "name", where));
  ASSIGN_OR_RETURN(std::string n, String(*name, where));
  out->set_node(std::move(n));
  return absl::OkStatus();
}

absl::Status Translator::Argument(const json& arg, proto::Argument* out,
                                  absl::string_view where) {
  ASSIGN_OR_RETURN(auto u, UnionOf(arg, where));
  const std::string& kind = u.first;
  const json& v = *u.second;
  auto list = [&](auto&& each) -> absl::Status {
    if (!v.is_array()) return Bad(where, absl::StrCat("'", kind, "' is not a list"));
    proto::ArgumentList* l = out->mutable_list();
    for (const json& item : v) RETURN_IF_ERROR(each(item, l->add_items()));
    return absl::OkStatus();
  };
  if (kind == "as_none") {
    out->mutable_none();
  } else if (kind == "as_tensor") {
    return NodeRef(v, out, where);
  } else if (kind == "as_tensors") {
    return list([&](const json& t, proto::Argument* a) {
      return NodeRef(t, a, where);
    });
  } else if (kind == "as_optional_tensors") {
    return list([&](const json& t, proto::Argument* a) -> absl::Status {
      ASSIGN_OR_RETURN(auto inner, UnionOf(t, where));
      if (inner.first == "as_none") {
        a->mutable_none();
        return absl::OkStatus();
      }
      if (inner.first != "as_tensor") {
        return Bad(where, "optional tensor is neither a tensor nor None");
      }
      return NodeRef(*inner.second, a, where);
    });
  } else if (kind == "as_optional_tensor") {
    ASSIGN_OR_RETURN(auto inner, UnionOf(v, where));
    if (inner.first == "as_none") {
      out->mutable_none();
    } else if (inner.first == "as_tensor") {
      return NodeRef(*inner.second, out, where);
    } else {
      return Bad(where, "optional tensor is neither a tensor nor None");
    }
  } else if (kind == "as_int") {
    ASSIGN_OR_RETURN(int64_t i, Int(v, where));
    out->set_int_value(i);
  } else if (kind == "as_ints") {
    return list([&](const json& x, proto::Argument* a) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t i, Int(x, where));
      a->set_int_value(i);
      return absl::OkStatus();
    });
  } else if (kind == "as_float") {
    ASSIGN_OR_RETURN(double d, Float(v, where));
    out->set_double_value(d);
  } else if (kind == "as_floats") {
    return list([&](const json& x, proto::Argument* a) -> absl::Status {
      ASSIGN_OR_RETURN(double d, Float(x, where));
      a->set_double_value(d);
      return absl::OkStatus();
    });
  } else if (kind == "as_bool") {
    ASSIGN_OR_RETURN(bool b, Bool(v, where));
    out->set_bool_value(b);
  } else if (kind == "as_bools") {
    return list([&](const json& x, proto::Argument* a) -> absl::Status {
      ASSIGN_OR_RETURN(bool b, Bool(x, where));
      a->set_bool_value(b);
      return absl::OkStatus();
    });
  } else if (kind == "as_string") {
    ASSIGN_OR_RETURN(std::string s, String(v, where));
    out->set_string_value(std::move(s));
  } else if (kind == "as_strings") {
    return list([&](const json& x, proto::Argument* a) -> absl::Status {
      ASSIGN_OR_RETURN(std::string s, String(x, where));
      a->set_string_value(std::move(s));
      return absl::OkStatus();
    });
  } else if (kind == "as_scalar_type") {
    ASSIGN_OR_RETURN(int64_t code, Int(v, where));
    ASSIGN_OR_RETURN(proto::Dtype d, DtypeFromCode(code, where));
    out->set_dtype(d);
  } else if (kind == "as_layout") {
    ASSIGN_OR_RETURN(int64_t code, Int(v, where));
    ASSIGN_OR_RETURN(proto::Layout l, LayoutFromCode(code, where));
    out->set_layout(l);
  } else if (kind == "as_memory_format") {
    ASSIGN_OR_RETURN(int64_t code, Int(v, where));
    ASSIGN_OR_RETURN(proto::MemoryFormat m, MemoryFormatFromCode(code, where));
    out->set_memory_format(m);
  } else if (kind == "as_device") {
    ASSIGN_OR_RETURN(std::string d, DeviceOf(v, where));
    out->set_device(std::move(d));
  } else if (kind == "as_sym_int" || kind == "as_sym_bool" ||
             kind == "as_sym_float") {
    // A concrete value, or the name of the node that computes it.
    ASSIGN_OR_RETURN(auto inner, UnionOf(v, where));
    if (inner.first == "as_name") return NodeRef(v, out, where);
    if (inner.first == "as_int") {
      ASSIGN_OR_RETURN(int64_t i, Int(*inner.second, where));
      out->set_int_value(i);
    } else if (inner.first == "as_bool") {
      ASSIGN_OR_RETURN(bool b, Bool(*inner.second, where));
      out->set_bool_value(b);
    } else if (inner.first == "as_float") {
      ASSIGN_OR_RETURN(double d, Float(*inner.second, where));
      out->set_double_value(d);
    } else {
      return Bad(where, absl::StrCat("unknown '", kind, "' member"));
    }
  } else if (kind == "as_sym_ints") {
    return list([&](const json& x, proto::Argument* a) -> absl::Status {
      return Argument(json{{"as_sym_int", x}}, a, where);
    });
  } else {
    return Unsupported(where, absl::StrCat("argument kind '", Shown(kind),
                                           "' has no rewire equivalent"));
  }
  return absl::OkStatus();
}

absl::Status Translator::Inputs(const json& signature) {
  ASSIGN_OR_RETURN(const json* specs, Member(signature, "input_specs", what_));
  if (!specs->is_array()) return Bad(what_, "'input_specs' is not a list");
  int64_t i = 0;
  for (const json& spec : *specs) {
    const std::string where = absl::StrCat(what_, ": input_specs[", i++, "]");
    ASSIGN_OR_RETURN(auto u, UnionOf(spec, where));
    const std::string& kind = u.first;
    const json& v = *u.second;
    ASSIGN_OR_RETURN(const json* arg, Member(v, "arg", where));
    std::string placeholder;
    if (kind == "user_input") {
      ASSIGN_OR_RETURN(auto a, UnionOf(*arg, where));
      if (a.first != "as_tensor") {
        return Unsupported(where, absl::StrCat("user input of kind '",
                                               Shown(a.first),
                                               "' (only tensors)"));
      }
      ASSIGN_OR_RETURN(const json* name, Member(*a.second, "name", where));
      ASSIGN_OR_RETURN(placeholder, String(*name, where));
    } else if (kind == "parameter" || kind == "buffer" ||
               kind == "tensor_constant") {
      ASSIGN_OR_RETURN(const json* name, Member(*arg, "name", where));
      ASSIGN_OR_RETURN(placeholder, String(*name, where));
    } else {
      return Unsupported(where, absl::StrCat("input of kind '", Shown(kind),
                                             "' has no rewire equivalent"));
    }
    if (names_.contains(placeholder)) {
      return Bad(where, absl::StrCat("placeholder '", Shown(placeholder),
                                     "' appears twice"));
    }
    proto::Node* n =
        NewNode(placeholder, proto::OP_KIND_PLACEHOLDER, placeholder);
    RETURN_IF_ERROR(AddVal(placeholder, *n, where));
    if (kind == "user_input") continue;

    const char* fqn_key = kind == "parameter" ? "parameter_name"
                          : kind == "buffer"  ? "buffer_name"
                                              : "tensor_constant_name";
    ASSIGN_OR_RETURN(const json* fqn_json, Member(v, fqn_key, where));
    ASSIGN_OR_RETURN(std::string fqn, String(*fqn_json, where));
    proto::NamedTensor* t = out_.add_tensors();
    t->set_name(fqn);
    t->set_role(kind == "parameter" ? proto::TENSOR_ROLE_PARAMETER
                : kind == "buffer"  ? proto::TENSOR_ROLE_BUFFER
                                    : proto::TENSOR_ROLE_CONSTANT);
    t->set_placeholder(placeholder);
    auto it = tensor_values_->find(placeholder);
    if (it == tensor_values_->end()) {
      return Bad(where, absl::StrCat("no tensor_values entry for '",
                                     Shown(placeholder), "'"));
    }
    ASSIGN_OR_RETURN(proto::TensorMeta meta, TensorMetaOf(*it, where));
    t->set_dtype(meta.dtype());
    for (const proto::Dim& d : meta.shape()) {
      if (!d.has_size()) {
        return Unsupported(where, absl::StrCat("state tensor '", Shown(fqn),
                                               "' has a symbolic size"));
      }
      t->add_shape(d.size());
    }
    t->set_device(meta.device().empty() ? "cpu" : meta.device());
    t->set_requires_grad(meta.requires_grad());
    int64_t size = ElementBytes(meta.dtype());
    for (int64_t d : t->shape()) {
      if (d < 0 || (d > 0 && size > max_state_bytes_ / d)) {
        size = -1;
        break;
      }
      size *= d;
    }
    if (size < 0 || size > max_state_bytes_ - state_bytes_so_far_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": state tensor '", Shown(fqn), "' takes the state over ",
          "the limit of ", max_state_bytes_, " bytes"));
    }
    state_bytes_so_far_ += size;
    ASSIGN_OR_RETURN(std::string bytes, state_bytes_(fqn, kind, size));
    if (static_cast<int64_t>(bytes.size()) != size) {
      return Bad(where, absl::StrCat("state tensor '", Shown(fqn), "' has ",
                                     bytes.size(), " bytes; its shape needs ",
                                     size));
    }
    t->set_data(std::move(bytes));
  }
  return absl::OkStatus();
}

absl::Status Translator::CallNode(const json& node, size_t index) {
  std::string where = absl::StrCat(what_, ": graph.nodes[", index, "]");
  ASSIGN_OR_RETURN(const json* target_json, Member(node, "target", where));
  ASSIGN_OR_RETURN(std::string target, String(*target_json, where));
  absl::string_view t = target;
  if (absl::StartsWith(t, "torch.ops.higher_order.")) {
    return Unsupported(where, absl::StrCat("higher-order op ", target,
                                           " (control flow or a wrapped "
                                           "subgraph)"));
  }
  if (!absl::ConsumePrefix(&t, "torch.ops.")) {
    return Unsupported(where, absl::StrCat("target '", Shown(target),
                                           "' is not an operator"));
  }
  std::string name;
  if (const json* n = Optional(node, "name"); n != nullptr) {
    ASSIGN_OR_RETURN(name, String(*n, where));
  }
  ASSIGN_OR_RETURN(const json* outputs, Member(node, "outputs", where));
  if (!outputs->is_array()) return Bad(where, "'outputs' is not a list");

  // One output tensor names the node; otherwise getitem nodes take the
  // output names, as FX has them.
  const json* single = nullptr;
  const json* list = nullptr;
  if (outputs->size() == 1) {
    ASSIGN_OR_RETURN(auto u, UnionOf((*outputs)[0], where));
    if (u.first == "as_tensor") {
      single = u.second;
    } else if (u.first == "as_tensors") {
      list = u.second;
    } else if (u.first == "as_sym_int" || u.first == "as_sym_float" ||
               u.first == "as_sym_bool") {
      ASSIGN_OR_RETURN(auto inner, UnionOf(*u.second, where));
      if (inner.first == "as_name") {
        ASSIGN_OR_RETURN(name, String(*inner.second, where));
      }
    } else if (u.first != "as_none") {
      return Unsupported(where, absl::StrCat("output of kind '",
                                             Shown(u.first), "'"));
    }
  } else if (outputs->size() > 1) {
    list = outputs;
  }
  if (single != nullptr) {
    ASSIGN_OR_RETURN(const json* n, Member(*single, "name", where));
    ASSIGN_OR_RETURN(name, String(*n, where));
  }
  if (name.empty()) {
    // "aten.foo.default" -> "foo", as FX would name the node.
    absl::string_view op = t.substr(t.find('.') + 1);
    name = FreshName(op.substr(0, op.find('.')));
  }
  if (names_.contains(name)) {
    return Bad(where, absl::StrCat("node name '", Shown(name),
                                   "' is defined twice"));
  }
  where = absl::StrCat(where, " (", Shown(name), ")");
  proto::Node* out = NewNode(name, proto::OP_KIND_CALL_FUNCTION, std::string(t));

  ASSIGN_OR_RETURN(const json* inputs, Member(node, "inputs", where));
  if (!inputs->is_array()) return Bad(where, "'inputs' is not a list");
  for (const json& input : *inputs) {
    ASSIGN_OR_RETURN(const json* arg_name, Member(input, "name", where));
    ASSIGN_OR_RETURN(std::string arg, String(*arg_name, where));
    ASSIGN_OR_RETURN(const json* value, Member(input, "arg", where));
    int64_t kind = 1;
    if (const json* k = Optional(input, "kind"); k != nullptr) {
      ASSIGN_OR_RETURN(kind, Int(*k, where));
    }
    const std::string arg_where = absl::StrCat(where, ", argument '", arg, "'");
    if (kind == 2) {
      proto::Kwarg* kw = out->add_kwargs();
      kw->set_name(arg);
      RETURN_IF_ERROR(Argument(*value, kw->mutable_value(), arg_where));
    } else {
      if (out->kwargs_size() > 0) {
        return Bad(arg_where, "a positional argument after a keyword one");
      }
      RETURN_IF_ERROR(Argument(*value, out->add_args(), arg_where));
    }
  }
  json getitem_meta;
  if (const json* meta = Optional(node, "metadata"); meta != nullptr) {
    if (!meta->is_object()) return Bad(where, "'metadata' is not an object");
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it->is_string()) continue;  // rewire keeps string metadata only
      if (it.key() == kGetitemMetadataKey) {
        ASSIGN_OR_RETURN(getitem_meta,
                         ParseJson(it->get_ref<const std::string&>(),
                                   absl::StrCat(where, ": ", it.key())));
        if (!getitem_meta.is_object()) {
          return Bad(where, absl::StrCat(it.key(), " is not an object"));
        }
        continue;
      }
      proto::MetaEntry* e = out->add_meta();
      e->set_key(it.key());
      e->mutable_value()->set_string_value(it->get<std::string>());
    }
  }
  if (single != nullptr) return AddVal(name, *out, where);
  if (list == nullptr) return absl::OkStatus();

  // A tuple "val" and a getitem per output read in the graph.
  proto::MetaEntry* val = out->add_meta();
  val->set_key("val");
  proto::TensorMetaList* items = val->mutable_value()->mutable_tensor_list();
  std::vector<std::pair<std::string, int64_t>> getitems;
  int64_t i = 0;
  for (const json& o : *list) {
    const int64_t index_in_tuple = i++;
    proto::OptionalTensorMeta* item = items->add_items();
    const json* tensor = &o;
    if (list == outputs) {
      ASSIGN_OR_RETURN(auto u, UnionOf(o, where));
      if (u.first == "as_none") continue;
      if (u.first != "as_tensor") {
        return Unsupported(where, absl::StrCat("output ", index_in_tuple,
                                               " of kind '", Shown(u.first),
                                               "'"));
      }
      tensor = u.second;
    }
    ASSIGN_OR_RETURN(const json* n, Member(*tensor, "name", where));
    ASSIGN_OR_RETURN(std::string out_name, String(*n, where));
    auto tv = tensor_values_->find(out_name);
    if (tv != tensor_values_->end()) {
      ASSIGN_OR_RETURN(*item->mutable_tensor(), TensorMetaOf(*tv, where));
    }
    if (absl::StartsWith(out_name, absl::StrCat(name, "_unused_"))) continue;
    getitems.emplace_back(std::move(out_name), index_in_tuple);
  }
  for (auto& [getitem_name, index_in_tuple] : getitems) {
    if (names_.contains(getitem_name)) {
      return Bad(where, absl::StrCat("output name '", Shown(getitem_name),
                                     "' is defined twice"));
    }
    proto::Node* g =
        NewNode(getitem_name, proto::OP_KIND_CALL_FUNCTION, "getitem");
    g->add_args()->set_node(name);
    g->add_args()->set_int_value(index_in_tuple);
    RETURN_IF_ERROR(AddVal(getitem_name, *g, where));
    auto meta = getitem_meta.find(absl::StrCat(index_in_tuple));
    if (meta == getitem_meta.end()) continue;
    if (!meta->is_object()) {
      return Bad(where, absl::StrCat(kGetitemMetadataKey, " entry ",
                                     index_in_tuple, " is not an object"));
    }
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it->is_string()) continue;
      proto::MetaEntry* e = g->add_meta();
      e->set_key(it.key());
      e->mutable_value()->set_string_value(it->get<std::string>());
    }
  }
  return absl::OkStatus();
}

absl::Status Translator::Outputs(const json& graph, const json& signature) {
  ASSIGN_OR_RETURN(const json* specs,
                   Member(signature, "output_specs", what_));
  if (!specs->is_array()) return Bad(what_, "'output_specs' is not a list");
  // The placeholder each state FQN and user input feeds, for mutations.
  absl::flat_hash_map<std::string, std::string> placeholder_of;
  for (const proto::NamedTensor& t : out_.tensors()) {
    placeholder_of[t.name()] = t.placeholder();
  }
  std::vector<proto::Argument> results;
  int64_t i = 0;
  for (const json& spec : *specs) {
    const std::string where = absl::StrCat(what_, ": output_specs[", i++, "]");
    ASSIGN_OR_RETURN(auto u, UnionOf(spec, where));
    const std::string& kind = u.first;
    const json& v = *u.second;
    ASSIGN_OR_RETURN(const json* arg, Member(v, "arg", where));
    if (kind == "user_output" || kind == "loss_output") {
      proto::Argument a;
      if (kind == "loss_output") {
        RETURN_IF_ERROR(NodeRef(*arg, &a, where));
      } else {
        RETURN_IF_ERROR(Argument(*arg, &a, where));
      }
      results.push_back(std::move(a));
      continue;
    }
    const char* target_key = kind == "buffer_mutation"      ? "buffer_name"
                             : kind == "parameter_mutation" ? "parameter_name"
                             : kind == "user_input_mutation"
                                 ? "user_input_name"
                                 : nullptr;
    if (target_key == nullptr) {
      return Unsupported(where, absl::StrCat("output of kind '", Shown(kind),
                                             "' has no rewire equivalent"));
    }
    ASSIGN_OR_RETURN(const json* target_json, Member(v, target_key, where));
    ASSIGN_OR_RETURN(std::string target, String(*target_json, where));
    std::string destination = target;  // a user input is its placeholder
    if (kind != "user_input_mutation") {
      auto it = placeholder_of.find(target);
      if (it == placeholder_of.end()) {
        return Bad(where, absl::StrCat("mutates '", Shown(target),
                                       "', which no input spec names"));
      }
      destination = it->second;
    }
    // Named after what it writes, so that the name is the same whichever
    // other mutations the program has (a save after eval drops some).
    proto::Node* copy =
        NewNode(FreshName(absl::StrCat("copy_", destination)),
                proto::OP_KIND_CALL_FUNCTION, "aten.copy_.default");
    copy->add_args()->set_node(destination);
    RETURN_IF_ERROR(NodeRef(*arg, copy->add_args(), where));
  }
  ASSIGN_OR_RETURN(const json* graph_outputs, Member(graph, "outputs", what_));
  if (!graph_outputs->is_array() || graph_outputs->size() != specs->size()) {
    return Bad(what_, "graph outputs and output_specs differ in number");
  }
  proto::Node* output =
      NewNode(FreshName("output"), proto::OP_KIND_OUTPUT, "output");
  for (proto::Argument& a : results) *output->add_args() = std::move(a);
  return absl::OkStatus();
}

absl::StatusOr<proto::GraphModule> Translator::Run() {
  RETURN_IF_ERROR(CheckVersion());
  ASSIGN_OR_RETURN(const json* gm, Member(program_, "graph_module", what_));
  ASSIGN_OR_RETURN(const json* graph, Member(*gm, "graph", what_));
  ASSIGN_OR_RETURN(const json* signature, Member(*gm, "signature", what_));
  ASSIGN_OR_RETURN(tensor_values_, Member(*graph, "tensor_values", what_));
  if (!tensor_values_->is_object()) {
    return Bad(what_, "'tensor_values' is not an object");
  }
  out_.set_ir_version(1);
  out_.set_producer("torch.export .pt2");
  RETURN_IF_ERROR(Inputs(*signature));
  ASSIGN_OR_RETURN(const json* nodes, Member(*graph, "nodes", what_));
  if (!nodes->is_array()) return Bad(what_, "'nodes' is not a list");
  for (size_t i = 0; i < nodes->size(); ++i) {
    RETURN_IF_ERROR(CallNode((*nodes)[i], i));
  }
  RETURN_IF_ERROR(Outputs(*graph, *signature));
  return std::move(out_);
}

// The deepest nesting of arrays and objects in `text`, stopping as soon as
// it passes `limit`. A linear scan that only tracks strings (where brackets
// are text) and their escapes; the parser proper judges everything else.
// Checked before parsing rather than in a parse callback: nlohmann's
// callback parser walks the parent object at every closing brace, which
// made a program's 10^5-entry tensor_values quadratic.
int JsonDepth(absl::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest && (deepest = depth) > limit) return deepest;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         absl::string_view what) {
  if (JsonDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": JSON nested deeper than ", kMaxJsonDepth, " levels"));
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not valid JSON (", e.what(), ")"));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": out of memory parsing JSON"));
  }
}

absl::StatusOr<proto::GraphModule> ProgramToProto(
    const nlohmann::json& program, const StateBytesFn& state_bytes,
    int64_t max_state_bytes, absl::string_view what) {
  try {
    Translator t(program, state_bytes, max_state_bytes, what);
    return t.Run();
  } catch (const json::exception& e) {
    // A type nlohmann refuses to convert (checked above, so not expected).
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace pt2
}  // namespace rewire
