// A generic VF2-style subgraph matcher over directed graphs.
//
// This is the search core shared by rewire's pattern engines: the IR matcher
// (an adapter over rewire's Graph/Node) and the plain labelled-digraph front
// end (rewrite/digraph_matcher.h). The core knows nothing about either; it
// talks to the two graphs through an adapter (the concept is documented
// below) and enumerates injective mappings pattern node -> target node such
// that every pattern edge has a compatible target edge (monomorphism) and, in
// induced mode, no extra target edge joins two mapped nodes.
//
// Design points, and why:
//  * The search is an explicit-stack backtracking loop, never recursion, so a
//    long chain pattern over a 1e6-node target cannot overflow the stack.
//  * Work per search state is proportional to the degrees of the nodes
//    involved, never to the target size: candidates for the first node of
//    each pattern component come from the adapter's label index, later ones
//    from the adjacency of an already-mapped neighbour (the one whose target
//    has the smallest adjacency in the needed direction). "Is this target
//    node already used" is a scan of the mapped targets for patterns of up
//    to 16 nodes, and a hash map holding only the mapped nodes beyond that;
//    nothing is ever sized by the target.
//  * Pattern nodes are ordered once per search: rarest candidates (from the
//    adapter's target index) and high degree first, each next node adjacent
//    to already-ordered nodes whenever possible.
//  * Edges carry labels (e.g. an argument slot) and may be parallel: the k
//    pattern edges between an ordered pair of nodes must map injectively onto
//    compatible target edges between the images (a small bipartite matching,
//    trivial in the common k == 1 case). Self loops are edges like any other.
//
// Limits of this matcher (stated so callers do not rely on more):
//  * Worst-case time is exponential, as for any subgraph isomorphism search;
//    use SearchOptions::max_steps / max_matches to bound it. Only cheap
//    look-ahead is done (degree pruning), not VF2's terminal-set counting.
//  * Node and edge compatibility are arbitrary predicates, but the search
//    only prunes structurally (degrees, edges to the mapped core); a
//    predicate that accepts almost everything makes the search as slow as
//    the structure allows.
//  * The order in which matches are reported is deterministic for a given
//    adapter, but not otherwise specified (it follows the internal node
//    order and the adapter's candidate order; neighbour candidates are
//    visited in ascending TargetNode order). Callers that need a particular
//    order sort the results.
//  * An empty pattern has exactly one (empty) match. Front ends that treat
//    an empty pattern as an error must reject it before calling the core.
//  * Single-threaded; one search uses O(pattern size + sum of the degrees
//    along the current search path) memory.
//
// Adapter concept (all members const; `p`, `q` are pattern node ids in
// [0, PatternSize()), `t` a target node):
//
//   using TargetNode = ...;   // cheap to copy; ==, std::less and absl::Hash.
//                             // Dense integer ids make the (ascending)
//                             // neighbour-candidate order the graph order.
//   using EdgeLabel = ...;    // cheap to copy; a slot, a label, or a dummy.
//
//   // Pattern side. The pattern is small; the core copies it once per search.
//   int PatternSize() const;
//   int PatternEdgeCount() const;
//   vf2::PatternEdge<EdgeLabel> PatternEdgeAt(int i) const;  // {from,to,label}
//
//   // Target index and adjacency.
//   int64_t CandidateCount(int p) const;  // estimated number of target nodes
//                                         // that may match p (label
//                                         // frequency); only orders the search.
//   template <class F> void ForEachCandidate(int p, F f) const;
//   void Prefetch(const TargetNode& t, bool deep) const;
//       // Optional cache hint for a candidate tried soon: the node itself
//       // (deep = false), later what it points to (deep = true).
//       // Calls f(TargetNode) once per distinct target node that may match p
//       // (a superset of the compatible nodes is fine, e.g. a label bucket).
//   int64_t OutDegree(TargetNode t) const;   // number of out edges, parallel
//   int64_t InDegree(TargetNode t) const;    // edges and self loops included.
//   template <class F> void ForEachOutEdge(TargetNode t, F f) const;
//   template <class F> void ForEachInEdge(TargetNode t, F f) const;
//       // Call f(TargetNode other_end, const EdgeLabel& label) per edge
//       // (a self loop appears in both lists); f returns bool: false means
//       // stop iterating now.
//
//   // Compatibility.
//   bool NodeCompatible(int p, TargetNode t) const;        // labels, ops ...
//   bool EdgeCompatible(const EdgeLabel& pattern_label,
//                       const EdgeLabel& target_label) const;
//
//   // Optional hooks (detected at compile time; absent means "accept").
//   bool AllowTarget(TargetNode t) const;   // e.g. reject consumed nodes.
//   bool ExtraPairCheck(int p, TargetNode t,
//                       const vf2::PartialMapping<TargetNode>& m) const;
//       // Called last, after all structural checks pass, with the mapping
//       // of the nodes placed before p; e.g. compare literal arguments.
//
// Usage:
//   vf2::SearchOptions options;
//   options.mode = vf2::MatchMode::kInduced;
//   vf2::SearchResult r = vf2::FindMatches(
//       adapter, options, [&](absl::Span<const MyAdapter::TargetNode> m) {
//         // m[p] is the target node of pattern node p.
//         return vf2::MatchAction::kContinue;
//       });
#ifndef REWIRE_REWRITE_VF2_H_
#define REWIRE_REWRITE_VF2_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "ir/status_macros.h"

namespace rewire {
namespace vf2 {

enum class MatchMode {
  kMonomorphism,  // Non-induced: extra target edges among mapped nodes ok.
  kInduced,       // Induced: edges among mapped nodes correspond exactly.
};

enum class MatchAction { kContinue, kStop };

// Why a search ended.
enum class StopReason {
  kCompleted,   // The whole search space was explored.
  kMaxMatches,  // More than max_matches matches exist; max_matches reported.
  kMaxSteps,    // max_steps candidate pairs tried; the search was cut short.
  kCallback,    // The match callback returned kStop.
};

struct SearchOptions {
  MatchMode mode = MatchMode::kMonomorphism;
  // Report at most this many matches; 0 means unlimited. When the limit is
  // hit the search keeps looking for one more match (not reported) so that
  // `limit_reached` is only set when matches were really left out.
  int64_t max_matches = 0;
  // Try at most this many (pattern node, target node) candidate pairs; 0
  // means unlimited. Bounds the exponential worst case.
  int64_t max_steps = 0;
};

struct SearchResult {
  int64_t num_matches = 0;  // Matches reported to the callback.
  int64_t num_steps = 0;    // Candidate pairs tried.
  StopReason stop_reason = StopReason::kCompleted;
  // True when a limit (max_matches or max_steps) made the enumeration
  // incomplete; stop_reason says which.
  bool limit_reached = false;
};

template <typename EdgeLabel>
struct PatternEdge {
  int from = 0;
  int to = 0;
  EdgeLabel label{};
};

// Read-only view of the partial mapping handed to ExtraPairCheck.
template <typename TargetNode>
class PartialMapping {
 public:
  PartialMapping(const TargetNode* targets, const int* position, int level)
      : targets_(targets), position_(position), level_(level) {}
  // Whether pattern node p is already mapped.
  bool IsMapped(int p) const { return position_[p] < level_; }
  // The target of a mapped pattern node.
  const TargetNode& TargetOf(int p) const {
    REWIRE_CHECK(IsMapped(p));
    return targets_[p];
  }

 private:
  const TargetNode* targets_;
  const int* position_;
  int level_;
};

namespace internal {

template <typename A, typename = void>
struct HasAllowTarget : std::false_type {};
template <typename A>
struct HasAllowTarget<A, std::void_t<decltype(std::declval<const A&>().AllowTarget(
                             std::declval<const typename A::TargetNode&>()))>>
    : std::true_type {};

template <typename A, typename = void>
struct HasPrefetch : std::false_type {};
template <typename A>
struct HasPrefetch<A, std::void_t<decltype(std::declval<const A&>().Prefetch(
                          std::declval<const typename A::TargetNode&>(), true))>>
    : std::true_type {};

template <typename A, typename = void>
struct HasExtraPairCheck : std::false_type {};
template <typename A>
struct HasExtraPairCheck<
    A, std::void_t<decltype(std::declval<const A&>().ExtraPairCheck(
           0, std::declval<const typename A::TargetNode&>(),
           std::declval<const PartialMapping<typename A::TargetNode>&>()))>>
    : std::true_type {};

// Whether the pattern labels `need` can be assigned injectively to compatible
// target labels `have` (Kuhn's augmenting paths; both lists are tiny: they
// are the parallel edges between one pair of nodes). `match_of` and `seen`
// are scratch.
template <typename EdgeLabel, typename Compatible>
bool AssignLabels(absl::Span<const EdgeLabel> need,
                  absl::Span<const EdgeLabel> have, const Compatible& compatible,
                  std::vector<int>& match_of, std::vector<char>& seen) {
  if (have.size() < need.size()) return false;
  if (need.size() == 1) {
    for (const EdgeLabel& label : have) {
      if (compatible(need[0], label)) return true;
    }
    return false;
  }
  match_of.assign(have.size(), -1);
  // Augment iteratively (explicit stack) to keep the no-recursion promise.
  std::vector<std::pair<int, size_t>> stack;
  for (int start = 0; start < static_cast<int>(need.size()); ++start) {
    seen.assign(have.size(), 0);
    stack.clear();
    stack.push_back({start, 0});
    std::vector<int> via;  // via[d]: target slot chosen at depth d.
    bool augmented = false;
    while (!stack.empty() && !augmented) {
      auto& [i, next] = stack.back();
      if (next == have.size()) {
        stack.pop_back();
        if (!via.empty()) via.pop_back();
        continue;
      }
      const size_t j = next++;
      if (seen[j] || !compatible(need[i], have[j])) continue;
      seen[j] = 1;
      via.push_back(static_cast<int>(j));
      if (match_of[j] < 0) {
        // Flip the path: stack[d].first takes via[d].
        for (size_t d = 0; d < via.size(); ++d) {
          match_of[via[d]] = stack[d].first;
        }
        augmented = true;
      } else {
        stack.push_back({match_of[j], 0});
      }
    }
    if (!augmented) return false;
  }
  return true;
}

template <typename Adapter>
class Searcher {
 public:
  using TargetNode = typename Adapter::TargetNode;
  using EdgeLabel = typename Adapter::EdgeLabel;

  Searcher(const Adapter& adapter, const SearchOptions& options)
      : a_(adapter), options_(options) {}

  template <typename OnMatch>
  SearchResult Run(OnMatch& on_match) {
    n_ = a_.PatternSize();
    REWIRE_CHECK(n_ >= 0);
    SearchResult result;
    if (n_ == 0) {
      // The single injection from the empty set.
      result.num_matches = 1;
      if (on_match(absl::Span<const TargetNode>()) == MatchAction::kStop) {
        result.stop_reason = StopReason::kCallback;
      }
      return result;
    }
    BuildPattern();
    OrderPattern();
    BuildBackGroups();
    return Search(on_match);
  }

 private:
  enum Dir : uint8_t { kOut, kIn, kSelf };  // p->q, q->p, p->p.

  // The pattern edges between the node at some position and one node placed
  // earlier (or itself, for kSelf), grouped per direction.
  struct Group {
    int q;
    Dir dir;
    int label_begin;  // Into group_labels_.
    int label_count;
  };

  struct PatternAdj {
    int other;
    int edge;  // Index into pattern_edges_.
  };

  struct Frame {
    size_t begin;  // Candidate segment in cand_buf_.
    size_t end;
    size_t cursor;
  };

  void BuildPattern() {
    const int m = a_.PatternEdgeCount();
    pattern_edges_.reserve(m);
    out_.assign(n_, {});
    in_.assign(n_, {});
    out_degree_.assign(n_, 0);
    in_degree_.assign(n_, 0);
    for (int i = 0; i < m; ++i) {
      PatternEdge<EdgeLabel> e = a_.PatternEdgeAt(i);
      REWIRE_CHECK(e.from >= 0 && e.from < n_ && e.to >= 0 && e.to < n_);
      pattern_edges_.push_back(e);
      out_[e.from].push_back({e.to, i});
      in_[e.to].push_back({e.from, i});
      ++out_degree_[e.from];
      ++in_degree_[e.to];
    }
  }

  // Greedy most-constrained-first order; see the header comment.
  void OrderPattern() {
    std::vector<int64_t> count(n_);
    for (int p = 0; p < n_; ++p) count[p] = a_.CandidateCount(p);
    order_.clear();
    position_.assign(n_, n_);  // n_ = not placed yet.
    std::vector<int> links(n_, 0);  // Edges to already-ordered nodes.
    std::vector<char> frontier(n_, 0);
    component_root_.assign(n_, 0);
    auto degree = [&](int p) { return out_degree_[p] + in_degree_[p]; };
    // Returns whether a is a better next node than b.
    auto better_root = [&](int a, int b) {
      if (count[a] != count[b]) return count[a] < count[b];
      if (degree(a) != degree(b)) return degree(a) > degree(b);
      return a < b;
    };
    auto better_next = [&](int a, int b) {
      if (links[a] != links[b]) return links[a] > links[b];
      return better_root(a, b);
    };
    while (static_cast<int>(order_.size()) < n_) {
      int best = -1;
      for (int p = 0; p < n_; ++p) {  // O(n^2) on the small pattern: fine.
        if (position_[p] < n_ || !frontier[p]) continue;
        if (best < 0 || better_next(p, best)) best = p;
      }
      const bool root = best < 0;
      if (root) {
        for (int p = 0; p < n_; ++p) {
          if (position_[p] < n_) continue;
          if (best < 0 || better_root(p, best)) best = p;
        }
      }
      position_[best] = static_cast<int>(order_.size());
      component_root_[order_.size()] = root;
      order_.push_back(best);
      auto touch = [&](int other) {
        if (position_[other] < n_) return;
        ++links[other];
        frontier[other] = 1;
      };
      for (const PatternAdj& e : out_[best]) touch(e.other);
      for (const PatternAdj& e : in_[best]) touch(e.other);
    }
  }

  void BuildBackGroups() {
    group_begin_.assign(n_ + 1, 0);
    groups_.clear();
    group_labels_.clear();
    need_out_.assign(n_, 0);
    need_in_.assign(n_, 0);
    for (int pos = 0; pos < n_; ++pos) {
      const int p = order_[pos];
      group_begin_[pos] = static_cast<int>(groups_.size());
      // (q, dir) -> labels; patterns are small, so a linear find is fine.
      auto add = [&](int q, Dir dir, const EdgeLabel& label) {
        for (int g = group_begin_[pos]; g < static_cast<int>(groups_.size());
             ++g) {
          if (groups_[g].q == q && groups_[g].dir == dir) {
            pending_[g - group_begin_[pos]].push_back(label);
            return;
          }
        }
        groups_.push_back({q, dir, 0, 0});
        pending_.resize(groups_.size() - group_begin_[pos]);
        pending_.back().assign(1, label);
      };
      pending_.clear();
      for (const PatternAdj& e : out_[p]) {
        const EdgeLabel& label = pattern_edges_[e.edge].label;
        if (e.other == p) {
          add(p, kSelf, label);
          ++need_out_[pos];
        } else if (position_[e.other] < pos) {
          add(e.other, kOut, label);
          ++need_out_[pos];
        }
      }
      for (const PatternAdj& e : in_[p]) {
        if (e.other != p && position_[e.other] < pos) {
          add(e.other, kIn, pattern_edges_[e.edge].label);
          ++need_in_[pos];
        }
      }
      for (int g = group_begin_[pos]; g < static_cast<int>(groups_.size());
           ++g) {
        auto& labels = pending_[g - group_begin_[pos]];
        groups_[g].label_begin = static_cast<int>(group_labels_.size());
        groups_[g].label_count = static_cast<int>(labels.size());
        group_labels_.insert(group_labels_.end(), labels.begin(), labels.end());
      }
    }
    group_begin_[n_] = static_cast<int>(groups_.size());
  }

  // Whether t is the image of one of the nodes at positions [0, level).
  bool IsMappedTarget(const TargetNode& t, int level) const {
    if (use_hash_) {
      return target_to_pattern_.find(t) != target_to_pattern_.end();
    }
    for (int i = 0; i < level; ++i) {
      if (by_position_[i] == t) return true;
    }
    return false;
  }

  void Bind(int level, const TargetNode& t) {
    mapping_[order_[level]] = t;
    by_position_[level] = t;
    if (use_hash_) target_to_pattern_.emplace(t, order_[level]);
  }

  void Unbind(int level) {
    if (use_hash_) target_to_pattern_.erase(by_position_[level]);
  }

  // Appends to cand_buf_ the candidates for the node at position `pos`.
  void FillCandidates(int pos) {
    const int p = order_[pos];
    const size_t begin = cand_buf_.size();
    if (component_root_[pos]) {
      a_.ForEachCandidate(p, [&](const TargetNode& t) {
        cand_buf_.push_back(t);
      });
      return;  // The adapter promises distinct nodes.
    }
    // Pick the mapped neighbour whose image has the smallest adjacency in
    // the direction we need; its neighbours are the candidates.
    int best_group = -1;
    int64_t best_degree = 0;
    for (int g = group_begin_[pos]; g < group_begin_[pos + 1]; ++g) {
      const Group& group = groups_[g];
      if (group.dir == kSelf) continue;
      const TargetNode& image = mapping_[group.q];
      const int64_t d =
          group.dir == kOut ? a_.InDegree(image) : a_.OutDegree(image);
      if (best_group < 0 || d < best_degree) {
        best_group = g;
        best_degree = d;
      }
    }
    REWIRE_CHECK(best_group >= 0);  // Non-root nodes have an earlier link.
    const Group& group = groups_[best_group];
    const TargetNode& image = mapping_[group.q];
    auto push = [&](const TargetNode& other, const EdgeLabel&) {
      cand_buf_.push_back(other);
      return true;
    };
    if (group.dir == kOut) {
      a_.ForEachInEdge(image, push);  // Edge p->q: p's image is a tail.
    } else {
      a_.ForEachOutEdge(image, push);
    }
    // Parallel edges repeat a neighbour; each node must be tried once.
    auto first = cand_buf_.begin() + begin;
    if (cand_buf_.end() - first > 1) {
      if (!std::is_sorted(first, cand_buf_.end(), std::less<TargetNode>())) {
        std::sort(first, cand_buf_.end(), std::less<TargetNode>());
      }
      cand_buf_.erase(std::unique(first, cand_buf_.end()), cand_buf_.end());
    }
  }

  // Collects the labels of the target edges between t and `other` in the
  // group's direction into label_scratch_. With `first_only`, stops at the
  // first edge compatible with `want`.
  void CollectTargetLabels(const TargetNode& t, const Group& group,
                           const TargetNode& other, bool first_only,
                           const EdgeLabel* want) {
    label_scratch_.clear();
    auto take = [&](const TargetNode& x, const EdgeLabel& label) {
      if (!(x == other)) return true;
      if (first_only) {
        if (a_.EdgeCompatible(*want, label)) {
          label_scratch_.push_back(label);
          return false;
        }
        return true;
      }
      label_scratch_.push_back(label);
      return true;
    };
    switch (group.dir) {
      case kSelf:
        a_.ForEachOutEdge(t, take);
        break;
      case kOut:  // t -> other: scan the shorter list.
        if (a_.OutDegree(t) <= a_.InDegree(other)) {
          a_.ForEachOutEdge(t, take);
        } else {
          a_.ForEachInEdge(other, [&](const TargetNode& x, const EdgeLabel& l) {
            return x == t ? take(other, l) : true;
          });
        }
        break;
      case kIn:  // other -> t.
        if (a_.InDegree(t) <= a_.OutDegree(other)) {
          a_.ForEachInEdge(t, take);
        } else {
          a_.ForEachOutEdge(other,
                            [&](const TargetNode& x, const EdgeLabel& l) {
                              return x == t ? take(other, l) : true;
                            });
        }
        break;
    }
  }

  bool Feasible(int pos, const TargetNode& t) {
    const int p = order_[pos];
    if (IsMappedTarget(t, pos)) return false;
    if constexpr (HasAllowTarget<Adapter>::value) {
      if (!a_.AllowTarget(t)) return false;
    }
    if (!a_.NodeCompatible(p, t)) return false;
    if (a_.OutDegree(t) < out_degree_[p] || a_.InDegree(t) < in_degree_[p]) {
      return false;
    }
    const bool induced = options_.mode == MatchMode::kInduced;
    auto compatible = [&](const EdgeLabel& x, const EdgeLabel& y) {
      return a_.EdgeCompatible(x, y);
    };
    for (int g = group_begin_[pos]; g < group_begin_[pos + 1]; ++g) {
      const Group& group = groups_[g];
      const TargetNode& other = group.dir == kSelf ? t : mapping_[group.q];
      absl::Span<const EdgeLabel> need(group_labels_.data() + group.label_begin,
                                       group.label_count);
      const bool single = need.size() == 1 && !induced;
      CollectTargetLabels(t, group, other, single, single ? &need[0] : nullptr);
      if (single) {
        if (label_scratch_.empty()) return false;
        continue;
      }
      if (induced && label_scratch_.size() != need.size()) return false;
      if (!AssignLabels<EdgeLabel>(need, label_scratch_, compatible,
                                   match_scratch_, seen_scratch_)) {
        return false;
      }
    }
    if (induced) {
      // Every group matched exactly; any further edge between t and the
      // mapped core (or a self loop the pattern lacks) makes the totals
      // differ.
      int64_t out = 0;
      int64_t in = 0;
      a_.ForEachOutEdge(t, [&](const TargetNode& x, const EdgeLabel&) {
        if (x == t || IsMappedTarget(x, pos)) ++out;
        return out <= need_out_[pos];
      });
      if (out != need_out_[pos]) return false;
      a_.ForEachInEdge(t, [&](const TargetNode& x, const EdgeLabel&) {
        if (!(x == t) && IsMappedTarget(x, pos)) ++in;
        return in <= need_in_[pos];
      });
      if (in != need_in_[pos]) return false;
    }
    if constexpr (HasExtraPairCheck<Adapter>::value) {
      PartialMapping<TargetNode> view(mapping_.data(), position_.data(), pos);
      if (!a_.ExtraPairCheck(p, t, view)) return false;
    }
    return true;
  }

  template <typename OnMatch>
  SearchResult Search(OnMatch& on_match) {
    SearchResult result;
    mapping_.assign(n_, TargetNode{});
    by_position_.assign(n_, TargetNode{});
    // Small patterns: scanning the few mapped targets beats hashing.
    use_hash_ = n_ > kMaxLinearScan;
    target_to_pattern_.clear();
    if (use_hash_) target_to_pattern_.reserve(n_);
    frames_.assign(n_, Frame{});
    cand_buf_.clear();
    bool counting_extra = false;  // Past max_matches, looking for one more.

    int level = 0;
    frames_[0].begin = 0;
    FillCandidates(0);
    frames_[0].end = cand_buf_.size();
    frames_[0].cursor = frames_[0].begin;
    while (level >= 0) {
      Frame& frame = frames_[level];
      bool advanced = false;
      while (frame.cursor < frame.end) {
        if (options_.max_steps != 0 && result.num_steps >= options_.max_steps) {
          result.stop_reason = StopReason::kMaxSteps;
          result.limit_reached = true;
          return result;
        }
        ++result.num_steps;
        if constexpr (internal::HasPrefetch<Adapter>::value) {
          // Root candidates of a large graph are scattered in memory; asking
          // for a later one now hides most of its cache miss.
          // Two stages: the node itself far ahead, then (once it has
          // arrived) what it points to.
          constexpr size_t kAhead = 16;
          if (frame.cursor + kAhead < frame.end) {
            a_.Prefetch(cand_buf_[frame.cursor + kAhead], /*deep=*/false);
          }
          if (frame.cursor + kAhead / 2 < frame.end) {
            a_.Prefetch(cand_buf_[frame.cursor + kAhead / 2], /*deep=*/true);
          }
        }
        const TargetNode t = cand_buf_[frame.cursor++];
        if (!Feasible(level, t)) continue;
        Bind(level, t);
        advanced = true;
        break;
      }
      if (!advanced) {
        // Exhausted: drop this level's candidates and undo the parent's pair.
        cand_buf_.resize(frame.begin);
        --level;
        if (level >= 0) Unbind(level);
        continue;
      }
      if (level + 1 == n_) {
        if (counting_extra) {
          result.stop_reason = StopReason::kMaxMatches;
          result.limit_reached = true;
          return result;
        }
        ++result.num_matches;
        if (on_match(absl::Span<const TargetNode>(mapping_)) ==
            MatchAction::kStop) {
          result.stop_reason = StopReason::kCallback;
          return result;
        }
        if (options_.max_matches != 0 &&
            result.num_matches >= options_.max_matches) {
          counting_extra = true;
        }
        Unbind(level);
        continue;  // Try the next candidate at this level.
      }
      ++level;
      Frame& next = frames_[level];
      next.begin = cand_buf_.size();
      FillCandidates(level);
      next.end = cand_buf_.size();
      next.cursor = next.begin;
    }
    return result;
  }

  const Adapter& a_;
  const SearchOptions options_;
  int n_ = 0;

  std::vector<PatternEdge<EdgeLabel>> pattern_edges_;
  std::vector<std::vector<PatternAdj>> out_;
  std::vector<std::vector<PatternAdj>> in_;
  std::vector<int64_t> out_degree_;
  std::vector<int64_t> in_degree_;

  std::vector<int> order_;           // Position -> pattern node.
  std::vector<int> position_;        // Pattern node -> position.
  std::vector<char> component_root_; // By position.

  std::vector<int> group_begin_;     // By position, n_ + 1 entries.
  std::vector<Group> groups_;
  std::vector<EdgeLabel> group_labels_;
  std::vector<std::vector<EdgeLabel>> pending_;
  std::vector<int64_t> need_out_;    // By position: edges to core + loops.
  std::vector<int64_t> need_in_;

  static constexpr int kMaxLinearScan = 16;
  std::vector<TargetNode> mapping_;  // Pattern node -> target node.
  std::vector<TargetNode> by_position_;  // Position -> target node.
  bool use_hash_ = false;
  absl::flat_hash_map<TargetNode, int> target_to_pattern_;  // If use_hash_.
  std::vector<Frame> frames_;
  std::vector<TargetNode> cand_buf_;

  std::vector<EdgeLabel> label_scratch_;
  std::vector<int> match_scratch_;
  std::vector<char> seen_scratch_;
};

}  // namespace internal

// Enumerates the matches of the adapter's pattern in its target; calls
// on_match(absl::Span<const TargetNode>) for each (indexed by pattern node;
// valid only during the call), which returns MatchAction.
template <typename Adapter, typename OnMatch>
SearchResult FindMatches(const Adapter& adapter, const SearchOptions& options,
                         OnMatch&& on_match) {
  REWIRE_CHECK(options.max_matches >= 0 && options.max_steps >= 0);
  internal::Searcher<Adapter> searcher(adapter, options);
  return searcher.Run(on_match);
}

}  // namespace vf2
}  // namespace rewire

#endif  // REWIRE_REWRITE_VF2_H_
