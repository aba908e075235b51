#include "ir/graph.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/printable.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

// Spacing of order keys for appended nodes (Note [Order keys]): leaves room
// for ~20 successive midpoint insertions between two neighbours.
constexpr uint64_t kOrderGap = uint64_t{1} << 20;

// Visits every node-reference Argument of (args, kwargs) in slot order with a
// mutable pointer; stops early when f returns false.
template <typename F>
void ForEachSlot(absl::Span<Argument> args, absl::Span<Kwarg> kwargs, F&& f) {
  uint32_t slot = 0;
  std::vector<std::pair<std::vector<Argument>*, size_t>> stack;
  auto visit_top = [&](Argument& a) -> bool {
    if (a.is_node()) return f(a, slot++);
    if (!a.is_list()) return true;
    stack.emplace_back(&a.mutable_list(), 0);
    while (!stack.empty()) {
      auto& [list, idx] = stack.back();
      if (idx == list->size()) {
        stack.pop_back();
        continue;
      }
      Argument& item = (*list)[idx++];
      if (item.is_node()) {
        if (!f(item, slot++)) {
          stack.clear();
          return false;
        }
      } else if (item.is_list()) {
        stack.emplace_back(&item.mutable_list(), 0);
      }
    }
    return true;
  };
  for (Argument& a : args) {
    if (!visit_top(a)) return;
  }
  for (Kwarg& kw : kwargs) {
    if (!visit_top(kw.value)) return;
  }
}

std::string NameStem(absl::string_view hint) {
  std::string stem;
  stem.reserve(hint.size());
  for (char c : hint) {
    stem.push_back(absl::ascii_isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  if (stem.empty()) stem = "node";
  if (absl::ascii_isdigit(static_cast<unsigned char>(stem[0]))) {
    stem.insert(stem.begin(), '_');
  }
  return stem;
}

}  // namespace

absl::string_view OpKindName(OpKind k) {
  switch (k) {
    case OpKind::kPlaceholder:
      return "placeholder";
    case OpKind::kGetAttr:
      return "get_attr";
    case OpKind::kCallFunction:
      return "call_function";
    case OpKind::kOutput:
      return "output";
  }
  return "?";
}

absl::StatusOr<OpKind> ParseOpKind(absl::string_view s) {
  for (OpKind k : {OpKind::kPlaceholder, OpKind::kGetAttr,
                   OpKind::kCallFunction, OpKind::kOutput}) {
    if (s == OpKindName(k)) return k;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown node kind '", s,
                   "' (expected placeholder, get_attr, call_function or "
                   "output)"));
}

// ---------------------------------------------------------------- Node

const std::vector<Kwarg>& Node::KwargList::Empty() {
  static const std::vector<Kwarg>* const kEmpty = new std::vector<Kwarg>();
  return *kEmpty;
}

const Argument* Node::kwarg(absl::string_view name) const {
  for (const Kwarg& kw : kwargs()) {
    if (kw.name == name) return &kw.value;
  }
  return nullptr;
}

std::vector<Node*> Node::Users() const {
  std::vector<Node*> users;
  users.reserve(uses_.size());
  for (const Use& u : uses_) users.push_back(u.user);
  std::sort(users.begin(), users.end(),
            [](const Node* a, const Node* b) { return a->IsBefore(b); });
  users.erase(std::unique(users.begin(), users.end()), users.end());
  return users;
}

std::vector<Node*> Node::Operands() const {
  std::vector<Node*> out;
  out.reserve(operands_.size());
  for (const Operand& o : operands_) out.push_back(o.producer);
  return out;
}

bool Node::IsBefore(const Node* other) const {
  REWIRE_CHECK(graph_ != nullptr && graph_ == other->graph_);
  return order_ < other->order_;
}

std::string Node::DebugString() const {
  std::string out = absl::StrCat("%", Printable(name_), " = ");
  if (op() != OpKind::kCallFunction) {
    absl::StrAppend(&out, OpKindName(op()),
                    "[target=", Printable(target().qualified), "]");
    if (op() != OpKind::kOutput) return out;
  } else {
    absl::StrAppend(&out, Printable(target().qualified));
  }
  std::vector<std::string> parts;
  for (const Argument& a : args_) parts.push_back(a.DebugString());
  for (const Kwarg& kw : kwargs()) {
    parts.push_back(
        absl::StrCat(Printable(kw.name), "=", kw.value.DebugString()));
  }
  absl::StrAppend(&out, "(", absl::StrJoin(parts, ", "), ")");
  return out;
}

// ---------------------------------------------------------------- Graph

Graph::Graph() = default;

Graph::~Graph() {
  Node* n = head_;
  while (n != nullptr) {
    Node* next = n->next_;
    delete n;
    n = next;
  }
}

Graph::Graph(Graph&& other) noexcept { *this = std::move(other); }

Graph& Graph::operator=(Graph&& other) noexcept {
  if (this == &other) return *this;
  for (Node* n = head_; n != nullptr;) {
    Node* next = n->next_;
    delete n;
    n = next;
  }
  head_ = std::exchange(other.head_, nullptr);
  tail_ = std::exchange(other.tail_, nullptr);
  output_ = std::exchange(other.output_, nullptr);
  size_ = std::exchange(other.size_, 0);
  by_name_ = std::move(other.by_name_);
  for (int k = 0; k < 4; ++k) targets_[k] = std::move(other.targets_[k]);
  index_ = std::move(other.index_);
  unused_ = std::move(other.unused_);
  other.unused_.clear();
  name_counters_ = std::move(other.name_counters_);
  other.by_name_.clear();
  for (auto& t : other.targets_) t.clear();
  other.index_.clear();
  other.name_counters_.clear();
  for (Node* n = head_; n != nullptr; n = n->next_) n->graph_ = this;
  return *this;
}

Node* Graph::FindNode(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : *it;
}

Node* Graph::output() const { return output_; }

std::vector<Node*> Graph::Placeholders() const {
  std::vector<Node*> out;
  for (Node* n : *this) {
    if (n->is_placeholder()) out.push_back(n);
  }
  return out;
}

std::vector<Node*> Graph::NodesWithTarget(absl::string_view qualified) const {
  const auto& calls = targets_[static_cast<int>(OpKind::kCallFunction)];
  auto t = calls.find(qualified);
  if (t == calls.end()) return {};
  auto it = index_.find(t->second.get());
  if (it == index_.end()) return {};
  const IndexBucket& bucket = it->second;
  if (bucket.in_order) return bucket.nodes;
  // Sort (key, node) pairs: comparing through the nodes would dereference
  // two scattered nodes per comparison on a large graph.
  std::vector<std::pair<uint64_t, Node*>> keyed;
  keyed.reserve(bucket.nodes.size());
  for (Node* n : bucket.nodes) keyed.emplace_back(n->order_, n);
  std::sort(keyed.begin(), keyed.end());
  std::vector<Node*> out;
  out.reserve(keyed.size());
  for (const auto& k : keyed) out.push_back(k.second);
  return out;
}

size_t Graph::CountTarget(absl::string_view qualified) const {
  const auto& calls = targets_[static_cast<int>(OpKind::kCallFunction)];
  auto t = calls.find(qualified);
  if (t == calls.end()) return 0;
  auto it = index_.find(t->second.get());
  return it == index_.end() ? 0 : it->second.nodes.size();
}

std::vector<std::string> Graph::CallTargets() const {
  std::vector<std::string> out;
  for (const auto& [info, bucket] : index_) {
    if (!bucket.nodes.empty()) out.push_back(info->qualified);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const TargetInfo* Graph::InternTarget(OpKind op, absl::string_view target) {
  absl::string_view canonical = target;
  if (op == OpKind::kCallFunction) {
    // Every leading "torch.ops." (torch.fx prints one), so that a canonical
    // target never starts with it and printing and re-reading it is stable.
    while (absl::ConsumePrefix(&canonical, "torch.ops.")) {
    }
    if (canonical == "operator.getitem" || canonical == "_operator.getitem") {
      canonical = "getitem";
    }
  }
  auto& table = targets_[static_cast<int>(op)];
  auto it = table.find(canonical);
  if (it != table.end()) return it->second.get();
  auto info = std::make_unique<TargetInfo>();
  info->qualified = std::string(canonical);
  info->schema = nullptr;
  info->is_getitem = false;
  if (op == OpKind::kCallFunction) {
    if (canonical == "getitem") {
      info->is_getitem = true;
      info->name = "getitem";
    } else {
      std::vector<absl::string_view> parts = absl::StrSplit(canonical, '.');
      if (parts.size() == 3) {
        info->ns = std::string(parts[0]);
        info->name = std::string(parts[1]);
        info->overload = std::string(parts[2]);
      } else {
        info->name = std::string(canonical);
      }
      info->schema = SchemaRegistry::Global().Find(canonical);
    }
  } else {
    info->name = std::string(canonical);
  }
  const TargetInfo* raw = info.get();
  table.emplace(std::string(canonical), std::move(info));
  return raw;
}

std::string Graph::UniqueName(absl::string_view hint) const {
  std::string stem = NameStem(hint);
  if (!by_name_.contains(stem)) return stem;
  // Strip an existing numeric suffix so "add_1" grows into "add_2", as fx does.
  absl::string_view base = stem;
  size_t us = base.rfind('_');
  if (us != absl::string_view::npos && us + 1 < base.size() &&
      std::all_of(base.begin() + us + 1, base.end(),
                  [](char c) { return absl::ascii_isdigit(c); })) {
    base = base.substr(0, us);
  }
  int64_t& next = name_counters_[base];
  if (next < 1) next = 1;
  while (true) {
    std::string candidate = absl::StrCat(base, "_", next++);
    if (!by_name_.contains(candidate)) return candidate;
  }
}

void Graph::RenumberOrder() {
  uint64_t key = kOrderGap;
  for (Node* n = head_; n != nullptr; n = n->next_) {
    n->order_ = key;
    key += kOrderGap;
  }
}

void Graph::LinkBefore(Node* node, Node* before) {
  node->graph_ = this;
  bool keys_exhausted = false;
  if (before == nullptr) {
    node->prev_ = tail_;
    node->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = node;
    } else {
      head_ = node;
    }
    tail_ = node;
    const uint64_t prev_key = node->prev_ ? node->prev_->order_ : 0;
    if (prev_key > UINT64_MAX - 2 * kOrderGap) {
      keys_exhausted = true;
    } else {
      node->order_ = prev_key + kOrderGap;
    }
  } else {
    node->next_ = before;
    node->prev_ = before->prev_;
    if (before->prev_ != nullptr) {
      before->prev_->next_ = node;
    } else {
      head_ = node;
    }
    before->prev_ = node;
    const uint64_t lo = node->prev_ ? node->prev_->order_ : 0;
    const uint64_t hi = before->order_;
    if (hi - lo >= 2) {
      node->order_ = lo + (hi - lo) / 2;
    } else {
      keys_exhausted = true;
    }
  }
  ++size_;
  // Renumber now, not on the next IsBefore: IsBefore is const and a lazy
  // renumber from it would make concurrent const access to one graph a data
  // race. Eager costs nothing extra in practice, because every insertion
  // with node operands queries the order right away (CheckOperands).
  if (keys_exhausted) RenumberOrder();
}

void Graph::Unlink(Node* node) {
  if (node->prev_ != nullptr) {
    node->prev_->next_ = node->next_;
  } else {
    head_ = node->next_;
  }
  if (node->next_ != nullptr) {
    node->next_->prev_ = node->prev_;
  } else {
    tail_ = node->prev_;
  }
  node->prev_ = node->next_ = nullptr;
  --size_;
}

void Graph::AddUses(Node* node) {
  node->operands_.clear();
  auto add_use = [&](Argument& a, uint32_t slot) {
    Node* producer = a.node();
    node->operands_.push_back(
        {producer, static_cast<uint32_t>(producer->uses_.size()), &a});
    if (producer->uses_.empty()) MarkUsed(producer);
    producer->uses_.push_back({node, slot});
    return true;
  };
  ForEachSlot(absl::MakeSpan(node->args_), node->kwargs_.span(), add_use);
}

void Graph::RemoveUse(Node* node, size_t operand_index) {
  Node::Operand op = node->operands_[operand_index];
  auto& uses = op.producer->uses_;
  Use moved = uses.back();
  uses[op.use_index] = moved;
  moved.user->operands_[moved.slot].use_index = op.use_index;
  uses.pop_back();
  if (uses.empty()) MarkUnused(op.producer);
}

void Graph::RemoveUses(Node* node) {
  // Reverse order keeps each swap-remove valid for the remaining operands.
  for (size_t k = node->operands_.size(); k-- > 0;) RemoveUse(node, k);
  node->operands_.clear();
}

void Graph::MarkUnused(Node* node) {
  if (node->unused_pos_ >= 0) return;
  node->unused_pos_ = static_cast<int32_t>(unused_.size());
  unused_.push_back(node);
}

void Graph::MarkUsed(Node* node) {
  if (node->unused_pos_ < 0) return;
  Node* moved = unused_.back();
  unused_[node->unused_pos_] = moved;
  moved->unused_pos_ = node->unused_pos_;
  unused_.pop_back();
  node->unused_pos_ = -1;
}

void Graph::IndexAdd(Node* node) {
  if (!node->is_call()) return;
  IndexBucket& bucket = index_[node->target_key()];
  // Order keys are valid here: LinkBefore renumbers eagerly.
  if (!bucket.nodes.empty() && !bucket.nodes.back()->IsBefore(node)) {
    bucket.in_order = false;
  }
  node->index_pos_ = static_cast<uint32_t>(bucket.nodes.size());
  bucket.nodes.push_back(node);
}

void Graph::IndexRemove(Node* node) {
  if (!node->is_call()) return;
  IndexBucket& bucket = index_[node->target_key()];
  Node* moved = bucket.nodes.back();
  // Swap-removal keeps the order only when the last node is removed.
  if (moved != node) bucket.in_order = false;
  bucket.nodes[node->index_pos_] = moved;
  moved->index_pos_ = node->index_pos_;
  bucket.nodes.pop_back();
  if (bucket.nodes.empty()) index_.erase(node->target_key());
}

absl::Status Graph::CheckOperands(const std::vector<Argument>& args,
                                  const std::vector<Kwarg>& kwargs,
                                  const Node* position,
                                  absl::string_view what_prefix,
                                  absl::string_view what_name) const {
  // The message is built only on error: this runs for every node created.
  auto what = [&] {
    return absl::StrCat(what_prefix, Printable(what_name), "'");
  };
  absl::Status status;
  auto check = [&](Node* n) {
    if (!status.ok()) return;
    if (n == nullptr || n->graph_ != this) {
      status = absl::InvalidArgumentError(absl::StrCat(
          what(), ": argument refers to a node of another graph"));
    } else if (position != nullptr &&
               (n == position || !n->IsBefore(position))) {
      status = absl::InvalidArgumentError(
          absl::StrCat(what(), ": argument %", Printable(n->name_),
                       " is not defined before the node"));
    }
  };
  for (const Argument& a : args) a.ForEachNode(check);
  for (const Kwarg& kw : kwargs) kw.value.ForEachNode(check);
  return status;
}

absl::StatusOr<Node*> Graph::CreateNode(NodeSpec spec, Node* before) {
  auto what = [&] {
    return absl::StrCat("creating node '",
                        Printable(spec.name.empty() ? spec.target : spec.name),
                        "'");
  };
  if (spec.op == OpKind::kOutput) {
    if (output_ != nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat(what(), ": the graph already has an output node"));
    }
    if (before != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(what(), ": the output node must be last"));
    }
  } else if (before == nullptr && output_ != nullptr) {
    before = output_;
  }
  if (spec.op != OpKind::kCallFunction && spec.op != OpKind::kOutput &&
      spec.target.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what(), ": ", OpKindName(spec.op), " needs a target"));
  }
  if (spec.op == OpKind::kCallFunction && spec.target.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what(), ": call_function needs a target"));
  }
  if (spec.op == OpKind::kOutput && spec.target.empty()) spec.target = "output";
  // A node placed before `before` may use anything already before it; when
  // appending at the very end, any existing node qualifies.
  RETURN_IF_ERROR(CheckOperands(spec.args, spec.kwargs, before,
                                "creating node '",
                                spec.name.empty() ? spec.target : spec.name));
  std::string name;
  if (!spec.name.empty()) {
    if (by_name_.contains(spec.name)) {
      return absl::AlreadyExistsError(
          absl::StrCat("duplicate node name '", Printable(spec.name), "'"));
    }
    name = std::move(spec.name);
  }
  const TargetInfo* target = InternTarget(spec.op, spec.target);
  if (name.empty()) {
    name = UniqueName(spec.op == OpKind::kOutput ? "output" : target->name);
  }
  auto* node = new Node();
  node->set_target(spec.op, target);
  node->name_ = std::move(name);
  node->args_.assign(std::make_move_iterator(spec.args.begin()),
                     std::make_move_iterator(spec.args.end()));
  node->kwargs_ = std::move(spec.kwargs);
  node->meta_ = std::move(spec.meta);
  LinkBefore(node, before);
  by_name_.insert(node);
  AddUses(node);
  MarkUnused(node);
  IndexAdd(node);
  if (node->is_output()) output_ = node;
  return node;
}

absl::StatusOr<Node*> Graph::Append(NodeSpec spec) {
  return CreateNode(std::move(spec), nullptr);
}

absl::StatusOr<Node*> Graph::InsertBefore(Node* position, NodeSpec spec) {
  REWIRE_CHECK(position != nullptr && position->graph_ == this);
  return CreateNode(std::move(spec), position);
}

absl::StatusOr<Node*> Graph::InsertAfter(Node* position, NodeSpec spec) {
  REWIRE_CHECK(position != nullptr && position->graph_ == this);
  if (position == output_) {
    return absl::InvalidArgumentError(
        "cannot insert a node after the output node");
  }
  if (position->next_ == nullptr) return CreateNode(std::move(spec), nullptr);
  return CreateNode(std::move(spec), position->next_);
}

absl::StatusOr<Node*> Graph::AddPlaceholder(absl::string_view name,
                                            Metadata meta) {
  NodeSpec spec;
  spec.op = OpKind::kPlaceholder;
  spec.target = std::string(name);
  spec.name = std::string(name);
  spec.meta = std::move(meta);
  // Placeholders go after the last placeholder so they stay first. Graphs
  // are usually built placeholders-first, so appending is the fast path.
  if (tail_ == nullptr || tail_->is_placeholder()) {
    return CreateNode(std::move(spec), nullptr);
  }
  Node* pos = head_;
  while (pos != nullptr && pos->is_placeholder()) pos = pos->next_;
  if (pos == nullptr) return CreateNode(std::move(spec), nullptr);
  return CreateNode(std::move(spec), pos);
}

absl::StatusOr<Node*> Graph::AddGetAttr(absl::string_view path, Metadata meta) {
  NodeSpec spec;
  spec.op = OpKind::kGetAttr;
  spec.target = std::string(path);
  spec.meta = std::move(meta);
  return Append(std::move(spec));
}

absl::StatusOr<Node*> Graph::AddCall(absl::string_view target,
                                     std::vector<Argument> args,
                                     std::vector<Kwarg> kwargs, Metadata meta) {
  NodeSpec spec;
  spec.op = OpKind::kCallFunction;
  spec.target = std::string(target);
  spec.args = std::move(args);
  spec.kwargs = std::move(kwargs);
  spec.meta = std::move(meta);
  return Append(std::move(spec));
}

absl::StatusOr<Node*> Graph::AddOutput(std::vector<Argument> args) {
  NodeSpec spec;
  spec.op = OpKind::kOutput;
  spec.target = "output";
  spec.name = UniqueName("output");
  spec.args = std::move(args);
  return Append(std::move(spec));
}

absl::Status Graph::SetArguments(Node* node, std::vector<Argument> args,
                                 std::vector<Kwarg> kwargs) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  RETURN_IF_ERROR(CheckOperands(args, kwargs, node, "setting arguments of '",
                                node->name_));
  RemoveUses(node);
  node->args_.assign(std::make_move_iterator(args.begin()),
                     std::make_move_iterator(args.end()));
  node->kwargs_ = std::move(kwargs);
  AddUses(node);
  return absl::OkStatus();
}

namespace {

bool HasNodeRef(const Argument& a) {
  bool any = false;
  a.ForEachNode([&](Node*) { any = true; });
  return any;
}

}  // namespace

absl::Status Graph::SetLiteralArgument(Node* node, size_t index,
                                       Argument value) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  const size_t nargs = node->args_.size();
  if (index >= nargs + node->kwargs_.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("%", Printable(node->name_), " has no argument ", index,
                     " (it has ", nargs + node->kwargs_.size(), ")"));
  }
  Argument& slot = index < nargs ? node->args_[index]
                                 : node->kwargs_[index - nargs].value;
  if (HasNodeRef(slot) || HasNodeRef(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument ", index, " of %", Printable(node->name_),
                     ": only a literal may replace a literal in place"));
  }
  slot = std::move(value);
  return absl::OkStatus();
}

absl::Status Graph::ReplaceInput(Node* node, uint32_t slot, Node* value) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  if (slot >= node->operands_.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("%", Printable(node->name_), " has no operand slot ", slot,
                     " (it has ", node->operands_.size(), ")"));
  }
  if (value == nullptr || value->graph_ != this) {
    return absl::InvalidArgumentError("replacement node is not in this graph");
  }
  if (value == node || !value->IsBefore(node)) {
    return absl::InvalidArgumentError(absl::StrCat("%", Printable(value->name_),
                                                   " is not defined before %",
                                                   Printable(node->name_)));
  }
  Node* old = node->operands_[slot].producer;
  if (old == value) return absl::OkStatus();
  // Point the argument itself at the new producer.
  Argument* location = node->operands_[slot].location;
  *location = Argument::Ref(value);
  // Swap-remove the old use, then record the new one.
  RemoveUse(node, slot);
  node->operands_[slot] = {value, static_cast<uint32_t>(value->uses_.size()),
                           location};
  value->uses_.push_back({node, slot});
  return absl::OkStatus();
}

absl::Status Graph::ReplaceAllUsesWith(Node* from, Node* to) {
  REWIRE_CHECK(from != nullptr && from->graph_ == this);
  REWIRE_CHECK(to != nullptr && to->graph_ == this);
  if (from == to) return absl::OkStatus();
  std::vector<Use> uses(from->uses_.begin(), from->uses_.end());
  // Validate every use first so a refusal changes nothing.
  for (const Use& u : uses) {
    if (u.user == to || !to->IsBefore(u.user)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot replace uses of %", from->name_, " with %",
                       Printable(to->name_), ": %", Printable(u.user->name_),
                       " comes before it"));
    }
  }
  // Each use knows its argument location: O(1) per use, so a node feeding
  // one very wide user stays linear.
  for (const Use& u : uses) {
    RETURN_IF_ERROR(ReplaceInput(u.user, u.slot, to));
  }
  return absl::OkStatus();
}

absl::Status Graph::Erase(Node* node) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  if (node->has_uses()) {
    std::vector<std::string> names;
    for (Node* u : node->Users())
      names.push_back(absl::StrCat("%", Printable(u->name_)));
    return absl::FailedPreconditionError(
        absl::StrCat("cannot erase %", node->name_, ": still used by ",
                     absl::StrJoin(names, ", ")));
  }
  RemoveUses(node);
  MarkUsed(node);  // leaves the unused set with the graph
  IndexRemove(node);
  by_name_.erase(node);
  if (node == output_) output_ = nullptr;
  Unlink(node);
  delete node;
  return absl::OkStatus();
}

absl::Status Graph::Rename(Node* node, absl::string_view name) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  if (name == node->name_) return absl::OkStatus();
  if (name.empty()) return absl::InvalidArgumentError("empty node name");
  if (by_name_.contains(name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("duplicate node name '", Printable(name), "'"));
  }
  // Out of the table before the name it is hashed by changes.
  by_name_.erase(node);
  node->name_ = std::string(name);
  by_name_.insert(node);
  return absl::OkStatus();
}

void Graph::MoveBefore(Node* node, Node* position) {
  REWIRE_CHECK(node != nullptr && node->graph_ == this);
  REWIRE_CHECK(position != nullptr && position->graph_ == this);
  if (node == position || node->next_ == position) return;
  Unlink(node);
  LinkBefore(node, position);
  if (node->is_call()) index_[node->target_key()].in_order = false;
}

bool Graph::IsImpure(const Node& node) {
  if (node.is_placeholder() || node.is_output()) return true;
  if (!node.is_call()) return false;
  const TargetInfo& t = node.target();
  if (t.schema != nullptr) return t.schema->is_mutable();
  return !t.name.empty() && t.name.back() == '_';
}

size_t Graph::EliminateDeadCode() {
  // Worklist over the nodes without users. A node enters the list at most
  // once: either it starts unused, or its last use disappears when its last
  // user is erased here (no uses are added meanwhile). The removed set is the
  // same fixed point a reverse sweep reaches.
  size_t removed = 0;
  std::vector<Node*> work(unused_.begin(), unused_.end());
  std::vector<Node*> operands;
  while (!work.empty()) {
    Node* n = work.back();
    work.pop_back();
    if (n->has_uses() || IsImpure(*n)) continue;
    operands = n->Operands();
    std::sort(operands.begin(), operands.end());
    operands.erase(std::unique(operands.begin(), operands.end()), operands.end());
    absl::Status s = Erase(n);
    REWIRE_CHECK(s.ok());
    ++removed;
    for (Node* p : operands) {
      if (!p->has_uses()) work.push_back(p);
    }
  }
  return removed;
}

std::unique_ptr<Graph> Graph::Clone() const {
  auto copy = std::make_unique<Graph>();
  absl::flat_hash_map<const Node*, Node*> map;
  map.reserve(size_);
  for (const Node* n : *this) {
    NodeSpec spec;
    spec.op = n->op();
    spec.target = n->target().qualified;
    spec.name = n->name_;
    spec.args.assign(n->args_.begin(), n->args_.end());
    spec.kwargs = n->kwargs();
    auto remap = [&](Node* old) { return map.at(old); };
    for (Argument& a : spec.args) a.MapNodes(remap);
    for (Kwarg& kw : spec.kwargs) kw.value.MapNodes(remap);
    spec.meta = n->meta_;
    absl::StatusOr<Node*> made = copy->CreateNode(std::move(spec), nullptr);
    REWIRE_CHECK(made.ok());
    map.emplace(n, *made);
  }
  return copy;
}

}  // namespace rewire
