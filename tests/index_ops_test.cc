// Bad arguments to the indexing ops are errors naming what is wrong, never a
// read outside a tensor (the values themselves are checked against PyTorch
// in op_golden_test).
#include "kernels/index_ops.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rewire {
namespace ops {
namespace {

using ::testing::HasSubstr;

Tensor F(std::vector<int64_t> shape, std::vector<float> v) {
  return *Tensor::FromVector<float>(std::move(shape), v);
}
Tensor I(std::vector<int64_t> shape, std::vector<int64_t> v) {
  return *Tensor::FromVector<int64_t>(std::move(shape), v);
}

TEST(IndexOpsTest, OutOfRangeIndicesAreRefused) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  auto r = Index(x, {I({1}, {2})});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("out of bounds for dimension 0 with size 2"));
  EXPECT_FALSE(Index(x, {Tensor(), I({1}, {-4})}).ok());
  EXPECT_TRUE(Index(x, {Tensor(), I({1}, {-3})}).ok());
  EXPECT_FALSE(IndexSelect(x, 1, I({2}, {0, 3})).ok());
  EXPECT_FALSE(Index(x, {I({1}, {0}), I({1}, {0}), I({1}, {0})}).ok());  // too many
}

TEST(IndexOpsTest, BadIndexDtypesAndMasksAreRefused) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_THAT(Index(x, {F({1}, {0})}).status().message(), HasSubstr("must be long, int"));
  Tensor m3 = *Tensor::Zeros(ScalarType::kBool, {3});
  EXPECT_THAT(Index(x, {m3}).status().message(), HasSubstr("does not match"));
  Tensor m2 = *Tensor::Zeros(ScalarType::kBool, {2});
  m2.data<bool>()[1] = true;
  auto r = Index(x, {m2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_FALSE(MaskedFill(x, F({3}, {1, 0, 1}), Scalar::Float(0)).ok());  // float mask
  EXPECT_FALSE(Where(F({2, 3}, {1, 0, 1, 0, 1, 0}), x, x).ok());          // float condition
}

TEST(IndexOpsTest, ShapesThatDoNotFitAreRefused) {
  Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(SliceScatter(x, F({2, 2}, {0, 0, 0, 0}), 1, 0, 3, 1).ok());
  EXPECT_FALSE(ConstantPadNd(x, {1}, 0).ok());
  EXPECT_FALSE(ConstantPadNd(x, {-2, -2}, 0).ok());
  EXPECT_FALSE(Roll(x, {1, 2}, {0}).ok());
  EXPECT_EQ(ConstantPadNd(x, {-3, 0}, 0)->shape(), (std::vector<int64_t>{2, 0}));
}

}  // namespace
}  // namespace ops
}  // namespace rewire
