#include "base/file.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_files.h"

namespace rewire {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing_files::ListDir;

// A fresh directory under TEST_TMPDIR for each test.
std::string MakeDir(const std::string& name) {
  std::string dir = testing_files::TempDir() + "/" + name;
  mkdir(dir.c_str(), 0755);
  return dir;
}

std::string Slurp(const std::string& path) {
  return testing_files::ReadAll(path);
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Sets the process umask for one scope; the test binary is single-threaded.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

TEST(WriteFileAtomicTest, CreatesAndReplaces) {
  const std::string dir = MakeDir("create");
  const std::string path = dir + "/f.bin";
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  EXPECT_EQ(Slurp(path), "first");
  ASSERT_TRUE(WriteFileAtomic(path, std::string("a\0b", 3)).ok());
  EXPECT_EQ(Slurp(path), std::string("a\0b", 3));
  EXPECT_THAT(ListDir(dir), ElementsAre("f.bin"));
}

TEST(WriteFileAtomicTest, EmptyContentAndRelativePath) {
  const std::string dir = MakeDir("relative");
  char old_cwd[4096];
  ASSERT_NE(getcwd(old_cwd, sizeof(old_cwd)), nullptr);
  ASSERT_EQ(chdir(dir.c_str()), 0);
  absl::Status s = WriteFileAtomic("empty.txt", "");
  ASSERT_EQ(chdir(old_cwd), 0);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Slurp(dir + "/empty.txt"), "");
  EXPECT_THAT(ListDir(dir), ElementsAre("empty.txt"));
}

TEST(WriteFileAtomicTest, ModeFollowsTheUmask) {
  const std::string dir = MakeDir("mode");
  {
    ScopedUmask mask(027);
    EXPECT_EQ(NewFileMode(), 0640u);
    ASSERT_TRUE(WriteFileAtomic(dir + "/a", "x").ok());
    ASSERT_TRUE(WriteFileAtomic(dir + "/a", "y").ok());  // a replacement too
  }
  EXPECT_EQ(ModeOf(dir + "/a"), 0640u);
  {
    ScopedUmask mask(0);
    ASSERT_TRUE(WriteFileAtomic(dir + "/b", "x").ok());
  }
  EXPECT_EQ(ModeOf(dir + "/b"), 0666u);
  {
    ScopedUmask mask(022);
    ASSERT_TRUE(WriteFileAtomic(dir + "/c", "x").ok());
  }
  EXPECT_EQ(ModeOf(dir + "/c"), 0644u);
}

TEST(WriteFileAtomicTest, TempFileForAnotherWriterHasTheNewFileMode) {
  const std::string dir = MakeDir("temp_mode");
  ScopedUmask mask(002);
  absl::StatusOr<std::string> temp = CreateTempFileNextTo(dir + "/out.svg");
  ASSERT_TRUE(temp.ok()) << temp.status();
  EXPECT_EQ(ModeOf(*temp), 0664u);
  // Hidden, in the destination's directory.
  EXPECT_EQ(temp->rfind(dir + "/.out.svg.", 0), 0u) << *temp;
  { std::ofstream(*temp) << "<svg/>"; }
  ASSERT_TRUE(RenameOver(*temp, dir + "/out.svg").ok());
  EXPECT_EQ(ModeOf(dir + "/out.svg"), 0664u);
  EXPECT_THAT(ListDir(dir), ElementsAre("out.svg"));
}

TEST(WriteFileAtomicTest, MissingParentFailsNamingThePath) {
  const std::string path = MakeDir("noparent") + "/no/such/f.bin";
  absl::Status s = WriteFileAtomic(path, "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(path), HasSubstr("No such file or directory")));
}

TEST(WriteFileAtomicTest, FailedWriteKeepsTheOldContent) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root ignores directory permissions";
  }
  const std::string dir = MakeDir("readonly");
  const std::string path = dir + "/keep.bin";
  ASSERT_TRUE(WriteFileAtomic(path, "precious").ok());
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  absl::Status s = WriteFileAtomic(path, "clobbered");
  chmod(dir.c_str(), 0755);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_EQ(Slurp(path), "precious");
  EXPECT_THAT(ListDir(dir), ElementsAre("keep.bin"));
}

TEST(WriteFileAtomicTest, WriteErrorKeepsTheOldContent) {
  // RLIMIT_FSIZE makes write() fail with EFBIG (SIGXFSZ ignored), even as
  // root: the failure comes after the temporary was created and partly
  // written.
  const std::string dir = MakeDir("fsize");
  const std::string path = dir + "/keep.bin";
  ASSERT_TRUE(WriteFileAtomic(path, "precious").ok());
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 4;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  absl::Status s = WriteFileAtomic(path, "a longer replacement");
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), AllOf(HasSubstr(path), HasSubstr("cannot write")));
  EXPECT_EQ(Slurp(path), "precious");
  EXPECT_THAT(ListDir(dir), ElementsAre("keep.bin"));
}

TEST(WriteFileAtomicTest, FailedRenameKeepsTheTargetAndLeavesNoTemporary) {
  // The target is a non-empty directory: everything succeeds up to rename(),
  // which must fail without touching it (this also runs as root).
  const std::string dir = MakeDir("rename");
  const std::string path = dir + "/target";
  mkdir(path.c_str(), 0755);
  { std::ofstream(path + "/keep") << "precious"; }
  absl::Status s = WriteFileAtomic(path, "new");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), AllOf(HasSubstr(path), HasSubstr("rename")));
  EXPECT_EQ(Slurp(path + "/keep"), "precious");
  EXPECT_THAT(ListDir(dir), ElementsAre("target"));
}

TEST(WriteFileAtomicTest, EmptyPathIsRefused) {
  EXPECT_EQ(WriteFileAtomic("", "x").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReadFileToStringTest, ReadsARegularFile) {
  const std::string path = MakeDir("read") + "/f";
  std::string bytes(200000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFileAtomic(path, bytes).ok());
  absl::StatusOr<std::string> got = ReadFileToString(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, bytes);
}

TEST(ReadFileToStringTest, MissingFileIsNotFound) {
  const std::string path = MakeDir("read_missing") + "/absent";
  absl::Status s = ReadFileToString(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST(ReadFileToStringTest, RefusesAFifoWithoutBlocking) {
  const std::string path = MakeDir("fifo") + "/pipe";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::Status s = ReadFileToString(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(path), HasSubstr("FIFO")));
}

TEST(ReadFileToStringTest, RefusesDevicesAndDirectories) {
  absl::Status s = ReadFileToString("/dev/zero").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("/dev/zero"), HasSubstr("device")));
  const std::string dir = MakeDir("read_dir");
  s = ReadFileToString(dir).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(dir), HasSubstr("directory")));
}

TEST(ReadFileToStringTest, EnforcesTheSizeCap) {
  const std::string path = MakeDir("cap") + "/f";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100, 'x')).ok());
  EXPECT_TRUE(ReadFileToString(path, 100).ok());
  absl::Status s = ReadFileToString(path, 99).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(path), HasSubstr("99")));
  EXPECT_EQ(ReadFileToString(path, 0).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace rewire
