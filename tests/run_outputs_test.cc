#include "tools/run_outputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/tensor.h"
#include "tests/test_files.h"
#include "tools/npy.h"

namespace rewire {
namespace tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(DistinctFileStemsTest, DuplicateGetsItsIndexWithoutTakingALaterName) {
  // %a returned twice next to a node really called a_2: the second %a must
  // not become a_2 (it would overwrite that output's file).
  EXPECT_THAT(DistinctFileStems({"a", "a_2", "a"}),
              ElementsAre("a", "a_2", "a_2_1"));
  EXPECT_THAT(DistinctFileStems({"x", "x", "x_1"}),
              ElementsAre("x", "x_1_1", "x_1"));
  EXPECT_THAT(DistinctFileStems({"x", "x", "x"}),
              ElementsAre("x", "x_1", "x_2"));
}

TEST(DistinctFileStemsTest, NamesThatSanitizeAlikeAreKeptApart) {
  EXPECT_THAT(DistinctFileStems({"a:b", "a_b", "a/b"}),
              ElementsAre("a_b", "a_b_1", "a_b_2"));
}

TEST(DistinctFileStemsTest, StemsAreSafeFileNames) {
  EXPECT_THAT(DistinctFileStems({"", ".hidden", "../up", "ok-1.x"}),
              ElementsAre("o", "o.hidden", "o.._up", "ok-1.x"));
}

TEST(DistinctFileStemsTest, ManyDuplicatesStayDistinct) {
  std::vector<std::string> labels(1000, "y");
  std::vector<std::string> stems = DistinctFileStems(labels);
  std::sort(stems.begin(), stems.end());
  EXPECT_EQ(std::unique(stems.begin(), stems.end()), stems.end());
}

TEST(OutputLabelTest, LiteralsAreNumbered) {
  EXPECT_EQ(OutputLabel(3, ""), "output_3");
  EXPECT_EQ(OutputLabel(3, "relu"), "relu");
}

NamedTensor Output(const std::string& name, std::vector<float> values) {
  Tensor t = *Tensor::Empty(ScalarType::kFloat32,
                            {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i) t.data<float>()[i] = values[i];
  return NamedTensor{name, std::move(t)};
}

TEST(WriteOutputsTest, WritesEveryNonNoneOutputUnderItsStem) {
  const std::string dir = testing_files::TempDir() + "/write_outputs";
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok()) << w.status();
  std::vector<NamedTensor> outputs = {Output("a", {1}), NamedTensor{"n", {}},
                                      Output("a", {2})};
  absl::StatusOr<std::vector<std::string>> paths = WriteOutputs(*w, outputs);
  ASSERT_TRUE(paths.ok()) << paths.status();
  EXPECT_THAT(*paths, ElementsAre(dir + "/a.npy", "", dir + "/a_2.npy"));
  EXPECT_THAT(testing_files::ListDir(dir),
              UnorderedElementsAre("a.npy", "a_2.npy"));
  absl::StatusOr<Tensor> second = ReadNpyFile(dir + "/a_2.npy");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data<float>()[0], 2.0f);
}

TEST(WriteOutputsTest, AnOutputThatCannotBeEncodedWritesNothing) {
  // bfloat16 has no .npy dtype: it stands in for any per-output failure
  // after earlier outputs were staged.
  const std::string parent = testing_files::TempDir() + "/unencodable";
  mkdir(parent.c_str(), 0755);
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(parent + "/out");
  ASSERT_TRUE(w.ok());
  NamedTensor bad{"bad", *Tensor::Empty(ScalarType::kBFloat16, {1})};
  std::vector<NamedTensor> outputs = {Output("good", {1}), bad};
  absl::StatusOr<std::vector<std::string>> paths = WriteOutputs(*w, outputs);
  ASSERT_FALSE(paths.ok());
  EXPECT_THAT(paths.status().message(), HasSubstr("output bad"));
  w = absl::CancelledError("destroy the writer");
  EXPECT_THAT(testing_files::ListDir(parent), IsEmpty());
}

}  // namespace
}  // namespace tools
}  // namespace rewire
