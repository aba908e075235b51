// Graph and Node: the in-memory form of an exported aten-style graph.
//
// A Graph owns its nodes in topological order (placeholders first, one output
// node last) and hands out raw `Node*` handles that stay valid until the node
// is erased. Edges are mutated only through the Graph, which keeps each node's
// users, the name table and the target index in sync, so a rewrite never
// observes a stale user list. Nothing here recurses over the graph: a
// million-node chain is an ordinary input.
//
// Note [Operand slots]
// A node's operands are the node references in its args then kwargs, visited
// depth first through lists; the k-th one is "slot k". A Use records
// (user, slot), because `%y = aten.add.Tensor(%x, %x)` uses %x twice and the
// two uses must be told apart when one of them is redirected.
//
// Note [Order keys]
// Each node carries an order key that increases along the node list, so
// "does a come before b" is O(1). Inserting between two nodes takes the
// midpoint key; when keys run out, the insertion renumbers the whole list
// at once (amortized O(1) per insertion). Renumbering is eager, never
// deferred to a const query such as IsBefore, so const methods never write
// order keys and a graph that is not being mutated may be read from several
// threads (docs/RELIABILITY.md, "Thread safety").
#ifndef REWIRE_IR_GRAPH_H_
#define REWIRE_IR_GRAPH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/argument.h"
#include "ir/metadata.h"
#include "ir/schema.h"

namespace rewire {

class Graph;

enum class OpKind : uint8_t {
  kPlaceholder = 0,
  kGetAttr,
  kCallFunction,
  kOutput,
};
absl::string_view OpKindName(OpKind k);  // "placeholder", "call_function", ...
absl::StatusOr<OpKind> ParseOpKind(absl::string_view s);

// The target of a node, interned per graph so that comparing two targets of
// the same graph is a pointer comparison. For call_function it is an operator
// "ns.name.overload" (e.g. "aten.dropout.default") or "getitem"; for
// placeholder it is the argument name; for get_attr the attribute path.
struct TargetInfo {
  std::string qualified;       // "aten.dropout.default"
  std::string ns;              // "aten" (empty for getitem and non-calls)
  std::string name;            // "dropout"
  std::string overload;        // "default"
  const OpSchema* schema;      // nullptr when unknown or not a call
  bool is_getitem;
};

struct Use {
  Node* user;
  uint32_t slot;
  friend bool operator==(const Use& a, const Use& b) {
    return a.user == b.user && a.slot == b.slot;
  }
};

class Node {
 public:
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  OpKind op() const { return static_cast<OpKind>(target_op_ & kOpMask); }
  const TargetInfo& target() const { return *target_key(); }
  // The interned target pointer: equal pointers <=> equal targets within a
  // graph.
  const TargetInfo* target_key() const {
    return reinterpret_cast<const TargetInfo*>(target_op_ & ~kOpMask);
  }
  const std::string& name() const { return name_; }
  absl::Span<const Argument> args() const { return args_; }
  const std::vector<Kwarg>& kwargs() const { return kwargs_.get(); }
  // The kwarg named `name`, or nullptr.
  const Argument* kwarg(absl::string_view name) const;

  // Distinct-by-slot users, in no particular order (removal is O(1) by
  // swapping). Use Graph order keys when order matters.
  absl::Span<const Use> uses() const { return uses_; }
  size_t num_uses() const { return uses_.size(); }
  bool has_uses() const { return !uses_.empty(); }
  // Distinct user nodes, sorted by graph order.
  std::vector<Node*> Users() const;
  // The operand nodes by slot (Note [Operand slots]); may repeat.
  std::vector<Node*> Operands() const;
  size_t num_operands() const { return operands_.size(); }
  Node* operand(size_t slot) const { return operands_[slot].producer; }

  const Metadata& meta() const { return meta_; }
  Metadata& mutable_meta() { return meta_; }

  Graph* graph() const { return graph_; }
  Node* next() const { return next_; }
  Node* prev() const { return prev_; }
  // O(1) order comparison (Note [Order keys]).
  bool IsBefore(const Node* other) const;

  bool is_placeholder() const { return op() == OpKind::kPlaceholder; }
  bool is_get_attr() const { return op() == OpKind::kGetAttr; }
  bool is_call() const { return op() == OpKind::kCallFunction; }
  bool is_output() const { return op() == OpKind::kOutput; }

  // "%name = aten.add.Tensor(%a, 1)" for error messages.
  std::string DebugString() const;

 private:
  friend class Graph;
  Node() = default;

  struct Operand {
    Node* producer;
    uint32_t use_index;  // position in producer->uses_
    // The argument holding the reference. Stable: args_/kwargs_ and nested
    // lists are only replaced wholesale (SetArguments), which rebuilds the
    // operands, and a Node never moves. Makes ReplaceInput O(1) even on very
    // wide nodes.
    Argument* location;
  };

  // Keyword arguments are rare in exported graphs (torch.export passes
  // nearly everything positionally), so a node keeps them behind one
  // pointer, null when there are none: 8 bytes instead of a std::vector's 24.
  class KwargList {
   public:
    const std::vector<Kwarg>& get() const { return v_ ? *v_ : Empty(); }
    size_t size() const { return v_ ? v_->size() : 0; }
    bool empty() const { return size() == 0; }
    Kwarg& operator[](size_t i) { return (*v_)[i]; }
    const Kwarg& operator[](size_t i) const { return (*v_)[i]; }
    absl::Span<Kwarg> span() {
      return v_ ? absl::MakeSpan(*v_) : absl::Span<Kwarg>();
    }
    KwargList& operator=(std::vector<Kwarg> kwargs) {
      v_ = kwargs.empty()
               ? nullptr
               : std::make_unique<std::vector<Kwarg>>(std::move(kwargs));
      return *this;
    }

   private:
    static const std::vector<Kwarg>& Empty();
    std::unique_ptr<std::vector<Kwarg>> v_;
  };

  void set_target(OpKind op, const TargetInfo* target) {
    target_op_ = reinterpret_cast<uintptr_t>(target) |
                 static_cast<uintptr_t>(op);
  }

  // Each node is one malloc chunk of sizeof(Node) + 8 bytes rounded up to
  // 16 (glibc), so the layout is kept at 184 bytes (a 192-byte chunk), and
  // one element of args_, operands_ and uses_ is stored inline: a unary op
  // needs no allocation besides the node and its metadata.
  //
  // The interned target and the op kind share one word: a TargetInfo is at
  // least 4-byte aligned, so the two low bits of its address hold the
  // OpKind. A separate OpKind byte would be padded to 8 and push the node
  // into the next chunk size.
  static constexpr uintptr_t kOpMask = 3;
  uintptr_t target_op_ = static_cast<uintptr_t>(OpKind::kCallFunction);
  std::string name_;
  absl::InlinedVector<Argument, 1> args_;
  KwargList kwargs_;
  absl::InlinedVector<Operand, 1> operands_;
  absl::InlinedVector<Use, 1> uses_;
  Metadata meta_;
  Graph* graph_ = nullptr;
  Node* prev_ = nullptr;
  Node* next_ = nullptr;
  uint64_t order_ = 0;
  uint32_t index_pos_ = 0;  // position in the graph's target index bucket
  int32_t unused_pos_ = -1;  // position in Graph::unused_, -1 when used
};

static_assert(alignof(TargetInfo) > 3 &&
                  static_cast<uintptr_t>(OpKind::kOutput) <= 3,
              "Node packs the OpKind into the TargetInfo pointer's low bits");
static_assert(sizeof(void*) != 8 || sizeof(Node) <= 184,
              "a larger Node takes the next malloc chunk size (see Node's "
              "fields)");

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&& other) noexcept;
  Graph& operator=(Graph&& other) noexcept;

  // --- Iteration over nodes in order.
  class Iterator {
   public:
    explicit Iterator(Node* n) : n_(n) {}
    Node* operator*() const { return n_; }
    Iterator& operator++() {
      n_ = n_->next();
      return *this;
    }
    bool operator!=(const Iterator& o) const { return n_ != o.n_; }
    bool operator==(const Iterator& o) const { return n_ == o.n_; }

   private:
    Node* n_;
  };
  Iterator begin() const { return Iterator(head_); }
  Iterator end() const { return Iterator(nullptr); }
  Node* first() const { return head_; }
  Node* last() const { return tail_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // --- Lookup.
  Node* FindNode(absl::string_view name) const;
  // The output node, or nullptr when the graph has none.
  Node* output() const;
  std::vector<Node*> Placeholders() const;
  // Call nodes with this qualified target, in graph order (target index: no
  // scan of the graph).
  std::vector<Node*> NodesWithTarget(absl::string_view qualified) const;
  // Number of nodes with this target, O(1).
  size_t CountTarget(absl::string_view qualified) const;
  // All distinct call targets present, sorted by name.
  std::vector<std::string> CallTargets() const;

  // --- Creation. Each returns the new node; name is made unique from `hint`
  // (torch.fx style: "add", "add_1", ...). Arguments must reference nodes of
  // this graph placed before the insertion point, else an error.
  struct NodeSpec {
    OpKind op = OpKind::kCallFunction;
    std::string target;  // qualified target / placeholder name / attr path
    std::vector<Argument> args;
    std::vector<Kwarg> kwargs;
    std::string name;  // desired name; empty: derived from the target
    Metadata meta;
  };
  // Appends at the end of the graph (before the output node if one exists
  // and spec is not itself an output).
  absl::StatusOr<Node*> Append(NodeSpec spec);
  absl::StatusOr<Node*> InsertBefore(Node* position, NodeSpec spec);
  absl::StatusOr<Node*> InsertAfter(Node* position, NodeSpec spec);
  // Convenience wrappers.
  absl::StatusOr<Node*> AddPlaceholder(absl::string_view name,
                                       Metadata meta = {});
  absl::StatusOr<Node*> AddGetAttr(absl::string_view path, Metadata meta = {});
  absl::StatusOr<Node*> AddCall(absl::string_view target,
                                std::vector<Argument> args,
                                std::vector<Kwarg> kwargs = {},
                                Metadata meta = {});
  absl::StatusOr<Node*> AddOutput(std::vector<Argument> args);

  // --- Mutation.
  // Replaces args and kwargs of `node`; users bookkeeping follows. References
  // must be to nodes before `node`.
  absl::Status SetArguments(Node* node, std::vector<Argument> args,
                            std::vector<Kwarg> kwargs);
  // Replaces argument `index` of `node` (positional arguments first, then
  // keyword arguments in order) by `value`. Neither the old nor the new value
  // may reference a node (InvalidArgument otherwise): the operand slots and
  // every user list stay as they are, which is what makes flipping a flag
  // such as dropout's `train` cost no edge bookkeeping.
  absl::Status SetLiteralArgument(Node* node, size_t index, Argument value);
  // Redirects operand slot `slot` of `node` to `value`.
  absl::Status ReplaceInput(Node* node, uint32_t slot, Node* value);
  // Redirects every use of `from` to `to`. `to` must come before each user.
  // Given:  %b = f(%a); %c = g(%a, %a)   ReplaceAllUsesWith(a, x)
  // Result: %b = f(%x); %c = g(%x, %x)
  absl::Status ReplaceAllUsesWith(Node* from, Node* to);
  // Erases `node`; refused (FailedPrecondition) while it has users.
  absl::Status Erase(Node* node);
  // Renames `node`; refused if the name is taken or empty.
  absl::Status Rename(Node* node, absl::string_view name);
  // Moves `node` to just before `position` (order checks are the caller's).
  void MoveBefore(Node* node, Node* position);
  // Removes nodes without users whose op has no side effect (schema does not
  // mutate an input; see IsImpure). Returns the number removed. Visits only
  // the nodes without users and, as they go, the operands they leave unused:
  // the fixed point of repeated reverse sweeps, at the cost of one.
  size_t EliminateDeadCode();
  // A call is impure when its schema mutates an argument (`dropout_`,
  // `copy_`, `add_`, `bernoulli_`); an op without a known schema is impure
  // when its name ends in '_' (aten's in-place convention). Placeholders and
  // the output are always kept.
  static bool IsImpure(const Node& node);

  // Deep copy; node names, order, args and metadata identical.
  std::unique_ptr<Graph> Clone() const;

  // Makes a unique node name from `hint` (does not reserve it). Although
  // const, it advances a per-stem suffix cache (name_counters_), so it must
  // not run concurrently with any other access to the graph.
  std::string UniqueName(absl::string_view hint) const;

 private:
  friend class Node;

  const TargetInfo* InternTarget(OpKind op, absl::string_view target);
  // Renumbers order keys (Note [Order keys]); insertions call it when keys
  // run out.
  void RenumberOrder();

  absl::StatusOr<Node*> CreateNode(NodeSpec spec, Node* before);
  void LinkBefore(Node* node, Node* before);
  void Unlink(Node* node);
  void AddUses(Node* node);
  void RemoveUses(Node* node);
  void RemoveUse(Node* node, size_t operand_index);
  absl::Status CheckOperands(const std::vector<Argument>& args,
                             const std::vector<Kwarg>& kwargs,
                             const Node* position, absl::string_view what_prefix,
                             absl::string_view what_name) const;
  void MarkUnused(Node* node);
  void MarkUsed(Node* node);
  void IndexAdd(Node* node);
  void IndexRemove(Node* node);

  // The name table holds node pointers hashed and compared by the node's
  // own name, and is searched by string_view (heterogeneous lookup): each
  // name is stored once, in its node, and a slot costs 8 bytes instead of a
  // 40-byte string-and-pointer pair. A node's name changes only through
  // Rename, which takes the node out of the table first.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(absl::string_view name) const {
      return absl::Hash<absl::string_view>{}(name);
    }
    size_t operator()(const Node* n) const { return (*this)(n->name()); }
  };
  struct NameEq {
    using is_transparent = void;
    static absl::string_view Key(absl::string_view name) { return name; }
    static absl::string_view Key(const Node* n) { return n->name(); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Key(a) == Key(b);
    }
  };

  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  Node* output_ = nullptr;
  size_t size_ = 0;
  absl::flat_hash_set<Node*, NameHash, NameEq> by_name_;
  // Interned targets per op kind; unique_ptr keeps TargetInfo addresses
  // stable. Keyed by string with string_view lookup: no allocation on a hit.
  absl::flat_hash_map<std::string, std::unique_ptr<TargetInfo>> targets_[4];
  // Call nodes per target. `in_order` says the bucket is in graph order, as
  // it is after appending nodes in order (building or loading a model), so
  // NodesWithTarget can return it without touching a million scattered
  // nodes for their order keys.
  struct IndexBucket {
    std::vector<Node*> nodes;
    bool in_order = true;
  };
  absl::flat_hash_map<const TargetInfo*, IndexBucket> index_;
  // Nodes without users, so dead-code elimination visits only candidates
  // instead of walking (and cache-missing through) the whole graph.
  std::vector<Node*> unused_;
  // Next numeric suffix to try per name stem, so generating many "add_<k>"
  // names stays O(1) each.
  mutable absl::flat_hash_map<std::string, int64_t> name_counters_;
};

}  // namespace rewire

#endif  // REWIRE_IR_GRAPH_H_
