// Fault injection into the file writes of base/ (file.h, file_set.h), so that
// tests can make any step of writing an output fail (tests/soak_test.cc runs
// many threads against a disk that fails at random). base/ makes these system
// calls through the wrappers below; when a hook is installed each wrapper
// first asks it, and a non-zero errno from the hook makes the call fail with
// that errno, having done nothing (a failed close still releases the
// descriptor). Without a hook the wrappers are the plain calls.
#ifndef REWIRE_BASE_FILE_FAULTS_H_
#define REWIRE_BASE_FILE_FAULTS_H_

#include <sys/types.h>

#include <cstddef>

namespace rewire {
namespace file_faults {

enum class Step {
  kCreate,  // mkostemp / mkdtemp / mkdir
  kWrite,
  kSync,
  kClose,
  kRename,
  kLink,
};

// Returns 0 to let the call run, or the errno it should fail with. Called
// from any thread that writes; must be thread-safe.
using Hook = int (*)(Step step, const char* path);

// nullptr turns injection off. Install before the writers start.
void SetHookForTesting(Hook hook);

int Mkostemp(char* path_template, int flags);
char* Mkdtemp(char* path_template);
int Mkdir(const char* path, mode_t mode);
ssize_t Write(int fd, const void* data, size_t size, const char* path);
int Fsync(int fd, const char* path);
int Close(int fd, const char* path);
int Rename(const char* from, const char* to);
int Link(const char* from, const char* to);

}  // namespace file_faults
}  // namespace rewire

#endif  // REWIRE_BASE_FILE_FAULTS_H_
