// Tests for the common CPU ops against hand-computed values.
#include "kernels/common_ops.h"
#include "kernels/linalg_ops.h"
#include "kernels/pool_ops.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace rewire {
namespace ops {
namespace {

Tensor F(std::vector<int64_t> shape, std::vector<float> v) {
  return *Tensor::FromVector<float>(std::move(shape), v);
}
std::vector<float> V(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}
Tensor Iota9() { return F({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}); }

TEST(CommonOpsTest, ConvStridePaddingDilationGroups) {
  Tensor ones = F({1, 1, 2, 2}, {1, 1, 1, 1});
  EXPECT_EQ(V(*Conv2d(Iota9(), ones, nullptr, {1, 1}, {0, 0}, {1, 1}, 1)),
            (std::vector<float>{12, 16, 24, 28}));
  EXPECT_EQ(V(*Conv2d(Iota9(), ones, nullptr, {2, 2}, {1, 1}, {1, 1}, 1)),
            (std::vector<float>{1, 5, 11, 28}));
  EXPECT_EQ(V(*Conv2d(Iota9(), ones, nullptr, {1, 1}, {0, 0}, {2, 2}, 1)),
            (std::vector<float>{20}));
  Tensor x = F({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w = F({2, 1, 1, 1}, {2, 3});
  Tensor b = F({2}, {0.5, -1});
  EXPECT_EQ(V(*Conv2d(x, w, &b, {1, 1}, {0, 0}, {1, 1}, 2)),
            (std::vector<float>{2.5, 4.5, 6.5, 8.5, 14, 17, 20, 23}));
  EXPECT_FALSE(Conv2d(x, w, nullptr, {1, 1}, {0, 0}, {1, 1}, 1).ok());
}

TEST(CommonOpsTest, MaxPoolPaddingAndCeilMode) {
  Pool2dParams p;
  p.kernel = {2, 2};
  p.stride = {2, 2};
  EXPECT_EQ(V(MaxPool2d(Iota9(), p)->output), (std::vector<float>{5}));
  p.ceil_mode = true;
  EXPECT_EQ(V(MaxPool2d(Iota9(), p)->output), (std::vector<float>{5, 6, 8, 9}));
  p.ceil_mode = false;
  p.padding = {1, 1};
  auto r = MaxPool2d(Iota9(), p);
  EXPECT_EQ(V(r->output), (std::vector<float>{1, 3, 7, 9}));
  EXPECT_EQ(r->indices.data<int64_t>()[3], 8);
}

TEST(CommonOpsTest, AvgPoolPadCountAndCeil) {
  Pool2dParams p;
  p.kernel = {2, 2};
  p.stride = {2, 2};
  p.padding = {1, 1};
  EXPECT_EQ(V(*AvgPool2d(Iota9(), p, true, std::nullopt)),
            (std::vector<float>{0.25, 1.25, 2.75, 7}));
  EXPECT_EQ(V(*AvgPool2d(Iota9(), p, false, std::nullopt)),
            (std::vector<float>{1, 2.5, 5.5, 7}));
  p.padding = {0, 0};
  p.ceil_mode = true;
  EXPECT_EQ(V(*AvgPool2d(Iota9(), p, true, std::nullopt)),
            (std::vector<float>{3, 4.5, 7.5, 9}));
  EXPECT_EQ(V(*AdaptiveAvgPool2d(Iota9(), {1, 1})), (std::vector<float>{5}));
  EXPECT_EQ(V(*AdaptiveAvgPool2d(Iota9(), {2, 2})), (std::vector<float>{3, 4, 6, 7}));
}

TEST(CommonOpsTest, BroadcastingArithmetic) {
  Tensor a = F({2, 1}, {1, 2});
  Tensor b = F({3}, {10, 20, 30});
  EXPECT_EQ(V(*Binary(BinaryKind::kAdd, a, b)), (std::vector<float>{11, 21, 31, 12, 22, 32}));
  EXPECT_EQ(V(*Binary(BinaryKind::kSub, a, b, Scalar::Int(2))),
            (std::vector<float>{-19, -39, -59, -18, -38, -58}));
  EXPECT_EQ(V(*BinaryScalar(BinaryKind::kDiv, b, Scalar::Float(4))),
            (std::vector<float>{2.5, 5, 7.5}));
  EXPECT_FALSE(Binary(BinaryKind::kMul, F({2}, {1, 2}), b).ok());
  Tensor nbt = *Tensor::FromVector<int64_t>({}, std::vector<int64_t>{41});
  ASSERT_TRUE(BinaryScalarInPlace(BinaryKind::kAdd, nbt, Scalar::Int(1)).ok());
  EXPECT_EQ(nbt.data<int64_t>()[0], 42);
  EXPECT_FALSE(BinaryInPlace(BinaryKind::kAdd, a, b).ok());
}

TEST(CommonOpsTest, SoftmaxDimsAndLayerNorm) {
  Tensor x = F({2, 2}, {0, 1, 2, 4});
  const auto s0 = V(*Softmax(x, 0, false));
  EXPECT_NEAR(s0[0], 1 / (1 + std::exp(2.0)), 1e-6);
  EXPECT_NEAR(s0[1], 1 / (1 + std::exp(3.0)), 1e-6);
  const auto s1 = V(*Softmax(x, -1, true));
  EXPECT_NEAR(s1[0], -std::log(1 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(s1[3], -std::log(1 + std::exp(-2.0)), 1e-6);
  Tensor y = F({2, 3}, {1, 2, 3, 4, 6, 8});
  auto ln = LayerNorm(y, {3}, nullptr, nullptr, 1e-5);
  ASSERT_TRUE(ln.ok());
  const double r0 = 1 / std::sqrt(2.0 / 3 + 1e-5), r1 = 1 / std::sqrt(8.0 / 3 + 1e-5);
  const auto o = V(ln->output);
  EXPECT_NEAR(o[0], -r0, 1e-5);
  EXPECT_NEAR(o[5], 2 * r1, 1e-5);
  EXPECT_NEAR(V(ln->mean)[1], 6, 1e-6);
}

TEST(CommonOpsTest, ReductionsCatAndLinear) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(V(*Sum(x, {1}, false, std::nullopt)), (std::vector<float>{6, 15}));
  EXPECT_EQ(V(*Mean(x, {0}, true, std::nullopt)), (std::vector<float>{2.5, 3.5, 4.5}));
  EXPECT_EQ(V(*Cat({x, x}, 1)), (std::vector<float>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}));
  Tensor w = F({1, 3}, {1, 0, -1});
  Tensor b = F({1}, {10});
  EXPECT_EQ(V(*Linear(x, w, &b)), (std::vector<float>{8, 8}));
  EXPECT_EQ(V(*Addmm(b, x, F({3, 1}, {1, 0, -1}), 2, 1)), (std::vector<float>{18, 18}));
}

}  // namespace
}  // namespace ops
}  // namespace rewire
