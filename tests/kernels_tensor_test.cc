// Tensor creation, validation, views, copies and half/bfloat16 conversion.
#include "kernels/tensor.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <thread>

#include "gtest/gtest.h"

namespace rewire {
namespace {

TEST(TensorTest, EmptyHasContiguousStridesAndAlignment) {
  absl::StatusOr<Tensor> t = Tensor::Empty(ScalarType::kFloat32, {2, 3, 4});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->numel(), 24);
  EXPECT_EQ(t->nbytes(), 96);
  EXPECT_EQ(t->strides(), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw_data()) % 64, 0u);
  EXPECT_TRUE(t->is_cpu());
  EXPECT_EQ(t->DebugString(), "f32[2, 3, 4] cpu");
}

TEST(TensorTest, ZeroSizedAndScalar) {
  absl::StatusOr<Tensor> z = Tensor::Empty(ScalarType::kFloat32, {0, 5});
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->numel(), 0);
  EXPECT_NE(z->raw_data(), nullptr);
  absl::StatusOr<Tensor> s = Tensor::Empty(ScalarType::kInt64, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->numel(), 1);
}

TEST(TensorTest, RejectsBadShapes) {
  absl::StatusOr<Tensor> neg = Tensor::Empty(ScalarType::kFloat32, {2, -1});
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(neg.status().message().find("negative dimension -1"),
            std::string::npos);
  absl::StatusOr<Tensor> big =
      Tensor::Empty(ScalarType::kFloat32, {int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<Tensor> bytes_overflow =
      Tensor::Empty(ScalarType::kFloat64, {int64_t{1} << 61});
  EXPECT_EQ(bytes_overflow.status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<Tensor> cplx = Tensor::Empty(ScalarType::kComplex64, {2});
  EXPECT_EQ(cplx.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorTest, MaxBytesIsEnforced) {
  const int64_t old = Tensor::MaxBytes();
  Tensor::SetMaxBytes(1 << 20);
  absl::StatusOr<Tensor> t = Tensor::Empty(ScalarType::kFloat32, {1 << 20});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat32, {1000}).ok());
  Tensor::SetMaxBytes(old);
}

TEST(TensorTest, ScopedLimitsBindThisThreadAndNest) {
  {
    ScopedTensorLimits outer(1024, 100);
    EXPECT_EQ(Tensor::Empty(ScalarType::kFloat64, {129}).status().code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat64, {100}).ok());
    EXPECT_EQ(Tensor::Empty(ScalarType::kUInt8, {101}).status().code(),
              absl::StatusCode::kOutOfRange);
    // A zero-size dim holds no bytes but its neighbours still count.
    EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat32, {0, 100}).ok());
    EXPECT_EQ(Tensor::Empty(ScalarType::kFloat32, {0, 101}).status().code(),
              absl::StatusCode::kOutOfRange);
    absl::StatusOr<Tensor> e = Tensor::Empty(ScalarType::kFloat32, {0});
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->Reshape({int64_t{1} << 50, 0}).status().code(),
              absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(e->Reshape({10, 0, 10}).ok());
    {
      // Nested: the tighter limit wins, the looser one cannot widen it.
      ScopedTensorLimits inner(std::numeric_limits<int64_t>::max(), 10);
      EXPECT_EQ(Tensor::Empty(ScalarType::kFloat32, {11}).status().code(),
                absl::StatusCode::kOutOfRange);
      EXPECT_EQ(Tensor::Empty(ScalarType::kFloat64, {0, 129}).status().code(),
                absl::StatusCode::kOutOfRange);
    }
    EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat32, {11}).ok());
    // Other threads keep the process-wide limit.
    bool other_ok = false;
    std::thread t([&] {
      other_ok = Tensor::Empty(ScalarType::kFloat32, {1 << 16}).ok();
    });
    t.join();
    EXPECT_TRUE(other_ok);
  }
  EXPECT_TRUE(Tensor::Empty(ScalarType::kFloat32, {1 << 16}).ok());
}

TEST(TensorTest, ScopedTotalCountsLiveBytesUntilFreed) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Tensor survivor;
  {
    ScopedTensorLimits outer(kMax, kMax, 10000);
    absl::StatusOr<Tensor> a = Tensor::Empty(ScalarType::kUInt8, {6000});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(outer.live_bytes(), 6000);
    // Each tensor fits; together they do not.
    absl::StatusOr<Tensor> b = Tensor::Empty(ScalarType::kUInt8, {5000});
    EXPECT_EQ(b.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_NE(b.status().message().find("limit of 10000 bytes in total"), std::string::npos)
        << b.status();
    // Kernel scratch is counted the same way.
    EXPECT_EQ(Scratch<double>::Make(1000).status().code(), absl::StatusCode::kOutOfRange);
    {
      absl::StatusOr<Scratch<double>> s = Scratch<double>::Make(400, 1.5);
      ASSERT_TRUE(s.ok());
      EXPECT_EQ((*s)[399], 1.5);
      EXPECT_EQ(outer.live_bytes(), 6000 + 3200);
    }
    EXPECT_EQ(outer.live_bytes(), 6000);
    {
      // A nested total counts against the enclosing one too.
      ScopedTensorLimits inner(kMax, kMax, 8000);
      EXPECT_EQ(Tensor::Empty(ScalarType::kUInt8, {4001}).status().code(),
                absl::StatusCode::kOutOfRange);
      absl::StatusOr<Tensor> c = Tensor::Empty(ScalarType::kUInt8, {4000});
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(inner.live_bytes(), 4000);
      EXPECT_EQ(outer.live_bytes(), 10000);
      survivor = *c;  // outlives both scopes, and still gives its bytes back
    }
    EXPECT_EQ(outer.live_bytes(), 10000);
    *a = Tensor();
    EXPECT_EQ(outer.live_bytes(), 4000);
    EXPECT_EQ(outer.peak_bytes(), 10000);
    // Borrowed memory is not the scope's.
    static char bytes[8000];
    EXPECT_TRUE(Tensor::Borrow(bytes, sizeof(bytes), ScalarType::kUInt8, {8000}).ok());
    EXPECT_EQ(outer.live_bytes(), 4000);
  }
  survivor = Tensor();
  // Without a scope nothing is counted, and big shapes are a status, not
  // std::bad_alloc.
  EXPECT_EQ(Scratch<double>::Make(int64_t{1} << 61).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(Tensor::Empty(ScalarType::kUInt8, {20000}).ok());
}

TEST(TensorTest, AllocationFailureIsResourceExhausted) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizer allocators abort on impossible sizes; this test "
                  "runs in the default and -c opt builds";
#else
  const int64_t old = Tensor::MaxBytes();
  Tensor::SetMaxBytes(std::numeric_limits<int64_t>::max());
  absl::StatusOr<Tensor> t =
      Tensor::Empty(ScalarType::kFloat32, {int64_t{1} << 60});
  Tensor::SetMaxBytes(old);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kResourceExhausted)
      << t.status();
#endif
}

TEST(TensorTest, FromVectorReshapeClone) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  absl::StatusOr<Tensor> t = Tensor::FromVector<float>({2, 3}, v);
  ASSERT_TRUE(t.ok());
  absl::StatusOr<Tensor> r = t->Reshape({3, 2});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->SharesStorageWith(*t));
  EXPECT_EQ(r->strides(), (std::vector<int64_t>{2, 1}));
  EXPECT_FALSE(t->Reshape({4}).ok());
  absl::StatusOr<Tensor> c = t->Clone();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->SharesStorageWith(*t));
  c->data<float>()[0] = 9;
  EXPECT_EQ(t->data<float>()[0], 1);
  EXPECT_FALSE(Tensor::FromVector<float>({4}, v).ok());
}

TEST(TensorTest, CudaWithoutBackendIsUnavailable) {
  if (GetCudaBackend() != nullptr) {
    GTEST_SKIP() << "built with CUDA; this test runs in builds without "
                    "--config=cuda";
  }
  absl::StatusOr<Tensor> t = Tensor::Empty(ScalarType::kFloat32, {4});
  ASSERT_TRUE(t.ok());
  absl::StatusOr<Tensor> g = t->CopyTo(Device::Cuda(0));
  EXPECT_EQ(g.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(g.status().message().find("without CUDA"), std::string::npos);
  EXPECT_EQ(Tensor::Empty(ScalarType::kFloat32, {4}, Device::Cuda(0))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST(HalfTest, RoundTripsAndRounding) {
  for (float f : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f,
                  5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(70000.0f))));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_EQ(FloatToHalf(1.0f).bits, 0x3c00);
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  EXPECT_EQ(FloatToHalf(1.0f + 1.0f / 2048).bits, 0x3c00);
  EXPECT_EQ(FloatToHalf(1.0f + 3.0f / 2048).bits, 0x3c02);
  // Every half value survives a round trip through float.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const Half h{static_cast<uint16_t>(b)};
    const float f = HalfToFloat(h);
    if (std::isnan(f)) continue;
    EXPECT_EQ(FloatToHalf(f).bits, h.bits) << b;
  }
  EXPECT_EQ(BFloat16ToFloat(FloatToBFloat16(1.5f)), 1.5f);
  EXPECT_EQ(FloatToBFloat16(1.0f + 1.0f / 256).bits, 0x3f80);  // tie to even
}

}  // namespace
}  // namespace rewire
