// FUZZ_CHECK: the oracle of the fuzz targets.
//
// A property violation must look like a crash to libFuzzer so that it saves
// the input and the run fails; printing the context first makes the saved
// input reproducible without a debugger. Statuses returned by the code under
// test are never checked with this: an error on hostile input is the correct
// outcome, only crashes, sanitizer reports and broken invariants are bugs.
#ifndef REWIRE_FUZZ_FUZZ_CHECK_H_
#define REWIRE_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__,   \
                   __LINE__, #cond);                                       \
      std::fprintf(stderr, "  %s\n", std::string(__VA_ARGS__).c_str());    \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#endif  // REWIRE_FUZZ_FUZZ_CHECK_H_
