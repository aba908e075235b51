#include "rewrite/subgraph_matcher.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "rewrite/vf2.h"

namespace rewire {

const Argument* InternalMatch::Binding(const Node* pattern_node) const {
  for (const auto& [pn, value] : nodes_map) {
    if (pn == pattern_node) return &value;
  }
  return nullptr;
}

Node* InternalMatch::GraphNode(const Node* pattern_node) const {
  const Argument* b = Binding(pattern_node);
  return b != nullptr && b->is_node() ? b->node() : nullptr;
}

Node* InternalMatch::GraphAnchor() const {
  return anchors.empty() ? nullptr : GraphNode(anchors.front());
}

const MatchedLiteral* InternalMatch::FindLiteral(
    absl::string_view pattern_node_name, absl::string_view arg_name) const {
  for (const MatchedLiteral& lit : literals) {
    if (lit.pattern_node->name() == pattern_node_name &&
        lit.arg_name == arg_name) {
      return &lit;
    }
  }
  return nullptr;
}

absl::flat_hash_map<std::string, Argument> InternalMatch::NameNodeMap() const {
  absl::flat_hash_map<std::string, Argument> out;
  for (const auto& [pn, value] : nodes_map) out.emplace(pn->name(), value);
  return out;
}

std::vector<Node*> InternalMatch::MatchedComputeNodes() const {
  std::vector<Node*> out;
  for (const auto& [pn, value] : nodes_map) {
    if (pn->is_placeholder() || pn->is_output() || !value.is_node()) continue;
    out.push_back(value.node());
  }
  std::sort(out.begin(), out.end(),
            [](const Node* a, const Node* b) { return a->IsBefore(b); });
  return out;
}

namespace {

using PatternNode = SubgraphMatcher::PatternNode;

// Compares the arguments of pattern nodes with those of their images and
// binds placeholders, following torch.fx's _match_nodes/_match_literals.
// Reused across checks to avoid allocations on the hot path.
class Binder {
 public:
  Binder(const std::vector<PatternNode>& nodes,
         const absl::flat_hash_map<const Node*, int>& node_index,
         bool ignore_literals)
      : nodes_(nodes), node_index_(node_index), ignore_literals_(ignore_literals) {}

  // `image(i)` gives the graph node of searched pattern node index i, or
  // nullptr when not mapped yet.
  void Reset(const std::vector<Node*>* images) {
    images_ = images;
    for (int i : bound_indices_) bound_[i].reset();
    bound_indices_.clear();
    if (bound_.size() != nodes_.size()) bound_.assign(nodes_.size(), std::nullopt);
    used_.clear();
    for (Node* n : *images) {
      if (n != nullptr) used_.push_back(n);
    }
  }

  // Matches the arguments of pattern node `pn` against graph node `g`.
  // With `literals`, records every literal the pattern met.
  bool MatchArgs(const PatternNode& pn, const Node* g,
                 absl::InlinedVector<MatchedLiteral, 4>* literals) {
    const Node* p = pn.node;
    // Pointers, not copies: this runs for every candidate pair.
    ptrs_p_.clear();
    ptrs_g_.clear();
    names_.clear();
    bool same_shape = p->args().size() == g->args().size() &&
                      p->kwargs().size() == g->kwargs().size();
    if (same_shape) {
      for (size_t i = 0; i < p->kwargs().size(); ++i) {
        if (p->kwargs()[i].name != g->kwargs()[i].name) {
          same_shape = false;
          break;
        }
      }
    }
    static const std::string* const kNoName = new std::string();
    if (same_shape) {
      const OpSchema* schema = p->is_call() ? p->target().schema : nullptr;
      for (size_t i = 0; i < p->args().size(); ++i) {
        ptrs_p_.push_back(&p->args()[i]);
        ptrs_g_.push_back(&g->args()[i]);
        names_.push_back(schema != nullptr && i < schema->arguments.size()
                             ? &schema->arguments[i].name
                             : kNoName);
      }
      for (size_t i = 0; i < p->kwargs().size(); ++i) {
        ptrs_p_.push_back(&p->kwargs()[i].value);
        ptrs_g_.push_back(&g->kwargs()[i].value);
        names_.push_back(&p->kwargs()[i].name);
      }
    } else if (pn.normalized) {
      absl::StatusOr<NormalizedArgs> norm =
          NormalizeArguments(*p->target().schema, g->args(), g->kwargs());
      if (!norm.ok()) return false;
      norm_g_ = std::move(norm->values);
      for (size_t i = 0; i < pn.norm_args.size(); ++i) {
        ptrs_p_.push_back(&pn.norm_args[i]);
        ptrs_g_.push_back(&norm_g_[i]);
        names_.push_back(pn.norm_names[i]);
      }
    } else {
      return false;
    }
    for (size_t i = 0; i < ptrs_p_.size(); ++i) {
      const Argument& pa = *ptrs_p_[i];
      const Argument& ga = *ptrs_g_[i];
      if (!MatchValue(pa, ga)) return false;
      if (literals != nullptr && HasLiteral(pa)) {
        literals->push_back(MatchedLiteral{p, *names_[i], static_cast<int>(i),
                                           pa, ga});
      }
    }
    return true;
  }

  // The binding of placeholder pattern index i (after MatchArgs calls).
  const std::optional<Argument>& Bound(int i) const { return bound_[i]; }

 private:
  static bool HasLiteral(const Argument& a) {
    if (a.is_node()) return false;
    if (!a.is_list()) return true;
    bool any = false;
    std::vector<const Argument*> stack = {&a};
    while (!stack.empty() && !any) {
      const Argument* x = stack.back();
      stack.pop_back();
      for (const Argument& item : x->as_list()) {
        if (item.is_list()) {
          stack.push_back(&item);
        } else if (!item.is_node()) {
          any = true;
        }
      }
    }
    return any;
  }

  static bool ContainsNode(const Argument& a) {
    bool any = false;
    a.ForEachNode([&](Node*) { any = true; });
    return any;
  }

  bool MatchValue(const Argument& pa, const Argument& ga) {
    if (!pa.is_list()) return MatchScalar(pa, ga);
    std::vector<std::pair<const Argument*, const Argument*>> stack = {{&pa, &ga}};
    while (!stack.empty()) {
      auto [x, y] = stack.back();
      stack.pop_back();
      if (x->is_node()) {
        if (!MatchRef(x->node(), *y)) return false;
      } else if (x->is_list() && y->is_list()) {
        const auto& lx = x->as_list();
        const auto& ly = y->as_list();
        if (lx.size() != ly.size()) return false;
        for (size_t i = lx.size(); i-- > 0;) stack.emplace_back(&lx[i], &ly[i]);
      } else if (x->is_list()) {
        // Pattern list vs graph scalar or node: only a literal-only list may
        // be ignored; pattern nodes inside it would stay unbound.
        if (!ignore_literals_ || ContainsNode(*x)) return false;
      } else if (y->is_node() || y->is_list()) {
        if (!ignore_literals_) return false;
      } else if (!(*x == *y) && !ignore_literals_) {
        return false;
      }
    }
    return true;
  }

  // A non-list pattern value against a graph value.
  bool MatchScalar(const Argument& x, const Argument& y) {
    if (x.is_node()) return MatchRef(x.node(), y);
    if (y.is_node() || y.is_list()) return ignore_literals_;
    return x == y || ignore_literals_;
  }

  bool IsUsed(const Node* n) const {
    return std::find(used_.begin(), used_.end(), n) != used_.end();
  }

  int IndexOf(const Node* pnode) const {
    // Patterns are small: a scan beats hashing.
    if (nodes_.size() <= 32) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].node == pnode) return static_cast<int>(i);
      }
      REWIRE_CHECK(false);
    }
    auto it = node_index_.find(pnode);
    REWIRE_CHECK(it != node_index_.end());
    return it->second;
  }

  bool MatchRef(const Node* pnode, const Argument& ga) {
    const int index = IndexOf(pnode);
    const PatternNode& target = nodes_[index];
    if (target.search_id < 0) {
      // Wildcard placeholder: binds anything, consistently.
      std::optional<Argument>& slot = bound_[index];
      if (slot.has_value()) return *slot == ga;
      if (ga.is_node()) {
        if (IsUsed(ga.node())) return false;  // injectivity
        used_.push_back(ga.node());
      }
      slot = ga;
      bound_indices_.push_back(index);
      return true;
    }
    // A searched node: never matches a graph literal (rewire: upstream
    // crashes here under ignore_literals).
    if (!ga.is_node()) return false;
    Node* image = (*images_)[target.search_id];
    return image == nullptr ? !IsUsed(ga.node()) : image == ga.node();
  }

  const std::vector<PatternNode>& nodes_;
  const absl::flat_hash_map<const Node*, int>& node_index_;
  const bool ignore_literals_;
  const std::vector<Node*>* images_ = nullptr;
  std::vector<std::optional<Argument>> bound_;
  std::vector<int> bound_indices_;
  // Graph nodes already taken by the mapping; patterns are small, so a
  // vector with linear search beats a hash set.
  std::vector<const Node*> used_;
  std::vector<const Argument*> ptrs_p_, ptrs_g_;
  std::vector<const std::string*> names_;
  std::vector<Argument> norm_g_;
};

// VF2 adapter over (pattern, graph).
class IrAdapter {
 public:
  using TargetNode = Node*;
  using EdgeLabel = int;

  IrAdapter(const std::vector<PatternNode>& nodes,
            const std::vector<const Node*>& search_nodes,
            const absl::flat_hash_map<const Node*, int>& node_index,
            const std::vector<std::vector<Node*>>& candidates,
            const std::vector<const TargetInfo*>& graph_targets,
            bool ignore_literals)
      : nodes_(nodes),
        search_nodes_(search_nodes),
        node_index_(node_index),
        candidates_(candidates),
        graph_targets_(graph_targets),
        binder_(nodes, node_index, ignore_literals) {
    for (int s = 0; s < static_cast<int>(search_nodes_.size()); ++s) {
      const Node* p = search_nodes_[s];
      for (size_t slot = 0; slot < p->num_operands(); ++slot) {
        const Node* q = p->operand(slot);
        const PatternNode& qn = nodes_[node_index_.at(q)];
        if (qn.search_id >= 0) {
          edges_.push_back({qn.search_id, s, static_cast<int>(slot)});
        }
      }
      pattern_node_index_.push_back(node_index_.at(p));
    }
    images_.assign(search_nodes_.size(), nullptr);
  }

  int PatternSize() const { return static_cast<int>(search_nodes_.size()); }
  int PatternEdgeCount() const { return static_cast<int>(edges_.size()); }
  vf2::PatternEdge<int> PatternEdgeAt(int i) const { return edges_[i]; }
  int64_t CandidateCount(int p) const { return candidates_[p].size(); }
  template <class F>
  void ForEachCandidate(int p, F f) const {
    for (Node* n : candidates_[p]) f(n);
  }
  void Prefetch(Node* t, bool deep) const {
    if (!deep) {
      // The node spans a few cache lines; op, target and arguments first.
      __builtin_prefetch(t);
      __builtin_prefetch(reinterpret_cast<const char*>(t) + 64);
      __builtin_prefetch(reinterpret_cast<const char*>(t) + 128);
      return;
    }
    // Out-of-line arguments and the name, which a match record copies.
    __builtin_prefetch(t->args().data());
    __builtin_prefetch(reinterpret_cast<const char*>(t->args().data()) + 64);
    __builtin_prefetch(t->name().data());
  }
  int64_t OutDegree(Node* t) const { return t->num_uses(); }
  int64_t InDegree(Node* t) const { return t->num_operands(); }
  template <class F>
  void ForEachOutEdge(Node* t, F f) const {
    for (const Use& u : t->uses()) {
      if (!f(u.user, 0)) return;
    }
  }
  template <class F>
  void ForEachInEdge(Node* t, F f) const {
    for (size_t i = 0; i < t->num_operands(); ++i) {
      if (!f(t->operand(i), 0)) return;
    }
  }
  bool NodeCompatible(int p, Node* t) const {
    const Node* pn = search_nodes_[p];
    if (pn->op() != t->op()) return false;
    // The graph's interned target for this pattern op (nullptr when the
    // graph has none): a pointer comparison.
    if (pn->is_call()) return t->target_key() == graph_targets_[p];
    return true;  // get_attr by kind; placeholder/output by op
  }
  bool EdgeCompatible(int, int) const { return true; }

  // Argument-level check of every mapped pattern node against its image;
  // catches literal mismatches, swapped operands and placeholder conflicts
  // as early as possible.
  bool ExtraPairCheck(int p, Node* t,
                      const vf2::PartialMapping<Node*>& mapping) const {
    int mapped = 1;
    for (int s = 0; s < PatternSize(); ++s) {
      images_[s] = s == p ? t : (mapping.IsMapped(s) ? mapping.TargetOf(s) : nullptr);
      if (s != p && images_[s] != nullptr) ++mapped;
    }
    // A complete mapping is verified in full by the match callback.
    if (mapped == PatternSize()) return true;
    binder_.Reset(&images_);
    for (int s = 0; s < PatternSize(); ++s) {
      if (images_[s] == nullptr) continue;
      if (!binder_.MatchArgs(nodes_[pattern_node_index_[s]], images_[s],
                             nullptr)) {
        return false;
      }
    }
    return true;
  }

 private:
  const std::vector<PatternNode>& nodes_;
  const std::vector<const Node*>& search_nodes_;
  const absl::flat_hash_map<const Node*, int>& node_index_;
  const std::vector<std::vector<Node*>>& candidates_;
  const std::vector<const TargetInfo*>& graph_targets_;
  std::vector<vf2::PatternEdge<int>> edges_;
  std::vector<int> pattern_node_index_;
  mutable std::vector<Node*> images_;
  mutable Binder binder_;
};

// Whether fusing `matched` into one node would create a cycle: some path
// leaves the set and comes back. Only nodes before the last matched node can
// lead back, which bounds the walk to the match's span of the graph.
bool FusingCreatesCycle(const std::vector<Node*>& matched,
                        const std::vector<Node*>& in_match_list) {
  auto in_match_has = [&](const Node* n) {
    return std::find(in_match_list.begin(), in_match_list.end(), n) !=
           in_match_list.end();
  };
  Node* last = matched.front();
  for (Node* n : matched) {
    if (last->IsBefore(n)) last = n;
  }
  std::vector<Node*> stack;
  for (Node* n : matched) {
    for (const Use& u : n->uses()) {
      if (!in_match_has(u.user) && u.user->IsBefore(last)) {
        stack.push_back(u.user);
      }
    }
  }
  if (stack.empty()) return false;  // the common case: nothing escapes early
  absl::flat_hash_set<const Node*> seen(stack.begin(), stack.end());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Use& u : n->uses()) {
      if (in_match_has(u.user)) return true;
      if (u.user->IsBefore(last) && seen.insert(u.user).second) {
        stack.push_back(u.user);
      }
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SubgraphMatcher>> SubgraphMatcher::Create(
    const Graph& pattern, const MatcherOptions& options) {
  auto m = std::unique_ptr<SubgraphMatcher>(new SubgraphMatcher(pattern, options));
  const Node* output = pattern.output();
  if (output == nullptr) {
    return absl::InvalidArgumentError("pattern has no output node");
  }
  bool any_compute = false;
  for (const Node* n : pattern) {
    if (!n->is_output() && !n->has_uses()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pattern node %", n->name(),
          " has no users: patterns must not contain dead code"));
    }
    if (n->is_call() || n->is_get_attr()) any_compute = true;
    if (n->is_placeholder()) m->placeholders_.push_back(n);
  }
  if (!any_compute) {
    return absl::InvalidArgumentError(
        "pattern is empty: it has no call_function or get_attr node");
  }
  // Returning nodes: the output's operands, flattened, first occurrence first.
  for (size_t i = 0; i < output->num_operands(); ++i) {
    const Node* r = output->operand(i);
    if (std::find(m->returning_.begin(), m->returning_.end(), r) !=
        m->returning_.end()) {
      continue;
    }
    if (r->is_placeholder()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "pattern output %", r->name(),
          " is a placeholder: a pattern must return computed values"));
    }
    m->returning_.push_back(r);
  }
  if (options.match_output) {
    m->anchors_.push_back(output);
  } else {
    for (const Node* r : m->returning_) {
      std::vector<Node*> users = r->Users();
      if (users.size() == 1 && users[0] == output) m->anchors_.push_back(r);
    }
    if (m->anchors_.empty()) m->anchors_.push_back(m->returning_.back());
  }
  for (const Node* n : pattern) {
    PatternNode pn;
    pn.node = n;
    bool searched = n->is_call() || n->is_get_attr() ||
                    (n->is_placeholder() && options.match_placeholder) ||
                    (n->is_output() && options.match_output);
    pn.search_id = searched ? static_cast<int>(m->search_nodes_.size()) : -1;
    if (searched) m->search_nodes_.push_back(n);
    if (n->is_call() && n->target().schema != nullptr) {
      absl::StatusOr<NormalizedArgs> norm =
          NormalizeArguments(*n->target().schema, n->args(), n->kwargs());
      if (!norm.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "pattern node %", n->name(), ": ", norm.status().message()));
      }
      pn.normalized = true;
      pn.norm_args = std::move(norm->values);
      for (const SchemaArgument& a : n->target().schema->arguments) {
        pn.norm_names.push_back(&a.name);
      }
    }
    m->node_index_.emplace(n, static_cast<int>(m->nodes_.size()));
    m->nodes_.push_back(std::move(pn));
    if (searched && (n->is_call() || n->is_get_attr())) ++m->compute_nodes_;
  }
  return m;
}

absl::StatusOr<MatchResult> SubgraphMatcher::Match(const Graph& graph) const {
  return MatchImpl(graph, KeepFn());
}

absl::StatusOr<MatchResult> SubgraphMatcher::ForEachMatch(
    const Graph& graph,
    absl::FunctionRef<bool(const InternalMatch&)> visit) const {
  MatchResult result;
  // Candidates per searched node from the graph's indexes.
  std::vector<std::vector<Node*>> candidates(search_nodes_.size());
  std::vector<Node*> by_kind[4];
  bool scanned = false;
  for (size_t s = 0; s < search_nodes_.size(); ++s) {
    const Node* p = search_nodes_[s];
    if (p->is_call()) {
      candidates[s] = graph.NodesWithTarget(p->target().qualified);
      continue;
    }
    if (p->is_output()) {
      if (graph.output() != nullptr) candidates[s] = {graph.output()};
      continue;
    }
    if (!scanned) {  // get_attr / placeholder: not indexed, one scan.
      for (Node* n : graph) by_kind[static_cast<int>(n->op())].push_back(n);
      scanned = true;
    }
    candidates[s] = by_kind[static_cast<int>(p->op())];
  }

  std::vector<const TargetInfo*> graph_targets(search_nodes_.size(), nullptr);
  for (size_t s = 0; s < search_nodes_.size(); ++s) {
    if (search_nodes_[s]->is_call() && !candidates[s].empty()) {
      graph_targets[s] = candidates[s].front()->target_key();
    }
  }
  IrAdapter adapter(nodes_, search_nodes_, node_index_, candidates,
                    graph_targets, options_.ignore_literals);
  Binder binder(nodes_, node_index_, options_.ignore_literals);
  std::vector<Node*> images(search_nodes_.size());
  std::vector<Node*> compute;
  InternalMatch match;
  vf2::SearchOptions vopts;
  vopts.mode = vf2::MatchMode::kMonomorphism;
  vopts.max_steps = options_.max_steps;

  vf2::SearchResult sr = vf2::FindMatches(
      adapter, vopts, [&](absl::Span<Node* const> mapping) {
        for (size_t s = 0; s < mapping.size(); ++s) images[s] = mapping[s];
        binder.Reset(&images);
        match.anchors.clear();
        match.nodes_map.clear();
        match.placeholder_bindings.clear();
        match.returning_nodes.clear();
        match.literals.clear();
        for (size_t i = 0; i < nodes_.size(); ++i) {
          const PatternNode& pn = nodes_[i];
          if (pn.search_id < 0) continue;
          if (!binder.MatchArgs(pn, images[pn.search_id], &match.literals)) {
            return vf2::MatchAction::kContinue;
          }
        }
        const std::vector<Node*>& in_match = images;
        auto in_match_has = [&](const Node* n) {
          return std::find(in_match.begin(), in_match.end(), n) != in_match.end();
        };
        // Containment: internal nodes are used only inside the match.
        for (size_t i = 0; i < nodes_.size(); ++i) {
          const PatternNode& pn = nodes_[i];
          if (pn.search_id < 0 || pn.node->is_placeholder() ||
              pn.node->is_output()) {
            continue;
          }
          if (std::find(returning_.begin(), returning_.end(), pn.node) !=
              returning_.end()) {
            continue;
          }
          for (const Use& u : images[pn.search_id]->uses()) {
            if (!in_match_has(u.user)) {
              ++result.rejected_containment;
              return vf2::MatchAction::kContinue;
            }
          }
        }
        // Fusing a single node can never close a cycle.
        if (compute_nodes_ > 1) {
          compute.clear();
          for (size_t i = 0; i < nodes_.size(); ++i) {
            const PatternNode& pn = nodes_[i];
            if (pn.search_id >= 0 && !pn.node->is_placeholder() &&
                !pn.node->is_output()) {
              compute.push_back(images[pn.search_id]);
            }
          }
          if (FusingCreatesCycle(compute, in_match)) {
            ++result.rejected_cycle;
            return vf2::MatchAction::kContinue;
          }
        }
        for (size_t i = 0; i < nodes_.size(); ++i) {
          const PatternNode& pn = nodes_[i];
          if (pn.search_id >= 0) {
            match.nodes_map.emplace_back(pn.node,
                                         Argument::Ref(images[pn.search_id]));
          } else if (pn.node->is_placeholder() && binder.Bound(i).has_value()) {
            match.nodes_map.emplace_back(pn.node, *binder.Bound(i));
          }
        }
        for (const Node* ph : placeholders_) {
          const Argument* b = match.Binding(ph);
          match.placeholder_bindings.push_back(b == nullptr ? Argument::None()
                                                            : *b);
        }
        for (const Node* r : returning_) {
          match.returning_nodes.push_back(match.GraphNode(r));
        }
        match.anchors.assign(anchors_.begin(), anchors_.end());
        return visit(match) ? vf2::MatchAction::kContinue
                            : vf2::MatchAction::kStop;
      });
  result.steps = sr.num_steps;
  result.limit_reached = sr.limit_reached;
  return result;
}

absl::StatusOr<MatchResult> SubgraphMatcher::MatchImpl(
    const Graph& graph, const KeepFn& keep) const {
  std::vector<InternalMatch> found;
  ASSIGN_OR_RETURN(MatchResult result,
                   ForEachMatch(graph, [&](const InternalMatch& m) {
                     found.push_back(m);
                     return true;
                   }));

  // Graph order of the anchors, lexicographically (torch.fx reports matches
  // in the order of the first anchor's position).
  auto anchor_less = [&](const InternalMatch& a, const InternalMatch& b) {
    for (size_t i = 0; i < anchors_.size(); ++i) {
      Node* x = a.GraphNode(anchors_[i]);
      Node* y = b.GraphNode(anchors_[i]);
      if (x != y) return x->IsBefore(y);
    }
    return false;
  };
  // Usually already sorted: root candidates come in graph order.
  if (!std::is_sorted(found.begin(), found.end(), anchor_less)) {
    std::sort(found.begin(), found.end(), anchor_less);
  }

  if (keep) {
    std::vector<InternalMatch> kept;
    kept.reserve(found.size());
    for (InternalMatch& m : found) {
      if (keep(m)) kept.push_back(std::move(m));
    }
    found = std::move(kept);
  }
  // Distinct matches of a one-node pattern never share a node: skip the set.
  if (options_.remove_overlapping_matches && compute_nodes_ > 1) {
    absl::flat_hash_set<const Node*> taken;
    std::vector<InternalMatch> kept;
    auto is_compute = [](const std::pair<const Node*, Argument>& e) {
      return !e.first->is_placeholder() && !e.first->is_output() &&
             e.second.is_node();
    };
    for (InternalMatch& m : found) {
      bool overlap = false;
      for (const auto& e : m.nodes_map) {
        if (is_compute(e) && taken.contains(e.second.node())) {
          overlap = true;
          break;
        }
      }
      if (overlap) {
        ++result.rejected_overlap;
        continue;
      }
      for (const auto& e : m.nodes_map) {
        if (is_compute(e)) taken.insert(e.second.node());
      }
      kept.push_back(std::move(m));
    }
    found = std::move(kept);
  }
  result.matches = std::move(found);
  return result;
}

}  // namespace rewire
