// Structural graph equality for tests: two graphs are equal when their node
// lists agree pairwise on kind, target, name, args and kwargs (literal kinds
// exact, node references by position) and metadata (entries in order).
#ifndef REWIRE_TESTS_GRAPH_EQUALITY_H_
#define REWIRE_TESTS_GRAPH_EQUALITY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/graph.h"

namespace rewire {
namespace testing_internal {

inline ::testing::AssertionResult GraphsStructurallyEqual(const Graph& a,
                                                          const Graph& b) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << "sizes differ: " << a.size() << " vs " << b.size();
  }
  absl::flat_hash_map<const Node*, Node*> to_b;
  to_b.reserve(a.size());
  Node* nb = b.first();
  size_t index = 0;
  for (const Node* na : a) {
    std::string where = absl::StrCat("node ", index, " (%", na->name(), ")");
    if (na->op() != nb->op()) {
      return ::testing::AssertionFailure() << where << ": kinds differ";
    }
    if (na->name() != nb->name()) {
      return ::testing::AssertionFailure()
             << where << ": names differ: " << nb->name();
    }
    if (na->target().qualified != nb->target().qualified) {
      return ::testing::AssertionFailure()
             << where << ": targets differ: " << na->target().qualified
             << " vs " << nb->target().qualified;
    }
    std::vector<Argument> args(na->args().begin(), na->args().end());
    std::vector<Kwarg> kwargs = na->kwargs();
    bool dangling = false;
    auto remap = [&](Node* n) {
      auto it = to_b.find(n);
      if (it == to_b.end()) {
        dangling = true;
        return n;
      }
      return it->second;
    };
    for (Argument& arg : args) arg.MapNodes(remap);
    for (Kwarg& kw : kwargs) kw.value.MapNodes(remap);
    if (dangling) {
      return ::testing::AssertionFailure() << where << ": forward reference";
    }
    if (args != nb->args()) {
      return ::testing::AssertionFailure() << where << ": args differ";
    }
    if (!(kwargs == nb->kwargs())) {
      return ::testing::AssertionFailure() << where << ": kwargs differ";
    }
    if (na->meta() != nb->meta()) {
      return ::testing::AssertionFailure() << where << ": metadata differs";
    }
    to_b.emplace(na, nb);
    nb = nb->next();
    ++index;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace testing_internal
}  // namespace rewire

#endif  // REWIRE_TESTS_GRAPH_EQUALITY_H_
