#include "rewrite/stash.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

constexpr absl::string_view kPlacePrefix = "# place %";
constexpr absl::string_view kPlaceBefore = " before %";

struct Parsed {
  std::unique_ptr<Graph> fragment;
  std::vector<const Node*> outside;  // placeholders: nodes read from outside
  std::vector<const Node*> restored;  // call nodes, in order
  const Node* takeover = nullptr;     // the restored node the anchor's users get
  // Restored node name -> the node that followed it before the switch.
  std::vector<std::pair<std::string, std::string>> places;
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
  const Node* out = p.fragment->output();
  if (out == nullptr || out->args().size() != 1 || !out->args()[0].is_node() ||
      !out->args()[0].node()->is_call()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "%", anchor.name(), ": '", kStashKey,
        "' does not return the one restored node that replaces the anchor"));
  }
  p.takeover = out->args()[0].node();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, kPlacePrefix)) continue;
    const size_t at = line.find(kPlaceBefore);
    if (at == absl::string_view::npos) continue;
    p.places.emplace_back(std::string(line.substr(0, at)),
                          std::string(line.substr(at + kPlaceBefore.size())));
  }
  return p;
}

// A node of an eval form is one of a handful; one with more uses is not,
// and checking its users on every visit would make hostile graphs quadratic.
constexpr size_t kMaxEvalFormUses = 64;

// The nodes restoring the stash erases: the anchor, and the nodes of the
// eval form that only it used, down to the nodes the stash reads from
// outside and never into another stash's anchor; users first.
std::vector<Node*> EvalFormOf(Node* anchor,
                              const absl::flat_hash_set<const Node*>& outside,
                              const absl::flat_hash_set<const Node*>& anchors) {
  std::vector<Node*> out = {anchor};
  absl::flat_hash_set<const Node*> in = {anchor};
  for (size_t i = 0; i < out.size(); ++i) {
    for (Node* o : out[i]->Operands()) {
      if (!o->is_call() || in.contains(o) || outside.contains(o) ||
          anchors.contains(o) || o->num_uses() > kMaxEvalFormUses) {
        continue;
      }
      bool only_ours = true;
      for (const Node* u : o->Users()) only_ours = only_ours && in.contains(u);
      if (!only_ours) continue;
      in.insert(o);
      out.push_back(o);
    }
  }
  return out;
}

// Where the stashes' outside names point while they are restored, last
// anchor first. A name is a graph node's, or the original name of another
// stash's result: a pass that replaced two chained sites encoded the later
// one before the earlier became its eval form, so it reads the earlier by
// the name its anchor gives back when restored.
class OutsideResolver {
 public:
  explicit OutsideResolver(const Graph& graph, const std::vector<Node*>& anchors,
                           const std::vector<Parsed>& parsed)
      : graph_(graph) {
    for (size_t i = 0; i < anchors.size(); ++i) {
      pending_.emplace(parsed[i].takeover->name(), anchors[i]);
    }
  }
  // The node `name` stands for as seen from `anchor`, or nullptr.
  Node* Find(absl::string_view name, const Node* anchor) const {
    auto it = pending_.find(name);
    if (it != pending_.end() && it->second != anchor && it->second->IsBefore(anchor)) {
      return it->second;
    }
    return graph_.FindNode(name);
  }
  // `anchor`, whose result was `takeover`, is restored.
  void Done(absl::string_view takeover) { pending_.erase(takeover); }

 private:
  const Graph& graph_;
  absl::flat_hash_map<std::string, Node*> pending_;
};

// Parses every stash, last anchor first.
absl::StatusOr<std::vector<Parsed>> ParseAll(const std::vector<Node*>& anchors) {
  std::vector<Parsed> out;
  out.reserve(anchors.size());
  for (const Node* a : anchors) {
    ASSIGN_OR_RETURN(Parsed p, ParseStash(*a));
    out.push_back(std::move(p));
  }
  return out;
}

// Moves each restored node back before the node that followed it before the
// switch, where that is still a valid position. The successors link the
// restored nodes into chains that end at a node the switch kept; each chain
// moves, head first, to just before that node.
// Only restored nodes move, only in front of a call or the output, and a
// successor named twice is ignored: a hand-edited stash can neither move
// other nodes nor make chains share a tail (which would cost a walk per
// head).
void Relocate(Graph& graph,
              const std::vector<std::pair<std::string, std::string>>& places,
              const absl::flat_hash_set<std::string>& restored) {
  absl::flat_hash_map<absl::string_view, int> times;
  for (const auto& [n, s] : places) ++times[s];
  absl::flat_hash_map<absl::string_view, absl::string_view> next;
  absl::flat_hash_set<absl::string_view> successors;
  for (const auto& [n, s] : places) {
    if (!restored.contains(n) || times.at(s) != 1) continue;
    next.emplace(n, s);
    successors.insert(s);
  }
  std::vector<absl::string_view> chain;
  for (const auto& [head, unused] : next) {
    if (successors.contains(head)) continue;
    chain.clear();
    absl::string_view at = head;
    // At most every entry once: a cycle cannot hang this.
    while (next.contains(at) && chain.size() <= next.size()) {
      chain.push_back(at);
      at = next.at(at);
    }
    Node* end = graph.FindNode(at);
    if (end == nullptr || !(end->is_call() || end->is_output())) continue;
    std::vector<Node*> nodes;
    for (absl::string_view name : chain) {
      Node* n = graph.FindNode(name);
      if (n == nullptr || n == end || !n->is_call()) break;
      nodes.push_back(n);
    }
    if (nodes.size() != chain.size()) continue;
    // The chain moves as a block or not at all: every operand is an earlier
    // member or already before `end`, every user a later member or at or
    // after `end`.
    absl::flat_hash_map<const Node*, size_t> position;
    for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;
    bool valid = true;
    for (size_t i = 0; i < nodes.size() && valid; ++i) {
      for (const Node* o : nodes[i]->Operands()) {
        auto it = position.find(o);
        valid = valid && (it != position.end() ? it->second < i : o->IsBefore(end));
      }
      for (const Node* u : nodes[i]->Users()) {
        auto it = position.find(u);
        valid = valid && (it != position.end() ? it->second > i
                                               : u == end || end->IsBefore(u));
      }
    }
    if (!valid) continue;
    for (Node* n : nodes) graph.MoveBefore(n, end);
  }
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
  return EncodeStash(nodes, nodes.back());
}

absl::StatusOr<std::string> EncodeStash(absl::Span<Node* const> nodes,
                                        const Node* takeover) {
  if (nodes.empty()) return absl::InvalidArgumentError("empty stash");
  absl::flat_hash_set<const Node*> inside(nodes.begin(), nodes.end());
  if (!inside.contains(takeover)) {
    return absl::InvalidArgumentError("the stash's result is not among its nodes");
  }
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
  std::string places;
  for (Node* n : nodes) {
    Graph::NodeSpec spec;
    spec.op = OpKind::kCallFunction;
    spec.target = n->target().qualified;
    spec.name = n->name();
    spec.meta = n->meta();
    MapArguments(*n, map, spec.args, spec.kwargs);
    ASSIGN_OR_RETURN(Node * copy, fragment.Append(std::move(spec)));
    to_fragment[n] = copy;
    // A name that would not survive the line format (a newline, or the
    // separator itself) gets no place: restored before the anchor instead.
    auto plain = [](absl::string_view name) {
      return name.find_first_of("\r\n") == absl::string_view::npos &&
             !absl::StrContains(name, kPlaceBefore);
    };
    if (n->next() != nullptr && plain(n->name()) && plain(n->next()->name())) {
      absl::StrAppend(&places, kPlacePrefix, n->name(), kPlaceBefore,
                      n->next()->name(), "\n");
    }
  }
  RETURN_IF_ERROR(
      fragment.AddOutput({Argument::Ref(to_fragment.at(takeover))}).status());
  return absl::StrCat(kHeader, places, PrintGraph(fragment));
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
  for (const char* target : kStashAnchorTargets) {
    for (Node* n : graph.NodesWithTarget(target)) {
      if (n->meta().Contains(kStashKey)) out.push_back(n);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Node* a, const Node* b) { return a->IsBefore(b); });
  return out;
}

namespace {

// What restoring every stash will do, decided on the graph as it is before
// anything changes, so that CheckStashes vouches for exactly what
// RestoreStashes then does. Stashes go last anchor first.
struct Plan {
  std::vector<Node*> anchors;
  std::vector<Parsed> parsed;
  std::vector<std::vector<Node*>> outside;    // per stash, in p.outside order
  std::vector<std::vector<Node*>> eval_form;  // per stash, users first
};

absl::StatusOr<Plan> MakePlan(const Graph& graph) {
  Plan plan;
  plan.anchors = StashAnchors(graph);
  std::reverse(plan.anchors.begin(), plan.anchors.end());
  ASSIGN_OR_RETURN(plan.parsed, ParseAll(plan.anchors));
  const absl::flat_hash_set<const Node*> anchor_set(plan.anchors.begin(),
                                                    plan.anchors.end());
  OutsideResolver resolve(graph, plan.anchors, plan.parsed);
  // Eval-form nodes (anchors aside) by stash, so that no stash reads or
  // erases what another erases.
  absl::flat_hash_map<const Node*, size_t> erased_by;
  for (size_t k = 0; k < plan.anchors.size(); ++k) {
    Node* anchor = plan.anchors[k];
    const Parsed& p = plan.parsed[k];
    std::vector<Node*> outside;
    for (const Node* ph : p.outside) {
      Node* g = resolve.Find(ph->name(), anchor);
      if (g == nullptr || !g->IsBefore(anchor)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "%", anchor->name(), ": '", kStashKey, "' reads %", ph->name(),
            ", which is not defined before the alias"));
      }
      outside.push_back(g);
    }
    resolve.Done(p.takeover->name());
    plan.eval_form.push_back(EvalFormOf(
        anchor, absl::flat_hash_set<const Node*>(outside.begin(), outside.end()),
        anchor_set));
    for (const Node* n : plan.eval_form.back()) erased_by.emplace(n, k);
    plan.outside.push_back(std::move(outside));
  }
  for (size_t k = 0; k < plan.anchors.size(); ++k) {
    for (const Node* g : plan.outside[k]) {
      auto it = erased_by.find(g);
      if (it != erased_by.end() && !anchor_set.contains(g)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "%", plan.anchors[k]->name(), ": '", kStashKey, "' reads %", g->name(),
            ", which restoring %", plan.anchors[it->second]->name(), " erases"));
      }
    }
  }
  // Names: free, or held by a node some restore erases, and restored once.
  absl::flat_hash_set<std::string> restoring;
  for (size_t k = 0; k < plan.anchors.size(); ++k) {
    const Node* anchor = plan.anchors[k];
    for (const Node* n : plan.parsed[k].restored) {
      // Markers the rest of the switch reads must come from the graph, where
      // they are checked before anything changes, not out of a stash.
      for (const Metadata::Entry& e : n->meta().entries()) {
        if (absl::StartsWith(e.key.str(), "rewire_")) {
          return absl::InvalidArgumentError(absl::StrCat(
              "%", anchor->name(), ": '", kStashKey, "' restores %", n->name(),
              " with rewire metadata '", e.key.str(), "'"));
        }
      }
      const Node* owner = graph.FindNode(n->name());
      auto erased = owner != nullptr ? erased_by.find(owner) : erased_by.end();
      // Held by a stash restored later (an earlier anchor) is not free yet.
      const bool free_then = owner == nullptr ||
                             (erased != erased_by.end() && erased->second <= k);
      if (!free_then || !restoring.insert(n->name()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "%", anchor->name(), ": '", kStashKey, "' restores %", n->name(),
            ", a name the graph already has"));
      }
    }
  }
  return plan;
}

}  // namespace

absl::Status CheckStashes(const Graph& graph) { return MakePlan(graph).status(); }

absl::StatusOr<int64_t> RestoreStashes(Graph& graph) {
  ASSIGN_OR_RETURN(Plan plan, MakePlan(graph));
  std::vector<std::pair<std::string, std::string>> places;
  absl::flat_hash_set<std::string> restored_names;
  for (size_t k = 0; k < plan.anchors.size(); ++k) {
    Node* anchor = plan.anchors[k];
    Parsed& p = plan.parsed[k];
    absl::flat_hash_map<const Node*, Node*> to_graph;
    for (size_t i = 0; i < p.outside.size(); ++i) to_graph[p.outside[i]] = plan.outside[k][i];
    auto map = [&](Node* n) { return to_graph.at(n); };
    // Names the eval form still holds are taken back once it is gone.
    std::vector<std::pair<Node*, std::string>> renames;
    for (const Node* n : p.restored) {
      Graph::NodeSpec spec;
      spec.op = OpKind::kCallFunction;
      spec.target = n->target().qualified;
      const bool taken = graph.FindNode(n->name()) != nullptr;
      spec.name = taken ? graph.UniqueName(n->name()) : n->name();
      spec.meta = n->meta();
      MapArguments(*n, map, spec.args, spec.kwargs);
      ASSIGN_OR_RETURN(Node * copy, graph.InsertBefore(anchor, std::move(spec)));
      if (taken) renames.emplace_back(copy, n->name());
      to_graph[n] = copy;
      restored_names.insert(n->name());
    }
    RETURN_IF_ERROR(graph.ReplaceAllUsesWith(anchor, to_graph.at(p.takeover)));
    for (Node* n : plan.eval_form[k]) RETURN_IF_ERROR(graph.Erase(n));
    for (auto& [n, name] : renames) RETURN_IF_ERROR(graph.Rename(n, name));
    for (auto& e : p.places) places.push_back(std::move(e));
  }
  Relocate(graph, places, restored_names);
  return static_cast<int64_t>(plan.anchors.size());
}

}  // namespace rewire
