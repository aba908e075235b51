#include "pt2/zip_archive.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "base/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rewire {
namespace pt2 {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TestData(const std::string& name) {
  absl::StatusOr<std::string> bytes =
      ReadFileToString("tests/testdata/pt2/" + name);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

TEST(ZipReaderTest, ReadsAnArchiveTorchExportSaveWrote) {
  const std::string bytes = TestData("conv_bn_dropout.train.pt2");
  absl::StatusOr<ZipReader> r = ZipReader::Open(bytes, "train.pt2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->names(), Contains("conv_bn_dropout.train/models/model.json"));
  absl::StatusOr<std::string> format =
      r->Read("conv_bn_dropout.train/archive_format");
  ASSERT_TRUE(format.ok()) << format.status();
  EXPECT_EQ(*format, "pt2");
  EXPECT_EQ(r->SizeOf("conv_bn_dropout.train/archive_format"), 3);
  EXPECT_EQ(r->SizeOf("missing"), -1);
  absl::Status missing = r->Read("missing").status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("missing"));
}

TEST(ZipWriterTest, RoundTripsThroughTheReader) {
  ZipWriter w;
  ASSERT_TRUE(w.Add("m/a", "alpha").ok());
  ASSERT_TRUE(w.Add("m/empty", "").ok());
  ASSERT_TRUE(w.Add("m/bin", std::string("\0\1\2", 3)).ok());
  absl::StatusOr<std::string> bytes = w.Finish();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<ZipReader> r = ZipReader::Open(*bytes, "written");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->names(), ElementsAre("m/a", "m/empty", "m/bin"));
  EXPECT_EQ(*r->Read("m/a"), "alpha");
  EXPECT_EQ(*r->Read("m/empty"), "");
  EXPECT_EQ(*r->Read("m/bin"), std::string("\0\1\2", 3));
}

TEST(ZipWriterTest, RefusesBadAndDuplicateNames) {
  ZipWriter w;
  for (const char* bad : {"", "/abs", "a/../b", "a\\b"}) {
    EXPECT_EQ(w.Add(bad, "x").code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  ASSERT_TRUE(w.Add("a", "1").ok());
  EXPECT_EQ(w.Add("a", "2").code(), absl::StatusCode::kInvalidArgument);
}

struct HostileCase {
  const char* file;
  const char* message;
};

class HostileZipTest : public ::testing::TestWithParam<HostileCase> {};

TEST_P(HostileZipTest, IsRefusedNamingTheProblem) {
  const std::string bytes = TestData(GetParam().file);
  absl::StatusOr<ZipReader> r = ZipReader::Open(bytes, GetParam().file);
  absl::Status s = r.status();
  if (r.ok()) {
    // Some problems only show when the entry is read.
    for (const std::string& name : r->names()) {
      s = r->Read(name).status();
      if (!s.ok()) break;
    }
  }
  ASSERT_FALSE(s.ok()) << GetParam().file << " was accepted";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  const std::string message(s.message());
  EXPECT_THAT(message, HasSubstr(GetParam().file));
  EXPECT_THAT(message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Archives, HostileZipTest,
    ::testing::Values(HostileCase{"absolute_name.zip", "absolute"},
                      HostileCase{"dotdot_name.zip", "'..'"},
                      HostileCase{"backslash_name.zip", "backslash"},
                      HostileCase{"duplicate_entry.zip", "twice"},
                      HostileCase{"truncated.zip", "zip archive"},
                      HostileCase{"bomb.zip", "m/bomb"}));

TEST(ZipReaderTest, LimitsAreEnforcedBeforeReading) {
  ZipWriter w;
  ASSERT_TRUE(w.Add("a", std::string(100, 'x')).ok());
  ASSERT_TRUE(w.Add("b", std::string(100, 'y')).ok());
  absl::StatusOr<std::string> bytes = w.Finish();
  ASSERT_TRUE(bytes.ok());
  ZipLimits few;
  few.max_entries = 1;
  EXPECT_EQ(ZipReader::Open(*bytes, "z", few).status().code(),
            absl::StatusCode::kResourceExhausted);
  ZipLimits small;
  small.max_entry_bytes = 99;
  EXPECT_EQ(ZipReader::Open(*bytes, "z", small).status().code(),
            absl::StatusCode::kResourceExhausted);
  ZipLimits total;
  total.max_total_bytes = 150;
  EXPECT_EQ(ZipReader::Open(*bytes, "z", total).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ZipReaderTest, GarbageIsNotAnArchive) {
  for (const std::string& bytes :
       {std::string(), std::string("PK"), std::string(1000, '\xff')}) {
    EXPECT_EQ(ZipReader::Open(bytes, "garbage").status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace pt2
}  // namespace rewire
