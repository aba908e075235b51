#include "base/file_faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>

namespace rewire {
namespace file_faults {
namespace {

std::atomic<Hook> g_hook{nullptr};

// errno to fail with, or 0.
int Injected(Step step, const char* path) {
  Hook hook = g_hook.load(std::memory_order_acquire);
  return hook == nullptr ? 0 : hook(step, path);
}

}  // namespace

void SetHookForTesting(Hook hook) {
  g_hook.store(hook, std::memory_order_release);
}

int Mkostemp(char* path_template, int flags) {
  if (int err = Injected(Step::kCreate, path_template); err != 0) {
    errno = err;
    return -1;
  }
  return mkostemp(path_template, flags);
}

char* Mkdtemp(char* path_template) {
  if (int err = Injected(Step::kCreate, path_template); err != 0) {
    errno = err;
    return nullptr;
  }
  return mkdtemp(path_template);
}

int Mkdir(const char* path, mode_t mode) {
  if (int err = Injected(Step::kCreate, path); err != 0) {
    errno = err;
    return -1;
  }
  return mkdir(path, mode);
}

ssize_t Write(int fd, const void* data, size_t size, const char* path) {
  if (int err = Injected(Step::kWrite, path); err != 0) {
    errno = err;
    return -1;
  }
  return write(fd, data, size);
}

int Fsync(int fd, const char* path) {
  if (int err = Injected(Step::kSync, path); err != 0) {
    errno = err;
    return -1;
  }
  return fsync(fd);
}

int Close(int fd, const char* path) {
  if (int err = Injected(Step::kClose, path); err != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  return close(fd);
}

int Rename(const char* from, const char* to) {
  if (int err = Injected(Step::kRename, to); err != 0) {
    errno = err;
    return -1;
  }
  return rename(from, to);
}

int Link(const char* from, const char* to) {
  if (int err = Injected(Step::kLink, to); err != 0) {
    errno = err;
    return -1;
  }
  return link(from, to);
}

}  // namespace file_faults
}  // namespace rewire
