#include "rewrite/stash.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "ir/text_format.h"

namespace rewire {
namespace {

constexpr char kAlias[] = "aten.alias.default";
constexpr absl::string_view kHeader = "# rewire stash v1\n";

// The stash text of `anchor`, or an error naming it.
absl::StatusOr<absl::string_view> StashText(const Node& anchor) {
  const MetaValue* v = anchor.meta().Find(kStashKey);
  if (v == nullptr || !v->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", anchor.name(), ": metadata '", kStashKey, "' is not a string"));
  }
  absl::string_view text = v->as_string();
  if (!absl::StartsWith(text, kHeader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", anchor.name(), ": '", kStashKey,
        "' does not start with the line '# rewire stash v1'"));
  }
  return text;
}

struct Parsed {
  std::unique_ptr<Graph> fragment;
  std::vector<const Node*> outside;  // placeholders: nodes read from outside
  std::vector<const Node*> restored;  // call nodes, in order
};

absl::StatusOr<Parsed> ParseStash(const Node& anchor) {
  ASSIGN_OR_RETURN(absl::string_view text, StashText(anchor));
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text);
  if (!g.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("%", anchor.name(), ": unreadable '", kStashKey,
                     "': ", g.status().message()));
  }
  Parsed p;
  p.fragment = *std::move(g);
  for (const Node* n : *p.fragment) {
    if (n->is_placeholder()) {
      p.outside.push_back(n);
    } else if (n->is_call()) {
      p.restored.push_back(n);
    } else if (!n->is_output()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "%", anchor.name(), ": '", kStashKey, "' holds %", n->name(),
          ", which is neither a placeholder nor a call"));
    }
  }
  if (p.restored.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", anchor.name(), ": '", kStashKey, "' holds no node to restore"));
  }
  if (p.restored.back()->name() != anchor.name()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", anchor.name(), ": '", kStashKey, "' ends with %",
        p.restored.back()->name(), ", not the node the alias stands for"));
  }
  return p;
}

// Arguments of fragment node `n` with references mapped into the graph.
template <typename Map>
void MapArguments(const Node& n, Map&& map, std::vector<Argument>& args,
                  std::vector<Kwarg>& kwargs) {
  args.assign(n.args().begin(), n.args().end());
  kwargs = n.kwargs();
  for (Argument& a : args) a.MapNodes(map);
  for (Kwarg& k : kwargs) k.value.MapNodes(map);
}

}  // namespace

absl::StatusOr<std::string> EncodeStash(absl::Span<Node* const> nodes) {
  if (nodes.empty()) return absl::InvalidArgumentError("empty stash");
  absl::flat_hash_set<const Node*> inside(nodes.begin(), nodes.end());
  Graph fragment;
  absl::flat_hash_map<const Node*, Node*> to_fragment;
  // Placeholders first, for every node read from outside, in first-use order.
  for (Node* n : nodes) {
    if (!n->is_call()) {
      return absl::InvalidArgumentError(
          absl::StrCat("%", n->name(), ": only call nodes can be stashed"));
    }
    for (Node* operand : n->Operands()) {
      if (inside.contains(operand) || to_fragment.contains(operand)) continue;
      ASSIGN_OR_RETURN(Node * ph, fragment.AddPlaceholder(operand->name()));
      to_fragment[operand] = ph;
    }
  }
  auto map = [&](Node* n) { return to_fragment.at(n); };
  for (Node* n : nodes) {
    Graph::NodeSpec spec;
    spec.op = OpKind::kCallFunction;
    spec.target = n->target().qualified;
    spec.name = n->name();
    spec.meta = n->meta();
    MapArguments(*n, map, spec.args, spec.kwargs);
    ASSIGN_OR_RETURN(Node * copy, fragment.Append(std::move(spec)));
    to_fragment[n] = copy;
  }
  RETURN_IF_ERROR(
      fragment.AddOutput({Argument::Ref(to_fragment.at(nodes.back()))}).status());
  return absl::StrCat(kHeader, PrintGraph(fragment));
}

absl::StatusOr<Node*> ReplaceWithStashedAlias(Graph& graph,
                                              absl::Span<Node* const> nodes,
                                              Node* x, std::string stash) {
  Node* last = nodes.back();
  const std::string name = last->name();
  Graph::NodeSpec spec;
  spec.op = OpKind::kCallFunction;
  spec.target = kAlias;
  spec.args = {Argument::Ref(x)};
  spec.name = graph.UniqueName("alias");
  spec.meta = last->meta();
  spec.meta.Set(kStashKey, MetaValue::String(std::move(stash)));
  ASSIGN_OR_RETURN(Node * alias, graph.InsertBefore(last, std::move(spec)));
  RETURN_IF_ERROR(graph.ReplaceAllUsesWith(last, alias));
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    RETURN_IF_ERROR(graph.Erase(*it));
  }
  RETURN_IF_ERROR(graph.Rename(alias, name));
  return alias;
}

std::vector<Node*> StashAnchors(const Graph& graph) {
  std::vector<Node*> out;
  for (Node* n : graph.NodesWithTarget(kAlias)) {
    if (n->meta().Contains(kStashKey)) out.push_back(n);
  }
  return out;
}

absl::Status CheckStashes(const Graph& graph) {
  absl::flat_hash_set<std::string> restoring;
  for (Node* anchor : StashAnchors(graph)) {
    ASSIGN_OR_RETURN(Parsed p, ParseStash(*anchor));
    for (const Node* ph : p.outside) {
      const Node* g = graph.FindNode(ph->name());
      if ((g == nullptr || !g->IsBefore(anchor)) &&
          !restoring.contains(ph->name())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "%", anchor->name(), ": '", kStashKey, "' reads %", ph->name(),
            ", which is not defined before the alias"));
      }
    }
    for (const Node* n : p.restored) {
      // Markers the rest of the switch reads must come from the graph, where
      // they are checked before anything changes, not out of a stash.
      for (const Metadata::Entry& e : n->meta().entries()) {
        if (absl::StartsWith(e.key.str(), "rewire_")) {
          return absl::InvalidArgumentError(absl::StrCat(
              "%", anchor->name(), ": '", kStashKey, "' restores %", n->name(),
              " with rewire metadata '", e.key.str(), "'"));
        }
      }
      if (n != p.restored.back() && (graph.FindNode(n->name()) != nullptr ||
                                     !restoring.insert(n->name()).second)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "%", anchor->name(), ": '", kStashKey, "' restores %", n->name(),
            ", a name the graph already has"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RestoreStashes(Graph& graph) {
  int64_t restored = 0;
  for (Node* anchor : StashAnchors(graph)) {
    ASSIGN_OR_RETURN(Parsed p, ParseStash(*anchor));
    absl::flat_hash_map<const Node*, Node*> to_graph;
    for (const Node* ph : p.outside) to_graph[ph] = graph.FindNode(ph->name());
    auto map = [&](Node* n) { return to_graph.at(n); };
    const std::string name = anchor->name();
    Node* last = nullptr;
    for (const Node* n : p.restored) {
      Graph::NodeSpec spec;
      spec.op = OpKind::kCallFunction;
      spec.target = n->target().qualified;
      // The last node takes the alias's name once the alias is gone.
      spec.name = n == p.restored.back() ? graph.UniqueName(name) : n->name();
      spec.meta = n->meta();
      MapArguments(*n, map, spec.args, spec.kwargs);
      ASSIGN_OR_RETURN(last, graph.InsertBefore(anchor, std::move(spec)));
      to_graph[n] = last;
    }
    RETURN_IF_ERROR(graph.ReplaceAllUsesWith(anchor, last));
    RETURN_IF_ERROR(graph.Erase(anchor));
    RETURN_IF_ERROR(graph.Rename(last, name));
    ++restored;
  }
  return restored;
}

}  // namespace rewire
