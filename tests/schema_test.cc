// Tests of op schemas: every registered schema parses; argument names, types,
// defaults, mutability and returns of the schemas the rewrites depend on;
// malformed schema strings are errors; NormalizeArguments with positional,
// keyword and default arguments and its error cases.
#include "ir/schema.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;

const OpSchema& Get(absl::string_view qualified) {
  const OpSchema* s = SchemaRegistry::Global().Find(qualified);
  EXPECT_NE(s, nullptr) << qualified;
  static const OpSchema kEmpty;
  return s == nullptr ? kEmpty : *s;
}

std::vector<std::string> ArgNames(const OpSchema& s) {
  std::vector<std::string> out;
  for (const SchemaArgument& a : s.arguments) out.push_back(a.name);
  return out;
}

TEST(SchemaTest, EveryRegisteredSchemaParsesAndIsFound) {
  const SchemaRegistry& reg = SchemaRegistry::Global();
  ASSERT_FALSE(reg.sources().empty());
  EXPECT_EQ(reg.sources().size(), reg.size());
  for (const std::string& text : reg.sources()) {
    absl::StatusOr<OpSchema> s = ParseSchema(text);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->text, text);
    const OpSchema* found = reg.Find(s->QualifiedName());
    ASSERT_NE(found, nullptr) << s->QualifiedName();
    EXPECT_EQ(found->arguments.size(), s->arguments.size());
    EXPECT_EQ(found->num_returns(), s->num_returns());
    // Every default fits its own type.
    for (const SchemaArgument& a : s->arguments) {
      if (a.default_value.has_value()) {
        EXPECT_TRUE(a.type.Accepts(*a.default_value))
            << text << ": default of " << a.name;
      }
    }
  }
  EXPECT_EQ(reg.Find("aten.nonexistent.default"), nullptr);
  EXPECT_EQ(reg.Find("aten.dropout"), nullptr);  // overload is required
}

TEST(SchemaTest, BatchNorm) {
  const OpSchema& s = Get("aten.batch_norm.default");
  EXPECT_EQ(s.ns, "aten");
  EXPECT_EQ(s.name, "batch_norm");
  EXPECT_EQ(s.overload, "default");
  EXPECT_THAT(ArgNames(s),
              ::testing::ElementsAre("input", "weight", "bias", "running_mean",
                                     "running_var", "training", "momentum",
                                     "eps", "cudnn_enabled"));
  EXPECT_EQ(s.arguments[0].type.base, SchemaType::Base::kTensor);
  EXPECT_FALSE(s.arguments[0].type.optional);
  EXPECT_TRUE(s.arguments[1].type.optional);
  EXPECT_EQ(s.arguments[5].type.base, SchemaType::Base::kBool);
  EXPECT_EQ(s.arguments[6].type.base, SchemaType::Base::kFloat);
  for (const SchemaArgument& a : s.arguments) {
    EXPECT_FALSE(a.default_value.has_value());
    EXPECT_FALSE(a.kwarg_only);
    EXPECT_FALSE(a.is_mutable);
  }
  EXPECT_FALSE(s.is_mutable());
  EXPECT_EQ(s.num_returns(), 1);
  EXPECT_EQ(s.ArgumentIndex("eps"), 7);
  EXPECT_EQ(s.ArgumentIndex("nope"), -1);
  EXPECT_EQ(Get("aten.native_batch_norm.default").num_returns(), 3);
  EXPECT_EQ(Get("aten.cudnn_batch_norm.default").num_returns(), 4);
  const OpSchema& functional = Get("aten._native_batch_norm_legit_functional.default");
  EXPECT_EQ(functional.num_returns(), 5);
  EXPECT_EQ(functional.returns[3].name, "running_mean_out");
  const OpSchema& legit = Get("aten._native_batch_norm_legit.default");
  EXPECT_TRUE(legit.arguments[3].is_mutable);
  EXPECT_TRUE(legit.arguments[4].is_mutable);
  EXPECT_TRUE(legit.is_mutable());
  EXPECT_EQ(Get("aten._native_batch_norm_legit_no_training.default")
                .ArgumentIndex("momentum"),
            5);
}

TEST(SchemaTest, InPlaceDropoutIsMutable) {
  const OpSchema& s = Get("aten.dropout_.default");
  EXPECT_TRUE(s.arguments[0].is_mutable);
  EXPECT_FALSE(s.arguments[1].is_mutable);
  EXPECT_TRUE(s.is_mutable());
  EXPECT_TRUE(s.returns[0].is_mutable);
  EXPECT_FALSE(Get("aten.dropout.default").is_mutable());
  EXPECT_TRUE(Get("aten.copy_.default").is_mutable());
  EXPECT_TRUE(Get("aten.bernoulli_.float").is_mutable());
  const OpSchema& b = Get("aten.bernoulli_.float");
  ASSERT_TRUE(b.arguments[1].default_value.has_value());
  EXPECT_EQ(*b.arguments[1].default_value, Argument::Double(0.5));
  EXPECT_TRUE(b.arguments[2].kwarg_only);
  EXPECT_EQ(b.arguments[2].type.base, SchemaType::Base::kGenerator);
}

TEST(SchemaTest, AddTensorHasKwargOnlyAlpha) {
  const OpSchema& s = Get("aten.add.Tensor");
  ASSERT_EQ(s.arguments.size(), 3u);
  EXPECT_FALSE(s.arguments[1].kwarg_only);
  EXPECT_TRUE(s.arguments[2].kwarg_only);
  EXPECT_EQ(s.arguments[2].name, "alpha");
  EXPECT_EQ(s.arguments[2].type.base, SchemaType::Base::kScalar);
  EXPECT_EQ(*s.arguments[2].default_value, Argument::Int(1));
  EXPECT_TRUE(Get("aten.add_.Tensor").is_mutable());
  // add.Scalar's alpha is positional.
  EXPECT_FALSE(Get("aten.add.Scalar").arguments[2].kwarg_only);
}

TEST(SchemaTest, FixedSizeListDefaultsBroadcast) {
  const OpSchema& conv = Get("aten.conv2d.default");
  const SchemaArgument& stride = conv.arguments[conv.ArgumentIndex("stride")];
  EXPECT_TRUE(stride.type.is_list);
  EXPECT_EQ(stride.type.fixed_size, 2);
  EXPECT_EQ(stride.type.base, SchemaType::Base::kInt);
  EXPECT_EQ(*stride.default_value,
            Argument::List({Argument::Int(1), Argument::Int(1)}));
  EXPECT_EQ(*conv.arguments[conv.ArgumentIndex("padding")].default_value,
            Argument::List({Argument::Int(0), Argument::Int(0)}));
  EXPECT_EQ(*conv.arguments[conv.ArgumentIndex("groups")].default_value,
            Argument::Int(1));
  EXPECT_EQ(*conv.arguments[conv.ArgumentIndex("bias")].default_value,
            Argument::None());
  // A scalar broadcasts where an int[2] is expected; a float does not.
  EXPECT_TRUE(stride.type.Accepts(Argument::Int(2)));
  EXPECT_FALSE(stride.type.Accepts(Argument::Double(2.0)));
  EXPECT_TRUE(stride.type.Accepts(Argument::List({Argument::Int(1), Argument::Int(2)})));
  EXPECT_FALSE(stride.type.Accepts(Argument::List({Argument::Double(1.0)})));
  EXPECT_FALSE(stride.type.Accepts(Argument::None()));

  const OpSchema& pool = Get("aten.max_pool2d.default");
  const SchemaArgument& pstride = pool.arguments[pool.ArgumentIndex("stride")];
  EXPECT_EQ(*pstride.default_value, Argument::List({}));
  EXPECT_EQ(*pool.arguments[pool.ArgumentIndex("dilation")].default_value,
            Argument::List({Argument::Int(1), Argument::Int(1)}));
  EXPECT_FALSE(pool.arguments[pool.ArgumentIndex("kernel_size")]
                   .default_value.has_value());
  EXPECT_EQ(*pool.arguments[pool.ArgumentIndex("ceil_mode")].default_value,
            Argument::Bool(false));
}

TEST(SchemaTest, SplitReturnsAliasedTensorList) {
  const OpSchema& s = Get("aten.split.Tensor");
  ASSERT_EQ(s.num_returns(), 1);
  EXPECT_TRUE(s.returns[0].type.is_list);
  EXPECT_EQ(s.returns[0].type.base, SchemaType::Base::kTensor);
  EXPECT_FALSE(s.returns[0].is_mutable);
  EXPECT_FALSE(s.is_mutable());  // Tensor(a -> *) aliases, does not write.
  EXPECT_EQ(*s.arguments[2].default_value, Argument::Int(0));
}

TEST(SchemaTest, OtherTypesAndDefaults) {
  const OpSchema& e = Get("aten.empty_like.default");
  const SchemaArgument& mf = e.arguments[e.ArgumentIndex("memory_format")];
  EXPECT_EQ(mf.type.base, SchemaType::Base::kMemoryFormat);
  EXPECT_TRUE(mf.type.optional);
  EXPECT_TRUE(mf.kwarg_only);
  EXPECT_TRUE(mf.type.Accepts(Argument::MemoryFormatValue(MemoryFormat::kChannelsLast)));
  EXPECT_FALSE(mf.type.Accepts(Argument::Int(0)));
  const OpSchema& c = Get("aten.contiguous.default");
  EXPECT_EQ(*c.arguments[1].default_value,
            Argument::MemoryFormatValue(MemoryFormat::kContiguous));
  const OpSchema& g = Get("aten.gelu.default");
  EXPECT_EQ(*g.arguments[1].default_value, Argument::String("none"));
  const OpSchema& ln = Get("aten.layer_norm.default");
  EXPECT_EQ(*ln.arguments[4].default_value, Argument::Double(1e-5));
  EXPECT_EQ(*ln.arguments[5].default_value, Argument::Bool(true));
  const OpSchema& ht = Get("aten.hardtanh.default");
  EXPECT_EQ(*ht.arguments[1].default_value, Argument::Int(-1));
  const OpSchema& mean = Get("aten.mean.dim");
  EXPECT_TRUE(mean.arguments[1].type.optional);
  EXPECT_TRUE(mean.arguments[1].type.is_list);
  EXPECT_EQ(mean.arguments[1].type.ToString(), "int[1]?");
  const OpSchema& cat = Get("aten.cat.default");
  EXPECT_EQ(cat.arguments[0].type.ToString(), "Tensor[]");
  // Scalar accepts int, float and bool but not strings.
  SchemaType scalar;
  scalar.base = SchemaType::Base::kScalar;
  EXPECT_TRUE(scalar.Accepts(Argument::Int(1)));
  EXPECT_TRUE(scalar.Accepts(Argument::Double(1)));
  EXPECT_TRUE(scalar.Accepts(Argument::Bool(true)));
  EXPECT_FALSE(scalar.Accepts(Argument::String("1")));
  SchemaType boolean;
  boolean.base = SchemaType::Base::kBool;
  EXPECT_FALSE(boolean.Accepts(Argument::Int(1)));
}

TEST(SchemaTest, ParsesSchemaStringsByHand) {
  absl::StatusOr<OpSchema> s = ParseSchema(
      "myns::op.over(Tensor(a!) self, Tensor?[] idx, int[] sizes=[1, 2], "
      "*, str mode='x', float scale=1e-3, ScalarType? dtype=None) -> "
      "(Tensor(a!) out, Tensor)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->QualifiedName(), "myns.op.over");
  EXPECT_TRUE(s->arguments[1].type.element_optional);
  EXPECT_EQ(s->arguments[1].type.ToString(), "Tensor?[]");
  EXPECT_EQ(*s->arguments[2].default_value,
            Argument::List({Argument::Int(1), Argument::Int(2)}));
  EXPECT_TRUE(s->arguments[3].kwarg_only);
  EXPECT_EQ(*s->arguments[4].default_value, Argument::Double(1e-3));
  EXPECT_EQ(s->num_returns(), 2);
  EXPECT_EQ(s->returns[0].name, "out");
  absl::StatusOr<OpSchema> none = ParseSchema("aten::noargs() -> ()");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->num_returns(), 0);
  EXPECT_EQ(none->overload, "default");
}

TEST(SchemaTest, MalformedSchemasAreErrors) {
  const char* bad[] = {
      "",
      "aten",
      "aten::",
      "aten::op",
      "aten::op(",
      "aten::op(Tensor x",
      "aten::op(Tensor x) ->",
      "aten::op(Tensor x)",
      "aten::op(Tensor) -> Tensor",
      "aten::op(Bogus x) -> Tensor",
      "aten::op(Tensor x, Tensor x) -> Tensor",
      "aten::op(int[][] x) -> Tensor",
      "aten::op(int x=) -> Tensor",
      "aten::op(int x=abc) -> Tensor",
      "aten::op(float x=1.2.3) -> Tensor",
      "aten::op(int[2] x=[1, 2) -> Tensor",
      "aten::op(str s='abc) -> Tensor",
      "aten::op(Tensor(a x) -> Tensor",
      "aten::op(Tensor x) -> Tensor trailing junk",
      "aten:op(Tensor x) -> Tensor",
      "1aten::op(Tensor x) -> Tensor",
      "aten::op(int[99999] x) -> Tensor",
  };
  for (const char* text : bad) {
    absl::StatusOr<OpSchema> s = ParseSchema(text);
    EXPECT_FALSE(s.ok()) << "accepted: " << text;
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << text;
      EXPECT_THAT(s.status().message(), HasSubstr("schema parse error")) << text;
    }
  }
  SchemaRegistry reg;
  EXPECT_TRUE(reg.Register("x::y(Tensor a) -> Tensor").ok());
  EXPECT_EQ(reg.Register("x::y(Tensor b) -> Tensor").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(reg.Register("garbage").ok());
  EXPECT_EQ(reg.size(), 1u);
}

TEST(SchemaTest, NormalizeArgumentsFillsFromPositionKeywordAndDefault) {
  const OpSchema& conv = Get("aten.conv2d.default");
  Argument x = Argument::String("x-stands-in");  // Types are not checked here.
  absl::StatusOr<NormalizedArgs> n = NormalizeArguments(
      conv, {x, x}, {{"groups", Argument::Int(2)}, {"padding", Argument::Int(1)}});
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(n->values.size(), 7u);
  EXPECT_EQ(n->source,
            (std::vector<int>{0, 1, -1, -1, 1000001, -1, 1000000}));
  EXPECT_EQ(n->values[2], Argument::None());
  EXPECT_EQ(n->values[3], Argument::List({Argument::Int(1), Argument::Int(1)}));
  EXPECT_EQ(n->values[4], Argument::Int(1));
  EXPECT_EQ(n->values[6], Argument::Int(2));
  // A positional argument may also be given by keyword.
  absl::StatusOr<NormalizedArgs> by_kw = NormalizeArguments(
      Get("aten.dropout.default"), {x},
      {{"train", Argument::Bool(true)}, {"p", Argument::Double(0.5)}});
  ASSERT_TRUE(by_kw.ok()) << by_kw.status();
  EXPECT_EQ(by_kw->values[1], Argument::Double(0.5));
  EXPECT_EQ(by_kw->values[2], Argument::Bool(true));
  // Kwarg-only arguments are filled by keyword or default.
  absl::StatusOr<NormalizedArgs> add =
      NormalizeArguments(Get("aten.add.Tensor"), {x, x}, {});
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->values[2], Argument::Int(1));
  EXPECT_EQ(add->source[2], -1);
}

TEST(SchemaTest, NormalizeArgumentsErrors) {
  Argument x = Argument::None();
  const OpSchema& dropout = Get("aten.dropout.default");
  absl::StatusOr<NormalizedArgs> too_many =
      NormalizeArguments(dropout, {x, Argument::Double(0.5), Argument::Bool(true), x}, {});
  EXPECT_THAT(too_many.status().message(),
              HasSubstr("takes at most 3 positional arguments, got 4"));
  // add.Tensor's alpha is keyword-only: a third positional is too many.
  EXPECT_THAT(NormalizeArguments(Get("aten.add.Tensor"), {x, x, Argument::Int(2)}, {})
                  .status()
                  .message(),
              HasSubstr("at most 2 positional"));
  EXPECT_THAT(NormalizeArguments(dropout, {x}, {{"q", x}}).status().message(),
              HasSubstr("has no argument named 'q'"));
  EXPECT_THAT(NormalizeArguments(dropout, {x, Argument::Double(0.5)},
                                 {{"p", Argument::Double(0.1)}})
                  .status()
                  .message(),
              HasSubstr("argument 'p' given twice"));
  EXPECT_THAT(NormalizeArguments(dropout, {x},
                                 {{"train", Argument::Bool(true)},
                                  {"train", Argument::Bool(false)}})
                  .status()
                  .message(),
              HasSubstr("argument 'train' given twice"));
  EXPECT_THAT(NormalizeArguments(dropout, {x, Argument::Double(0.5)}, {})
                  .status()
                  .message(),
              HasSubstr("missing argument 'train'"));
  EXPECT_EQ(NormalizeArguments(dropout, {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rewire
