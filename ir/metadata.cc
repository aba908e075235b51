#include "ir/metadata.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <utility>

#include "absl/base/macros.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rewire {
namespace {

// The metadata keys torch.export, make_fx and rewire write on nodes. Entry 0
// is the empty key, which moved-from MetaKeys point at.
constexpr absl::string_view kSharedKeys[] = {
    "",
    "val",
    "stack_trace",
    "nn_module_stack",
    "source_fn_stack",
    "original_aten",
    "from_node",
    "seq_nr",
    "torch_fn",
    "tensor_meta",
    "example_value",
    "unbacked_bindings",
    "custom",
    "partitioner_tag",
    "is_wrapped",
    // The markers of rewrite/train_eval.h.
    "rewire_dropout",
    "rewire_batch_norm",
};
constexpr size_t kNumSharedKeys = ABSL_ARRAYSIZE(kSharedKeys);

// Never destroyed, so keys stay valid during static destruction.
const std::string* SharedKeys() {
  static const std::string* const keys = [] {
    auto* k = new std::string[kNumSharedKeys];
    for (size_t i = 0; i < kNumSharedKeys; ++i) k[i] = std::string(kSharedKeys[i]);
    return k;
  }();
  return keys;
}

const std::string* FindSharedKey(absl::string_view key) {
  const std::string* keys = SharedKeys();
  for (size_t i = 0; i < kNumSharedKeys; ++i) {
    if (keys[i] == key) return &keys[i];
  }
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------- MetaKey

MetaKey::MetaKey(absl::string_view key) {
  const std::string* shared = FindSharedKey(key);
  str_ = shared != nullptr ? shared : new std::string(key);
}

MetaKey::MetaKey(const MetaKey& other)
    : str_(other.is_shared() ? other.str_ : new std::string(*other.str_)) {}

MetaKey::MetaKey(MetaKey&& other) noexcept
    : str_(std::exchange(other.str_, SharedKeys())) {}

MetaKey& MetaKey::operator=(const MetaKey& other) {
  if (this != &other) *this = MetaKey(other);
  return *this;
}

MetaKey& MetaKey::operator=(MetaKey&& other) noexcept {
  if (this != &other) {
    if (!is_shared()) delete str_;
    str_ = std::exchange(other.str_, SharedKeys());
  }
  return *this;
}

MetaKey::~MetaKey() {
  if (!is_shared()) delete str_;
}

bool MetaKey::is_shared() const {
  // std::less: a total order even for pointers outside the table.
  const std::string* keys = SharedKeys();
  std::less<const std::string*> less;
  return !less(str_, keys) && less(str_, keys + kNumSharedKeys);
}

// ---------------------------------------------------------------- TensorMeta

TensorMeta TensorMeta::Make(ScalarType dtype, absl::Span<const int64_t> sizes,
                            Device device) {
  TensorMeta t;
  t.dtype = dtype;
  t.device = device;
  t.shape.reserve(sizes.size());
  for (int64_t s : sizes) t.shape.push_back(Dim{s, {}});
  t.strides = ContiguousStrides(t.shape);
  return t;
}

StrideVector TensorMeta::ContiguousStrides(absl::Span<const Dim> shape) {
  StrideVector strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    int64_t d = shape[i].is_symbolic() ? 1 : shape[i].value;
    if (d > 1 && stride <= INT64_MAX / d) stride *= d;
  }
  return strides;
}

bool TensorMeta::has_symbolic_dims() const {
  for (const Dim& d : shape) {
    if (d.is_symbolic()) return true;
  }
  return false;
}

absl::StatusOr<int64_t> TensorMeta::NumElements() const {
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const Dim& d = shape[i];
    if (d.is_symbolic()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dim ", i, " is symbolic (", d.symbol.str(), ")"));
    }
    if (d.value < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("dim ", i, " is negative (", d.value, ")"));
    }
    if (d.value != 0 && n > INT64_MAX / d.value) {
      return absl::InvalidArgumentError(
          absl::StrCat("element count overflows int64 at dim ", i));
    }
    n *= d.value;
  }
  return n;
}

std::string TensorMeta::ShortString() const {
  std::string out = absl::StrCat(ScalarTypeShortName(dtype), "[");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    if (shape[i].is_symbolic()) {
      out += shape[i].symbol;
    } else {
      absl::StrAppend(&out, shape[i].value);
    }
  }
  return out + "]";
}

// ---------------------------------------------------------------- Metadata

uint32_t Metadata::NumSlots(uint32_t capacity) {
  uint32_t slots = 1;
  while (slots < 2 * capacity) slots *= 2;
  return slots;
}

Metadata::Entry* Metadata::Allocate(uint32_t capacity) {
  static_assert(alignof(Entry) >= alignof(uint32_t), "index follows entries");
  const size_t entry_bytes = sizeof(Entry) * capacity;
  const size_t index_bytes =
      capacity > kLinearMax ? sizeof(uint32_t) * NumSlots(capacity) : 0;
  void* p = ::operator new(entry_bytes + index_bytes);
  if (index_bytes > 0) {
    std::memset(static_cast<char*>(p) + entry_bytes, 0, index_bytes);
  }
  return static_cast<Entry*>(p);
}

// Delegates to the default constructor so that, should a copy throw, the
// destructor releases the entries copied so far.
Metadata::Metadata(const Metadata& other) : Metadata() {
  if (other.size_ == 0) return;
  data_ = Allocate(other.size_);
  capacity_ = other.size_;
  for (; size_ < other.size_; ++size_) {
    new (data_ + size_) Entry(other.data_[size_]);
    if (indexed()) IndexInsert(size_);
  }
}

Metadata::Metadata(Metadata&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

Metadata& Metadata::operator=(const Metadata& other) {
  if (this != &other) *this = Metadata(other);
  return *this;
}

Metadata& Metadata::operator=(Metadata&& other) noexcept {
  if (this != &other) {
    DestroyEntries();
    ::operator delete(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

Metadata::~Metadata() {
  DestroyEntries();
  ::operator delete(data_);
}

void Metadata::DestroyEntries() {
  for (uint32_t i = 0; i < size_; ++i) data_[i].~Entry();
  size_ = 0;
}

void Metadata::Clear() {
  DestroyEntries();
  if (indexed()) std::memset(index(), 0, sizeof(uint32_t) * NumSlots(capacity_));
}

void Metadata::Grow() {
  // Entries are over 100 bytes each, so this limit is never reached by a
  // graph that fits in memory.
  if (capacity_ > UINT32_MAX / 4) std::abort();
  const uint32_t capacity = capacity_ == 0 ? 1 : 2 * capacity_;
  Entry* fresh = Allocate(capacity);
  for (uint32_t i = 0; i < size_; ++i) {
    new (fresh + i) Entry(std::move(data_[i]));
    data_[i].~Entry();
  }
  ::operator delete(data_);
  data_ = fresh;
  capacity_ = capacity;
  if (indexed()) {
    for (uint32_t i = 0; i < size_; ++i) IndexInsert(i);
  }
}

// absl::Hash is seeded per process, so a file cannot choose keys that all
// collide.
void Metadata::IndexInsert(uint32_t position) {
  const size_t mask = NumSlots(capacity_) - 1;
  uint32_t* slots = index();
  size_t s = absl::Hash<absl::string_view>()(data_[position].key) & mask;
  while (slots[s] != 0) s = (s + 1) & mask;
  slots[s] = position + 1;
}

void Metadata::RebuildIndex() {
  if (!indexed()) return;
  std::memset(index(), 0, sizeof(uint32_t) * NumSlots(capacity_));
  for (uint32_t i = 0; i < size_; ++i) IndexInsert(i);
}

int64_t Metadata::Position(absl::string_view key) const {
  if (!indexed()) {
    for (uint32_t i = 0; i < size_; ++i) {
      if (data_[i].key == key) return i;
    }
    return -1;
  }
  const size_t mask = NumSlots(capacity_) - 1;
  const uint32_t* slots = index();
  for (size_t s = absl::Hash<absl::string_view>()(key) & mask; slots[s] != 0;
       s = (s + 1) & mask) {
    if (data_[slots[s] - 1].key == key) return slots[s] - 1;
  }
  return -1;
}

const MetaValue* Metadata::Find(absl::string_view key) const {
  const int64_t i = Position(key);
  return i < 0 ? nullptr : &data_[i].value;
}

MetaValue* Metadata::FindMutable(absl::string_view key) {
  const int64_t i = Position(key);
  return i < 0 ? nullptr : &data_[i].value;
}

void Metadata::Set(absl::string_view key, MetaValue value) {
  if (MetaValue* existing = FindMutable(key)) {
    *existing = std::move(value);
    return;
  }
  MetaKey owned_key(key);
  if (size_ == capacity_) Grow();
  new (data_ + size_) Entry{std::move(owned_key), std::move(value)};
  if (indexed()) IndexInsert(size_);
  ++size_;
}

// Linear: erasing keeps the order, so later positions shift and the index is
// rebuilt. Passes erase a key or two, never thousands.
bool Metadata::Erase(absl::string_view key) {
  const int64_t found = Position(key);
  if (found < 0) return false;
  for (uint32_t j = static_cast<uint32_t>(found) + 1; j < size_; ++j) {
    data_[j - 1] = std::move(data_[j]);
  }
  data_[--size_].~Entry();
  RebuildIndex();
  return true;
}

}  // namespace rewire
