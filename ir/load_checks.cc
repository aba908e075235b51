#include "ir/load_checks.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/printable.h"
#include "ir/argument.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

absl::Status NodeError(const Node& n, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("node '", Printable(n.name()), "': ", what));
}

// The limits on one metadata tensor: rank, and an element count that fits
// int64 (negative dims and stride counts are the verifier's, for every key).
absl::Status CheckTensorMeta(const Node& n, absl::string_view key,
                             const TensorMeta& t, const LoadOptions& options) {
  const std::string where = absl::StrCat("meta '", Printable(key), "'");
  if (t.shape.size() > static_cast<size_t>(options.max_dims)) {
    return NodeError(n, absl::StrCat(where, ": rank ", t.shape.size(),
                                     " exceeds the limit of ",
                                     options.max_dims));
  }
  if (!t.has_symbolic_dims()) {
    absl::StatusOr<int64_t> numel = t.NumElements();
    if (!numel.ok()) {
      return NodeError(n, absl::StrCat(where, ": ", numel.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckNode(const Node& n, const LoadOptions& options) {
  if (static_cast<int64_t>(n.meta().size()) > options.max_meta_keys_per_node) {
    return absl::ResourceExhaustedError(
        absl::StrCat("node '", Printable(n.name()), "' has ", n.meta().size(),
                     " metadata keys, over the limit of ",
                     options.max_meta_keys_per_node, " per node"));
  }
  // What the protobuf form's node can hold: fx placeholders carry at most a
  // default value, get_attr nothing.
  if (n.is_placeholder() && (n.args().size() > 1 || !n.kwargs().empty())) {
    return NodeError(n, "placeholder with arguments");
  }
  if (n.is_get_attr() && (!n.args().empty() || !n.kwargs().empty())) {
    return NodeError(n, "get_attr with arguments");
  }
  for (const Kwarg& kw : n.kwargs()) {
    if (kw.name.empty()) return NodeError(n, "keyword argument without a name");
  }
  for (const Metadata::Entry& e : n.meta().entries()) {
    const MetaValue& v = e.value;
    if (v.is_tensor()) {
      RETURN_IF_ERROR(CheckTensorMeta(n, e.key, v.tensor(), options));
    } else if (v.is_tensor_list()) {
      for (const std::optional<TensorMeta>& t : v.tensors()) {
        if (t.has_value()) {
          RETURN_IF_ERROR(CheckTensorMeta(n, e.key, *t, options));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

// proto3 `string` fields must hold UTF-8 (the parser refuses anything else),
// while IR strings are plain bytes. Refusing to save is better than writing
// a file that cannot be read back.
absl::Status CheckStringsAreUtf8(const ExportedModule& module) {
  auto bad = [](absl::string_view where, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", what, " is not valid UTF-8 and cannot be serialized"));
  };
  std::vector<const Argument*> stack;
  for (const Node* n : module.graph()) {
    const std::string where = absl::StrCat("node '", Printable(n->name()), "'");
    if (!IsValidUtf8(n->name())) return bad(where, "the name");
    if (!IsValidUtf8(n->target().qualified)) return bad(where, "the target");
    stack.clear();
    for (const Argument& a : n->args()) stack.push_back(&a);
    for (const Kwarg& kw : n->kwargs()) {
      if (!IsValidUtf8(kw.name)) return bad(where, "a keyword name");
      stack.push_back(&kw.value);
    }
    while (!stack.empty()) {
      const Argument* a = stack.back();
      stack.pop_back();
      if (a->kind() == Argument::Kind::kString &&
          !IsValidUtf8(a->as_string())) {
        // DebugString escapes the string.
        return bad(where, absl::StrCat("string argument ", a->DebugString()));
      }
      if (a->is_list()) {
        for (const Argument& item : a->as_list()) stack.push_back(&item);
      }
    }
    for (const Metadata::Entry& e : n->meta().entries()) {
      if (!IsValidUtf8(e.key)) return bad(where, "a metadata key");
      const MetaValue& v = e.value;
      if (v.is_string() && !IsValidUtf8(v.as_string())) {
        return bad(where,
                   absl::StrCat("metadata '", Printable(e.key.str()), "'"));
      }
      auto check_meta = [&](const TensorMeta& t) {
        for (const Dim& d : t.shape) {
          if (!IsValidUtf8(d.symbol.str())) return false;
        }
        return true;
      };
      if (v.is_tensor() && !check_meta(v.tensor())) {
        return bad(where, absl::StrCat("a symbol in metadata '",
                                       Printable(e.key.str()), "'"));
      }
      if (v.is_tensor_list()) {
        for (const std::optional<TensorMeta>& t : v.tensors()) {
          if (t.has_value() && !check_meta(*t)) {
            return bad(where, absl::StrCat("a symbol in metadata '",
                                           Printable(e.key.str()), "'"));
          }
        }
      }
    }
  }
  for (const StateTensor& t : module.tensors()) {
    const std::string where = absl::StrCat("tensor '", Printable(t.name), "'");
    if (!IsValidUtf8(t.name)) return bad(where, "the name");
    if (!IsValidUtf8(t.placeholder)) return bad(where, "the placeholder");
  }
  return absl::OkStatus();
}

absl::Status CheckLoadedModule(const ExportedModule& module,
                               const LoadOptions& options) {
  const Graph& graph = module.graph();
  if (static_cast<int64_t>(graph.size()) > options.max_nodes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("graph has ", graph.size(), " nodes, over the limit of ",
                     options.max_nodes));
  }
  for (const Node* n : graph) RETURN_IF_ERROR(CheckNode(*n, options));
  VerifyOptions verify_options;
  verify_options.max_problems = 1;
  RETURN_IF_ERROR(Verify(graph, verify_options));
  // protobuf's text parser accepts any bytes in a string, and the readable
  // text form can spell them with \xHH; neither could be saved as proto3.
  return CheckStringsAreUtf8(module);
}

}  // namespace rewire
