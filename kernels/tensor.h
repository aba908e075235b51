// Dense tensors for the native kernels: dtype, shape, strides, storage
// offset, device and 64-byte-aligned storage with shared ownership.
//
// A tensor made by Empty is contiguous (row-major). Views (AsStrided,
// Reshape and the view ops of kernels/view_ops.h) share storage with their
// source and may have any non-negative strides, as PyTorch's do, so an
// in-place op through a view changes its base. Compute kernels take
// contiguous tensors only: data<T>() and raw_data() check it, and the
// executor hands a kernel Contiguous() copies of strided arguments (writing
// in-place results back through the view). strided_data() is for the code
// that walks strides itself. Every size is
// validated when a tensor is created (negative dims, element count and byte
// count overflow, a process-wide byte limit) and allocation failure is an
// absl::Status (ResourceExhausted), never a crash: graphs arrive from outside
// and may name absurd shapes. CUDA storage goes through a backend registered
// by the CUDA kernels library when it is linked in (--config=cuda), so this
// header and tensor.cc stay free of CUDA headers.
#ifndef REWIRE_KERNELS_TENSOR_H_
#define REWIRE_KERNELS_TENSOR_H_

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "ir/status_macros.h"
#include "ir/types.h"

namespace rewire {

// IEEE binary16 and bfloat16 storage types. Arithmetic goes through float.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// Round-to-nearest-even conversions (NaN stays NaN).
float HalfToFloat(Half h);
Half FloatToHalf(float f);
inline float BFloat16ToFloat(BFloat16 b) {
  const uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}
inline BFloat16 FloatToBFloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

// C++ type of each supported dtype.
template <typename T>
struct DtypeOf;
template <> struct DtypeOf<float> { static constexpr ScalarType value = ScalarType::kFloat32; };
template <> struct DtypeOf<double> { static constexpr ScalarType value = ScalarType::kFloat64; };
template <> struct DtypeOf<Half> { static constexpr ScalarType value = ScalarType::kFloat16; };
template <> struct DtypeOf<BFloat16> { static constexpr ScalarType value = ScalarType::kBFloat16; };
template <> struct DtypeOf<int64_t> { static constexpr ScalarType value = ScalarType::kInt64; };
template <> struct DtypeOf<int32_t> { static constexpr ScalarType value = ScalarType::kInt32; };
template <> struct DtypeOf<uint8_t> { static constexpr ScalarType value = ScalarType::kUInt8; };
template <> struct DtypeOf<bool> { static constexpr ScalarType value = ScalarType::kBool; };

// Device memory operations a CUDA build supplies (see RegisterCudaBackend).
struct CudaBackend {
  // Returns nullptr on failure and sets *error.
  void* (*allocate)(int device_index, int64_t bytes, std::string* error);
  void (*free)(int device_index, void* ptr);
  // kind: 0 host->device, 1 device->host, 2 device->device.
  absl::Status (*copy)(void* dst, const void* src, int64_t bytes, int kind,
                       int device_index);
};
// Called once from a static initializer of the CUDA kernels library.
void RegisterCudaBackend(const CudaBackend* backend);
const CudaBackend* GetCudaBackend();

// Storage alignment: one cache line, one AVX-512 vector.
inline constexpr int64_t kTensorAlignment = 64;

class Tensor {
 public:
  // An undefined tensor (defined() is false), e.g. an absent optional input.
  Tensor() = default;

  // Uninitialized contiguous tensor. Errors: InvalidArgument for negative
  // dims or dtypes without storage (complex), OutOfRange when the element or
  // byte count overflows int64 or exceeds MaxBytes() or the calling thread's
  // ScopedTensorLimits, ResourceExhausted when allocation fails, Unavailable
  // for CUDA without a CUDA build.
  static absl::StatusOr<Tensor> Empty(ScalarType dtype,
                                      std::vector<int64_t> shape,
                                      Device device = Device::Cpu());
  // A contiguous CPU tensor over memory someone else owns (`bytes` must be
  // the shape's size), for reading it without a copy: the memory must
  // outlive every Tensor sharing it and must not be written through it
  // unless the owner allows. is_borrowed() tells such tensors apart.
  static absl::StatusOr<Tensor> Borrow(const void* data, int64_t bytes, ScalarType dtype,
                                       std::vector<int64_t> shape);
  bool is_borrowed() const;
  // CPU tensor filled with zeros.
  static absl::StatusOr<Tensor> Zeros(ScalarType dtype,
                                      std::vector<int64_t> shape);
  // CPU tensor of dtype T holding `values` (count must match the shape).
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(std::vector<int64_t> shape,
                                           absl::Span<const T> values);

  // Largest allocation Empty accepts (default 64 GiB); process-wide.
  // ScopedTensorLimits lowers it for one thread.
  static int64_t MaxBytes();
  static void SetMaxBytes(int64_t bytes);

  bool defined() const { return storage_ != nullptr; }
  ScalarType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int dim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const { return shape_[d]; }
  int64_t numel() const { return numel_; }
  int64_t itemsize() const { return ScalarTypeSize(dtype_); }
  int64_t nbytes() const { return numel_ * itemsize(); }
  Device device() const { return device_; }
  bool is_cpu() const { return device_.is_cpu(); }

  // Element offset of element 0 from the start of the storage.
  int64_t storage_offset() const { return storage_offset_; }
  // Row-major in PyTorch's sense: strides of size-1 dims do not matter, and
  // a tensor without elements is contiguous.
  bool is_contiguous() const { return contiguous_; }
  // True when two index tuples may name one element (a zero or too small
  // stride of a dim with more than one element), as expand makes: PyTorch
  // refuses to write such a tensor in place.
  bool HasInternalOverlap() const;

  // Element 0 of a contiguous tensor (an internal error otherwise).
  void* raw_data() {
    REWIRE_CHECK(contiguous_);
    return data_;
  }
  const void* raw_data() const {
    REWIRE_CHECK(contiguous_);
    return data_;
  }
  // Element 0 of any tensor; the caller applies strides().
  void* strided_data() { return data_; }
  const void* strided_data() const { return data_; }
  // Typed access to a contiguous tensor; the dtype must match (an internal
  // error otherwise).
  template <typename T>
  T* data() {
    REWIRE_CHECK(defined() && DtypeOf<T>::value == dtype_ && contiguous_);
    return static_cast<T*>(data_);
  }
  template <typename T>
  const T* data() const {
    REWIRE_CHECK(defined() && DtypeOf<T>::value == dtype_ && contiguous_);
    return static_cast<const T*>(data_);
  }

  // A view of the same storage with a different shape of the same numel,
  // with PyTorch's view rules: a non-contiguous tensor can be viewed only
  // when each group of merged or split dims is itself contiguous
  // (InvalidArgument otherwise; reshape falls back to a copy). Within the
  // calling thread's ScopedTensorLimits: OutOfRange otherwise.
  absl::StatusOr<Tensor> Reshape(std::vector<int64_t> shape) const;
  // A view of this tensor's storage with `shape`, `strides` and
  // `storage_offset` (elements from the storage start), as torch.as_strided.
  // InvalidArgument for negative sizes, strides or offset, a rank mismatch,
  // or an element outside the storage; OutOfRange past ScopedTensorLimits.
  absl::StatusOr<Tensor> AsStrided(std::vector<int64_t> shape,
                                   std::vector<int64_t> strides,
                                   int64_t storage_offset) const;
  // This tensor when contiguous, else a contiguous copy on the same device.
  absl::StatusOr<Tensor> Contiguous() const;
  // A contiguous deep copy on the same device.
  absl::StatusOr<Tensor> Clone() const;
  // A contiguous deep copy on `device` (CPU<->CUDA needs a CUDA build:
  // Unavailable otherwise).
  absl::StatusOr<Tensor> CopyTo(Device device) const;
  // Copies `src` (same shape and dtype, any strides) into this tensor's
  // elements through its strides; both on the CPU. InvalidArgument for a
  // shape or dtype mismatch, or when this tensor overlaps itself.
  absl::Status CopyFrom(const Tensor& src);

  bool SharesStorageWith(const Tensor& other) const {
    return storage_ != nullptr && storage_ == other.storage_;
  }
  // "f32[2, 3] cpu".
  std::string DebugString() const;

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
  void* data_ = nullptr;
  ScalarType dtype_ = ScalarType::kFloat32;
  std::vector<int64_t> shape_;
  std::vector<int64_t> strides_;
  int64_t numel_ = 0;
  int64_t storage_offset_ = 0;
  bool contiguous_ = true;
  Device device_ = Device::Cpu();

  void UpdateContiguous();
};

// Copies the elements of `shape` from `src` to `dst`, each walked with its
// own element strides; both CPU memory of elements of `itemsize` bytes.
void CopyStridedElements(void* dst, absl::Span<const int64_t> dst_strides,
                         const void* src, absl::Span<const int64_t> src_strides,
                         absl::Span<const int64_t> shape, int64_t itemsize);
// Row-major strides of `shape` (size-0 and size-1 dims step as size 1).
std::vector<int64_t> ContiguousStrides(absl::Span<const int64_t> shape);

// Limits for the tensors one computation creates on the calling thread, on
// top of the process-wide Tensor::MaxBytes(): while an instance lives,
// Tensor::Empty refuses more than `max_bytes` bytes and, like Reshape, a
// shape whose dims multiply to more than `max_elements` with each zero-size
// dim counted as 1 (a [0, 10^15] tensor holds no data, yet a kernel may still
// loop over its other dims). With `max_total_bytes`, the scope also counts
// the live bytes of every storage Tensor::Empty allocates while it is active
// (until that storage is freed, on whatever thread and however long after
// the scope), and refuses an allocation that would take the total over the
// limit. Refusals are OutOfRange, before anything is allocated. Scopes nest:
// the tightest per-tensor limit wins, and an allocation counts against every
// enclosing total (so a caller's scope covers the runs it starts); the
// destructor restores the previous limits.
//
// The executor scopes ExecuteOptions' limits around a run this way, so that
// a limit chosen for one model bounds every tensor of that run (kernel
// temporaries included) without affecting other threads. Tensors allocated
// by ThreadPool workers are not covered; the kernels allocate on the calling
// thread. Borrowed tensors are someone else's memory and are not counted.
class ScopedTensorLimits {
 public:
  ScopedTensorLimits(int64_t max_bytes, int64_t max_elements,
                     int64_t max_total_bytes = std::numeric_limits<int64_t>::max());
  ~ScopedTensorLimits();
  ScopedTensorLimits(const ScopedTensorLimits&) = delete;
  ScopedTensorLimits& operator=(const ScopedTensorLimits&) = delete;

  // Bytes this scope's total counts now (0 without `max_total_bytes`), and
  // the most it counted at once.
  int64_t live_bytes() const;
  int64_t peak_bytes() const;

  struct Budget;  // shared with the storages it counts (tensor.cc)

 private:
  int64_t saved_bytes_;
  int64_t saved_elements_;
  std::shared_ptr<Budget> budget_;
  std::shared_ptr<Budget> saved_budget_;
};

// Memory for a kernel's temporaries whose size comes from tensor shapes
// (accumulators, per-channel statistics, tap tables): it is a Tensor's
// storage, so ScopedTensorLimits bounds and counts it like any tensor and a
// hostile shape is an OutOfRange status, never std::bad_alloc. T must be
// trivially copyable and destructible; every element starts as `fill`.
template <typename T>
class Scratch {
 public:
  static absl::StatusOr<Scratch> Make(int64_t n, T fill = T{});
  T* data() { return data_; }
  T& operator[](int64_t i) { return data_[i]; }
  const T& operator[](int64_t i) const { return data_[i]; }
  int64_t size() const { return size_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
  Tensor storage_;
  T* data_ = nullptr;
  int64_t size_ = 0;
};

// Element count of `shape`, with overflow and negative-dim checks.
absl::StatusOr<int64_t> CheckedNumel(absl::Span<const int64_t> shape);
// "[2, 3]".
std::string ShapeToString(absl::Span<const int64_t> shape);

template <typename T>
absl::StatusOr<Scratch<T>> Scratch<T>::Make(int64_t n, T fill) {
  int64_t bytes;
  if (n < 0 || __builtin_mul_overflow(n, static_cast<int64_t>(sizeof(T)), &bytes)) {
    return absl::OutOfRangeError(absl::StrCat("scratch of ", n, " elements of ", sizeof(T),
                                              " bytes overflows int64"));
  }
  Scratch s;
  ASSIGN_OR_RETURN(s.storage_, Tensor::Empty(ScalarType::kUInt8, {bytes}));
  s.data_ = static_cast<T*>(s.storage_.raw_data());
  s.size_ = n;
  for (int64_t i = 0; i < n; ++i) new (s.data_ + i) T(fill);
  return s;
}

template <typename T>
absl::StatusOr<Tensor> Tensor::FromVector(std::vector<int64_t> shape,
                                          absl::Span<const T> values) {
  ASSIGN_OR_RETURN(Tensor t, Empty(DtypeOf<T>::value, std::move(shape)));
  if (static_cast<int64_t>(values.size()) != t.numel()) {
    return absl::InvalidArgumentError(
        "Tensor::FromVector: " + std::to_string(values.size()) +
        " values for shape " + ShapeToString(t.shape()) + " of " +
        std::to_string(t.numel()) + " elements");
  }
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), t.nbytes());
  return t;
}

}  // namespace rewire

#endif  // REWIRE_KERNELS_TENSOR_H_
