// Tests of the IR text form: exact round trips (text and structure) on graphs
// of every exporter dialect, literal kind strictness, metadata encodings,
// hand-writing conveniences, every parse error class with its position, and
// a 1,000,000-node chain.
#include "ir/text_format.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/verifier.h"
#include "tests/graph_equality.h"

namespace rewire {
namespace {

using ::rewire::testing_internal::GraphsStructurallyEqual;
using ::testing::HasSubstr;

std::unique_ptr<Graph> MustParse(absl::string_view text,
                                 const TextParseOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text, options);
  EXPECT_TRUE(g.ok()) << g.status() << "\n" << text;
  if (!g.ok()) return std::make_unique<Graph>();
  return *std::move(g);
}

// print -> parse -> print is the identity, and parse(print(g)) equals g.
void ExpectRoundTrip(const Graph& g) {
  std::string printed = PrintGraph(g);
  absl::StatusOr<std::unique_ptr<Graph>> back = ParseGraph(printed);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << printed;
  EXPECT_EQ(PrintGraph(**back), printed);
  EXPECT_TRUE(GraphsStructurallyEqual(g, **back)) << printed;
}

// Parses canonical text, expects it to print back unchanged and verify.
void ExpectCanonical(absl::string_view text) {
  std::unique_ptr<Graph> g = MustParse(text);
  EXPECT_EQ(PrintGraph(*g), text);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
  ExpectRoundTrip(*g);
}

absl::Status ParseError(absl::string_view text,
                        const TextParseOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Graph>> g = ParseGraph(text, options);
  if (g.ok()) return absl::OkStatus();
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  return g.status();
}

TEST(TextFormatTest, BriefExampleParsesAndPrintsCanonically) {
  const char* text =
      "graph():\n"
      "    %x : f32[1, 3, 4, 4] = placeholder[target=x]\n"
      "    %w : f32[3] = get_attr[target=bn.weight]\n"
      "    %b : f32[3] = get_attr[target=bn.bias]\n"
      "    %rm : f32[3] = get_attr[target=bn.running_mean]\n"
      "    %rv : f32[3] = get_attr[target=bn.running_var]\n"
      "    %batch_norm : f32[1, 3, 4, 4] = aten.batch_norm.default(%x, %w, "
      "None, %rm, %rv, True, 0.1, 1e-05, True)\n"
      "    %nbn : (f32[1, 3, 4, 4], f32[3], f32[3]) = "
      "aten.native_batch_norm.default(%x, %w, %b, %rm, %rv, True, 0.1, "
      "1e-05)\n"
      "    %getitem : f32[1, 3, 4, 4] = getitem(%nbn, 0)\n"
      "    %empty_like = aten.empty_like.default(%x, "
      "memory_format=torch.contiguous_format)\n"
      "    return (%getitem,)\n";
  ExpectCanonical(text);
  std::unique_ptr<Graph> g = MustParse(text);
  Node* bn = g->FindNode("batch_norm");
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->target().qualified, "aten.batch_norm.default");
  EXPECT_EQ(bn->args()[2].kind(), Argument::Kind::kNone);
  EXPECT_EQ(bn->args()[5], Argument::Bool(true));
  EXPECT_EQ(bn->args()[6], Argument::Double(0.1));
  EXPECT_EQ(bn->args()[7], Argument::Double(1e-5));
  const MetaValue* val = bn->meta().val();
  ASSERT_NE(val, nullptr);
  EXPECT_EQ(val->tensor(), TensorMeta::Make(ScalarType::kFloat32, {1, 3, 4, 4}));
  EXPECT_EQ(g->FindNode("nbn")->meta().val()->tensors().size(), 3u);
  EXPECT_TRUE(g->FindNode("getitem")->target().is_getitem);
  Node* e = g->FindNode("empty_like");
  ASSERT_NE(e->kwarg("memory_format"), nullptr);
  EXPECT_EQ(*e->kwarg("memory_format"),
            Argument::MemoryFormatValue(MemoryFormat::kContiguous));
  EXPECT_TRUE(e->meta().empty());
  ASSERT_NE(g->output(), nullptr);
  EXPECT_EQ(g->output()->name(), "output");
  EXPECT_EQ(g->output()->args().size(), 1u);
  EXPECT_EQ(g->FindNode("w")->target().qualified, "bn.weight");
}

// ---------------------------------------------------------------- dialects

// The fuzzer found "torch.ops.torch.ops.default": one prefix stripped, the
// target printed as "torch.ops.default", which read back as "default".
TEST(TextFormatTest, RepeatedTorchOpsPrefixesCanonicalizeAtOnce) {
  std::unique_ptr<Graph> g = MustParse(R"(graph():
    %x = placeholder
    %y = torch.ops.torch.ops.aten.relu.default(%x)
    return (%y,)
)");
  EXPECT_EQ(g->CountTarget("aten.relu.default"), 1u);
  ExpectRoundTrip(*g);
}

TEST(TextFormatTest, TrainingIrDialectRoundTrips) {
  ExpectCanonical(
      "graph():\n"
      "    %x : f32[1, 3, 4, 4] = placeholder[target=x]\n"
      "    %p_bn_weight : f32[3] = placeholder[target=p_bn_weight]\n"
      "    %p_bn_bias : f32[3] = placeholder[target=p_bn_bias]\n"
      "    %b_bn_running_mean : f32[3] = placeholder[target=b_bn_running_mean]\n"
      "    %b_bn_running_var : f32[3] = placeholder[target=b_bn_running_var]\n"
      "    %b_bn_num_batches_tracked : i64[] = "
      "placeholder[target=b_bn_num_batches_tracked]\n"
      "    %add_ : i64[] = aten.add_.Tensor(%b_bn_num_batches_tracked, 1)\n"
      "    %batch_norm : f32[1, 3, 4, 4] = aten.batch_norm.default(%x, "
      "%p_bn_weight, %p_bn_bias, %b_bn_running_mean, %b_bn_running_var, True, "
      "0.1, 1e-05, True) {stack_trace=\"  File \\\"m.py\\\", line 7, in "
      "forward\\n    return self.bn(x)\\n\", nn_module_stack=\"{'bn': ('bn', "
      "<class 'BatchNorm2d'>)}\"}\n"
      "    %dropout : f32[1, 3, 4, 4] = aten.dropout.default(%batch_norm, 0.5, "
      "True)\n"
      "    %dropout_ : f32[1, 3, 4, 4] = aten.dropout_.default(%dropout, 0.25, "
      "False)\n"
      "    return (%dropout_,)\n");
}

TEST(TextFormatTest, PreDispatchCpuDialectRoundTrips) {
  ExpectCanonical(
      "graph():\n"
      "    %x : f32[2, 3, 5, 5] = placeholder[target=x]\n"
      "    %w : f32[3] = get_attr[target=bn.weight]\n"
      "    %b : f32[3] = get_attr[target=bn.bias]\n"
      "    %rm : f32[3] = get_attr[target=bn.running_mean]\n"
      "    %rv : f32[3] = get_attr[target=bn.running_var]\n"
      "    %_native_batch_norm_legit : (f32[2, 3, 5, 5], f32[3], f32[3]) = "
      "aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, True, 0.1, "
      "1e-05)\n"
      "    %getitem : f32[2, 3, 5, 5] = getitem(%_native_batch_norm_legit, 0)\n"
      "    %nt : (f32[2, 3, 5, 5], f32[0], f32[0]) = "
      "aten._native_batch_norm_legit_no_training.default(%getitem, %w, %b, "
      "%rm, %rv, 0.1, 1e-05)\n"
      "    %getitem_1 : f32[2, 3, 5, 5] = getitem(%nt, 0)\n"
      "    return (%getitem_1,)\n");
}

TEST(TextFormatTest, PreDispatchCudaDialectRoundTrips) {
  ExpectCanonical(
      "graph():\n"
      "    %x : f32[2, 3, 5, 5]@cuda:0 = placeholder[target=x]\n"
      "    %w : f32[3]@cuda:0+grad = get_attr[target=bn.weight]\n"
      "    %b : f32[3]@cuda:0+grad = get_attr[target=bn.bias]\n"
      "    %rm : f32[3]@cuda:0 = get_attr[target=bn.running_mean]\n"
      "    %rv : f32[3]@cuda:0 = get_attr[target=bn.running_var]\n"
      "    %cudnn_batch_norm : (f32[2, 3, 5, 5]@cuda:0, f32[3]@cuda:0, "
      "f32[3]@cuda:0, u8[0]@cuda:0) = aten.cudnn_batch_norm.default(%x, %w, "
      "%b, %rm, %rv, False, 0.1, 1e-05)\n"
      "    %getitem : f32[2, 3, 5, 5]@cuda:0 = getitem(%cudnn_batch_norm, 0)\n"
      "    return (%getitem,)\n");
}

TEST(TextFormatTest, CoreAtenDialectRoundTrips) {
  ExpectCanonical(
      "graph():\n"
      "    %x : f32[s0, 3, 4, 4] = placeholder[target=x]\n"
      "    %rm : f32[3] = placeholder[target=rm]\n"
      "    %rv : f32[3] = placeholder[target=rv]\n"
      "    %native_dropout : (f32[s0, 3, 4, 4], b8[s0, 3, 4, 4]) = "
      "aten.native_dropout.default(%x, 0.5, True)\n"
      "    %getitem : f32[s0, 3, 4, 4] = getitem(%native_dropout, 0)\n"
      "    %f : (f32[s0, 3, 4, 4], f32[3], f32[3], f32[3], f32[3]) = "
      "aten._native_batch_norm_legit_functional.default(%getitem, None, None, "
      "%rm, %rv, True, 0.1, 1e-05)\n"
      "    %getitem_1 : f32[s0, 3, 4, 4] = getitem(%f, 0)\n"
      "    %getitem_3 : f32[3] = getitem(%f, 3)\n"
      "    %getitem_4 : f32[3] = getitem(%f, 4)\n"
      "    %copy_ : f32[3] = aten.copy_.default(%rm, %getitem_3)\n"
      "    %copy__1 : f32[3] = aten.copy_.default(%rv, %getitem_4)\n"
      "    %clone : f32[s0, 3, 4, 4] = aten.clone.default(%getitem_1)\n"
      "    return (%clone,)\n");
}

TEST(TextFormatTest, MakeFx113DialectRoundTrips) {
  ExpectCanonical(
      "graph():\n"
      "    %x_1 : f32[1, 3, 4, 4] = placeholder[target=x]\n"
      "    %w_1 : f32[3] = placeholder[target=w]\n"
      "    %b_1 : f32[3] = placeholder[target=b]\n"
      "    %rm_1 : f32[3] = placeholder[target=rm]\n"
      "    %rv_1 : f32[3] = placeholder[target=rv]\n"
      "    %empty_like : f32[1, 3, 4, 4] = aten.empty_like.default(%x_1, "
      "memory_format=torch.contiguous_format) {tensor_meta=\"TensorMetadata("
      "shape=torch.Size([1, 3, 4, 4]), dtype=torch.float32)\"}\n"
      "    %bernoulli_ : f32[1, 3, 4, 4] = aten.bernoulli_.float(%empty_like)\n"
      "    %div_ : f32[1, 3, 4, 4] = aten.div_.Scalar(%bernoulli_, 0.5)\n"
      "    %mul : f32[1, 3, 4, 4] = aten.mul.Tensor(%x_1, %div_)\n"
      "    %native_batch_norm : (f32[1, 3, 4, 4], f32[3], f32[3]) = "
      "aten.native_batch_norm.default(%mul, %w_1, %b_1, %rm_1, %rv_1, True, "
      "0.1, 1e-05)\n"
      "    %getitem : f32[1, 3, 4, 4] = getitem(%native_batch_norm, 0)\n"
      "    %getitem_1 : f32[3] = getitem(%native_batch_norm, 1)\n"
      "    %getitem_2 : f32[3] = getitem(%native_batch_norm, 2)\n"
      "    return (%getitem,)\n");
  // The make_fx spelling of getitem is canonicalized.
  std::unique_ptr<Graph> g = MustParse(
      "%x : f32[2] = placeholder\n"
      "%n = aten.native_batch_norm.default(%x, None, None, None, None, True, "
      "0.1, 1e-05)\n"
      "%getitem = operator.getitem(%n, 0)\n"
      "return (%getitem,)\n");
  EXPECT_TRUE(g->FindNode("getitem")->target().is_getitem);
  EXPECT_THAT(PrintGraph(*g), HasSubstr("= getitem(%n, 0)"));
}

// ---------------------------------------------------------------- literals

TEST(TextFormatTest, LiteralKindsSurvive) {
  std::unique_ptr<Graph> g = MustParse(
      "%x = placeholder\n"
      "%f = foo.bar.baz(%x, 1, 1.0, True, -0.0, inf, -inf, nan, 1e-05, 0.1, "
      "1e+20, -9223372036854775808, 'single', \"dou\\\"ble\", torch.float64, "
      "torch.bfloat16, torch.strided, torch.sparse_coo, torch.channels_last, "
      "torch.preserve_format, device('cuda:1'), device(type='cpu'), "
      "device(type='cuda', index=0), device('meta'), None, [], [1, [2.0, "
      "[False]]], (3, 4))\n"
      "return (%f,)\n");
  absl::Span<const Argument> a = g->FindNode("f")->args();
  ASSERT_EQ(a.size(), 28u);
  EXPECT_EQ(a[1], Argument::Int(1));
  EXPECT_EQ(a[2], Argument::Double(1.0));
  EXPECT_NE(a[1], a[2]);
  EXPECT_EQ(a[3], Argument::Bool(true));
  EXPECT_TRUE(std::signbit(a[4].as_double()));
  EXPECT_EQ(a[5].as_double(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(a[6].as_double(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(a[7].as_double()));
  EXPECT_EQ(a[8], Argument::Double(1e-5));
  EXPECT_EQ(a[10], Argument::Double(1e20));
  EXPECT_EQ(a[11], Argument::Int(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(a[12], Argument::String("single"));
  EXPECT_EQ(a[13], Argument::String("dou\"ble"));
  EXPECT_EQ(a[14], Argument::Dtype(ScalarType::kFloat64));
  EXPECT_EQ(a[15], Argument::Dtype(ScalarType::kBFloat16));
  EXPECT_EQ(a[16], Argument::LayoutValue(Layout::kStrided));
  EXPECT_EQ(a[17], Argument::LayoutValue(Layout::kSparseCoo));
  EXPECT_EQ(a[18], Argument::MemoryFormatValue(MemoryFormat::kChannelsLast));
  EXPECT_EQ(a[19], Argument::MemoryFormatValue(MemoryFormat::kPreserve));
  EXPECT_EQ(a[20], Argument::DeviceValue(Device::Cuda(1)));
  EXPECT_EQ(a[21], Argument::DeviceValue(Device::Cpu()));
  EXPECT_EQ(a[22], Argument::DeviceValue(Device::Cuda(0)));
  EXPECT_EQ(a[23], Argument::DeviceValue(Device::Meta()));
  EXPECT_TRUE(a[24].is_none());
  EXPECT_EQ(a[25], Argument::List({}));
  EXPECT_EQ(a[26], Argument::List({Argument::Int(1),
                                   Argument::List({Argument::Double(2.0),
                                                   Argument::List({Argument::Bool(
                                                       false)})})}));
  EXPECT_EQ(a[27], Argument::List({Argument::Int(3), Argument::Int(4)}));
  EXPECT_EQ(PrintNode(*g->FindNode("f")),
            "%f = foo.bar.baz(%x, 1, 1.0, True, -0.0, inf, -inf, nan, 1e-05, "
            "0.1, 1e+20, -9223372036854775808, \"single\", \"dou\\\"ble\", "
            "torch.float64, torch.bfloat16, torch.strided, torch.sparse_coo, "
            "torch.channels_last, torch.preserve_format, device(\"cuda:1\"), "
            "device(\"cpu\"), device(\"cuda:0\"), device(\"meta\"), None, [], "
            "[1, [2.0, [False]]], [3, 4])");
  ExpectRoundTrip(*g);
}

TEST(TextFormatTest, FloatsPrintShortestAndReadBackBitExact) {
  EXPECT_EQ(PrintArgument(Argument::Double(0.1)), "0.1");
  EXPECT_EQ(PrintArgument(Argument::Double(1e-5)), "1e-05");
  EXPECT_EQ(PrintArgument(Argument::Double(3.0)), "3.0");
  EXPECT_EQ(PrintArgument(Argument::Double(1.0 / 3)), "0.3333333333333333");
  EXPECT_EQ(PrintArgument(Argument::Double(5e-324)), "5e-324");
  std::mt19937_64 rng(42);
  Graph g;
  Node* x = *g.AddPlaceholder("x");
  std::vector<Argument> args = {Argument::Ref(x)};
  for (int i = 0; i < 2000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isnan(d)) continue;
    args.push_back(Argument::Double(d));
  }
  ASSERT_TRUE(g.AddCall("foo.bar.baz", args).ok());
  ASSERT_TRUE(g.AddOutput({}).ok());
  ExpectRoundTrip(g);
}

TEST(TextFormatTest, StringsWithNewlinesQuotesAndBytesRoundTrip) {
  Graph g;
  Metadata m;
  m.Set("stack_trace",
        MetaValue::String("File \"a.py\", line 1\n  x = 'y' \\ z\t\r\x01\x7f "
                          "caf\xc3\xa9 # not a comment"));
  m.Set("nn_module_stack", MetaValue::String("{'': ('', \"M\")}"));
  m.Set("weird key!", MetaValue::String(""));
  Node* x = *g.AddPlaceholder("x", m);
  ASSERT_TRUE(g.AddCall("aten.gelu.default", {Argument::Ref(x)},
                        {{"approximate", Argument::String("tan\"h\n")}})
                  .ok());
  ASSERT_TRUE(g.AddOutput({Argument::Ref(x)}).ok());
  ExpectRoundTrip(g);
  std::string printed = PrintGraph(g);
  EXPECT_THAT(printed, HasSubstr("\\x01\\x7f caf\xc3\xa9 # not a comment"));
  EXPECT_THAT(printed, HasSubstr("\"weird key!\"=\"\""));
  // Every node stays on one line.
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 4);
}

TEST(TextFormatTest, NamesAndTargetsNeedingQuotesRoundTrip) {
  Graph g;
  Node* x = *g.AddPlaceholder("x");
  Graph::NodeSpec spec;
  spec.op = OpKind::kPlaceholder;
  spec.name = "x_1";
  spec.target = "*args";
  Node* y = *g.Append(spec);
  Graph::NodeSpec attr;
  attr.op = OpKind::kGetAttr;
  attr.target = "layer1.0.bn.weight";
  Node* w = *g.Append(attr);
  Node* odd = *g.AddCall("my ns::op", {Argument::Ref(x), Argument::Ref(y)},
                         {{"not-an-ident", Argument::Ref(w)}});
  ASSERT_TRUE(g.Rename(odd, "has space").ok());
  Node* kw = *g.AddCall("placeholder", {Argument::Ref(odd)});
  (void)kw;
  ASSERT_TRUE(g.AddOutput({Argument::Ref(odd)}).ok());
  ExpectRoundTrip(g);
  std::string printed = PrintGraph(g);
  EXPECT_THAT(printed, HasSubstr("%x_1 = placeholder[target=\"*args\"]"));
  EXPECT_THAT(printed, HasSubstr("get_attr[target=layer1.0.bn.weight]"));
  EXPECT_THAT(printed,
              HasSubstr("%\"has space\" = call_function[target=\"my ns::op\"]"
                        "(%x, %x_1, \"not-an-ident\"=%layer1_0_bn_weight)"));
  EXPECT_THAT(printed, HasSubstr("call_function[target=placeholder](%\"has "
                                 "space\")"));
}

// ---------------------------------------------------------------- metadata

TEST(TextFormatTest, TensorMetaEncodings) {
  struct Case {
    const char* text;
    TensorMeta meta;
  };
  TensorMeta contiguous = TensorMeta::Make(ScalarType::kFloat32, {2, 3});
  TensorMeta transposed = contiguous;
  transposed.strides = {1, 2};
  TensorMeta no_strides = contiguous;
  no_strides.strides = {};
  TensorMeta on_cuda = TensorMeta::Make(ScalarType::kBFloat16, {4},
                                        Device::Cuda(1));
  on_cuda.requires_grad = true;
  TensorMeta scalar = TensorMeta::Make(ScalarType::kInt64, {});
  TensorMeta symbolic;
  symbolic.dtype = ScalarType::kFloat16;
  symbolic.shape = {Dim{0, "s0"}, Dim{3, ""}, Dim{0, "2*s1 + 1"}};
  TensorMeta symbolic_strided = symbolic;
  symbolic_strided.strides = {9, 3, 1};
  TensorMeta weird_symbol;
  weird_symbol.shape = {Dim{0, "12"}, Dim{0, "a,b]"}};
  TensorMeta cpu0 = TensorMeta::Make(ScalarType::kBool, {0}, Device{DeviceType::kCpu, 0});
  TensorMeta cuda_noindex = TensorMeta::Make(ScalarType::kComplex128, {1}, Device{DeviceType::kCuda, -1});
  const Case cases[] = {
      {"f32[2, 3]", contiguous},
      {"f32[2, 3]/[1, 2]", transposed},
      {"f32[2, 3]/[]", no_strides},
      {"bf16[4]@cuda:1+grad", on_cuda},
      {"i64[]", scalar},
      {"f16[s0, 3, 2*s1 + 1]", symbolic},
      {"f16[s0, 3, 2*s1 + 1]/[9, 3, 1]", symbolic_strided},
      {"f32[\"12\", \"a,b]\"]", weird_symbol},
      {"b8[0]@cpu:0", cpu0},
      {"c128[1]@cuda", cuda_noindex},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PrintMetaValue(MetaValue::Tensor(c.meta)), c.text);
    absl::StatusOr<MetaValue> parsed = ParseMetaValue(c.text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, MetaValue::Tensor(c.meta)) << c.text;
  }
  // Suffixes in any order, spaces allowed.
  absl::StatusOr<MetaValue> any_order = ParseMetaValue("bf16[4] +grad @cuda:1");
  ASSERT_TRUE(any_order.ok()) << any_order.status();
  EXPECT_EQ(any_order->tensor(), on_cuda);
  EXPECT_FALSE(ParseMetaValue("f32[2]@gpu").ok());
  EXPECT_FALSE(ParseMetaValue("f32[2]+grad+grad").ok());
  EXPECT_FALSE(ParseMetaValue("q9[2]").ok());
  EXPECT_FALSE(ParseMetaValue("f32[2").ok());
}

TEST(TextFormatTest, ScalarTupleAndOrderedMetadataRoundTrip) {
  Graph g;
  Metadata tuple_meta;
  tuple_meta.Set("val", MetaValue::Tensors(
                            {TensorMeta::Make(ScalarType::kFloat32, {2}),
                             std::nullopt,
                             TensorMeta::Make(ScalarType::kInt64, {})}));
  Node* x = *g.AddPlaceholder("x", tuple_meta);
  Metadata scalars;
  scalars.Set("stack_trace", MetaValue::String("line"));
  scalars.Set("val", MetaValue::Int(7));  // Not first: braced.
  scalars.Set("f", MetaValue::Double(2.0));
  scalars.Set("b", MetaValue::Bool(false));
  scalars.Set("n", MetaValue::None());
  scalars.Set("one", MetaValue::Tensors({TensorMeta::Make(ScalarType::kInt8, {1})}));
  scalars.Set("empty", MetaValue::Tensors({}));
  Node* s = *g.AddCall("aten.sym_size.int", {Argument::Ref(x), Argument::Int(0)},
                       {}, scalars);
  Metadata sym;
  sym.Set("val", MetaValue::String("s0 + 1"));
  Node* t = *g.AddCall("aten.sym_size.int", {Argument::Ref(x), Argument::Int(1)},
                       {}, sym);
  Metadata fval;
  fval.Set("val", MetaValue::Double(1.5));
  fval.Set("val2", MetaValue::Bool(true));
  Node* u = *g.AddCall("aten.sym_size.int", {Argument::Ref(x), Argument::Int(1)},
                       {}, fval);
  ASSERT_TRUE(g.AddOutput({Argument::Ref(s), Argument::Ref(t), Argument::Ref(u)}).ok());
  g.output()->mutable_meta().Set("val", MetaValue::None());
  ExpectRoundTrip(g);
  std::string printed = PrintGraph(g);
  EXPECT_THAT(printed, HasSubstr("%x : (f32[2], None, i64[]) = placeholder"));
  EXPECT_THAT(printed,
              HasSubstr("{stack_trace=\"line\", val=7, f=2.0, b=False, n=None, "
                        "one=(i8[1],), empty=()}"));
  EXPECT_THAT(printed, HasSubstr("%sym_size_1 : \"s0 + 1\" = "));
  EXPECT_THAT(printed, HasSubstr(": 1.5 = aten.sym_size.int(%x, 1) {val2=True}"));
  EXPECT_THAT(printed, HasSubstr("return (%sym_size, %sym_size_1, %sym_size_2) "
                                 "{val=None}"));
}

// ---------------------------------------------------------------- hand-writing

TEST(TextFormatTest, HandWrittenConveniences) {
  std::unique_ptr<Graph> g = MustParse(R"IR(
# A pattern, written by hand.

  %x = placeholder          # target defaults to the name
  %y : f32[2] = placeholder [target=y]
  %add = aten.add.Tensor(
      %x,
      %y,   # trailing comments inside brackets
      alpha=2,
  )
  %fx : [num_users=1] = call_function[target=torch.ops.aten.mul.Tensor](args = (%add, %y), kwargs = {})
  %k = call_function[target=aten.add.Tensor](args = (%fx,), kwargs = {other: %x, 'alpha': 3})
  return %k
)IR");
  EXPECT_EQ(g->FindNode("x")->target().qualified, "x");
  EXPECT_EQ(g->FindNode("fx")->target().qualified, "aten.mul.Tensor");
  EXPECT_TRUE(g->FindNode("fx")->meta().empty());
  Node* k = g->FindNode("k");
  EXPECT_EQ(k->args().size(), 1u);
  ASSERT_EQ(k->kwargs().size(), 2u);
  EXPECT_EQ(k->kwargs()[1].name, "alpha");
  EXPECT_EQ(k->kwargs()[1].value, Argument::Int(3));
  EXPECT_EQ(g->output()->args().size(), 1u);
  EXPECT_EQ(PrintGraph(*g),
            "graph():\n"
            "    %x = placeholder[target=x]\n"
            "    %y : f32[2] = placeholder[target=y]\n"
            "    %add = aten.add.Tensor(%x, %y, alpha=2)\n"
            "    %fx = aten.mul.Tensor(%add, %y)\n"
            "    %k = aten.add.Tensor(%fx, other=%x, alpha=3)\n"
            "    return (%k,)\n");
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g);
}

TEST(TextFormatTest, ReturnSpellings) {
  const char* head = "%a = placeholder\n%b = placeholder\n";
  struct Case {
    const char* ret;
    size_t nargs;
    bool first_is_list;
  };
  const Case cases[] = {{"return (%a, %b)", 2, false},
                        {"return (%a,)", 1, false},
                        {"return (%a)", 1, false},
                        {"return %a", 1, false},
                        {"return ()", 0, false},
                        {"return [%a, %b]", 1, true},
                        {"return ([%a, %b],)", 1, true},
                        {"%output = output(%a, %b)", 2, false}};
  for (const Case& c : cases) {
    std::unique_ptr<Graph> g = MustParse(absl::StrCat(head, c.ret, "\n"));
    ASSERT_NE(g->output(), nullptr) << c.ret;
    ASSERT_EQ(g->output()->args().size(), c.nargs) << c.ret;
    if (c.nargs > 0) {
      EXPECT_EQ(g->output()->args()[0].is_list(), c.first_is_list);
    }
    ExpectRoundTrip(*g);
  }
  // An output node not named "output", or with another target, or with
  // kwargs, uses the general spelling.
  std::unique_ptr<Graph> g = MustParse(
      "%output = placeholder\n"
      "return (%output,)\n");
  EXPECT_EQ(g->output()->name(), "output_1");
  EXPECT_THAT(PrintGraph(*g), HasSubstr("%output_1 = output(%output)"));
  ExpectRoundTrip(*g);
  g = MustParse("%a = placeholder\n%res : f32[2] = output[target=out](%a, k=1)");
  EXPECT_EQ(g->output()->target().qualified, "out");
  EXPECT_EQ(PrintNode(*g->output()),
            "%res : f32[2] = output[target=out](%a, k=1)");
  ExpectRoundTrip(*g);
}

TEST(TextFormatTest, FragmentsWithoutOutputWhenAllowed) {
  TextParseOptions options;
  options.require_output = false;
  std::unique_ptr<Graph> g = MustParse("%a = placeholder\n", options);
  EXPECT_EQ(g->size(), 1u);
  EXPECT_EQ(g->output(), nullptr);
}

TEST(TextFormatTest, NestingLimit) {
  std::string deep = "[";
  for (int i = 0; i < 31; ++i) deep += "[";
  std::string deep_close(32, ']');
  std::string ok_text = absl::StrCat("%a = placeholder\n%b = f.g.h(", deep, deep_close,
                                     ")\nreturn (%b,)\n");
  std::unique_ptr<Graph> g = MustParse(ok_text);
  EXPECT_EQ(g->FindNode("b")->args()[0].NestingDepth(), 32);
  ExpectRoundTrip(*g);
  // The same 32-deep list directly in the output's args still parses back.
  Graph out;
  ASSERT_TRUE(out.AddOutput({g->FindNode("b")->args()[0]}).ok());
  ExpectRoundTrip(out);
  std::string too_deep = absl::StrCat("%a = placeholder\n%b = f.g.h([", deep,
                                      "]", deep_close, ")\nreturn (%b,)\n");
  EXPECT_THAT(ParseError(too_deep).message(),
              HasSubstr("line 2, column 44: list nesting deeper than 32"));
  // Hostile nesting far beyond the limit fails fast, without recursion.
  std::string hostile = absl::StrCat("%b = f.g.h(", std::string(1000000, '['));
  EXPECT_THAT(ParseError(hostile).message(), HasSubstr("nesting deeper"));
  TextParseOptions shallow;
  shallow.max_nesting = 1;
  EXPECT_FALSE(ParseGraph("%b = f.g.h([[1]])\nreturn ()\n", shallow).ok());
  EXPECT_TRUE(ParseGraph("%b = f.g.h([1])\nreturn ()\n", shallow).ok());
}

// ---------------------------------------------------------------- errors

TEST(TextFormatTest, ErrorsNameLineAndColumn) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"%a = placeholder\n%b = aten.relu.default(%y)\nreturn (%b,)\n",
       "line 2, column 24: %y is not defined"},
      {"%a = placeholder\n%b = aten.relu.default(%b)\nreturn (%b,)\n",
       "line 2, column 24: %b is used in its own definition"},
      {"%a = placeholder\n%b = aten.relu.default(%c)\n%c = aten.relu.default(%a)\n"
       "return (%b,)\n",
       "line 2, column 24: %c is not defined"},
      {"%a = placeholder\n%a = placeholder\nreturn (%a,)\n",
       "line 2, column 1: duplicate node name %a"},
      {"%a = placeholder\n%b = aten.relu.default(%a)\n",
       "line 3, column 1: missing output line"},
      {"%a = placeholder\nreturn (%a,)\n# fine\n\n%b = placeholder\n",
       "line 5, column 1: unexpected content after the output line"},
      {"%a = placeholder\nreturn (%a,)\nreturn (%a,)\n",
       "line 3, column 1: unexpected content after the output line"},
      {"%a = placeholder\n%o = output(%a)\nreturn (%a,)\n",
       "line 3, column 1: unexpected content after the output line"},
      {"%a = placeholder\n%b = f.g(%a, \"abc)\nreturn (%b,)\n",
       "line 2, column 14: unterminated string"},
      {"%a = placeholder\n%b = f.g(%a, 99999999999999999999)\nreturn (%b,)\n",
       "line 2, column 14: integer literal out of range"},
      {"%a = placeholder\n%b = f.g(%a, banana)\nreturn (%b,)\n",
       "line 2, column 14: unknown value 'banana'"},
      {"%a = placeholder\n%b = f.g(%a, 1 2)\nreturn (%b,)\n",
       "line 2, column 16: expected ',' or ')'"},
      {"%a = placeholder\n%b = f.g(k=1, %a)\nreturn (%b,)\n",
       "line 2, column 15: positional argument after keyword argument"},
      {"%a = placeholder\n%b = f.g(k=1, k=2)\nreturn (%b,)\n",
       "line 2, column 15: duplicate keyword argument 'k'"},
      {"%a = placeholder {k=1, k=2}\nreturn (%a,)\n",
       "line 1, column 24: duplicate metadata key 'k'"},
      {"%a : f32[2] = placeholder {val=f32[2]}\nreturn (%a,)\n",
       "line 1, column 28: duplicate metadata key 'val'"},
      {"%w = get_attr\nreturn (%w,)\n",
       "line 1, column 14: expected '[target=...]' after get_attr"},
      {"%a = placeholder\n%b = f.g(%a) extra\nreturn (%b,)\n",
       "line 2, column 14: expected end of line"},
      {"%a = placeholder\n  oops\n", "line 2, column 3: expected a node line"},
      {"%a = placeholder\n%b = f.g(%a\nreturn (%b,)\n",
       "line 3, column 1: expected ',' or ')'"},
      {"%a = placeholder\n%b = (%a)\nreturn (%b,)\n",
       "line 2, column 6: expected an op target or a node kind"},
      {"%a = placeholder\n%b = f.g(%a, 'x\\q')\nreturn (%b,)\n",
       "unknown escape '\\q'"},
      {"%a : f32[-] = placeholder\nreturn (%a,)\n", ""},  // symbolic "-": ok
      {"%a : f32[2]/[1.5] = placeholder\nreturn (%a,)\n",
       "line 1, column 14: strides must be integers"},
      {"%a = placeholder\n%b = f.g(%a, device('gpu'))\nreturn (%b,)\n",
       "line 2, column 21: unknown device 'gpu'"},
      {"%a = placeholder\n%b = f.g(%a, torch.float99)\nreturn (%b,)\n",
       "unknown value 'torch.float99'"},
      {"graph():\ngraph():\n", "line 2, column 1: expected a node line"},
      {"", "line 1, column 1: missing output line"},
      {"%a = placeholder\n%b = f.g(%a, 1.5e)\nreturn (%b,)\n",
       "expected exponent digits"},
      {"%a = placeholder\n%b = f.g(%a, 12abc)\nreturn (%b,)\n",
       "malformed number"},
      {"%a = placeholder\n%b = f.g(%a, 1e999)\nreturn (%b,)\n",
       "float literal out of range"},
      {"%a = placeholder\n%b = f.g(%a, [1, [2)\nreturn (%b,)\n",
       "line 2, column 20: expected ',' or ']'"},
      {"% = placeholder\n", "line 1, column 2: expected a node name"},
  };
  for (const Case& c : cases) {
    absl::Status s = ParseError(c.text);
    if (c.message.empty()) {
      EXPECT_TRUE(s.ok()) << s;
      continue;
    }
    EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(TextFormatTest, GarbageNeverCrashes) {
  // Truncations of a valid text at every byte and a few byte flips: each
  // either parses or fails with a status.
  std::string text = PrintGraph(*MustParse(
      "%x : f32[1, 3]/[3, 1]@cuda:0+grad = placeholder {k=\"a\\nb\"}\n"
      "%y = aten.add.Tensor(%x, %x, alpha=[1, (2.5, None)]) {v=(f32[s0], None)}\n"
      "return (%y,)\n"));
  for (size_t n = 0; n <= text.size(); ++n) {
    (void)ParseGraph(text.substr(0, n));
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = text;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() % 128);
    (void)ParseGraph(mutated);
  }
}

// ---------------------------------------------------------------- scale

TEST(TextFormatTest, MillionNodeChainPrintsAndParses) {
  constexpr int kChain = 1000000;
  Graph g;
  Node* prev = *g.AddPlaceholder(
      "x", [] {
        Metadata m;
        m.Set("val", MetaValue::Tensor(TensorMeta::Make(ScalarType::kFloat32, {8})));
        return m;
      }());
  for (int i = 0; i < kChain; ++i) {
    prev = *g.AddCall("aten.relu.default", {Argument::Ref(prev)});
  }
  ASSERT_TRUE(g.AddOutput({Argument::Ref(prev)}).ok());
  std::string printed = PrintGraph(g);
  absl::StatusOr<std::unique_ptr<Graph>> back = ParseGraph(printed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->size(), g.size());
  EXPECT_EQ(PrintGraph(**back), printed);
  EXPECT_TRUE(GraphsStructurallyEqual(g, **back));
}

}  // namespace
}  // namespace rewire
