// Status propagation helpers and the programmer-error check used across rewire.
//
// Debian 12's Abseil (20220623) predates absl/log and the status macros, so
// rewire carries these few definitions itself. REWIRE_CHECK guards invariants
// that only a bug in rewire can break; input errors are always absl::Status.
#ifndef REWIRE_IR_STATUS_MACROS_H_
#define REWIRE_IR_STATUS_MACROS_H_

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define REWIRE_STATUS_CONCAT_INNER_(a, b) a##b
#define REWIRE_STATUS_CONCAT_(a, b) REWIRE_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::absl::Status rewire_status_ = (expr);                    \
    if (!rewire_status_.ok()) return rewire_status_;           \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from an OK StatusOr, or returns
// its error status.
#define ASSIGN_OR_RETURN(lhs, rexpr)                                         \
  REWIRE_ASSIGN_OR_RETURN_IMPL_(                                             \
      REWIRE_STATUS_CONCAT_(rewire_statusor_, __LINE__), lhs, rexpr)

#define REWIRE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

// Aborts with a message when an internal invariant is broken. Never used for
// conditions that input data can trigger.
#define REWIRE_CHECK(cond)                                                 \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: rewire internal check failed: %s\n",   \
                   __FILE__, __LINE__, #cond);                             \
      std::abort();                                                        \
    }                                                                      \
  } while (false)

#endif  // REWIRE_IR_STATUS_MACROS_H_
