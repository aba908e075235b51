// rewire's protobuf IR back to a serialized ExportedProgram: the inverse of
// program_json.cc's translation, keeping from the original program (when
// the module came from a .pt2) every field the IR does not model.
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
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "pt2/program_json.h"
#include "pt2/serde_codes.h"

namespace rewire {
namespace pt2 {
namespace {

using json = nlohmann::json;

absl::Status Unsupported(absl::string_view where, absl::string_view why) {
  return absl::UnimplementedError(absl::StrCat(where, ": ", why));
}

json DeviceJson(absl::string_view device) {
  if (device.empty()) device = "cpu";
  const size_t colon = device.find(':');
  json d = json::object();
  d["type"] = std::string(device.substr(0, colon));
  int64_t index = 0;
  if (colon != absl::string_view::npos &&
      absl::SimpleAtoi(device.substr(colon + 1), &index)) {
    d["index"] = index;
  } else {
    d["index"] = nullptr;
  }
  return d;
}

json FloatJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

json SymIntJson(const proto::Dim& d) {
  if (d.has_size()) return json{{"as_int", d.size()}};
  return json{{"as_expr", json{{"expr_str", d.symbol()}, {"hint", nullptr}}}};
}

// A product of sizes as a SymInt: an integer when every factor is one, else
// a sympy-readable product ("4*s0").
json ProductJson(int64_t constant, const std::vector<std::string>& symbols) {
  if (symbols.empty()) return json{{"as_int", constant}};
  std::vector<std::string> factors;
  if (constant != 1) factors.push_back(absl::StrCat(constant));
  for (const std::string& s : symbols) factors.push_back(s);
  return json{{"as_expr", json{{"expr_str", absl::StrJoin(factors, "*")},
                               {"hint", nullptr}}}};
}

json TensorMetaJson(const proto::TensorMeta& t) {
  json sizes = json::array();
  for (const proto::Dim& d : t.shape()) sizes.push_back(SymIntJson(d));
  json strides = json::array();
  if (t.has_strides()) {
    for (int64_t s : t.strides()) strides.push_back(json{{"as_int", s}});
  } else {
    // Contiguous strides, symbolic where a later size is.
    std::vector<json> rev;
    int64_t constant = 1;
    std::vector<std::string> symbols;
    for (int i = t.shape_size() - 1; i >= 0; --i) {
      rev.push_back(ProductJson(constant, symbols));
      const proto::Dim& d = t.shape(i);
      if (d.has_size()) {
        constant *= d.size();
      } else {
        symbols.insert(symbols.begin(), d.symbol());
      }
    }
    for (auto it = rev.rbegin(); it != rev.rend(); ++it) strides.push_back(*it);
  }
  json meta = json::object();
  meta["dtype"] = DtypeCode(t.dtype());
  meta["sizes"] = std::move(sizes);
  meta["requires_grad"] = t.requires_grad();
  meta["device"] = DeviceJson(t.device());
  meta["strides"] = std::move(strides);
  meta["storage_offset"] = json{{"as_int", 0}};
  meta["layout"] = 7;
  return meta;
}

const proto::MetaValue* Val(const proto::Node& n) {
  for (const proto::MetaEntry& e : n.meta()) {
    if (e.key() == "val") return &e.value();
  }
  return nullptr;
}

// "aten.add.Tensor" for an in-place "aten.add_.Tensor" (other than copy_,
// which the mutation outputs cover); "" for any other node.
std::string FunctionalTarget(const proto::Node& n) {
  if (n.op() != proto::OP_KIND_CALL_FUNCTION) return "";
  const std::string& t = n.target();
  const size_t first = t.find('.');
  const size_t second = first == std::string::npos ? std::string::npos
                                                    : t.find('.', first + 1);
  if (second == std::string::npos || second < first + 3 || t[second - 1] != '_' ||
      t[second - 2] == '_') {
    return "";
  }
  const std::string op = t.substr(first + 1, second - first - 1);
  if (op == "copy_") return "";
  return absl::StrCat(t.substr(0, second - 1), t.substr(second));
}

bool IsGetitem(const proto::Node& n) {
  return n.op() == proto::OP_KIND_CALL_FUNCTION && n.target() == "getitem";
}

class Writer {
 public:
  Writer(const proto::GraphModule& module, const OriginalProgram& original,
         absl::string_view what)
      : module_(module), original_(original), what_(what) {}

  absl::StatusOr<ProgramFiles> Run();

 private:
  void Index();
  absl::StatusOr<json> ArgumentJson(const proto::Argument& a,
                                    const SchemaType* type,
                                    absl::string_view where);
  absl::StatusOr<json> NodeJson(const proto::Node& n);
  absl::StatusOr<json> OutputsJson(const proto::Node& n, const OpSchema* schema,
                                   absl::string_view where);
  void AddTensorValue(const std::string& name, const proto::TensorMeta& meta);
  absl::Status Signature(json& graph, json& signature);
  json RootCallGraph() const;
  absl::Status Payloads(ProgramFiles& files);

  // The original program's node of this name, or nullptr.
  const json* OriginalNode(const std::string& name) const {
    auto it = original_nodes_.find(name);
    return it == original_nodes_.end() ? nullptr : it->second;
  }

  const proto::GraphModule& module_;
  const OriginalProgram& original_;
  std::string what_;
  absl::flat_hash_map<std::string, const proto::Node*> by_name_;
  // For each multi-output node, its getitem users by index.
  absl::flat_hash_map<std::string, absl::flat_hash_map<int64_t, std::string>>
      getitems_;
  absl::flat_hash_map<std::string, int64_t> uses_;
  absl::flat_hash_map<std::string, const proto::NamedTensor*> state_of_;
  absl::flat_hash_map<std::string, const json*> original_nodes_;
  // Trailing copy_ nodes into state or inputs: mutation outputs.
  absl::flat_hash_set<std::string> mutations_;
  // For a functional verifier: in-place ops on a placeholder nothing reads
  // afterwards (a counter update `add_(num_batches_tracked, 1)` a rewrite
  // put into a core ATen program), by node name: their functional op,
  // written with a mutation output, as functional programs spell them.
  absl::flat_hash_map<std::string, std::string> inplace_;
  // Whether the program's verifier wants every op functional (not the
  // training IR's), so in-place ops are rewritten or refused.
  bool functional_ = true;
  json tensor_values_ = json::object();
};

void Writer::Index() {
  for (const proto::Node& n : module_.graph().nodes()) {
    by_name_[n.name()] = &n;
    auto count = [&](const proto::Argument& a, auto&& self) -> void {
      if (a.has_node()) ++uses_[a.node()];
      if (a.has_list()) {
        for (const proto::Argument& i : a.list().items()) self(i, self);
      }
    };
    for (const proto::Argument& a : n.args()) count(a, count);
    for (const proto::Kwarg& k : n.kwargs()) count(k.value(), count);
    if (IsGetitem(n) && n.args_size() == 2 && n.args(0).has_node() &&
        n.args(1).has_int_value()) {
      getitems_[n.args(0).node()][n.args(1).int_value()] = n.name();
    }
  }
  for (const proto::NamedTensor& t : module_.tensors()) {
    state_of_[t.placeholder()] = &t;
  }
  if (original_.program != nullptr) {
    const json* nodes = &(*original_.program)["graph_module"]["graph"]["nodes"];
    if (nodes->is_array()) {
      for (const json& n : *nodes) {
        auto name = n.find("name");
        if (name != n.end() && name->is_string()) {
          original_nodes_[name->get<std::string>()] = &n;
        }
      }
    }
  }
  // copy_(placeholder, value) that nothing reads, and after which nothing
  // reads the placeholder: a mutation output of the functional dialects
  // (torch applies those after the graph, so a copy_ with later readers of
  // its destination must stay a node).
  const auto& nodes = module_.graph().nodes();
  absl::flat_hash_map<std::string, int> last_read;
  for (int i = 0; i < nodes.size(); ++i) {
    auto note = [&](const proto::Argument& a, auto&& self) -> void {
      if (a.has_node()) last_read[a.node()] = i;
      if (a.has_list()) {
        for (const proto::Argument& x : a.list().items()) self(x, self);
      }
    };
    const proto::Node& n = nodes[i];
    const bool copy = n.target() == "aten.copy_.default" && n.args_size() == 2;
    for (int j = copy ? 1 : 0; j < n.args_size(); ++j) note(n.args(j), note);
    for (const proto::Kwarg& k : n.kwargs()) note(k.value(), note);
  }
  for (int i = 0; i < nodes.size(); ++i) {
    const proto::Node& n = nodes[i];
    if (n.target() != "aten.copy_.default" || n.args_size() != 2 ||
        !n.args(0).has_node() || !n.args(1).has_node() ||
        uses_[n.name()] != 0) {
      continue;
    }
    auto dest = by_name_.find(n.args(0).node());
    if (dest == by_name_.end() ||
        dest->second->op() != proto::OP_KIND_PLACEHOLDER) {
      continue;
    }
    auto read = last_read.find(n.args(0).node());
    if (read != last_read.end() && read->second > i) continue;
    mutations_.insert(n.name());
  }
  if (!functional_) return;
  absl::flat_hash_set<std::string> mutated;
  for (const std::string& m : mutations_) mutated.insert(by_name_.at(m)->args(0).node());
  for (int i = 0; i < nodes.size(); ++i) {
    const proto::Node& n = nodes[i];
    const std::string functional = FunctionalTarget(n);
    if (functional.empty() || n.args_size() == 0 || !n.args(0).has_node() ||
        SchemaRegistry::Global().Find(functional) == nullptr) {
      continue;
    }
    const std::string& dest = n.args(0).node();
    auto def = by_name_.find(dest);
    if (def == by_name_.end() ||
        def->second->op() != proto::OP_KIND_PLACEHOLDER ||
        mutated.contains(dest)) {
      continue;
    }
    // The node's own read of its destination is the last one allowed.
    auto read = last_read.find(dest);
    if (read != last_read.end() && read->second > i) continue;
    mutated.insert(dest);
    inplace_[n.name()] = functional;
  }
}

void Writer::AddTensorValue(const std::string& name,
                            const proto::TensorMeta& meta) {
  tensor_values_[name] = TensorMetaJson(meta);
}

absl::StatusOr<json> Writer::ArgumentJson(const proto::Argument& a,
                                          const SchemaType* type,
                                          absl::string_view where) {
  using Base = SchemaType::Base;
  if (a.has_none()) return json{{"as_none", true}};
  if (a.has_node()) {
    auto it = by_name_.find(a.node());
    const proto::MetaValue* val =
        it == by_name_.end() ? nullptr : Val(*it->second);
    if (val != nullptr && (val->has_int_value() || val->has_bool_value() ||
                           val->has_double_value())) {
      const char* kind = val->has_int_value()    ? "as_sym_int"
                         : val->has_bool_value() ? "as_sym_bool"
                                                 : "as_sym_float";
      return json{{kind, json{{"as_name", a.node()}}}};
    }
    // Optional tensors too: torch writes them as plain tensors or None.
    return json{{"as_tensor", json{{"name", a.node()}}}};
  }
  if (a.has_bool_value()) return json{{"as_bool", a.bool_value()}};
  if (a.has_int_value()) {
    if (type != nullptr && type->base == Base::kFloat && !type->is_list) {
      return json{{"as_float", FloatJson(static_cast<double>(a.int_value()))}};
    }
    if (type != nullptr && type->base == Base::kBool && !type->is_list) {
      return json{{"as_bool", a.int_value() != 0}};
    }
    return json{{"as_int", a.int_value()}};
  }
  if (a.has_double_value()) return json{{"as_float", FloatJson(a.double_value())}};
  if (a.has_string_value()) return json{{"as_string", a.string_value()}};
  if (a.has_dtype()) return json{{"as_scalar_type", DtypeCode(a.dtype())}};
  if (a.has_device()) return json{{"as_device", DeviceJson(a.device())}};
  if (a.has_layout()) return json{{"as_layout", LayoutCode(a.layout())}};
  if (a.has_memory_format()) {
    return json{{"as_memory_format", MemoryFormatCode(a.memory_format())}};
  }
  if (!a.has_list()) return Unsupported(where, "an empty argument");
  const auto& items = a.list().items();
  bool nodes = false, nones = false, ints = false, floats = false,
       bools = false, strings = false;
  for (const proto::Argument& i : items) {
    nodes |= i.has_node();
    nones |= i.has_none();
    ints |= i.has_int_value();
    floats |= i.has_double_value();
    bools |= i.has_bool_value();
    strings |= i.has_string_value();
    if (i.has_list()) return Unsupported(where, "a list of lists");
  }
  const bool tensor_list = type != nullptr && type->base == Base::kTensor;
  json out = json::array();
  if (nodes && !ints && (tensor_list || type == nullptr)) {
    if (nones || (type != nullptr && type->element_optional)) {
      for (const proto::Argument& i : items) {
        out.push_back(i.has_none()
                          ? json{{"as_none", true}}
                          : json{{"as_tensor", json{{"name", i.node()}}}});
      }
      return json{{"as_optional_tensors", std::move(out)}};
    }
    for (const proto::Argument& i : items) out.push_back(json{{"name", i.node()}});
    return json{{"as_tensors", std::move(out)}};
  }
  if (nodes) {  // symbolic ints among concrete ones
    for (const proto::Argument& i : items) {
      out.push_back(i.has_node() ? json{{"as_name", i.node()}}
                                 : json{{"as_int", i.int_value()}});
    }
    return json{{"as_sym_ints", std::move(out)}};
  }
  if (items.empty()) {
    if (tensor_list) return json{{"as_tensors", json::array()}};
    if (type != nullptr && type->base == Base::kFloat) {
      return json{{"as_floats", json::array()}};
    }
    if (type != nullptr && type->base == Base::kBool) {
      return json{{"as_bools", json::array()}};
    }
    return json{{"as_ints", json::array()}};
  }
  if (strings) {
    for (const proto::Argument& i : items) out.push_back(i.string_value());
    return json{{"as_strings", std::move(out)}};
  }
  if (floats || (type != nullptr && type->base == Base::kFloat)) {
    for (const proto::Argument& i : items) {
      out.push_back(FloatJson(i.has_double_value()
                                  ? i.double_value()
                                  : static_cast<double>(i.int_value())));
    }
    return json{{"as_floats", std::move(out)}};
  }
  if (bools && !ints) {
    for (const proto::Argument& i : items) out.push_back(i.bool_value());
    return json{{"as_bools", std::move(out)}};
  }
  for (const proto::Argument& i : items) {
    out.push_back(i.has_bool_value() ? int64_t{i.bool_value()} : i.int_value());
  }
  return json{{"as_ints", std::move(out)}};
}

absl::StatusOr<json> Writer::OutputsJson(const proto::Node& n,
                                         const OpSchema* schema,
                                         absl::string_view where) {
  const proto::MetaValue* val = Val(n);
  auto getitems = getitems_.find(n.name());
  const bool multi = (val != nullptr && val->has_tensor_list()) ||
                     getitems != getitems_.end();
  if (!multi) {
    if (val != nullptr && val->has_int_value()) {
      return json::array({json{{"as_sym_int", json{{"as_name", n.name()}}}}});
    }
    if (schema != nullptr && schema->returns.empty()) return json::array();
    if (val != nullptr && val->has_tensor()) {
      AddTensorValue(n.name(), val->tensor());
    }
    return json::array({json{{"as_tensor", json{{"name", n.name()}}}}});
  }
  int64_t count = val != nullptr && val->has_tensor_list()
                      ? val->tensor_list().items_size()
                      : 0;
  if (getitems != getitems_.end()) {
    for (const auto& [index, name] : getitems->second) {
      count = std::max(count, index + 1);
    }
  }
  std::vector<json> tensors;
  for (int64_t i = 0; i < count; ++i) {
    std::string name = absl::StrCat(n.name(), "_unused_", i);
    if (getitems != getitems_.end()) {
      auto it = getitems->second.find(i);
      if (it != getitems->second.end()) name = it->second;
    }
    if (val != nullptr && val->has_tensor_list() &&
        i < val->tensor_list().items_size() &&
        val->tensor_list().items(i).has_tensor()) {
      AddTensorValue(name, val->tensor_list().items(i).tensor());
    }
    tensors.push_back(json{{"name", std::move(name)}});
  }
  // "-> Tensor[]" is one list output; a tuple is one output per element.
  const bool one_list = schema != nullptr && schema->returns.size() == 1 &&
                        schema->returns[0].type.is_list;
  if (one_list) return json::array({json{{"as_tensors", std::move(tensors)}}});
  json out = json::array();
  for (json& t : tensors) out.push_back(json{{"as_tensor", std::move(t)}});
  return out;
}

absl::StatusOr<json> Writer::NodeJson(const proto::Node& n) {
  const std::string where = absl::StrCat(what_, ": node %", n.name());
  auto inplace = inplace_.find(n.name());
  const std::string& target =
      inplace == inplace_.end() ? n.target() : inplace->second;
  const OpSchema* schema = SchemaRegistry::Global().Find(target);
  const json* original = OriginalNode(n.name());
  json inputs = json::array();
  if (schema != nullptr) {
    // By the schema: positional arguments first, keywords by name; torch's
    // deserializer matches inputs to the schema by name.
    absl::flat_hash_map<std::string, const proto::Argument*> kwargs;
    for (const proto::Kwarg& k : n.kwargs()) kwargs[k.name()] = &k.value();
    for (size_t i = 0; i < schema->arguments.size(); ++i) {
      const SchemaArgument& s = schema->arguments[i];
      const proto::Argument* value = nullptr;
      if (auto it = kwargs.find(s.name); it != kwargs.end()) {
        value = it->second;
        kwargs.erase(it);
      } else if (!s.kwarg_only && static_cast<int>(i) < n.args_size()) {
        value = &n.args(static_cast<int>(i));
      }
      if (value == nullptr) continue;
      ASSIGN_OR_RETURN(json arg, ArgumentJson(*value, &s.type,
                                              absl::StrCat(where, ", argument '",
                                                           s.name, "'")));
      inputs.push_back(json{{"name", s.name},
                            {"arg", std::move(arg)},
                            {"kind", s.kwarg_only ? 2 : 1}});
    }
    if (!kwargs.empty() ||
        n.args_size() > static_cast<int>(schema->arguments.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": arguments do not fit ", schema->text));
    }
  } else if (original != nullptr && original->contains("inputs") &&
             (*original)["inputs"].is_array()) {
    // No schema here: the names the original program gave, by position.
    const json& names = (*original)["inputs"];
    int positional = 0;
    for (const json& in : names) {
      const std::string name = in.value("name", "");
      const int64_t kind = in.value("kind", 1);
      const proto::Argument* value = nullptr;
      if (kind == 2) {
        for (const proto::Kwarg& k : n.kwargs()) {
          if (k.name() == name) value = &k.value();
        }
      } else if (positional < n.args_size()) {
        value = &n.args(positional++);
      }
      if (value == nullptr) continue;
      ASSIGN_OR_RETURN(json arg, ArgumentJson(*value, nullptr, where));
      inputs.push_back(json{{"name", name}, {"arg", std::move(arg)}, {"kind", kind}});
    }
    if (positional != n.args_size()) {
      return Unsupported(where, "arguments beyond the original program's");
    }
  } else {
    return Unsupported(where, absl::StrCat("no schema for ", target,
                                           " to name its arguments"));
  }
  ASSIGN_OR_RETURN(json outputs, OutputsJson(n, schema, where));
  json metadata = json::object();
  for (const proto::MetaEntry& e : n.meta()) {
    if (e.value().has_string_value()) metadata[e.key()] = e.value().string_value();
  }
  if (auto g = getitems_.find(n.name()); g != getitems_.end()) {
    json per_index = json::object();
    for (const auto& [index, name] : g->second) {
      json entries = json::object();
      for (const proto::MetaEntry& e : by_name_.at(name)->meta()) {
        if (e.value().has_string_value()) {
          entries[e.key()] = e.value().string_value();
        }
      }
      if (!entries.empty()) per_index[absl::StrCat(index)] = std::move(entries);
    }
    if (!per_index.empty()) metadata[kGetitemMetadataKey] = per_index.dump();
  }
  json node = json::object();
  node["target"] = absl::StrCat("torch.ops.", target);
  node["inputs"] = std::move(inputs);
  node["outputs"] = std::move(outputs);
  node["metadata"] = std::move(metadata);
  node["is_hop_single_tensor_return"] = nullptr;
  node["name"] = n.name();
  return node;
}

// For a module that did not come from a .pt2: the root entry torch's
// ExportedProgram.module() needs to rebuild a callable, with the calling
// convention of a graph module: forward(*user_inputs) returning the output
// node's value (a tuple when it returns a list or several values). Tree
// specs are pytree's JSON, protocol 1.
json Writer::RootCallGraph() const {
  const json leaf = json{{"type", nullptr}, {"context", nullptr},
                         {"children_spec", json::array()}};
  auto tuple_of = [&](size_t n) {
    json children = json::array();
    for (size_t i = 0; i < n; ++i) children.push_back(leaf);
    return json{{"type", "builtins.tuple"}, {"context", "null"},
                {"children_spec", std::move(children)}};
  };
  json arg_names = json::array();
  for (const proto::Node& n : module_.graph().nodes()) {
    if (n.op() == proto::OP_KIND_PLACEHOLDER && !state_of_.contains(n.name())) {
      arg_names.push_back(n.name());
    }
  }
  const json dict = json{{"type", "builtins.dict"}, {"context", "[]"},
                         {"children_spec", json::array()}};
  const json in_spec = json{{"type", "builtins.tuple"}, {"context", "null"},
                            {"children_spec", json{tuple_of(arg_names.size()), dict}}};
  const proto::Node& out = module_.graph().nodes(module_.graph().nodes_size() - 1);
  json out_spec = leaf;
  if (out.args_size() == 1 && out.args(0).has_list()) {
    out_spec = tuple_of(static_cast<size_t>(out.args(0).list().items_size()));
  } else if (out.args_size() != 1) {
    out_spec = tuple_of(static_cast<size_t>(out.args_size()));
  }
  json signature = json{{"inputs", json::array()},
                        {"outputs", json::array()},
                        {"in_spec", json::array({1, in_spec}).dump()},
                        {"out_spec", json::array({1, out_spec}).dump()},
                        {"forward_arg_names", std::move(arg_names)}};
  return json::array({json{{"fqn", ""}, {"signature", std::move(signature)}}});
}

absl::Status Writer::Signature(json& graph, json& signature) {
  // Persistence of buffers as the original program had it.
  absl::flat_hash_map<std::string, bool> persistent;
  if (original_.program != nullptr) {
    const json& specs =
        (*original_.program)["graph_module"]["signature"]["input_specs"];
    if (specs.is_array()) {
      for (const json& s : specs) {
        if (!s.contains("buffer")) continue;
        const json& b = s["buffer"];
        persistent[b.value("buffer_name", "")] = b.value("persistent", true);
      }
    }
  }
  json inputs = json::array();
  json input_specs = json::array();
  json outputs = json::array();
  json output_specs = json::array();
  for (const proto::Node& n : module_.graph().nodes()) {
    if (n.op() == proto::OP_KIND_PLACEHOLDER) {
      inputs.push_back(json{{"as_tensor", json{{"name", n.name()}}}});
      if (const proto::MetaValue* v = Val(n); v != nullptr && v->has_tensor()) {
        AddTensorValue(n.name(), v->tensor());
      }
      auto state = state_of_.find(n.name());
      const json arg = json{{"name", n.name()}};
      if (state == state_of_.end()) {
        input_specs.push_back(
            json{{"user_input", json{{"arg", json{{"as_tensor", arg}}}}}});
      } else if (state->second->role() == proto::TENSOR_ROLE_PARAMETER) {
        input_specs.push_back(json{{"parameter", json{{"arg", arg},
                                                      {"parameter_name",
                                                       state->second->name()}}}});
      } else if (state->second->role() == proto::TENSOR_ROLE_BUFFER) {
        auto p = persistent.find(state->second->name());
        input_specs.push_back(json{
            {"buffer", json{{"arg", arg},
                            {"buffer_name", state->second->name()},
                            {"persistent", p == persistent.end() || p->second}}}});
      } else {
        input_specs.push_back(
            json{{"tensor_constant",
                  json{{"arg", arg},
                       {"tensor_constant_name", state->second->name()}}}});
      }
    }
  }
  // Mutations first, in graph order, then the user outputs, as torch.export
  // orders them.
  for (const proto::Node& n : module_.graph().nodes()) {
    const bool copy = mutations_.contains(n.name());
    if (!copy && !inplace_.contains(n.name())) continue;
    const std::string& dest = n.args(0).node();
    // copy_(dest, v) writes v; add_(dest, ...) writes its own result.
    const json value = json{{"name", copy ? n.args(1).node() : n.name()}};
    outputs.push_back(json{{"as_tensor", value}});
    auto state = state_of_.find(dest);
    if (state == state_of_.end()) {
      output_specs.push_back(json{{"user_input_mutation",
                                   json{{"arg", value}, {"user_input_name", dest}}}});
    } else if (state->second->role() == proto::TENSOR_ROLE_PARAMETER) {
      output_specs.push_back(json{{"parameter_mutation",
                                   json{{"arg", value},
                                        {"parameter_name", state->second->name()}}}});
    } else {
      output_specs.push_back(json{{"buffer_mutation",
                                   json{{"arg", value},
                                        {"buffer_name", state->second->name()}}}});
    }
  }
  const proto::Node& out = module_.graph().nodes(module_.graph().nodes_size() - 1);
  if (out.op() != proto::OP_KIND_OUTPUT) {
    return absl::InvalidArgumentError(absl::StrCat(what_, ": no output node"));
  }
  // torch's graph outputs are one Argument per returned value. An FX-style
  // output node returns them as one list (`return (a, b)`); programs read
  // from a .pt2 have one argument per output already.
  const auto& returned = out.args_size() == 1 && out.args(0).has_list()
                             ? out.args(0).list().items()
                             : out.args();
  for (const proto::Argument& a : returned) {
    ASSIGN_OR_RETURN(json arg, ArgumentJson(a, nullptr,
                                            absl::StrCat(what_, ": an output")));
    outputs.push_back(arg);
    output_specs.push_back(json{{"user_output", json{{"arg", std::move(arg)}}}});
  }
  graph["inputs"] = std::move(inputs);
  graph["outputs"] = std::move(outputs);
  signature["input_specs"] = std::move(input_specs);
  signature["output_specs"] = std::move(output_specs);
  return absl::OkStatus();
}

absl::Status Writer::Payloads(ProgramFiles& files) {
  // Path names as the original archive had them, so unchanged tensors keep
  // their files; new ones continue the numbering.
  auto original_path = [](const json* config, const std::string& fqn) {
    if (config == nullptr || !config->contains("config")) return std::string();
    const json& c = (*config)["config"];
    if (!c.is_object() || !c.contains(fqn)) return std::string();
    return c[fqn].value("path_name", std::string());
  };
  absl::flat_hash_set<std::string> used;
  int64_t next_weight = 0, next_constant = 0;
  files.weights_config = json{{"config", json::object()}};
  files.constants_config = json{{"config", json::object()}};
  for (const proto::NamedTensor& t : module_.tensors()) {
    const bool constant = t.role() == proto::TENSOR_ROLE_CONSTANT;
    const json* config = constant ? original_.constants : original_.weights;
    std::string path = original_path(config, t.name());
    if (path.empty() || used.contains(path)) {
      do {
        path = constant ? absl::StrCat("tensor_", next_constant++)
                        : absl::StrCat("weight_", next_weight++);
      } while (used.contains(path));
    }
    used.insert(path);
    proto::TensorMeta meta;
    meta.set_dtype(t.dtype());
    for (int64_t d : t.shape()) meta.add_shape()->set_size(d);
    meta.set_device(t.device());
    meta.set_requires_grad(t.requires_grad());
    json entry = json{{"path_name", path},
                      {"is_param", t.role() == proto::TENSOR_ROLE_PARAMETER},
                      {"use_pickle", false},
                      {"tensor_meta", TensorMetaJson(meta)}};
    (constant ? files.constants_config : files.weights_config)["config"]
        [t.name()] = std::move(entry);
    files.payloads.emplace_back(
        absl::StrCat(constant ? "data/constants/" : "data/weights/", path),
        t.data());
  }
  return absl::OkStatus();
}

absl::StatusOr<ProgramFiles> Writer::Run() {
  json program = original_.program != nullptr ? *original_.program : json::object();
  // torch checks a program with the verifiers it names. The training IR's
  // ("TRAINING") accepts in-place ops such as batch norm's counter update;
  // the others ("ATEN", or none named) want every op functional. A module
  // from elsewhere (a make_fx or training-IR graph) is written for the
  // training verifier.
  if (!program.contains("verifiers") || !program["verifiers"].is_array() ||
      program["verifiers"].empty()) {
    program["verifiers"] = json::array({"TRAINING"});
  }
  functional_ = true;
  for (const json& v : program["verifiers"]) {
    if (v.is_string() && v.get<std::string>() == "TRAINING") functional_ = false;
  }
  Index();
  if (!program.contains("schema_version")) {
    program["schema_version"] = json{{"major", kSchemaMajor},
                                     {"minor", kSchemaMinorKnown}};
  }
  for (const char* key : {"range_constraints", "opset_version"}) {
    if (!program.contains(key)) program[key] = json::object();
  }
  if (!program.contains("torch_version")) program["torch_version"] = "";
  if (!program.contains("guards_code")) program["guards_code"] = nullptr;
  json& gm = program["graph_module"];
  if (!gm.is_object()) gm = json::object();
  json& graph = gm["graph"];
  if (!graph.is_object()) graph = json::object();
  json nodes = json::array();
  for (const proto::Node& n : module_.graph().nodes()) {
    if (n.op() == proto::OP_KIND_GET_ATTR) {
      return Unsupported(absl::StrCat(what_, ": node %", n.name()),
                         "get_attr nodes (lift constants into placeholders)");
    }
    if (n.op() != proto::OP_KIND_CALL_FUNCTION || IsGetitem(n) ||
        mutations_.contains(n.name())) {
      continue;
    }
    if (functional_ && !inplace_.contains(n.name()) &&
        (!FunctionalTarget(n).empty() || n.target() == "aten.copy_.default")) {
      // torch.export.load's verifier refuses any op that is not functional.
      return Unsupported(
          absl::StrCat(what_, ": node %", n.name()),
          absl::StrCat("in-place ", n.target(),
                       " that is not a final update of a placeholder (later "
                       "nodes read its destination, or it writes a non-"
                       "placeholder); a .pt2 program must be functional"));
    }
    ASSIGN_OR_RETURN(json node, NodeJson(n));
    nodes.push_back(std::move(node));
  }
  graph["nodes"] = std::move(nodes);
  json signature = gm.contains("signature") && gm["signature"].is_object()
                       ? gm["signature"]
                       : json::object();
  RETURN_IF_ERROR(Signature(graph, signature));
  gm["signature"] = std::move(signature);
  graph["tensor_values"] = std::move(tensor_values_);
  for (const char* key : {"sym_int_values", "sym_bool_values",
                          "custom_obj_values", "sym_float_values"}) {
    if (!graph.contains(key)) graph[key] = json::object();
  }
  if (!graph.contains("is_single_tensor_return")) {
    graph["is_single_tensor_return"] = false;
  }
  if (!gm.contains("module_call_graph") || !gm["module_call_graph"].is_array() ||
      gm["module_call_graph"].empty()) {
    gm["module_call_graph"] = RootCallGraph();
  }
  if (!gm.contains("metadata")) gm["metadata"] = json::object();
  if (!gm.contains("treespec_namedtuple_fields")) {
    gm["treespec_namedtuple_fields"] = json::object();
  }
  ProgramFiles files;
  RETURN_IF_ERROR(Payloads(files));
  files.program = std::move(program);
  return files;
}

}  // namespace

absl::StatusOr<ProgramFiles> ProtoToProgram(const proto::GraphModule& module,
                                            const OriginalProgram& original,
                                            absl::string_view what) {
  try {
    Writer w(module, original, what);
    return w.Run();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace pt2
}  // namespace rewire
