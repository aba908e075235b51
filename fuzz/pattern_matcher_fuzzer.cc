// Fuzz target (e): the pattern text parser + SubgraphMatcher +
// ReplacePatternWithFilters on fixed graphs (the seed models).
//
// Input: a pattern in the readable text form. The matcher options come from
// a hash of the input so every option combination is reached without a
// format prefix; the step bound is always set, because a hostile pattern may
// legitimately need exponential search (the bound must then be reported).
//
// Properties: no crash; every match binds pattern nodes to nodes of the
// searched graph, injectively; replacing the pattern with itself either fails
// leaving the graph textually identical, or leaves a graph that verifies.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/seed_models.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/subgraph_matcher.h"

namespace {

const std::vector<std::unique_ptr<rewire::Graph>>& Graphs() {
  static const auto* const kGraphs = [] {
    auto* graphs = new std::vector<std::unique_ptr<rewire::Graph>>;
    for (const auto& m : rewire::fuzz::SeedModels()) {
      auto g = rewire::ParseGraph(m.text);
      if (!g.ok()) std::abort();
      graphs->push_back(std::move(*g));
    }
    return graphs;
  }();
  return *kGraphs;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)Graphs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  rewire::TextParseOptions parse_options;
  parse_options.max_nesting = 8;
  auto pattern = rewire::ParseGraph(text, parse_options);
  if (!pattern.ok()) return 0;
  const size_t h = std::hash<std::string>()(text);
  rewire::MatcherOptions options;
  options.ignore_literals = h & 1;
  options.match_output = h & 2;
  options.match_placeholder = h & 4;
  options.remove_overlapping_matches = (h & 8) == 0;
  options.max_steps = 20000;
  auto matcher = rewire::SubgraphMatcher::Create(**pattern, options);
  if (!matcher.ok()) return 0;
  for (const auto& graph : Graphs()) {
    auto result = (*matcher)->Match(*graph);
    if (!result.ok()) continue;
    for (const rewire::InternalMatch& m : result->matches) {
      absl::flat_hash_set<const rewire::Node*> bound;
      for (const auto& [pattern_node, value] : m.nodes_map) {
        FUZZ_CHECK(pattern_node->graph() == pattern->get(),
                   "match key is not a pattern node");
        if (!value.is_node()) continue;  // literal bindings
        FUZZ_CHECK(value.node()->graph() == graph.get(),
                   "match binds a node of another graph");
        FUZZ_CHECK(bound.insert(value.node()).second,
                   "two pattern nodes bound to one graph node");
      }
    }
  }
  // Replace the pattern by itself on a copy of each graph. The rewriter
  // copies the replacement as it is (it does not verify it), so an invalid
  // pattern, e.g. getitem(%bn, 5) of a 3-output op, may leave an invalid
  // graph; the verify property only holds for a pattern that verifies.
  const bool pattern_valid = rewire::Verify(**pattern).ok();
  rewire::ReplaceOptions replace_options;
  replace_options.ignore_literals = options.ignore_literals;
  replace_options.max_steps = 20000;
  for (const auto& graph : Graphs()) {
    std::unique_ptr<rewire::Graph> g = graph->Clone();
    const std::string before = rewire::PrintGraph(*g);
    auto result = rewire::ReplacePatternWithFilters(*g, **pattern, **pattern,
                                                    replace_options);
    if (!result.ok()) {
      FUZZ_CHECK(rewire::PrintGraph(*g) == before,
                 "failed rewrite changed the graph: " +
                     std::string(result.status().message()));
      continue;
    }
    if (!pattern_valid) continue;
    absl::Status verified = rewire::Verify(*g);
    FUZZ_CHECK(verified.ok(), "self-replacement broke the graph: " +
                                  std::string(verified.message()) +
                                  "\npattern:\n" + text + "\nbefore:\n" +
                                  before + "\nafter:\n" +
                                  rewire::PrintGraph(*g));
  }
  return 0;
}
