// Tests of SubgraphMatcher: torch.fx's matcher semantics (SEMANTICS.md §4)
// and rewire's deliberate differences. Graphs are written in the text form.
#include "rewrite/subgraph_matcher.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

std::unique_ptr<Graph> G(const std::string& text) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

MatchResult MatchAll(const Graph& pattern, const Graph& graph,
                     MatcherOptions options = {}) {
  auto m = SubgraphMatcher::Create(pattern, options);
  EXPECT_TRUE(m.ok()) << m.status();
  auto r = (*m)->Match(graph);
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(*r);
}

TEST(SubgraphMatcherTest, EmptyPatternIsAnError) {
  auto p = G("graph():\n  %x = placeholder\n  return (%x,)\n");
  auto m = SubgraphMatcher::Create(*p);
  EXPECT_FALSE(m.ok());
}

TEST(SubgraphMatcherTest, DeadPatternNodeIsAnError) {
  auto p = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.sigmoid.default(%x)
    return (%a,)
  )");
  auto m = SubgraphMatcher::Create(*p);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("%b"));
}

TEST(SubgraphMatcherTest, SingleAndMultipleMatchesInGraphOrder) {
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    return (%r,)
  )");
  auto g = G(R"(
    %a = placeholder
    %r1 = aten.relu.default(%a)
    %s = aten.sigmoid.default(%r1)
    %r2 = aten.relu.default(%s)
    return (%r2,)
  )");
  MatchResult r = MatchAll(*p, *g);
  ASSERT_THAT(r.matches, SizeIs(2));
  EXPECT_EQ(r.matches[0].GraphAnchor()->name(), "r1");
  EXPECT_EQ(r.matches[1].GraphAnchor()->name(), "r2");
  EXPECT_EQ(r.matches[1].placeholder_bindings[0].node()->name(), "s");
}

TEST(SubgraphMatcherTest, TensorsOfDifferentShapesStillMatch) {
  auto p = G(R"(
    %x : f32[1] = placeholder
    %r : f32[1] = aten.relu.default(%x)
    return (%r,)
  )");
  auto g = G(R"(
    %a : f32[8, 3, 32, 32] = placeholder
    %r : f32[8, 3, 32, 32] = aten.relu.default(%a)
    return (%r,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(1));
}

TEST(SubgraphMatcherTest, InjectivityRejectsOneNodeForTwoPlaceholders) {
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.add.Tensor(%x, %y)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %s = aten.add.Tensor(%a, %a)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0));
  auto g2 = G(R"(
    %a = placeholder
    %b = placeholder
    %s = aten.add.Tensor(%a, %b)
    return (%s,)
  )");
  MatchResult r = MatchAll(*p, *g2);
  ASSERT_THAT(r.matches, SizeIs(1));
  EXPECT_EQ(r.matches[0].placeholder_bindings[0].node()->name(), "a");
  EXPECT_EQ(r.matches[0].placeholder_bindings[1].node()->name(), "b");
}

TEST(SubgraphMatcherTest, ArgumentOrderMatters) {
  // sub(x, relu(y)) must not match sub(relu(a), b).
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %r = aten.relu.default(%y)
    %s = aten.sub.Tensor(%x, %r)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %b = placeholder
    %r = aten.relu.default(%a)
    %s = aten.sub.Tensor(%r, %b)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0));
}

TEST(SubgraphMatcherTest, LiteralsCompareByValueUnlessIgnored) {
  auto p = G(R"(
    %x = placeholder
    %s = aten.add.Scalar(%x, 1)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %s = aten.add.Scalar(%a, 2)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0));
  MatcherOptions ignore;
  ignore.ignore_literals = true;
  MatchResult r = MatchAll(*p, *g, ignore);
  ASSERT_THAT(r.matches, SizeIs(1));
  // Arity agrees, so arguments compare as written (no default filled in).
  ASSERT_THAT(r.matches[0].literals, SizeIs(1));
  EXPECT_EQ(r.matches[0].NameNodeMap().at("x").node()->name(), "a");
  const MatchedLiteral* other = r.matches[0].FindLiteral("s", "other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->graph_value, Argument::Int(2));
  EXPECT_EQ(other->pattern_value, Argument::Int(1));
}

TEST(SubgraphMatcherTest, LiteralTypesAreStrict) {
  auto p = G(R"(
    %x = placeholder
    %s = aten.add.Scalar(%x, 1)
    return (%s,)
  )");
  for (const char* lit : {"1.0", "True"}) {
    auto g = G(std::string("%a = placeholder\n%s = aten.add.Scalar(%a, ") +
               lit + ")\nreturn (%s,)\n");
    EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0)) << lit;
  }
}

TEST(SubgraphMatcherTest, PatternNodeAgainstGraphLiteralNeverMatchesOrCrashes) {
  // Upstream raises KeyError here under ignore_literals (issue 104775).
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    %s = aten.add.Tensor(%x, %r)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %s = aten.add.Tensor(%a, 3)
    return (%s,)
  )");
  MatcherOptions ignore;
  ignore.ignore_literals = true;
  EXPECT_THAT(MatchAll(*p, *g, ignore).matches, SizeIs(0));
}

TEST(SubgraphMatcherTest, DefaultArgumentsAreNormalizedThroughTheSchema) {
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %s = aten.add.Tensor(%x, %y)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %b = placeholder
    %s = aten.add.Tensor(%a, %b, alpha=1)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(1));
  auto g2 = G(R"(
    %a = placeholder
    %b = placeholder
    %s = aten.add.Tensor(%a, %b, alpha=2)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g2).matches, SizeIs(0));
}

TEST(SubgraphMatcherTest, OverloadsAreExact) {
  auto p = G(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.5, True)
    return (%d,)
  )");
  auto g = G(R"(
    %a = placeholder
    %d = aten.dropout_.default(%a, 0.5, True)
    return (%d,)
  )");
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0));
}

TEST(SubgraphMatcherTest, PlaceholderInsideAListBindsAndListLengthMustAgree) {
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %c = aten.cat.default([%x, %y], 1)
    return (%c,)
  )");
  auto g = G(R"(
    %a = placeholder
    %b = placeholder
    %c = aten.cat.default([%a, %b], 1)
    %d = aten.cat.default([%a, %b, %a], 1)
    return (%c, %d)
  )");
  MatchResult r = MatchAll(*p, *g);
  ASSERT_THAT(r.matches, SizeIs(1));
  EXPECT_EQ(r.matches[0].GraphAnchor()->name(), "c");
}

TEST(SubgraphMatcherTest, PlaceholderMayBindALiteralOrList) {
  auto p = G(R"(
    %x = placeholder
    %k = placeholder
    %v = aten.view.default(%x, %k)
    return (%v,)
  )");
  auto g = G(R"(
    %a = placeholder
    %v = aten.view.default(%a, [2, -1])
    return (%v,)
  )");
  MatchResult r = MatchAll(*p, *g);
  ASSERT_THAT(r.matches, SizeIs(1));
  EXPECT_EQ(r.matches[0].placeholder_bindings[1],
            Argument::List({Argument::Int(2), Argument::Int(-1)}));
}

TEST(SubgraphMatcherTest, InternalNodeWithOutsideUserDoesNotMatch) {
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    %s = aten.sigmoid.default(%r)
    return (%s,)
  )");
  auto g = G(R"(
    %a = placeholder
    %r = aten.relu.default(%a)
    %s = aten.sigmoid.default(%r)
    %t = aten.tanh.default(%r)
    return (%s, %t)
  )");
  MatchResult r = MatchAll(*p, *g);
  EXPECT_THAT(r.matches, SizeIs(0));
  EXPECT_EQ(r.rejected_containment, 1);
}

TEST(SubgraphMatcherTest, ReturningNodeMayHaveOutsideUsers) {
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    %s = aten.sigmoid.default(%r)
    return (%r, %s)
  )");
  auto g = G(R"(
    %a = placeholder
    %r = aten.relu.default(%a)
    %s = aten.sigmoid.default(%r)
    %t = aten.tanh.default(%r)
    return (%s, %t)
  )");
  MatchResult r = MatchAll(*p, *g);
  ASSERT_THAT(r.matches, SizeIs(1));
  ASSERT_THAT(r.matches[0].returning_nodes, SizeIs(2));
  EXPECT_EQ(r.matches[0].returning_nodes[0]->name(), "r");
}

TEST(SubgraphMatcherTest, OverlappingMatchesAreRemovedGreedily) {
  // Four sigmoids in a row, pattern of two: matches (1,2) and (3,4).
  auto p = G(R"(
    %x = placeholder
    %a = aten.sigmoid.default(%x)
    %b = aten.sigmoid.default(%a)
    return (%b,)
  )");
  auto g = G(R"(
    %x = placeholder
    %s1 = aten.sigmoid.default(%x)
    %s2 = aten.sigmoid.default(%s1)
    %s3 = aten.sigmoid.default(%s2)
    %s4 = aten.sigmoid.default(%s3)
    return (%s4,)
  )");
  MatchResult r = MatchAll(*p, *g);
  ASSERT_THAT(r.matches, SizeIs(2));
  EXPECT_EQ(r.matches[0].GraphAnchor()->name(), "s2");
  EXPECT_EQ(r.matches[1].GraphAnchor()->name(), "s4");
  EXPECT_EQ(r.rejected_overlap, 1);
  MatcherOptions keep_all;
  keep_all.remove_overlapping_matches = false;
  EXPECT_THAT(MatchAll(*p, *g, keep_all).matches, SizeIs(3));
}

TEST(SubgraphMatcherTest, MatchThatWouldCreateACycleIsRejected) {
  // Fusing {r, s} would create a cycle through t: r -> t -> s.
  auto p = G(R"(
    %x = placeholder
    %y = placeholder
    %r = aten.relu.default(%x)
    %s = aten.add.Tensor(%r, %y)
    return (%r, %s)
  )");
  auto g = G(R"(
    %a = placeholder
    %r = aten.relu.default(%a)
    %t = aten.tanh.default(%r)
    %s = aten.add.Tensor(%r, %t)
    return (%s,)
  )");
  MatchResult r = MatchAll(*p, *g);
  EXPECT_THAT(r.matches, SizeIs(0));
  EXPECT_EQ(r.rejected_cycle, 1);
}

TEST(SubgraphMatcherTest, PatternThatIsTheEntireGraphMatchesWithMatchOutput) {
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    return (%r,)
  )");
  MatcherOptions opts;
  opts.match_output = true;
  opts.match_placeholder = true;
  EXPECT_THAT(MatchAll(*p, *p, opts).matches, SizeIs(1));
  auto g = G(R"(
    %a = placeholder
    %r = aten.relu.default(%a)
    %s = aten.sigmoid.default(%r)
    return (%s,)
  )");
  EXPECT_THAT(MatchAll(*p, *g, opts).matches, SizeIs(0));
}

TEST(SubgraphMatcherTest, MultiOutputPatternWithGetitem) {
  auto p = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.1, 1e-05)
    %g = getitem(%bn, 0)
    return (%g,)
  )");
  auto g = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.03, 0.001)
    %g0 = getitem(%bn, 0)
    %g1 = getitem(%bn, 1)
    %r = aten.relu.default(%g0)
    return (%r, %g1)
  )");
  // getitem 1 uses the batch norm outside the match: contained? No.
  EXPECT_THAT(MatchAll(*p, *g).matches, SizeIs(0));
  auto g2 = G(R"(
    %x = placeholder
    %w = placeholder
    %b = placeholder
    %rm = placeholder
    %rv = placeholder
    %bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.03, 0.001)
    %g0 = getitem(%bn, 0)
    %r = aten.relu.default(%g0)
    return (%r,)
  )");
  MatcherOptions ignore;
  ignore.ignore_literals = true;
  MatchResult r = MatchAll(*p, *g2, ignore);
  ASSERT_THAT(r.matches, SizeIs(1));
  const MatchedLiteral* eps = r.matches[0].FindLiteral("bn", "eps");
  ASSERT_NE(eps, nullptr);
  EXPECT_EQ(eps->graph_value, Argument::Double(0.001));
  EXPECT_EQ(r.matches[0].FindLiteral("bn", "momentum")->graph_value,
            Argument::Double(0.03));
}

TEST(SubgraphMatcherTest, StepLimitIsReportedNotSilent) {
  auto p = G(R"(
    %x = placeholder
    %r = aten.relu.default(%x)
    return (%r,)
  )");
  std::string text = "%a = placeholder\n";
  std::string prev = "a";
  for (int i = 0; i < 100; ++i) {
    std::string name = "r" + std::to_string(i);
    text += "%" + name + " = aten.relu.default(%" + prev + ")\n";
    prev = name;
  }
  text += "return (%" + prev + ",)\n";
  auto g = G(text);
  MatcherOptions opts;
  opts.max_steps = 10;
  MatchResult r = MatchAll(*p, *g, opts);
  EXPECT_TRUE(r.limit_reached);
  EXPECT_LT(r.matches.size(), 100u);
}

TEST(SubgraphMatcherTest, MillionNodeChainMatchesWithoutStackOverflow) {
  Graph g;
  Node* prev = *g.AddPlaceholder("x");
  for (int i = 0; i < 1000000; ++i) {
    prev = *g.AddCall(i % 2 ? "aten.relu.default" : "aten.sigmoid.default",
                      {Argument::Ref(prev)});
  }
  ASSERT_TRUE(g.AddOutput({Argument::Ref(prev)}).ok());
  auto p = G(R"(
    %x = placeholder
    %s = aten.sigmoid.default(%x)
    %r = aten.relu.default(%s)
    return (%r,)
  )");
  MatchResult r = MatchAll(*p, g);
  EXPECT_THAT(r.matches, SizeIs(500000));
}

}  // namespace
}  // namespace rewire
