// Tests of the multi-pattern driver (rewrite/pattern_driver.h): order by
// benefit then list order, one sweep or a fixed point with its bound, rules
// whose ops are absent, all-or-nothing across rules, per-rule outcomes.
#include "rewrite/pattern_driver.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

std::shared_ptr<Graph> G(const std::string& text) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::shared_ptr<Graph>(std::move(*g)) : std::make_shared<Graph>();
}

// x -> op1 -> op2 -> ... as a graph.
std::shared_ptr<Graph> Chain(const std::vector<std::string>& ops) {
  std::string text = "%x = placeholder\n";
  std::string prev = "x";
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string name = "n" + std::to_string(i);
    text += "%" + name + " = aten." + ops[i] + ".default(%" + prev + ")\n";
    prev = name;
  }
  text += "return (%" + prev + ",)\n";
  return G(text);
}

// A rule a -> b for one-input unary aten ops.
PatternRule Unary(const std::string& name, const std::string& from,
                  const std::string& to, int benefit = 1) {
  PatternRule r;
  r.name = name;
  r.benefit = benefit;
  r.pattern = Chain({from});
  r.replacement = Chain({to});
  return r;
}

std::vector<std::string> Ops(const Graph& g) {
  std::vector<std::string> out;
  for (const Node* n : g) {
    if (n->is_call()) out.push_back(n->target().qualified);
  }
  return out;
}

TEST(PatternDriverTest, AppliesEveryRuleInOneSweep) {
  auto g = Chain({"relu", "sigmoid", "relu", "tanh"});
  std::vector<PatternRule> rules = {Unary("relu2neg", "relu", "neg"),
                                    Unary("tanh2abs", "tanh", "abs")};
  auto d = ApplyPatternRules(*g, rules);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(Verify(*g).ok());
  EXPECT_THAT(Ops(*g), testing::ElementsAre("aten.neg.default",
                                            "aten.sigmoid.default",
                                            "aten.neg.default",
                                            "aten.abs.default"));
  ASSERT_THAT(d->rules, SizeIs(2));
  EXPECT_EQ(d->rules[0].name, "relu2neg");
  EXPECT_EQ(d->rules[0].replaced, 2);
  EXPECT_EQ(d->rules[1].replaced, 1);
  EXPECT_EQ(d->total_replaced(), 3);
  EXPECT_EQ(d->iterations, 1);
}

TEST(PatternDriverTest, HigherBenefitClaimsNodesFirst) {
  // Both rules match the relu; the two-node rule has the higher benefit and
  // runs first although it comes second.
  auto g = Chain({"relu", "sigmoid"});
  PatternRule single = Unary("single", "relu", "neg", 1);
  PatternRule pair;
  pair.name = "pair";
  pair.benefit = 5;
  pair.pattern = Chain({"relu", "sigmoid"});
  pair.replacement = Chain({"abs"});
  std::vector<PatternRule> rules = {single, pair};
  auto d = ApplyPatternRules(*g, rules);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(Ops(*g), testing::ElementsAre("aten.abs.default"));
  EXPECT_EQ(d->rules[0].replaced, 0);  // reported in list order
  EXPECT_EQ(d->rules[1].replaced, 1);
  EXPECT_EQ(d->rules[0].not_applicable, 1);  // no relu left when it ran

  // Equal benefits keep list order: the single-node rule wins.
  g = Chain({"relu", "sigmoid"});
  rules[1].benefit = 1;
  d = ApplyPatternRules(*g, rules);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(Ops(*g), testing::ElementsAre("aten.neg.default",
                                            "aten.sigmoid.default"));
}

TEST(PatternDriverTest, OneSweepDoesNotChainButFixedPointDoes) {
  // neg -> abs runs before relu -> neg has made its input: one sweep leaves
  // a neg, a fixed point goes on to abs.
  std::vector<PatternRule> rules = {Unary("b", "neg", "abs"),
                                    Unary("a", "relu", "neg")};
  auto g = Chain({"relu"});
  auto d = ApplyPatternRules(*g, rules);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(Ops(*g), testing::ElementsAre("aten.neg.default"));

  g = Chain({"relu"});
  DriverOptions fp;
  fp.fixed_point = true;
  d = ApplyPatternRules(*g, rules, fp);
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(Ops(*g), testing::ElementsAre("aten.abs.default"));
  EXPECT_TRUE(d->converged);
  EXPECT_EQ(d->iterations, 3);  // relu->neg, neg->abs, nothing
}

TEST(PatternDriverTest, FixedPointStopsAtTheBoundAndSaysSo) {
  std::vector<PatternRule> rules = {Unary("ab", "relu", "neg"),
                                    Unary("ba", "neg", "relu")};
  auto g = Chain({"relu"});
  DriverOptions fp;
  fp.fixed_point = true;
  fp.max_iterations = 4;
  auto d = ApplyPatternRules(*g, rules, fp);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->converged);
  EXPECT_EQ(d->iterations, 4);
  fp.max_iterations = 0;
  EXPECT_EQ(ApplyPatternRules(*g, rules, fp).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PatternDriverTest, BadRuleFailsBeforeAnyChangeAndNamesTheRule) {
  auto g = Chain({"relu", "tanh"});
  const std::string before = PrintGraph(*g);
  PatternRule bad = Unary("two_outputs", "tanh", "abs");
  bad.replacement = G(
      "%x = placeholder\n%a = aten.abs.default(%x)\n%b = aten.neg.default(%x)\n"
      "return (%a, %b)\n");
  std::vector<PatternRule> rules = {Unary("ok", "relu", "neg", 9), bad};
  auto d = ApplyPatternRules(*g, rules);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("rule 'two_outputs'"));
  EXPECT_EQ(PrintGraph(*g), before);

  PatternRule none;
  none.name = "empty";
  EXPECT_THAT(ApplyPatternRules(*g, {none}).status().message(),
              HasSubstr("rule 'empty': the rule has no pattern"));
}

TEST(PatternDriverTest, LateFailureAfterAnotherRuleRestoresTheGraph) {
  auto g = Chain({"relu", "tanh"});
  const std::string before = PrintGraph(*g);
  PatternRule failing;
  failing.name = "callback";
  failing.pattern = Chain({"tanh"});
  failing.fn = [](const InternalMatch&, const Graph&)
      -> absl::StatusOr<std::shared_ptr<const Graph>> {
    return absl::InternalError("cannot build it");
  };
  std::vector<PatternRule> rules = {Unary("first", "relu", "neg", 2), failing};
  auto d = ApplyPatternRules(*g, rules);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("rule 'callback': "));
  EXPECT_THAT(d.status().message(), HasSubstr("cannot build it"));
  EXPECT_EQ(PrintGraph(*g), before);
  EXPECT_TRUE(Verify(*g).ok());
}

TEST(PatternDriverTest, FilterRejectionsAreCountedByFilter) {
  auto g = Chain({"relu", "relu", "relu"});
  PatternRule r = Unary("r", "relu", "neg");
  r.options.filters.push_back(
      [](const InternalMatch&, const Graph&, const Graph&) { return true; });
  r.options.filters.push_back([](const InternalMatch& m, const Graph&,
                                 const Graph&) {
    return m.GraphAnchor()->name() != "n1";
  });
  auto d = ApplyPatternRules(*g, {r});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rules[0].replaced, 2);
  EXPECT_EQ(d->rules[0].rejected_by_filters, 1);
  EXPECT_THAT(d->rules[0].rejected_by_filter, testing::ElementsAre(0, 1));
}

TEST(PatternDriverTest, ResultHookSeesEachApplication) {
  auto g = Chain({"relu", "relu"});
  PatternRule r = Unary("r", "relu", "neg");
  int64_t seen = 0;
  r.on_result = [&](Graph& graph, ReplaceResult& res) {
    seen += static_cast<int64_t>(res.replaced.size());
    for (ReplacedPattern& p : res.replaced) {
      for (Node* n : p.replacements) {
        n->mutable_meta().Set("rule", MetaValue::String("r"));
      }
    }
    EXPECT_EQ(graph.CountTarget("aten.neg.default"), 2u);
  };
  auto d = ApplyPatternRules(*g, {r});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(seen, 2);
  for (const Node* n : g->NodesWithTarget("aten.neg.default")) {
    EXPECT_TRUE(n->meta().Contains("rule"));
  }
  EXPECT_THAT(d->rules[0].sites, SizeIs(2));
}

}  // namespace
}  // namespace rewire
