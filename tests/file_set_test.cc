#include "base/file_set.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "base/file_faults.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_files.h"

namespace rewire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

using testing_files::ListDir;
using testing_files::ReadAll;

// A fresh, empty directory under TEST_TMPDIR for each test.
std::string MakeDir(const std::string& name) {
  std::string dir = testing_files::TempDir() + "/" + name;
  mkdir(dir.c_str(), 0755);
  return dir;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// write() fails with EFBIG past `bytes` within one scope (SIGXFSZ ignored);
// works as root too.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit limit = old_;
    limit.rlim_cur = bytes;
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~ScopedFileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_;
  void (*old_handler_)(int);
};

TEST(FileSetWriterTest, CreatesANewDirectoryOnlyOnCommit) {
  const std::string parent = MakeDir("new");
  const std::string dir = parent + "/out";
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(w->Add("a.npy", "A").ok());
  ASSERT_TRUE(w->Add("b.npy", "B").ok());
  EXPECT_FALSE(Exists(dir)) << "visible before Commit";
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_THAT(ListDir(dir), UnorderedElementsAre("a.npy", "b.npy"));
  EXPECT_EQ(ReadAll(dir + "/a.npy"), "A");
  EXPECT_EQ(ReadAll(dir + "/b.npy"), "B");
  EXPECT_THAT(ListDir(parent), ElementsAre("out")) << "staging left behind";
  EXPECT_THAT(w->Paths(), ElementsAre(dir + "/a.npy", dir + "/b.npy"));
}

TEST(FileSetWriterTest, NewDirectoryGetsTheUsualMode) {
  const std::string dir = MakeDir("mode") + "/out";
  mode_t old_mask = umask(022);
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a", "A").ok());
  absl::Status s = w->Commit();
  umask(old_mask);
  ASSERT_TRUE(s.ok()) << s;
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755);
}

TEST(FileSetWriterTest, AbandonedNewDirectoryLeavesNothing) {
  const std::string parent = MakeDir("abandon");
  {
    absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(parent + "/out");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Add("a", "A").ok());
  }
  EXPECT_THAT(ListDir(parent), IsEmpty());
}

TEST(FileSetWriterTest, WriteErrorInANewDirectoryLeavesNothing) {
  const std::string parent = MakeDir("fsize_new");
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(parent + "/out");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("small", "ok").ok());
  absl::Status s;
  {
    ScopedFileSizeLimit limit(4);
    s = w->Add("big", "more than four bytes");
  }
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("big"));
  w = absl::InternalError("destroy the writer");
  EXPECT_THAT(ListDir(parent), IsEmpty());
}

TEST(FileSetWriterTest, ReplacesInAnExistingDirectoryKeepingOtherFiles) {
  const std::string dir = MakeDir("existing");
  { std::ofstream(dir + "/a.npy") << "old a"; }
  { std::ofstream(dir + "/other") << "unrelated"; }
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a.npy", "new a").ok());
  ASSERT_TRUE(w->Add("b.npy", "new b").ok());
  EXPECT_EQ(ReadAll(dir + "/a.npy"), "old a") << "replaced before Commit";
  EXPECT_FALSE(Exists(dir + "/b.npy"));
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_EQ(ReadAll(dir + "/a.npy"), "new a");
  EXPECT_EQ(ReadAll(dir + "/b.npy"), "new b");
  EXPECT_EQ(ReadAll(dir + "/other"), "unrelated");
  EXPECT_THAT(ListDir(dir), UnorderedElementsAre("a.npy", "b.npy", "other"));
}

TEST(FileSetWriterTest, FailedRenameUndoesTheEarlierOnes) {
  // a.npy is replaced first; then the rename over b.npy fails because b.npy
  // became a non-empty directory after it was added: a.npy must get its old
  // content back, and no temporary or backup may remain.
  const std::string dir = MakeDir("undo");
  { std::ofstream(dir + "/a.npy") << "old a"; }
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a.npy", "new a").ok());
  ASSERT_TRUE(w->Add("c.npy", "new c").ok());
  ASSERT_TRUE(w->Add("b.npy", "new b").ok());
  ASSERT_EQ(mkdir((dir + "/b.npy").c_str(), 0755), 0);
  { std::ofstream(dir + "/b.npy/keep") << "x"; }
  absl::Status s = w->Commit();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("b.npy"));
  EXPECT_EQ(ReadAll(dir + "/a.npy"), "old a");
  EXPECT_FALSE(Exists(dir + "/c.npy")) << "a new file survived the undo";
  EXPECT_THAT(ListDir(dir), UnorderedElementsAre("a.npy", "b.npy"));
}

TEST(FileSetWriterTest, WriteErrorInAnExistingDirectoryChangesNothing) {
  const std::string dir = MakeDir("fsize_existing");
  { std::ofstream(dir + "/a.npy") << "old a"; }
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a.npy", "new a").ok());
  absl::Status s;
  {
    ScopedFileSizeLimit limit(6);
    s = w->Add("b.npy", "more than six bytes");
  }
  EXPECT_FALSE(s.ok());
  w = absl::InternalError("destroy the writer");
  EXPECT_EQ(ReadAll(dir + "/a.npy"), "old a");
  EXPECT_THAT(ListDir(dir), ElementsAre("a.npy"));
}

TEST(FileSetWriterTest, DirectoryThatAppearsMeanwhileIsNotOverwritten) {
  const std::string parent = MakeDir("race");
  const std::string dir = parent + "/out";
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a", "ours").ok());
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  { std::ofstream(dir + "/a") << "theirs"; }
  EXPECT_FALSE(w->Commit().ok());
  EXPECT_EQ(ReadAll(dir + "/a"), "theirs");
  EXPECT_THAT(ListDir(parent), ElementsAre("out"));
}

TEST(FileSetWriterTest, RefusesBadTargetsAndNames) {
  const std::string dir = MakeDir("refuse");
  { std::ofstream(dir + "/file") << "x"; }
  EXPECT_EQ(FileSetWriter::Open(dir + "/file").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FileSetWriter::Open(dir + "/missing/out").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FileSetWriter::Open("").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* bad : {"", ".", "..", "a/b"}) {
    absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->Add(bad, "x").code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  ASSERT_EQ(mkdir((dir + "/sub").c_str(), 0755), 0);
  {
    absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->Add("sub", "x").code(), absl::StatusCode::kInvalidArgument);
  }
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_EQ(w->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ListDir(dir), UnorderedElementsAre("file", "sub"));
}

TEST(FileSetWriterTest, AFailedAddAbandonsTheWholeSetAtOnce) {
  const std::string dir = MakeDir("failed_add");
  { std::ofstream(dir + "/a") << "old"; }
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Add("a", "new").ok());
  ASSERT_TRUE(w->Add("x", "1").ok());
  absl::Status twice = w->Add("x", "2");
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(twice.message(), HasSubstr("twice"));
  // The writer is still alive, yet nothing is staged any more.
  EXPECT_THAT(ListDir(dir), ElementsAre("a"));
  EXPECT_EQ(w->Commit().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(dir + "/a"), "old");
}

TEST(FileSetWriterTest, EmptySetStillCreatesTheDirectory) {
  const std::string dir = MakeDir("empty") + "/out";
  absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Commit().ok());
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

// Fails the n-th faultable system call from now on (counting from 1).
std::atomic<int> g_calls_left{0};
int FailNthCall(file_faults::Step, const char*) {
  return g_calls_left.fetch_sub(1) == 1 ? EIO : 0;
}

std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : ListDir(dir)) {
    out[name] = ReadAll(dir + "/" + name);
  }
  return out;
}

// For every step of writing a set of files, a run in which exactly that step
// fails: the directory must hold exactly the old files or, once no step
// fails, exactly the new ones; never a mixture and never a leftover.
void FailEveryStepInTurn(bool existing_dir) {
  const std::string parent =
      MakeDir(existing_dir ? "each_step_existing" : "each_step_new");
  const std::string dir = parent + "/out";
  std::map<std::string, std::string> before;
  if (existing_dir) {
    mkdir(dir.c_str(), 0755);
    { std::ofstream(dir + "/a.npy") << "old a"; }
    { std::ofstream(dir + "/b.npy") << "old b"; }
    before = Contents(dir);
  }
  const std::map<std::string, std::string> after = {
      {"a.npy", "new a"}, {"b.npy", "new b"}, {"c.npy", "new c"}};
  file_faults::SetHookForTesting(&FailNthCall);
  bool succeeded = false;
  for (int n = 1; n < 100 && !succeeded; ++n) {
    g_calls_left = n;
    absl::Status s;
    {
      absl::StatusOr<FileSetWriter> w = FileSetWriter::Open(dir);
      ASSERT_TRUE(w.ok()) << w.status();
      for (const auto& [name, bytes] : after) {
        s = w->Add(name, bytes);
        if (!s.ok()) break;
      }
      if (s.ok()) s = w->Commit();
    }
    succeeded = s.ok();
    if (succeeded) {
      EXPECT_EQ(Contents(dir), after) << "after success at n=" << n;
    } else {
      EXPECT_THAT(s.message(), HasSubstr(dir)) << n;
      if (existing_dir) {
        EXPECT_EQ(Contents(dir), before) << "failure at step " << n;
      } else {
        EXPECT_FALSE(Exists(dir)) << "failure at step " << n;
      }
      EXPECT_EQ(ListDir(parent).size(), existing_dir ? 1u : 0u)
          << "leftover after failure at step " << n;
    }
  }
  file_faults::SetHookForTesting(nullptr);
  EXPECT_TRUE(succeeded) << "never succeeded";
}

TEST(FileSetWriterTest, AnyFailingStepInAnExistingDirectoryChangesNothing) {
  FailEveryStepInTurn(/*existing_dir=*/true);
}

TEST(FileSetWriterTest, AnyFailingStepForANewDirectoryCreatesNothing) {
  FailEveryStepInTurn(/*existing_dir=*/false);
}

}  // namespace
}  // namespace rewire
