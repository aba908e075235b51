#include "kernels/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace rewire {
namespace {

std::atomic<int64_t> max_bytes{int64_t{64} << 30};
std::atomic<const CudaBackend*> cuda_backend{nullptr};

// ScopedTensorLimits of this thread; INT64_MAX when none is active.
thread_local int64_t scoped_max_bytes = std::numeric_limits<int64_t>::max();
thread_local int64_t scoped_max_elements = std::numeric_limits<int64_t>::max();
// The innermost scope's total, if any scope of this thread has one.
thread_local std::shared_ptr<ScopedTensorLimits::Budget> scoped_budget;

// Checks `shape` (of `bytes` bytes) against the thread's scoped limits.
absl::Status CheckScopedLimits(ScalarType dtype, absl::Span<const int64_t> shape,
                               int64_t bytes) {
  if (bytes > scoped_max_bytes) {
    return absl::OutOfRangeError(absl::StrCat(
        ScalarTypeName(dtype), ShapeToString(shape), " needs ", bytes,
        " bytes, over the limit of ", scoped_max_bytes, " bytes per tensor"));
  }
  if (scoped_max_elements == std::numeric_limits<int64_t>::max()) {
    return absl::OkStatus();
  }
  int64_t extent = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(extent, std::max<int64_t>(d, 1), &extent) ||
        extent > scoped_max_elements) {
      return absl::OutOfRangeError(absl::StrCat(
          ScalarTypeName(dtype), ShapeToString(shape),
          " is over the limit of ", scoped_max_elements,
          " elements per tensor (zero-size dims count as 1)"));
    }
  }
  return absl::OkStatus();
}

absl::Status NoCuda(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(
      what, ": rewire was built without CUDA support (build with "
            "--config=cuda and link //kernels:cuda_kernels)"));
}

}  // namespace

// A total of live bytes. Storages keep the budget they were counted in
// alive and give their bytes back when freed, possibly on another thread.
struct ScopedTensorLimits::Budget {
  int64_t limit = 0;
  std::atomic<int64_t> live{0};
  std::atomic<int64_t> peak{0};
  std::shared_ptr<Budget> parent;  // the enclosing scope's total, if any
};

namespace {

void Release(ScopedTensorLimits::Budget* budget, int64_t bytes) {
  for (ScopedTensorLimits::Budget* b = budget; b != nullptr; b = b->parent.get()) {
    b->live.fetch_sub(bytes, std::memory_order_relaxed);
  }
}

// Counts `bytes` against the thread's budget and each enclosing one, or
// counts nothing and explains the first total it would exceed.
absl::Status Charge(const std::shared_ptr<ScopedTensorLimits::Budget>& budget,
                    ScalarType dtype, absl::Span<const int64_t> shape, int64_t bytes) {
  for (ScopedTensorLimits::Budget* b = budget.get(); b != nullptr; b = b->parent.get()) {
    const int64_t before = b->live.fetch_add(bytes, std::memory_order_relaxed);
    if (before > b->limit - bytes) {
      for (ScopedTensorLimits::Budget* u = budget.get(); u != b; u = u->parent.get()) {
        u->live.fetch_sub(bytes, std::memory_order_relaxed);
      }
      b->live.fetch_sub(bytes, std::memory_order_relaxed);
      return absl::OutOfRangeError(absl::StrCat(
          ScalarTypeName(dtype), ShapeToString(shape), " needs ", bytes, " bytes with ", before,
          " bytes of tensors live, over the limit of ", b->limit, " bytes in total"));
    }
    int64_t peak = b->peak.load(std::memory_order_relaxed);
    while (before + bytes > peak &&
           !b->peak.compare_exchange_weak(peak, before + bytes, std::memory_order_relaxed)) {
    }
  }
  return absl::OkStatus();
}

}  // namespace

float HalfToFloat(Half h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1fu;
  uint32_t mant = h.bits & 0x3ffu;
  uint32_t u;
  if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    u = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    u = sign;
  } else {
    // Subnormal half: normalize.
    int e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    mant &= 0x3ffu;
    u = sign | (static_cast<uint32_t>(e) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

Half FloatToHalf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return Half{static_cast<uint16_t>(sign | 0x7e00u)};
  if (abs >= 0x477ff000u) return Half{static_cast<uint16_t>(sign | 0x7c00u)};
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: scale into the 10-bit mantissa with
    // round-to-nearest-even via float addition of a magic constant.
    float a;
    std::memcpy(&a, &abs, sizeof(a));
    const float magic = 0.5f;  // 2^-1: ulp of magic = 2^-24 = half min subnormal
    float s = a + magic;
    uint32_t su;
    std::memcpy(&su, &s, sizeof(su));
    return Half{static_cast<uint16_t>(sign | (su - 0x3f000000u))};
  }
  // Normal: rebias exponent, round mantissa to nearest even.
  uint32_t m = abs + ((15u - 127u) << 23) + 0xfffu + ((abs >> 13) & 1u);
  return Half{static_cast<uint16_t>(sign | (m >> 13))};
}

void RegisterCudaBackend(const CudaBackend* backend) {
  cuda_backend.store(backend, std::memory_order_release);
}
const CudaBackend* GetCudaBackend() {
  return cuda_backend.load(std::memory_order_acquire);
}

struct Tensor::Storage {
  void* ptr = nullptr;
  int64_t bytes = 0;  // as requested, before rounding up to the alignment
  Device device;
  bool owned = true;  // false: Borrow()ed memory, freed by its owner
  std::shared_ptr<ScopedTensorLimits::Budget> budget;  // counts `bytes`, if set
  ~Storage() {
    if (budget != nullptr) Release(budget.get(), bytes);
    if (ptr == nullptr || !owned) return;
    if (device.is_cuda()) {
      const CudaBackend* b = GetCudaBackend();
      if (b != nullptr) b->free(device.index, ptr);
    } else {
      std::free(ptr);
    }
  }
};

int64_t Tensor::MaxBytes() { return max_bytes.load(std::memory_order_relaxed); }
void Tensor::SetMaxBytes(int64_t bytes) {
  max_bytes.store(bytes, std::memory_order_relaxed);
}

ScopedTensorLimits::ScopedTensorLimits(int64_t max_bytes, int64_t max_elements,
                                       int64_t max_total_bytes)
    : saved_bytes_(scoped_max_bytes),
      saved_elements_(scoped_max_elements),
      saved_budget_(scoped_budget) {
  scoped_max_bytes = std::min(scoped_max_bytes, max_bytes);
  scoped_max_elements = std::min(scoped_max_elements, max_elements);
  if (max_total_bytes != std::numeric_limits<int64_t>::max()) {
    budget_ = std::make_shared<Budget>();
    budget_->limit = max_total_bytes;
    budget_->parent = scoped_budget;
    scoped_budget = budget_;
  }
}

ScopedTensorLimits::~ScopedTensorLimits() {
  scoped_max_bytes = saved_bytes_;
  scoped_max_elements = saved_elements_;
  scoped_budget = std::move(saved_budget_);
}

int64_t ScopedTensorLimits::live_bytes() const {
  return budget_ == nullptr ? 0 : budget_->live.load(std::memory_order_relaxed);
}
int64_t ScopedTensorLimits::peak_bytes() const {
  return budget_ == nullptr ? 0 : budget_->peak.load(std::memory_order_relaxed);
}

std::string ShapeToString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<int64_t> CheckedNumel(absl::Span<const int64_t> shape) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("negative dimension ", shape[d], " at index ", d,
                       " of shape ", ShapeToString(shape)));
    }
    if (__builtin_mul_overflow(n, shape[d], &n)) {
      return absl::OutOfRangeError(absl::StrCat(
          "element count of shape ", ShapeToString(shape), " overflows int64"));
    }
  }
  return n;
}

absl::StatusOr<Tensor> Tensor::Empty(ScalarType dtype,
                                     std::vector<int64_t> shape,
                                     Device device) {
  if (dtype == ScalarType::kComplex64 || dtype == ScalarType::kComplex128) {
    return absl::InvalidArgumentError(
        absl::StrCat("Tensor::Empty: dtype ", ScalarTypeName(dtype),
                     " is not supported by the native kernels"));
  }
  if (device.is_meta()) {
    return absl::InvalidArgumentError(
        "Tensor::Empty: the meta device has no storage");
  }
  ASSIGN_OR_RETURN(const int64_t numel, CheckedNumel(shape));
  int64_t bytes;
  if (__builtin_mul_overflow(numel, int64_t{ScalarTypeSize(dtype)}, &bytes) ||
      bytes > MaxBytes() - kTensorAlignment) {
    return absl::OutOfRangeError(absl::StrCat(
        "Tensor::Empty: ", ScalarTypeName(dtype), ShapeToString(shape),
        " needs more than the limit of ", MaxBytes(),
        " bytes (Tensor::SetMaxBytes)"));
  }
  {
    absl::Status s = CheckScopedLimits(dtype, shape, bytes);
    if (!s.ok()) {
      return absl::OutOfRangeError(absl::StrCat("Tensor::Empty: ", s.message()));
    }
  }
  // Round up to the alignment (aligned_alloc requires a multiple) and never
  // allocate zero bytes, so data pointers are always valid and distinct.
  const int64_t alloc =
      std::max<int64_t>(kTensorAlignment,
                        (bytes + kTensorAlignment - 1) / kTensorAlignment *
                            kTensorAlignment);
  auto storage = std::make_shared<Storage>();
  storage->device = device;
  storage->bytes = bytes;
  if (scoped_budget != nullptr) {
    absl::Status s = Charge(scoped_budget, dtype, shape, bytes);
    if (!s.ok()) return absl::OutOfRangeError(absl::StrCat("Tensor::Empty: ", s.message()));
    storage->budget = scoped_budget;  // from here on, ~Storage gives the bytes back
  }
  if (device.is_cuda()) {
    const CudaBackend* b = GetCudaBackend();
    if (b == nullptr) return NoCuda("Tensor::Empty on " + device.ToString());
    std::string error;
    storage->ptr = b->allocate(device.index, alloc, &error);
    if (storage->ptr == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("Tensor::Empty: cannot allocate ", alloc, " bytes on ",
                       device.ToString(), ": ", error));
    }
  } else {
    storage->ptr = std::aligned_alloc(kTensorAlignment, alloc);
    if (storage->ptr == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Tensor::Empty: cannot allocate ", alloc, " bytes of host memory"));
    }
  }
  Tensor t;
  t.data_ = storage->ptr;
  t.storage_ = std::move(storage);
  t.dtype_ = dtype;
  t.numel_ = numel;
  t.device_ = device;
  t.strides_ = ContiguousStrides(shape);
  t.shape_ = std::move(shape);
  return t;
}

absl::StatusOr<Tensor> Tensor::Borrow(const void* data, int64_t bytes, ScalarType dtype,
                                      std::vector<int64_t> shape) {
  ASSIGN_OR_RETURN(const int64_t numel, CheckedNumel(shape));
  int64_t need;
  if (__builtin_mul_overflow(numel, int64_t{ScalarTypeSize(dtype)}, &need) || need != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Tensor::Borrow: ", bytes, " bytes for ", ScalarTypeName(dtype), ShapeToString(shape)));
  }
  {
    absl::Status s = CheckScopedLimits(dtype, shape, bytes);
    if (!s.ok()) return absl::OutOfRangeError(absl::StrCat("Tensor::Borrow: ", s.message()));
  }
  auto storage = std::make_shared<Storage>();
  storage->ptr = const_cast<void*>(data);
  storage->bytes = bytes;
  storage->owned = false;
  Tensor t;
  t.data_ = storage->ptr;
  t.storage_ = std::move(storage);
  t.dtype_ = dtype;
  t.numel_ = numel;
  t.strides_ = ContiguousStrides(shape);
  t.shape_ = std::move(shape);
  return t;
}

bool Tensor::is_borrowed() const { return storage_ != nullptr && !storage_->owned; }

absl::StatusOr<Tensor> Tensor::Zeros(ScalarType dtype,
                                     std::vector<int64_t> shape) {
  ASSIGN_OR_RETURN(Tensor t, Empty(dtype, std::move(shape)));
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

namespace {

// Strides that view `old_shape`/`old_strides` as `shape`, or nullopt when
// the elements cannot be addressed that way. Old dims are taken in runs that
// are contiguous among themselves (each stride the next one's extent); the
// new dims must split every run exactly, so a run's elements keep their
// order and spacing.
std::optional<std::vector<int64_t>> ViewStrides(
    absl::Span<const int64_t> old_shape, absl::Span<const int64_t> old_strides,
    absl::Span<const int64_t> shape) {
  std::vector<int64_t> os, ost;
  for (size_t d = 0; d < old_shape.size(); ++d) {
    if (old_shape[d] == 1) continue;
    os.push_back(old_shape[d]);
    ost.push_back(old_strides[d]);
  }
  std::vector<int64_t> out(shape.size(), 1);
  int ni = static_cast<int>(shape.size()) - 1;
  int64_t step = 1;
  for (int oi = static_cast<int>(os.size()) - 1; oi >= 0;) {
    int k = oi;
    int64_t run = os[oi];
    while (k > 0 && ost[k - 1] == ost[k] * os[k]) {
      --k;
      run *= os[k];
    }
    int64_t prod = 1;
    step = ost[oi];
    while (ni >= 0 && (prod < run || shape[ni] == 1)) {
      out[ni] = step;
      step *= shape[ni];
      prod *= shape[ni];
      --ni;
    }
    if (prod != run) return std::nullopt;
    oi = k - 1;
  }
  for (; ni >= 0; --ni) {
    if (shape[ni] != 1) return std::nullopt;
    out[ni] = step;
  }
  return out;
}

}  // namespace

std::vector<int64_t> ContiguousStrides(absl::Span<const int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * std::max<int64_t>(shape[d + 1], 1);
  }
  return strides;
}

void CopyStridedElements(void* dst, absl::Span<const int64_t> dst_strides,
                         const void* src, absl::Span<const int64_t> src_strides,
                         absl::Span<const int64_t> shape, int64_t itemsize) {
  const int nd = static_cast<int>(shape.size());
  for (int64_t s : shape) {
    if (s == 0) return;
  }
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (nd == 0) {
    std::memcpy(d, s, itemsize);
    return;
  }
  const int64_t inner = shape[nd - 1];
  const int64_t di = dst_strides[nd - 1] * itemsize;
  const int64_t si = src_strides[nd - 1] * itemsize;
  std::vector<int64_t> idx(nd, 0);
  for (;;) {
    if (di == itemsize && si == itemsize) {
      std::memcpy(d, s, inner * itemsize);
    } else {
      char* dp = d;
      const char* sp = s;
      for (int64_t i = 0; i < inner; ++i, dp += di, sp += si) {
        switch (itemsize) {
          case 1: *dp = *sp; break;
          case 2: std::memcpy(dp, sp, 2); break;
          case 4: std::memcpy(dp, sp, 4); break;
          case 8: std::memcpy(dp, sp, 8); break;
          default: std::memcpy(dp, sp, itemsize); break;
        }
      }
    }
    int k = nd - 2;
    for (; k >= 0; --k) {
      d += dst_strides[k] * itemsize;
      s += src_strides[k] * itemsize;
      if (++idx[k] < shape[k]) break;
      d -= shape[k] * dst_strides[k] * itemsize;
      s -= shape[k] * src_strides[k] * itemsize;
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

void Tensor::UpdateContiguous() {
  contiguous_ = true;
  if (numel_ == 0) return;
  int64_t expected = 1;
  for (int d = static_cast<int>(shape_.size()) - 1; d >= 0; --d) {
    if (shape_[d] == 1) continue;
    if (strides_[d] != expected) {
      contiguous_ = false;
      return;
    }
    expected *= shape_[d];
  }
}

bool Tensor::HasInternalOverlap() const {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (size_t d = 0; d < shape_.size(); ++d) {
    if (shape_[d] > 1) dims.push_back({strides_[d], shape_[d]});
  }
  std::sort(dims.begin(), dims.end());
  int64_t extent = 0;  // span of the dims so far, minus one
  for (const auto& [stride, size] : dims) {
    if (stride <= extent) return true;
    extent += (size - 1) * stride;
  }
  return false;
}

absl::StatusOr<Tensor> Tensor::Reshape(std::vector<int64_t> shape) const {
  if (!defined()) return absl::InvalidArgumentError("Reshape of an undefined tensor");
  ASSIGN_OR_RETURN(const int64_t numel, CheckedNumel(shape));
  if (numel != numel_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot reshape ", DebugString(), " (", numel_,
                     " elements) to ", ShapeToString(shape), " (", numel,
                     " elements)"));
  }
  {
    absl::Status s = CheckScopedLimits(dtype_, shape, nbytes());
    if (!s.ok()) {
      return absl::OutOfRangeError(absl::StrCat("Tensor::Reshape: ", s.message()));
    }
  }
  Tensor t = *this;
  if (contiguous_ || numel_ == 0) {
    t.strides_ = ContiguousStrides(shape);
  } else {
    std::optional<std::vector<int64_t>> strides = ViewStrides(shape_, strides_, shape);
    if (!strides.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "view size ", ShapeToString(shape), " is not compatible with the strides ",
          ShapeToString(strides_), " of ", DebugString(),
          " (at least one dim spans two non-contiguous runs); use reshape"));
    }
    t.strides_ = *std::move(strides);
  }
  t.shape_ = std::move(shape);
  t.UpdateContiguous();
  return t;
}

absl::StatusOr<Tensor> Tensor::AsStrided(std::vector<int64_t> shape,
                                         std::vector<int64_t> strides,
                                         int64_t storage_offset) const {
  if (!defined()) return absl::InvalidArgumentError("as_strided of an undefined tensor");
  if (shape.size() != strides.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "as_strided: ", shape.size(), " sizes but ", strides.size(), " strides"));
  }
  if (storage_offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("as_strided: negative storage offset ", storage_offset));
  }
  absl::StatusOr<int64_t> counted = CheckedNumel(shape);
  if (!counted.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("as_strided: ", counted.status().message()));
  }
  const int64_t numel = *counted;
  int64_t last = storage_offset;  // highest element index reached
  for (size_t d = 0; d < shape.size(); ++d) {
    if (strides[d] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "as_strided: negative stride ", strides[d], " at dim ", d));
    }
    int64_t span;
    if (numel > 0 && (__builtin_mul_overflow(shape[d] - 1, strides[d], &span) ||
                      __builtin_add_overflow(last, span, &last))) {
      return absl::InvalidArgumentError("as_strided: element offsets overflow int64");
    }
  }
  const int64_t capacity = storage_->bytes / itemsize();
  if (numel > 0 && last >= capacity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "as_strided: size ", ShapeToString(shape), ", stride ", ShapeToString(strides),
        " and offset ", storage_offset, " reach element ", last,
        " of a storage of ", capacity, " elements"));
  }
  {
    absl::Status s = CheckScopedLimits(dtype_, shape, numel * itemsize());
    if (!s.ok()) {
      return absl::OutOfRangeError(absl::StrCat("as_strided: ", s.message()));
    }
  }
  Tensor t = *this;
  t.data_ = static_cast<char*>(storage_->ptr) + storage_offset * itemsize();
  t.storage_offset_ = storage_offset;
  t.shape_ = std::move(shape);
  t.strides_ = std::move(strides);
  t.numel_ = numel;
  t.UpdateContiguous();
  return t;
}

absl::StatusOr<Tensor> Tensor::Contiguous() const {
  if (!defined()) return absl::InvalidArgumentError("Contiguous of an undefined tensor");
  if (contiguous_) return *this;
  return CopyTo(device_);
}

absl::Status Tensor::CopyFrom(const Tensor& src) {
  if (!defined() || !src.defined()) {
    return absl::InvalidArgumentError("CopyFrom with an undefined tensor");
  }
  if (shape_ != src.shape_ || dtype_ != src.dtype_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CopyFrom: ", src.DebugString(), " into ", DebugString()));
  }
  if (!is_cpu() || !src.is_cpu()) {
    return absl::InvalidArgumentError("CopyFrom: both tensors must be on the CPU");
  }
  if (HasInternalOverlap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot write ", DebugString(), " with strides ", ShapeToString(strides_),
        ": more than one element refers to the same memory (clone it first)"));
  }
  CopyStridedElements(data_, strides_, src.data_, src.strides_, shape_, itemsize());
  return absl::OkStatus();
}

absl::StatusOr<Tensor> Tensor::Clone() const { return CopyTo(device_); }

absl::StatusOr<Tensor> Tensor::CopyTo(Device device) const {
  if (!defined()) return absl::InvalidArgumentError("CopyTo of an undefined tensor");
  if ((device_.is_cuda() || device.is_cuda()) && GetCudaBackend() == nullptr) {
    return NoCuda(absl::StrCat("copy from ", device_.ToString(), " to ",
                               device.ToString()));
  }
  if (!contiguous_) {
    // Gather on the host: a CUDA view goes through a host copy of the
    // storage span it reaches.
    Tensor host = *this;
    if (!device_.is_cpu()) {
      int64_t last = 0;
      for (size_t d = 0; d < shape_.size(); ++d) last += (shape_[d] - 1) * strides_[d];
      Tensor span = *this;  // the elements from 0 to `last`, contiguously
      span.shape_ = {last + 1};
      span.strides_ = {1};
      span.numel_ = last + 1;
      span.contiguous_ = true;
      ASSIGN_OR_RETURN(Tensor span_host, span.CopyTo(Device::Cpu()));
      host = span_host;
      host.shape_ = shape_;
      host.strides_ = strides_;
      host.numel_ = numel_;
      host.contiguous_ = false;
    }
    ASSIGN_OR_RETURN(Tensor packed, Empty(dtype_, shape_, Device::Cpu()));
    CopyStridedElements(packed.data_, packed.strides_, host.data_, host.strides_,
                        shape_, itemsize());
    if (device.is_cpu()) return packed;
    return packed.CopyTo(device);
  }
  ASSIGN_OR_RETURN(Tensor out, Empty(dtype_, shape_, device));
  if (nbytes() == 0) return out;
  if (device_.is_cpu() && device.is_cpu()) {
    std::memcpy(out.raw_data(), raw_data(), nbytes());
    return out;
  }
  const int kind = device_.is_cpu() ? 0 : (device.is_cpu() ? 1 : 2);
  const int index = device.is_cuda() ? device.index : device_.index;
  RETURN_IF_ERROR(
      GetCudaBackend()->copy(out.raw_data(), raw_data(), nbytes(), kind, index));
  return out;
}

std::string Tensor::DebugString() const {
  if (!defined()) return "undefined";
  return absl::StrCat(ScalarTypeShortName(dtype_), ShapeToString(shape_), " ",
                      device_.ToString());
}

}  // namespace rewire
