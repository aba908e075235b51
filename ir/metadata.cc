#include "ir/metadata.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rewire {

TensorMeta TensorMeta::Make(ScalarType dtype, std::vector<int64_t> sizes,
                            Device device) {
  TensorMeta t;
  t.dtype = dtype;
  t.device = device;
  t.shape.reserve(sizes.size());
  for (int64_t s : sizes) t.shape.push_back(Dim{s, {}});
  t.strides = ContiguousStrides(t.shape);
  return t;
}

std::vector<int64_t> TensorMeta::ContiguousStrides(const std::vector<Dim>& shape) {
  std::vector<int64_t> strides(shape.size());
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

const MetaValue* Metadata::Find(absl::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}

MetaValue* Metadata::FindMutable(absl::string_view key) {
  for (Entry& e : entries_) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}

void Metadata::Set(absl::string_view key, MetaValue value) {
  if (MetaValue* existing = FindMutable(key)) {
    *existing = std::move(value);
    return;
  }
  entries_.emplace_back(std::string(key), std::move(value));
}

bool Metadata::Erase(absl::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace rewire
