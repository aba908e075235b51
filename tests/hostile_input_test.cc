// Hostile and broken input that tests/serialization_test.cc and
// tests/text_format_test.cc do not already cover (docs/RELIABILITY.md has the
// full table): fuzzer regressions, unknown fields, tensor data longer than its
// shape, NaN/Inf parameters, empty graphs, 100,000-wide fans, deep nesting,
// self-references through the Graph API, rewrites that re-create their own
// pattern, matcher step limits, and all-or-nothing rewrites checked by
// serialization equality.
//
// Each test pins the exact absl::StatusCode, because callers branch on it
// (InvalidArgument: the input is wrong; ResourceExhausted: a LoadOptions
// limit; OutOfRange: a count or index beyond what the type can hold).
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz/rewrite_rules.h"
#include "fuzz/seed_models.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/serialization.h"
#include "ir/text_format.h"
#include "ir/verifier.h"
#include "kernels/cpu_kernels.h"
#include "kernels/philox.h"
#include "kernels/tensor.h"
#include "proto/graph.pb.h"
#include "rewrite/replace_pattern.h"
#include "rewrite/subgraph_matcher.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << path;
  return ss.str();
}

ExportedModule Seed(const std::string& name) {
  for (const auto& m : fuzz::SeedModels()) {
    if (m.name != name) continue;
    auto module = fuzz::BuildSeedModule(m.text);
    EXPECT_TRUE(module.ok()) << module.status();
    if (module.ok()) return std::move(*module);
  }
  ADD_FAILURE() << "no seed model " << name;
  return ExportedModule();
}

std::string Save(const ExportedModule& m, Format f = Format::kBinaryProto) {
  auto bytes = SerializeModule(m, f);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

absl::Status LoadProto(const proto::GraphModule& p) {
  return ModuleFromProto(p).status();
}

std::unique_ptr<Graph> Parse(const std::string& text) {
  auto g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? std::move(*g) : std::make_unique<Graph>();
}

// ------------------------------------------------- fuzzer regressions

// load_binary_fuzzer: the loader accepted a metadata entry with an empty key
// that Verify refuses (and rewrite_fuzzer then saw a "broken" graph after a
// rewrite). Fixed by running the verifier at the end of ModuleFromProto.
TEST(HostileInputTest, FuzzRegressionEmptyMetadataKeyIsRefused) {
  auto loaded = LoadModuleFromBytes(
      ReadFile("tests/testdata/hostile_empty_meta_key.pb"),
      Format::kBinaryProto);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("empty key"));

  proto::GraphModule p = ModuleToProto(Seed("training_ir"));
  p.mutable_graph()->mutable_nodes(7)->add_meta()->set_key("");
  absl::Status s = LoadProto(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // Without a value the proto checks refuse it first, naming the entry.
  EXPECT_THAT(s.message(), HasSubstr("meta ''"));
}

// load_text_proto_fuzzer: getitem(%native_batch_norm, 5) of a 3-output op
// loaded; Verify refused it.
TEST(HostileInputTest, FuzzRegressionGetitemOutOfRangeIsRefused) {
  auto loaded = LoadModuleFromBytes(
      ReadFile("tests/testdata/hostile_getitem_out_of_range.pbtxt"),
      Format::kTextProto);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("getitem index 5 is out of range"));
}

// Every seed model and every checked-in regression input of the load
// fuzzers: a module the loader accepts passes Verify.
TEST(HostileInputTest, LoadedModulesAlwaysVerify) {
  for (const auto& m : fuzz::SeedModels()) {
    auto module = fuzz::BuildSeedModule(m.text);
    ASSERT_TRUE(module.ok()) << m.name << ": " << module.status();
    auto loaded = LoadModuleFromBytes(Save(*module), Format::kBinaryProto);
    ASSERT_TRUE(loaded.ok()) << m.name << ": " << loaded.status();
    EXPECT_TRUE(Verify(loaded->graph()).ok()) << m.name;
    EXPECT_EQ(Save(*loaded), Save(*module)) << m.name;
  }
}

// ------------------------------------------------- unknown fields, sizes

// proto3 skips unknown fields in binary (forward compatibility); they are
// not kept, so the re-saved bytes are those of the known fields only.
TEST(HostileInputTest, UnknownFieldInBinaryIsSkipped) {
  const std::string bytes = Save(Seed("pre_dispatch"));
  // Field 1000, wire type 0 (varint), value 7: tag = 1000 << 3 = 0x1f40.
  const std::string extra = bytes + std::string("\xc0\x3e\x07", 3);
  auto loaded = LoadModuleFromBytes(extra, Format::kBinaryProto);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Save(*loaded), bytes);
}

TEST(HostileInputTest, UnknownFieldInTextProtoIsRefused) {
  const std::string text =
      Save(Seed("pre_dispatch"), Format::kTextProto) + "\nfuture_field: 3\n";
  auto loaded = LoadModuleFromBytes(text, Format::kTextProto);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HostileInputTest, TensorDataLongerThanShapeIsRefused) {
  proto::GraphModule p = ModuleToProto(Seed("training_ir"));
  p.mutable_tensors(0)->mutable_data()->push_back('\0');
  absl::Status s = LoadProto(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("p_bn_weight"));
}

TEST(HostileInputTest, ElementCountOverflowingInt64IsRefused) {
  proto::GraphModule p = ModuleToProto(Seed("training_ir"));
  p.mutable_tensors(0)->clear_shape();
  p.mutable_tensors(0)->add_shape(int64_t{1} << 40);
  p.mutable_tensors(0)->add_shape(int64_t{1} << 40);
  EXPECT_EQ(LoadProto(p).code(), absl::StatusCode::kInvalidArgument);
  // Kernel tensors check the same before allocating anything.
  auto t = Tensor::Empty(ScalarType::kFloat32,
                         {int64_t{1} << 40, int64_t{1} << 40});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kOutOfRange);
  auto neg = Tensor::Empty(ScalarType::kFloat32, {-1});
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------- empty and minimal graphs

TEST(HostileInputTest, EmptyGraphIsRefused) {
  proto::GraphModule p;
  p.set_ir_version(kCurrentIrVersion);
  absl::Status s = LoadProto(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("no output"));
  EXPECT_EQ(LoadModuleFromBytes("", Format::kBinaryProto).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGraph("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HostileInputTest, GraphWithOnlyAnOutputIsValid) {
  std::unique_ptr<Graph> g = Parse("return ()\n");
  EXPECT_EQ(g->size(), 1u);
  EXPECT_TRUE(Verify(*g).ok());
  ExportedModule m(std::move(g));
  auto loaded = LoadModuleFromBytes(Save(m), Format::kBinaryProto);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->graph().size(), 1u);
}

// ------------------------------------------------- NaN / Inf

// Literals are data: NaN momentum and Inf eps load and round-trip bit-exactly
// (the kernels decide what they mean), as does NaN tensor data.
TEST(HostileInputTest, NanAndInfLiteralsAndDataRoundTrip) {
  ExportedModule m = Seed("training_ir");
  Node* bn = m.graph().FindNode("batch_norm");
  std::vector<Argument> args(bn->args().begin(), bn->args().end());
  args[6] = Argument::Double(std::numeric_limits<double>::quiet_NaN());
  args[7] = Argument::Double(-std::numeric_limits<double>::infinity());
  ASSERT_TRUE(m.graph().SetArguments(bn, args, bn->kwargs()).ok());
  const float nan = std::nanf("0x123");
  std::string& data = m.mutable_tensor_data(0);
  std::memcpy(&data[0], &nan, sizeof(nan));
  const std::string bytes = Save(m);
  auto loaded = LoadModuleFromBytes(bytes, Format::kBinaryProto);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Save(*loaded), bytes);
  auto text = LoadModuleFromBytes(Save(m, Format::kTextProto),
                                  Format::kTextProto);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_TRUE(
      std::isnan(text->graph().FindNode("batch_norm")->args()[6].as_double()));
}

TEST(HostileInputTest, KernelsRefuseOutOfRangeParameters) {
  auto x = Tensor::FromVector<float>({2, 3}, std::vector<float>(6, 1.0f));
  ASSERT_TRUE(x.ok());
  PhiloxGenerator gen(1, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double p : {nan, -0.5, 1.5, std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(Dropout(*x, p, true, gen).status().code(),
              absl::StatusCode::kInvalidArgument)
        << p;
    EXPECT_EQ(NativeDropout(*x, p, true, gen).status().code(),
              absl::StatusCode::kInvalidArgument)
        << p;
  }
  auto rm = Tensor::FromVector<float>({3}, std::vector<float>(3, 0.0f));
  auto rv = Tensor::FromVector<float>({3}, std::vector<float>(3, 1.0f));
  ASSERT_TRUE(rm.ok() && rv.ok());
  for (double eps : {nan, -1.0}) {
    EXPECT_EQ(NativeBatchNorm(*x, nullptr, nullptr, &*rm, &*rv, true, 0.1, eps)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << eps;
  }
}

// ------------------------------------------------- scale: wide fans, nesting

// One placeholder with 100,000 users: load, verify, match and rewrite stay
// linear in the fan-out (users are a flat vector with O(1) removal).
// The output lists every 100th relu only: redirecting one operand of a node
// is O(slot index) (Graph::ReplaceInput walks the argument slots), so a
// rewrite under a single node with 100,000 operands is quadratic (~280 s in
// fastbuild); see docs/RELIABILITY.md, "Known limits".
TEST(HostileInputTest, HundredThousandWideFan) {
  constexpr int kWidth = 100000;
  ExportedModule m;
  Graph& g = m.graph();
  Node* x = *g.AddPlaceholder("x");
  std::vector<Argument> outs;
  for (int i = 0; i < kWidth; ++i) {
    auto r = g.AddCall("aten.relu.default", {Argument::Ref(x)});
    ASSERT_TRUE(r.ok()) << r.status();
    outs.push_back(Argument::Ref(*r));
  }
  ASSERT_TRUE(g.AddOutput({Argument::List(std::move(outs))}).ok());
  EXPECT_EQ(x->num_uses(), static_cast<size_t>(kWidth));
  EXPECT_TRUE(Verify(g).ok());
  const std::string bytes = Save(m);
  auto loaded = LoadModuleFromBytes(bytes, Format::kBinaryProto);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Save(*loaded), bytes);
  auto p = Parse("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = Parse("%x = placeholder\n%t = aten.tanh.default(%x)\nreturn (%t,)\n");
  auto matcher = SubgraphMatcher::Create(*p);
  ASSERT_TRUE(matcher.ok());
  auto matches = (*matcher)->Match(loaded->graph());
  ASSERT_TRUE(matches.ok());
  EXPECT_EQ(matches->matches.size(), static_cast<size_t>(kWidth));
  auto result = ReplacePatternWithFilters(loaded->graph(), *p, *r);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->replaced.size(), static_cast<size_t>(kWidth));
  EXPECT_EQ(loaded->graph().CountTarget("aten.tanh.default"),
            static_cast<size_t>(kWidth));
  EXPECT_TRUE(Verify(loaded->graph()).ok());
}

// 100,000 nested brackets: a clean error at the nesting limit, no stack
// overflow (the parser is iterative), in the text form and in the proto.
TEST(HostileInputTest, DeeplyNestedListsAreRefusedWithoutRecursion) {
  constexpr int kDepth = 100000;
  std::string text = "%x = placeholder\n%y = f.g(";
  text += std::string(kDepth, '[') + std::string(kDepth, ']');
  text += ")\nreturn (%y,)\n";
  auto g = ParseGraph(text);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);

  // Binary: protobuf's own recursion limit (100) refuses it while parsing.
  proto::GraphModule p = ModuleToProto(Seed("eval_mixed"));
  proto::Argument* a = p.mutable_graph()->mutable_nodes(1)->add_args();
  for (int i = 0; i < 200; ++i) a = a->mutable_list()->add_items();
  a->set_int_value(1);
  std::string bytes;
  ASSERT_TRUE(p.SerializeToString(&bytes));
  EXPECT_EQ(LoadModuleFromBytes(bytes, Format::kBinaryProto).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------- self-references via the API

TEST(HostileInputTest, NodeAsItsOwnInputIsRefusedByTheGraph) {
  std::unique_ptr<Graph> g = Parse(
      "%x = placeholder\n%a = aten.relu.default(%x)\n"
      "%b = aten.relu.default(%a)\nreturn (%b,)\n");
  const std::string before = PrintGraph(*g);
  Node* a = g->FindNode("a");
  Node* b = g->FindNode("b");
  EXPECT_EQ(g->ReplaceInput(a, 0, a).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g->SetArguments(a, {Argument::Ref(a)}, {}).code(),
            absl::StatusCode::kInvalidArgument);
  // A cycle: %a would use %b, which uses %a.
  EXPECT_EQ(g->ReplaceInput(a, 0, b).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g->ReplaceAllUsesWith(a, b).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g->Erase(a).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PrintGraph(*g), before);
  EXPECT_TRUE(Verify(*g).ok());
}

// ------------------------------------------------- rewrites

// A replacement that re-creates its own pattern: relu(x) -> relu(relu(x)).
// One call is one pass over the matches found before any change; new nodes
// are never re-matched, so it terminates and doubles each relu exactly once.
TEST(HostileInputTest, ReplacementRecreatingThePatternTerminates) {
  std::unique_ptr<Graph> g = Parse(
      "%x = placeholder\n%a = aten.relu.default(%x)\n"
      "%b = aten.sigmoid.default(%a)\nreturn (%b,)\n");
  auto p = Parse("%x = placeholder\n%r = aten.relu.default(%x)\nreturn (%r,)\n");
  auto r = Parse(
      "%x = placeholder\n%r = aten.relu.default(%x)\n"
      "%s = aten.relu.default(%r)\nreturn (%s,)\n");
  auto first = ReplacePatternWithFilters(*g, *p, *r);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->replaced.size(), 1u);
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 2u);
  EXPECT_TRUE(Verify(*g).ok());
  // Each further call is again one bounded pass.
  auto second = ReplacePatternWithFilters(*g, *p, *r);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_LE(second->replaced.size(), 2u);
  EXPECT_EQ(g->CountTarget("aten.relu.default"),
            2u + second->replaced.size());
  EXPECT_TRUE(Verify(*g).ok());
}

// A rewrite that fails leaves the module byte-identical (all-or-nothing).
TEST(HostileInputTest, FailedRewriteLeavesModuleByteIdentical) {
  ExportedModule m = Seed("training_ir");
  const std::string before = Save(m);
  auto p = Parse(
      "%x = placeholder\n%p = placeholder\n"
      "%d = aten.dropout.default(%x, %p, True)\nreturn (%d,)\n");
  // Two outputs for a one-output pattern: refused before any change.
  auto r = Parse("%x = placeholder\n%p = placeholder\nreturn (%x, %x)\n");
  auto result = ReplacePatternWithFilters(m.graph(), *p, *r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Save(m), before);
}

// The train/eval rules applied to eval, then back to train, give the very
// module that was loaded (serialization equality), for every dialect whose
// rules are reversible.
TEST(HostileInputTest, TrainEvalRulesRoundTripBySerialization) {
  const auto& rules = fuzz::TrainEvalRules();
  auto rule = [&](const std::string& name) -> const fuzz::RewriteRule& {
    for (const auto& r : rules) {
      if (r.name == name) return r;
    }
    ADD_FAILURE() << name;
    return rules[0];
  };
  ExportedModule m = Seed("training_ir");
  const std::string before = Save(m);
  for (const char* name : {"dropout_to_eval", "batch_norm_to_eval"}) {
    const auto& r = rule(name);
    auto res = ReplacePatternWithFilters(m.graph(), *r.pattern,
                                         *r.replacement, r.options);
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->replaced.size(), 1u) << name;
  }
  EXPECT_NE(Save(m), before);
  for (const char* name : {"dropout_to_train", "batch_norm_to_train"}) {
    const auto& r = rule(name);
    auto res = ReplacePatternWithFilters(m.graph(), *r.pattern,
                                         *r.replacement, r.options);
    ASSERT_TRUE(res.ok()) << res.status();
  }
  EXPECT_EQ(Save(m), before);
}

// A matcher step limit stops the search and says so; what was found is
// applied and the graph stays valid, nothing else changes.
TEST(HostileInputTest, RewriteStepLimitIsReported) {
  std::string text = "%x = placeholder\n";
  std::string prev = "x";
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&text, "%r", i, " = aten.relu.default(%", prev, ")\n");
    prev = absl::StrCat("r", i);
  }
  absl::StrAppend(&text, "return (%", prev, ",)\n");
  std::unique_ptr<Graph> g = Parse(text);
  auto p = Parse(
      "%x = placeholder\n%a = aten.relu.default(%x)\n"
      "%b = aten.relu.default(%a)\nreturn (%b,)\n");
  ReplaceOptions options;
  options.max_steps = 10;
  auto res = ReplacePatternWithFilters(*g, *p, *p, options);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_TRUE(res->limit_reached);
  EXPECT_LT(res->replaced.size(), 100u);
  EXPECT_TRUE(Verify(*g).ok());
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 200u);
}

}  // namespace
}  // namespace rewire
