// Tests of the rules-file format (rewrite/rules_file.h, docs/RULES.md):
// every option, literal bindings, built-in filters, and errors that name the
// file line.
#include "rewrite/rules_file.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "rewrite/match_filters.h"
#include "rewrite/pattern_driver.h"

namespace rewire {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kTwoRules[] = R"(# Two rules.
rule double_neg:
  benefit = 3
  filters = single_use, same_device
pattern:
  %x = placeholder[target=x]
  %a = aten.neg.default(%x)
  %b = aten.neg.default(%a)
  return (%b,)
replacement:
  %x = placeholder[target=x]
  %c = aten.clone.default(%x)
  return (%c,)
end

rule clamp:   # comments after keywords are fine
  ignore_literals = true
  bind %l.max_val = %h.max_val
pattern:
  %x = placeholder
  %h = aten.hardtanh.default(%x, 0.0, 6.0)
  return (%h,)
replacement:
  %x = placeholder
  %l = aten.hardtanh.default(%x, -1.0, 1.0)
  %e = aten.exp.default(%l)
  return (%e,)
end
)";

std::unique_ptr<Graph> G(const std::string& text) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

TEST(RulesFileTest, ParsesRulesWithTheirOptions) {
  auto rules = ParseRules(kTwoRules, "two.rules");
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_THAT(*rules, SizeIs(2));
  const PatternRule& a = (*rules)[0];
  EXPECT_EQ(a.name, "double_neg");
  EXPECT_EQ(a.benefit, 3);
  EXPECT_THAT(a.filter_names, ElementsAre("single_use", "same_device"));
  EXPECT_THAT(a.options.filters, SizeIs(2));
  EXPECT_FALSE(a.options.ignore_literals);
  EXPECT_EQ(a.options.max_steps, RulesParseOptions().default_max_steps);
  const PatternRule& b = (*rules)[1];
  EXPECT_EQ(b.benefit, 1);
  EXPECT_TRUE(b.options.ignore_literals);
  ASSERT_THAT(b.options.literal_bindings, SizeIs(1));
  EXPECT_EQ(b.options.literal_bindings[0].replacement_node, "l");
  EXPECT_EQ(b.options.literal_bindings[0].pattern_arg, "max_val");
  EXPECT_EQ(b.pattern->CountTarget("aten.hardtanh.default"), 1u);
}

TEST(RulesFileTest, RulesApplyThroughTheDriver) {
  auto g = G(R"(
    %x = placeholder
    %a = aten.neg.default(%x)
    %b = aten.neg.default(%a)
    %h = aten.hardtanh.default(%b, 0.0, 3.0)
    %r = aten.relu.default(%h)
    return (%r,)
  )");
  auto rules = ParseRules(kTwoRules);
  ASSERT_TRUE(rules.ok()) << rules.status();
  auto d = ApplyPatternRules(*g, *rules);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(Verify(*g).ok());
  EXPECT_EQ(d->rules[0].replaced, 1);
  EXPECT_EQ(d->rules[1].replaced, 1);
  EXPECT_EQ(g->CountTarget("aten.neg.default"), 0u);
  // The model's own max_val (3.0) carried into the replacement, not 1.0;
  // min_val is not bound and takes the replacement's -1.0.
  std::vector<Node*> clamp = g->NodesWithTarget("aten.hardtanh.default");
  ASSERT_THAT(clamp, SizeIs(1));
  EXPECT_EQ(clamp[0]->args()[1].as_double(), -1.0);
  EXPECT_EQ(clamp[0]->args()[2].as_double(), 3.0);
}

TEST(RulesFileTest, FiltersRestrictWhereARuleApplies) {
  // The second neg is read twice: single_use rejects the match.
  auto g = G(R"(
    %x = placeholder
    %a = aten.neg.default(%x)
    %b = aten.neg.default(%a)
    %s = aten.add.Tensor(%b, %b)
    return (%s,)
  )");
  auto rules = ParseRules(kTwoRules);
  ASSERT_TRUE(rules.ok());
  auto d = ApplyPatternRules(*g, *rules);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->rules[0].replaced, 0);
  EXPECT_EQ(d->rules[0].rejected_by_filters, 1);
  EXPECT_THAT(d->rules[0].rejected_by_filter, ElementsAre(1, 0));
}

TEST(RulesFileTest, BuiltinFilters) {
  EXPECT_THAT(BuiltinMatchFilterNames(),
              ElementsAre("single_use", "same_device", "static_shapes",
                          "not_training_form"));
  EXPECT_THAT(BuiltinMatchFilter("nope").status().message(),
              HasSubstr("unknown filter 'nope' (known: single_use"));
  // not_training_form: a dropout in training form is left alone, one in
  // eval form is matched.
  auto g = G(R"(
    %x = placeholder
    %d = aten.dropout.default(%x, 0.5, True)
    %e = aten.dropout.default(%d, 0.5, False)
    return (%e,)
  )");
  auto rules = ParseRules(R"(
rule drop:
  ignore_literals = true
  filters = not_training_form
pattern:
  %x = placeholder
  %d = aten.dropout.default(%x, 0.5, False)
  return (%d,)
replacement:
  %x = placeholder
  %c = aten.clone.default(%x)
  return (%c,)
end
)");
  ASSERT_TRUE(rules.ok()) << rules.status();
  auto d = ApplyPatternRules(*g, *rules);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->rules[0].replaced, 1);
  EXPECT_EQ(d->rules[0].rejected_by_filters, 1);
  EXPECT_EQ(g->CountTarget("aten.dropout.default"), 1u);
  // static_shapes and same_device on "val".
  auto t = G(R"(
    %x : f32[s0, 3] = placeholder
    %y : f32[2, 3]@cuda:0 = placeholder
    %a : f32[s0, 3] = aten.relu.default(%x)
    %b : f32[2, 3]@cuda:0 = aten.relu.default(%y)
    return (%a, %b)
  )");
  auto p = G("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto static_shapes = BuiltinMatchFilter("static_shapes");
  auto same_device = BuiltinMatchFilter("same_device");
  ASSERT_TRUE(static_shapes.ok() && same_device.ok());
  ReplaceOptions o;
  o.filters = {*static_shapes, *same_device};
  auto r = G("%x = placeholder\n%n = aten.neg.default(%x)\nreturn (%n,)\n");
  auto res = ReplacePatternWithFilters(*t, *p, *r, o);
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_THAT(res->replaced, SizeIs(1));
  EXPECT_EQ(res->replaced[0].anchor, "b");
}

TEST(RulesFileTest, MatchPlaceholderOption) {
  auto rules = ParseRules(R"(
rule input_relu:
  match_placeholder = true
pattern:
  %x = placeholder
  %r = aten.relu.default(%x)
  return (%r,)
replacement:
  %x = placeholder
  %n = aten.neg.default(%x)
  return (%n,)
end
)");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_TRUE((*rules)[0].options.match_placeholder);
  auto g = G(R"(
    %x = placeholder
    %a = aten.relu.default(%x)
    %b = aten.relu.default(%a)
    return (%b,)
  )");
  auto d = ApplyPatternRules(*g, *rules);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->rules[0].replaced, 1);  // only the relu of the input
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 1u);
}

TEST(RulesFileTest, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"rule a:\n  benefit = x\n", "f.rules:2: benefit must be an int"},
      {"rule a:\n  colour = red\n", "f.rules:2: unknown option 'colour'"},
      {"rule a:\n  filters = fast\n", "f.rules:2: unknown filter 'fast'"},
      {"rule a:\n  ignore_literals = yes\n", "f.rules:2: 'ignore_literals' takes true or false"},
      {"rule a:\n  bind %x = %y\n", "f.rules:2: expected 'bind"},
      {"rule a:\n  max_steps = -1\n", "f.rules:2: max_steps must be an int >= 0"},
      {"hello\n", "f.rules:1: expected 'rule NAME:'"},
      {"rule a b:\n", "f.rules:1: rule name 'a b'"},
      {"rule a\n", "f.rules:1: expected 'rule NAME:'"},
      {"", "f.rules:1: no rule in the file"},
      {"rule a:\npattern:\n  %x = placeholder\n", "f.rules:3: rule 'a' (line 1) has no 'replacement:'"},
      {"rule a:\npattern:\n  %x = placeholder\n  %r = aten.relu.default(%x)\n  return (%r,)\n"
       "replacement:\n  %x = placeholder\n  return (%x,)\n",
       "rule 'a' (line 1) has no 'end'"},
      {"rule a:\npattern:\n  %x = placeholder\n  %r = aten.relu.default(%y)",
       "f.rules:4: rule 'a' (line 1) has no 'replacement:'"},
      {"rule a:\npattern:\n  %x = placeholder\nrule b:\n",
       "f.rules:4: 'rule b:' inside the pattern of rule 'a'"},
  };
  for (const Case& c : cases) {
    auto rules = ParseRules(c.text, "f.rules");
    ASSERT_FALSE(rules.ok()) << c.text;
    EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(rules.status().message(), HasSubstr(c.expected)) << c.text;
  }
  // A graph error inside a section reports the file's line.
  auto bad = ParseRules(
      "rule a:\npattern:\n  %x = placeholder\n  %r = aten.relu.default(%y)\n"
      "  return (%r,)\nreplacement:\n  %x = placeholder\n  return (%x,)\nend\n",
      "f.rules");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("f.rules:4, column"));
  EXPECT_THAT(bad.status().message(), HasSubstr("(rule 'a' pattern)"));
  // Duplicate names and the rule count bound.
  const std::string one =
      "rule a:\npattern:\n  %x = placeholder\n  %r = aten.relu.default(%x)\n"
      "  return (%r,)\nreplacement:\n  %x = placeholder\n"
      "  %n = aten.neg.default(%x)\n  return (%n,)\nend\n";
  EXPECT_THAT(ParseRules(one + one).status().message(),
              HasSubstr("a rule named 'a' already exists"));
  RulesParseOptions small;
  small.max_rules = 1;
  std::string two = one + one;
  two.replace(two.find("rule a:", 1), 7, "rule b:");
  EXPECT_THAT(ParseRules(two, "<string>", small).status().message(),
              HasSubstr("more than 1 rules"));
  EXPECT_TRUE(ParseRules(two).ok());
}

TEST(RulesFileTest, RuleFromGraphTexts) {
  auto r = RuleFromGraphTexts(
      "%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n",
      "%x = placeholder\n%n = aten.neg.default(%x)\nreturn (%n,)\n", "pair");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->name, "pair");
  EXPECT_THAT(RuleFromGraphTexts("%x = ", "", "p").status().message(),
              HasSubstr("pattern: line 1"));
}

TEST(RulesFileTest, LoadRulesFileReadsAndRefuses) {
  const std::string dir = testing::TempDir();
  EXPECT_EQ(LoadRulesFile(dir + "/missing.rules").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadRulesFile(dir).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rewire
