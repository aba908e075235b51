// Node metadata: the "val" tensor description and the other keys exporters add.
//
// torch.export and make_fx attach `meta["val"]` to every node: a fake tensor
// (dtype, shape, strides, device, requires_grad), a tuple of them for
// multi-output ops, or a (symbolic) scalar. That entry is what tells an
// exported graph from a symbolically traced one (ModelIsExported). Other keys
// (`stack_trace`, `nn_module_stack`, `tensor_meta`, ...) are kept verbatim as
// strings so that nothing an exporter wrote is lost across load, rewrite and
// save. Entries keep their insertion order for deterministic output.
#ifndef REWIRE_IR_METADATA_H_
#define REWIRE_IR_METADATA_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/types.h"

namespace rewire {

// The text of a symbolic dimension. Almost every dim is concrete, so the
// string lives on the heap only when present: 8 bytes instead of a 32-byte
// std::string per dim (a graph holds millions of dims).
class SymbolString {
 public:
  SymbolString() = default;
  SymbolString(std::string s) { *this = std::move(s); }  // NOLINT: implicit
  SymbolString(const char* s) : SymbolString(std::string(s)) {}  // NOLINT
  SymbolString(const SymbolString& o)
      : p_(o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr) {}
  SymbolString(SymbolString&&) noexcept = default;
  SymbolString& operator=(const SymbolString& o) {
    p_ = o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr;
    return *this;
  }
  SymbolString& operator=(SymbolString&&) noexcept = default;
  SymbolString& operator=(std::string s) {
    p_ = s.empty() ? nullptr : std::make_unique<std::string>(std::move(s));
    return *this;
  }
  bool empty() const { return p_ == nullptr; }
  const std::string& str() const { return p_ ? *p_ : Empty(); }
  operator const std::string&() const { return str(); }  // NOLINT: implicit
  friend bool operator==(const SymbolString& a, const SymbolString& b) {
    return a.str() == b.str();
  }
  friend bool operator==(const SymbolString& a, absl::string_view b) {
    return a.str() == b;
  }

 private:
  static const std::string& Empty() {
    static const std::string* const kEmpty = new std::string();
    return *kEmpty;
  }
  std::unique_ptr<std::string> p_;
};

// One dimension: a concrete size, or a symbolic expression such as "s0" or
// "2*s1" (sizes of dynamic-shape exports). `value` is meaningful only when
// `symbol` is empty.
struct Dim {
  int64_t value = 0;
  SymbolString symbol;

  bool is_symbolic() const { return !symbol.empty(); }
  friend bool operator==(const Dim& a, const Dim& b) {
    return a.value == b.value && a.symbol == b.symbol;
  }
  friend bool operator!=(const Dim& a, const Dim& b) { return !(a == b); }
};

// Up to four dims and strides are stored inside the TensorMeta (the rank of
// most activations), which saves two allocations per "val".
using DimVector = absl::InlinedVector<Dim, 4>;
using StrideVector = absl::InlinedVector<int64_t, 4>;

// The description of a tensor-valued result ("val" of one output).
struct TensorMeta {
  // The vectors come first so that the small fields share the last word.
  DimVector shape;
  // Empty when the exporter recorded none; otherwise one stride per dim.
  StrideVector strides;
  ScalarType dtype = ScalarType::kFloat32;
  Device device;
  bool requires_grad = false;

  static TensorMeta Make(ScalarType dtype, absl::Span<const int64_t> sizes,
                         Device device = Device::Cpu());
  // Row-major strides for `shape` (requires concrete dims).
  static StrideVector ContiguousStrides(absl::Span<const Dim> shape);
  bool has_symbolic_dims() const;
  // Product of the concrete dims; error on symbolic dims, negative dims or
  // int64 overflow, naming the offending dim.
  absl::StatusOr<int64_t> NumElements() const;
  // "f32[2, 3, s0]"
  std::string ShortString() const;

  friend bool operator==(const TensorMeta& a, const TensorMeta& b) {
    return a.dtype == b.dtype && a.shape == b.shape && a.strides == b.strides &&
           a.device == b.device && a.requires_grad == b.requires_grad;
  }
  friend bool operator!=(const TensorMeta& a, const TensorMeta& b) {
    return !(a == b);
  }
};

// A metadata value. "val" is a TensorMeta, a list of optional TensorMetas
// (tuple outputs; nullopt where an output is not a tensor), or a scalar.
class MetaValue {
 public:
  using TensorList = std::vector<std::optional<TensorMeta>>;

  MetaValue() : v_(std::monostate{}) {}
  static MetaValue None() { return MetaValue(); }
  static MetaValue Tensor(TensorMeta t) { return MetaValue(Rep(std::move(t))); }
  static MetaValue Tensors(TensorList ts) { return MetaValue(Rep(std::move(ts))); }
  static MetaValue Int(int64_t i) { return MetaValue(Rep(i)); }
  static MetaValue Double(double d) { return MetaValue(Rep(d)); }
  static MetaValue Bool(bool b) { return MetaValue(Rep(b)); }
  // Strings are also how symbolic scalars ("s0 + 1") and uninterpreted keys
  // (stack traces, module stacks) are stored.
  static MetaValue String(std::string s) { return MetaValue(Rep(std::move(s))); }

  bool is_none() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_tensor() const { return std::holds_alternative<TensorMeta>(v_); }
  bool is_tensor_list() const { return std::holds_alternative<TensorList>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }

  const TensorMeta& tensor() const { return std::get<TensorMeta>(v_); }
  TensorMeta& mutable_tensor() { return std::get<TensorMeta>(v_); }
  const TensorList& tensors() const { return std::get<TensorList>(v_); }
  TensorList& mutable_tensors() { return std::get<TensorList>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  bool as_bool() const { return std::get<bool>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }

  friend bool operator==(const MetaValue& a, const MetaValue& b) {
    return a.v_ == b.v_;
  }
  friend bool operator!=(const MetaValue& a, const MetaValue& b) {
    return !(a == b);
  }

 private:
  using Rep = std::variant<std::monostate, TensorMeta, TensorList, int64_t,
                           double, bool, std::string>;
  explicit MetaValue(Rep v) : v_(std::move(v)) {}
  Rep v_;
};

// A metadata key. The keys exporters write on every node ("val",
// "stack_trace", "nn_module_stack", ...) point into one process-wide table,
// so a million nodes share one copy of each and a key costs one pointer;
// any other key is a string owned by its MetaKey. The table is fixed at
// compile time rather than growing with every key seen, because keys come
// from untrusted files and a growing table would keep all of them for the
// life of the process.
class MetaKey {
 public:
  explicit MetaKey(absl::string_view key);
  MetaKey(const MetaKey& other);
  MetaKey(MetaKey&& other) noexcept;
  MetaKey& operator=(const MetaKey& other);
  MetaKey& operator=(MetaKey&& other) noexcept;
  ~MetaKey();

  const std::string& str() const { return *str_; }
  operator absl::string_view() const { return *str_; }  // NOLINT: implicit
  bool empty() const { return str_->empty(); }
  size_t size() const { return str_->size(); }
  // Whether the key is one of the shared table's (it owns no string).
  bool is_shared() const;

  friend bool operator==(const MetaKey& a, const MetaKey& b) {
    return a.str_ == b.str_ || *a.str_ == *b.str_;
  }
  friend bool operator==(const MetaKey& a, absl::string_view b) {
    return absl::string_view(*a.str_) == b;
  }
  friend bool operator==(absl::string_view a, const MetaKey& b) {
    return b == a;
  }
  friend bool operator!=(const MetaKey& a, const MetaKey& b) {
    return !(a == b);
  }
  friend bool operator!=(const MetaKey& a, absl::string_view b) {
    return !(a == b);
  }
  friend bool operator!=(absl::string_view a, const MetaKey& b) {
    return !(b == a);
  }

 private:
  // Never null: a table entry or a string this key owns (moved-from keys
  // point at the table's empty key).
  const std::string* str_;
};

// Ordered key -> value map. Most nodes hold one to a few keys, searched
// linearly in an array; past kLinearMax entries a hash index of entry
// positions follows the entries in the same allocation, so that a node with
// many keys (a hostile file's 40,000) costs linear, not quadratic, time to
// build. It is 16 bytes (pointer, 32-bit size and capacity) instead of a
// std::vector's 24, because every node holds one. Loaders cap the keys per
// node (LoadOptions::max_meta_keys_per_node, ir/load_checks.h); the map
// itself does not.
class Metadata {
 public:
  struct Entry {
    MetaKey key;
    MetaValue value;
    friend bool operator==(const Entry& a, const Entry& b) {
      return a.key == b.key && a.value == b.value;
    }
  };

  Metadata() = default;
  Metadata(const Metadata& other);
  Metadata(Metadata&& other) noexcept;
  Metadata& operator=(const Metadata& other);
  Metadata& operator=(Metadata&& other) noexcept;
  ~Metadata();

  const MetaValue* Find(absl::string_view key) const;
  MetaValue* FindMutable(absl::string_view key);
  bool Contains(absl::string_view key) const { return Find(key) != nullptr; }
  // Replaces the value in place if the key exists (keeping its position),
  // else appends.
  void Set(absl::string_view key, MetaValue value);
  bool Erase(absl::string_view key);
  void Clear();

  // The entries in insertion order.
  absl::Span<const Entry> entries() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  // The "val" entry, if any.
  const MetaValue* val() const { return Find("val"); }

  friend bool operator==(const Metadata& a, const Metadata& b) {
    return a.entries() == b.entries();
  }
  friend bool operator!=(const Metadata& a, const Metadata& b) {
    return !(a == b);
  }

  // Capacities up to this are searched linearly and carry no index.
  static constexpr uint32_t kLinearMax = 8;

 private:
  bool indexed() const { return capacity_ > kLinearMax; }
  // The index: a power-of-two table of (entry position + 1), 0 = empty, at
  // most half full; valid only when indexed().
  uint32_t* index() const {
    return reinterpret_cast<uint32_t*>(data_ + capacity_);
  }
  static uint32_t NumSlots(uint32_t capacity);
  // Uninitialized room for `capacity` entries (and their index, zeroed).
  static Entry* Allocate(uint32_t capacity);
  // Position of `key`, or -1.
  int64_t Position(absl::string_view key) const;
  void IndexInsert(uint32_t position);
  void RebuildIndex();
  void DestroyEntries();
  void Grow();

  Entry* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
};

}  // namespace rewire

#endif  // REWIRE_IR_METADATA_H_
