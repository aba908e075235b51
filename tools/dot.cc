// Colours follow a small fixed palette so that the same op family looks the
// same in every picture; labels are escaped for Graphviz's quoted strings.
#include "tools/dot.h"

#include <errno.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/file.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"

extern char** environ;

namespace rewire {
namespace tools {
namespace {

std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

const char* FillColor(absl::string_view family) {
  if (family == "input") return "#9ecae1";
  if (family == "state") return "#e0e0e0";
  if (family == "output") return "#bdbdbd";
  if (family == "conv") return "#fdae6b";
  if (family == "norm") return "#a1d99b";
  if (family == "dropout") return "#fcbba1";
  if (family == "activation") return "#fff7bc";
  if (family == "shape") return "#f0f0f0";
  if (family == "elementwise") return "#dadaeb";
  return "#ffffff";
}

std::string ValString(const Node& n) {
  const MetaValue* v = n.meta().val();
  if (v == nullptr) return "";
  if (v->is_tensor()) return v->tensor().ShortString();
  if (v->is_tensor_list()) {
    std::vector<std::string> parts;
    for (const auto& t : v->tensors()) {
      parts.push_back(t.has_value() ? t->ShortString() : "None");
    }
    return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
  }
  return "";
}

}  // namespace

std::string OpFamily(const Node& node, bool is_state) {
  if (node.is_placeholder()) return is_state ? "state" : "input";
  if (node.is_get_attr()) return "state";
  if (node.is_output()) return "output";
  const std::string& name = node.target().name;
  if (node.target().is_getitem) return "shape";
  if (absl::StrContains(name, "dropout") || absl::StartsWith(name, "bernoulli")) {
    return "dropout";
  }
  if (absl::StrContains(name, "batch_norm") || absl::StrContains(name, "layer_norm")) {
    return "norm";
  }
  if (absl::StrContains(name, "conv") || name == "linear" || name == "addmm" ||
      name == "mm" || name == "bmm" || name == "matmul") {
    return "conv";
  }
  static const char* kAct[] = {"relu", "relu_", "gelu", "silu", "silu_",
                               "sigmoid", "sigmoid_", "tanh", "hardswish",
                               "hardswish_", "hardtanh", "hardtanh_",
                               "hardsigmoid", "softmax", "_softmax",
                               "log_softmax", "_log_softmax"};
  for (const char* a : kAct) {
    if (name == a) return "activation";
  }
  static const char* kShape[] = {"view", "reshape", "flatten", "permute",
                                 "transpose", "t", "squeeze", "unsqueeze",
                                 "expand", "_unsafe_view", "_reshape_alias",
                                 "contiguous", "clone", "alias", "detach",
                                 "cat", "split", "sym_size", "copy_",
                                 "_to_copy", "empty_like", "empty",
                                 "max_pool2d", "avg_pool2d",
                                 "adaptive_avg_pool2d",
                                 "_adaptive_avg_pool2d",
                                 "max_pool2d_with_indices"};
  for (const char* a : kShape) {
    if (name == a) return "shape";
  }
  static const char* kElem[] = {"add", "add_", "sub", "sub_", "mul", "mul_",
                                "div", "div_", "neg", "exp", "sqrt", "rsqrt",
                                "pow", "rsub", "mean", "sum"};
  for (const char* a : kElem) {
    if (name == a) return "elementwise";
  }
  return "other";
}

std::optional<bool> IsTrainingForm(const Node& node) {
  if (!node.is_call()) return std::nullopt;
  const TargetInfo& t = node.target();
  const std::string& name = t.name;
  if (name == "native_dropout" || name == "bernoulli_" || name == "bernoulli") {
    if (name == "native_dropout") {
      // native_dropout(input, p, train): train may be None (training).
      if (node.args().size() > 2 && node.args()[2].kind() == Argument::Kind::kBool) {
        return node.args()[2].as_bool();
      }
    }
    return true;
  }
  const bool dropout = absl::StrContains(name, "dropout");
  const bool bn = absl::StrContains(name, "batch_norm");
  if (!dropout && !bn) return std::nullopt;
  if (name == "_native_batch_norm_legit_no_training") return false;
  if (t.overload == "no_stats" || name == "_native_batch_norm_legit_functional") {
    // These spellings only exist in training form (functional carries the
    // flag, but exporters emit it with training=True).
    if (name == "_native_batch_norm_legit_functional" && t.schema != nullptr) {
      int idx = t.schema->ArgumentIndex("training");
      if (idx >= 0 && idx < static_cast<int>(node.args().size()) &&
          node.args()[idx].kind() == Argument::Kind::kBool) {
        return node.args()[idx].as_bool();
      }
    }
    return true;
  }
  if (t.schema == nullptr) return std::nullopt;
  for (const char* flag : {"train", "training"}) {
    int idx = t.schema->ArgumentIndex(flag);
    if (idx < 0) continue;
    const Argument* a = nullptr;
    if (idx < static_cast<int>(node.args().size())) {
      a = &node.args()[idx];
    } else {
      a = node.kwarg(flag);
    }
    if (a != nullptr && a->kind() == Argument::Kind::kBool) return a->as_bool();
    return std::nullopt;
  }
  return std::nullopt;
}

std::string GraphToDot(const Graph& graph,
                       const std::function<bool(absl::string_view)>& is_state) {
  std::string out =
      "digraph rewire {\n"
      "  rankdir=TB;\n"
      "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
      "fontsize=10];\n"
      "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  // Node ids are positions, not names: names may hold any character.
  absl::flat_hash_map<const Node*, size_t> id;
  size_t next = 0;
  for (const Node* n : graph) id[n] = next++;
  for (const Node* n : graph) {
    const bool state = n->is_placeholder() && is_state(n->name());
    const std::string family = OpFamily(*n, state);
    std::string label = n->name();
    if (n->is_call()) absl::StrAppend(&label, "\n", n->target().qualified);
    std::optional<bool> train = IsTrainingForm(*n);
    std::string attrs = absl::StrCat("fillcolor=\"", FillColor(family), "\"");
    if (train.has_value() && *train) {
      absl::StrAppend(&label, "\nTRAIN");
      absl::StrAppend(&attrs, ", color=\"#d7301f\", penwidth=3");
    } else if (train.has_value()) {
      absl::StrAppend(&label, "\neval");
      absl::StrAppend(&attrs, ", color=\"#31a354\", penwidth=2");
    }
    if (n->is_placeholder() || n->is_output()) {
      absl::StrAppend(&attrs, ", shape=ellipse");
    }
    absl::StrAppend(&out, "  n", id[n], " [label=\"", Escape(label), "\", ",
                    attrs, "];\n");
  }
  for (const Node* n : graph) {
    absl::flat_hash_set<const Node*> seen;
    for (Node* producer : n->Operands()) {
      if (!seen.insert(producer).second) continue;
      std::string shape = ValString(*producer);
      absl::StrAppend(&out, "  n", id[producer], " -> n", id[n]);
      if (!shape.empty()) {
        absl::StrAppend(&out, " [label=\"", Escape(shape), "\"]");
      }
      absl::StrAppend(&out, ";\n");
    }
  }
  out += "}\n";
  return out;
}

std::string FindGraphvizDot() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/dot");
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return "";
}

absl::Status RenderDot(const std::string& dot_binary,
                       const std::string& dot_text, absl::string_view format,
                       const std::string& out) {
  ASSIGN_OR_RETURN(std::string src, CreateTempFileNextTo(out));
  absl::Status written = WriteFileAtomic(src, dot_text);
  if (!written.ok()) {
    unlink(src.c_str());
    return written;
  }
  // Graphviz truncates and fills this file, keeping its mode, which
  // CreateTempFileNextTo set as for any other new output file.
  absl::StatusOr<std::string> dst = CreateTempFileNextTo(out);
  if (!dst.ok()) {
    unlink(src.c_str());
    return dst.status();
  }
  std::string fmt = absl::StrCat("-T", format);
  std::vector<char*> argv = {const_cast<char*>(dot_binary.c_str()),
                             fmt.data(), const_cast<char*>(src.c_str()),
                             const_cast<char*>("-o"), dst->data(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, dot_binary.c_str(), nullptr, nullptr, argv.data(),
                       environ);
  int status = 0;
  if (rc == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  unlink(src.c_str());
  if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    unlink(dst->c_str());
    return absl::InternalError(absl::StrCat(
        "Graphviz '", dot_binary, " ", fmt, "' failed while rendering '", out,
        "'", rc != 0 ? absl::StrCat(": ", std::strerror(rc)) : ""));
  }
  return RenameOver(*dst, out);
}

}  // namespace tools
}  // namespace rewire
