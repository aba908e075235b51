// The value of one call argument: a node reference or a literal, or a list.
//
// An Argument is 16 bytes (a tag and a union; strings and lists live on the
// heap) because a graph holds millions of them. Node references are plain
// pointers: the Graph owns the nodes and keeps users in sync, so an Argument is
// only ever mutated through the Graph (see Note [Operand slots] in graph.h).
// Equality (`operator==`) is structural and type-strict, as torch.fx compares
// literals: `1` != `1.0` != `True`.
#ifndef REWIRE_IR_ARGUMENT_H_
#define REWIRE_IR_ARGUMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "ir/types.h"

namespace rewire {

class Node;

class Argument {
 public:
  enum class Kind : uint8_t {
    kNone = 0,
    kNode,
    kBool,
    kInt,
    kDouble,
    kString,
    kDtype,
    kDevice,
    kLayout,
    kMemoryFormat,
    kList,
  };

  Argument() : kind_(Kind::kNone) { u_.i = 0; }
  static Argument None() { return Argument(); }
  static Argument Ref(Node* n);
  static Argument Bool(bool b);
  static Argument Int(int64_t i);
  static Argument Double(double d);
  static Argument String(std::string s);
  static Argument Dtype(ScalarType t);
  static Argument DeviceValue(Device d);
  static Argument LayoutValue(Layout l);
  static Argument MemoryFormatValue(MemoryFormat m);
  static Argument List(std::vector<Argument> items);

  // Copies and destruction are inline for the scalar kinds, which need no
  // heap: matching and rewriting copy arguments on every candidate site.
  Argument(const Argument& other) : kind_(other.kind_), u_(other.u_) {
    if (owns_heap()) CopyHeapFrom(other);
  }
  Argument(Argument&& other) noexcept : kind_(other.kind_), u_(other.u_) {
    other.kind_ = Kind::kNone;
    other.u_.i = 0;
  }
  Argument& operator=(const Argument& other);
  Argument& operator=(Argument&& other) noexcept {
    if (this != &other) {
      if (owns_heap()) Reset();
      kind_ = other.kind_;
      u_ = other.u_;
      other.kind_ = Kind::kNone;
      other.u_.i = 0;
    }
    return *this;
  }
  ~Argument() {
    if (owns_heap()) Reset();
  }

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_node() const { return kind_ == Kind::kNode; }
  bool is_list() const { return kind_ == Kind::kList; }
  // True for everything except node references and lists.
  bool is_literal() const { return kind_ != Kind::kNode && kind_ != Kind::kList; }

  // Accessors; calling the wrong one is a programmer error (checked).
  Node* node() const {
    if (kind_ != Kind::kNode) NotANode();
    return u_.node;
  }
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  ScalarType as_dtype() const;
  Device as_device() const;
  Layout as_layout() const;
  MemoryFormat as_memory_format() const;
  const std::vector<Argument>& as_list() const;
  std::vector<Argument>& mutable_list();

  // Calls f(Node*) for every node reference, in operand-slot order (depth
  // first through lists). Iterative: nesting depth does not use the stack.
  template <typename F>
  void ForEachNode(F&& f) const;

  // Replaces every node reference in place with f(Node*) -> Node*, in
  // operand-slot order. Iterative like ForEachNode.
  template <typename F>
  void MapNodes(F&& f);

  // Type-strict structural equality; node references compare by identity.
  friend bool operator==(const Argument& a, const Argument& b);
  friend bool operator!=(const Argument& a, const Argument& b) {
    return !(a == b);
  }

  // Deepest list nesting (0 for a scalar); iterative.
  int NestingDepth() const;

  // A short human spelling for messages, e.g. "1.0", "True", "%x", "[1, 2]".
  std::string DebugString() const;

  static absl::string_view KindName(Kind k);

 private:
  bool owns_heap() const {
    return kind_ == Kind::kString || kind_ == Kind::kList;
  }
  void Reset();
  // Deep-copies other's string or list; kind_ is already other's.
  void CopyHeapFrom(const Argument& other);
  [[noreturn]] static void NotANode();

  Kind kind_;
  union Payload {
    Payload() : i(0) {}
    Node* node;
    bool b;
    int64_t i;
    double d;
    std::string* s;
    ScalarType dtype;
    Device device;
    Layout layout;
    MemoryFormat memory_format;
    std::vector<Argument>* list;
  } u_;
};

template <typename F>
void Argument::ForEachNode(F&& f) const {
  if (kind_ == Kind::kNode) {
    f(u_.node);
    return;
  }
  if (kind_ != Kind::kList) return;
  // Explicit stack of (list, next index) so hostile nesting cannot overflow.
  std::vector<std::pair<const std::vector<Argument>*, size_t>> stack;
  stack.emplace_back(u_.list, 0);
  while (!stack.empty()) {
    auto& [list, idx] = stack.back();
    if (idx == list->size()) {
      stack.pop_back();
      continue;
    }
    const Argument& a = (*list)[idx++];
    if (a.kind_ == Kind::kNode) {
      f(a.u_.node);
    } else if (a.kind_ == Kind::kList) {
      stack.emplace_back(a.u_.list, 0);
    }
  }
}

template <typename F>
void Argument::MapNodes(F&& f) {
  if (kind_ == Kind::kNode) {
    u_.node = f(u_.node);
    return;
  }
  if (kind_ != Kind::kList) return;
  std::vector<std::pair<std::vector<Argument>*, size_t>> stack;
  stack.emplace_back(u_.list, 0);
  while (!stack.empty()) {
    auto& [list, idx] = stack.back();
    if (idx == list->size()) {
      stack.pop_back();
      continue;
    }
    Argument& a = (*list)[idx++];
    if (a.kind_ == Kind::kNode) {
      a.u_.node = f(a.u_.node);
    } else if (a.kind_ == Kind::kList) {
      stack.emplace_back(a.u_.list, 0);
    }
  }
}

// An ordered keyword argument.
struct Kwarg {
  std::string name;
  Argument value;
  friend bool operator==(const Kwarg& a, const Kwarg& b) {
    return a.name == b.name && a.value == b.value;
  }
};

}  // namespace rewire

#endif  // REWIRE_IR_ARGUMENT_H_
