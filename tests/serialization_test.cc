// Tests for ir/serialization: exact round trips, verification of hostile
// input (every error names the node or tensor), crash-freedom on truncated
// and corrupted bytes, a million-node chain without deep recursion, and
// atomic saving.
#include "ir/serialization.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ir/exported_module.h"
#include "ir/graph.h"
#include "ir/metadata.h"
#include "proto/graph.pb.h"
#include "tests/test_files.h"

namespace rewire {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

Metadata Val(std::vector<int64_t> sizes) {
  Metadata m;
  m.Set("val", MetaValue::Tensor(TensorMeta::Make(ScalarType::kFloat32,
                                                  std::move(sizes))));
  return m;
}

Node* Must(absl::StatusOr<Node*> n) {
  EXPECT_TRUE(n.ok()) << n.status();
  return n.ok() ? *n : nullptr;
}

// A module exercising every argument kind, every metadata kind and every
// tensor role.
ExportedModule SampleModule() {
  ExportedModule m;
  Graph& g = m.graph();
  Metadata xmeta;
  TensorMeta sym;
  sym.dtype = ScalarType::kFloat32;
  sym.shape = {Dim{0, "s0"}, Dim{3, ""}};
  sym.device = Device::Cpu();
  xmeta.Set("val", MetaValue::Tensor(sym));  // no strides recorded
  Node* x = Must(g.AddPlaceholder("x", xmeta));
  Node* w = Must(g.AddPlaceholder("p_w", Val({2, 3})));
  Node* rm = Must(g.AddPlaceholder("b_running_mean", Val({3})));
  Node* d = Must(g.AddCall(
      "aten.dropout.default",
      {Argument::Ref(x), Argument::Double(0.1), Argument::Bool(true)}, {},
      Val({2, 3})));
  Node* a = Must(g.AddCall("aten.add.Tensor",
                           {Argument::Ref(d), Argument::Ref(w)},
                           {Kwarg{"alpha", Argument::Int(2)}}, Val({2, 3})));
  Node* mul = Must(g.AddCall("aten.mul.Tensor",
                             {Argument::Ref(a), Argument::Double(-0.0)}, {},
                             Val({2, 3})));
  Node* cat = Must(g.AddCall(
      "aten.cat.default",
      {Argument::List({Argument::Ref(mul), Argument::Ref(a)}),
       Argument::Int(0)},
      {}, Val({4, 3})));
  Node* e = Must(g.AddCall(
      "aten.empty_like.default", {Argument::Ref(cat)},
      {Kwarg{"dtype", Argument::Dtype(ScalarType::kBFloat16)},
       Kwarg{"layout", Argument::LayoutValue(Layout::kStrided)},
       Kwarg{"device", Argument::DeviceValue(Device::Cuda(1))},
       Kwarg{"pin_memory", Argument::None()},
       Kwarg{"memory_format",
             Argument::MemoryFormatValue(MemoryFormat::kChannelsLast)}}));
  Metadata bnmeta;
  MetaValue::TensorList outs;
  outs.push_back(TensorMeta::Make(ScalarType::kFloat32, {4, 3}));
  outs.push_back(std::nullopt);
  TensorMeta scalar = TensorMeta::Make(ScalarType::kFloat64, {});
  scalar.requires_grad = true;
  outs.push_back(scalar);
  bnmeta.Set("val", MetaValue::Tensors(outs));
  bnmeta.Set("stack_trace", MetaValue::String("File \"m.py\", line 3\n  bn(x)"));
  bnmeta.Set("seq_nr", MetaValue::Int(-7));
  bnmeta.Set("scale", MetaValue::Double(1e-300));
  bnmeta.Set("flag", MetaValue::Bool(false));
  bnmeta.Set("nothing", MetaValue::None());
  Node* bn = Must(g.AddCall(
      "aten.native_batch_norm.default",
      {Argument::Ref(cat), Argument::None(), Argument::None(),
       Argument::Ref(rm), Argument::None(), Argument::Bool(true),
       Argument::Double(0.1), Argument::Double(1e-5)},
      {}, bnmeta));
  Node* gi = Must(g.AddCall("getitem", {Argument::Ref(bn), Argument::Int(0)}));
  Node* opaque = Must(g.AddCall(
      "custom.op.default",
      {Argument::String("mod\xc3\xa9"),
       Argument::List({Argument::List({Argument::Int(1)}), Argument::List({})})},
      {}));
  Must(g.AddOutput({Argument::List(
      {Argument::Ref(gi), Argument::Ref(e), Argument::Ref(opaque)})}));

  StateTensor pw;
  pw.name = "w";
  pw.role = TensorRole::kParameter;
  pw.shape = {2, 3};
  pw.requires_grad = true;
  pw.placeholder = "p_w";
  for (int i = 0; i < 24; ++i) pw.data.push_back(static_cast<char>(i * 11));
  EXPECT_TRUE(m.AddTensor(pw).ok());
  StateTensor b;
  b.name = "running_mean";
  b.role = TensorRole::kBuffer;
  b.dtype = ScalarType::kFloat64;
  b.shape = {3};
  b.placeholder = "b_running_mean";
  b.data.assign(24, '\x7f');
  EXPECT_TRUE(m.AddTensor(b).ok());
  StateTensor c;
  c.name = "const0";
  c.role = TensorRole::kConstant;
  c.dtype = ScalarType::kBool;
  c.shape = {};
  c.data = std::string(1, '\x01');
  EXPECT_TRUE(m.AddTensor(c).ok());
  m.set_mode(ModuleMode::kEval);
  return m;
}

std::string MustSerialize(const ExportedModule& m, Format f) {
  absl::StatusOr<std::string> s = SerializeModule(m, f);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::string();
}

// A structural fingerprint independent of the serializer under test.
std::string Describe(const ExportedModule& m) {
  std::string out;
  for (const Node* n : m.graph()) {
    absl::StrAppend(&out, n->DebugString(), " meta:", n->meta().size(), "\n");
  }
  for (const StateTensor& t : m.tensors()) {
    absl::StrAppend(&out, t.name, ":", t.data.size(), ":", t.placeholder, "\n");
  }
  return out;
}

proto::GraphModule SampleProto() { return ModuleToProto(SampleModule()); }

int NodeIndex(const proto::GraphModule& p, const std::string& name) {
  for (int i = 0; i < p.graph().nodes_size(); ++i) {
    if (p.graph().nodes(i).name() == name) return i;
  }
  ADD_FAILURE() << "no node " << name;
  return 0;
}

proto::Node* MutableNode(proto::GraphModule* p, const std::string& name) {
  return p->mutable_graph()->mutable_nodes(NodeIndex(*p, name));
}

absl::Status Load(const proto::GraphModule& p, const LoadOptions& o = {}) {
  return ModuleFromProto(p, o).status();
}

// ------------------------------------------------------------ round trips

TEST(SerializationRoundTripTest, BinaryLoadSaveIsBitIdentical) {
  ExportedModule m = SampleModule();
  std::string bytes = MustSerialize(m, Format::kBinaryProto);
  absl::StatusOr<ExportedModule> back =
      LoadModuleFromBytes(bytes, Format::kBinaryProto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(MustSerialize(*back, Format::kBinaryProto), bytes);
  EXPECT_EQ(Describe(*back), Describe(m));
  EXPECT_EQ(back->tensors(), m.tensors());
  EXPECT_EQ(back->mode(), ModuleMode::kEval);
  for (const Node* n : m.graph()) {
    const Node* b = back->graph().FindNode(n->name());
    ASSERT_NE(b, nullptr) << n->name();
    EXPECT_EQ(b->meta(), n->meta()) << n->name();
    EXPECT_EQ(b->op(), n->op());
  }
}

TEST(SerializationRoundTripTest, TextLoadSaveIsBitIdenticalAndMatchesBinary) {
  ExportedModule m = SampleModule();
  std::string text = MustSerialize(m, Format::kTextProto);
  absl::StatusOr<ExportedModule> back =
      LoadModuleFromBytes(text, Format::kTextProto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(MustSerialize(*back, Format::kTextProto), text);
  EXPECT_EQ(MustSerialize(*back, Format::kBinaryProto),
            MustSerialize(m, Format::kBinaryProto));
}

TEST(SerializationRoundTripTest, KeepsSymbolicDimsAbsentStridesAndNegZero) {
  absl::StatusOr<ExportedModule> back = LoadModuleFromBytes(
      MustSerialize(SampleModule(), Format::kBinaryProto),
      Format::kBinaryProto);
  ASSERT_TRUE(back.ok()) << back.status();
  const TensorMeta& x = back->graph().FindNode("x")->meta().val()->tensor();
  EXPECT_EQ(x.shape[0].symbol.str(), "s0");
  EXPECT_TRUE(x.strides.empty());
  const TensorMeta& w = back->graph().FindNode("p_w")->meta().val()->tensor();
  EXPECT_EQ(w.strides, (StrideVector{3, 1}));
  const Argument& z = back->graph().FindNode("mul")->args()[1];
  EXPECT_TRUE(std::signbit(z.as_double()));
}

TEST(SerializationRoundTripTest, ProtoBuiltByHandLoads) {
  // The checked-in text file is what an exporter writes: it must load.
  absl::StatusOr<ExportedModule> m =
      LoadModuleFromFile("tests/testdata/serialization_small.pbtxt");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(ModelIsExported(*m));
  EXPECT_EQ(m->graph().size(), 4u);
  EXPECT_EQ(m->mode(), ModuleMode::kTrain);  // MODE_UNSPECIFIED reads as train
  ASSERT_NE(m->TensorForPlaceholder("p_weight"), nullptr);
  EXPECT_EQ(m->InputPlaceholders().size(), 1u);
}

TEST(SerializationRoundTripTest, NonUtf8StringIsRefusedAtSaveNamingNode) {
  ExportedModule m = SampleModule();
  Node* op = m.graph().FindNode("op");
  ASSERT_TRUE(m.graph()
                  .SetArguments(op, {Argument::String("bad\xff")}, {})
                  .ok());
  absl::Status s = SerializeModule(m, Format::kBinaryProto).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("node 'op'"), HasSubstr("UTF-8")));
}

// ------------------------------------------------------------ bad input

TEST(SerializationVerifyTest, NewerIrVersionIsRefusedNamingBothVersions) {
  proto::GraphModule p = SampleProto();
  p.set_ir_version(7);
  absl::Status s = Load(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("ir_version 7"), HasSubstr("1")));
}

TEST(SerializationVerifyTest, MissingIrVersionIsRefused) {
  proto::GraphModule p = SampleProto();
  p.clear_ir_version();
  EXPECT_THAT(Load(p).message(), HasSubstr("no ir_version"));
}

TEST(SerializationVerifyTest, DanglingReferenceNamesNodeAndTarget) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "add")->mutable_args(1)->set_node("ghost");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("'ghost'"),
                    HasSubstr("never defined")));
}

TEST(SerializationVerifyTest, ForwardReferenceIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "dropout")->mutable_args(0)->set_node("mul");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'dropout'"), HasSubstr("forward reference"),
                    HasSubstr("'mul'")));
}

TEST(SerializationVerifyTest, CycleIsAForwardReference) {
  proto::GraphModule p = SampleProto();
  // dropout <- add <- dropout
  MutableNode(&p, "dropout")->mutable_args(0)->set_node("add");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'dropout'"), HasSubstr("forward reference"),
                    HasSubstr("'add'")));
}

TEST(SerializationVerifyTest, SelfLoopIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "add")->mutable_args(0)->set_node("add");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("itself")));
}

TEST(SerializationVerifyTest, ReferenceInsideNestedListIsChecked) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "cat")->mutable_args(0)->mutable_list()->mutable_items(1)
      ->set_node("getitem");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'cat'"), HasSubstr("forward reference")));
}

TEST(SerializationVerifyTest, DuplicateNodeNameIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "mul")->set_name("add");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("duplicate node name 'add'")));
}

TEST(SerializationVerifyTest, UnknownOpKindIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "mul")->set_op(static_cast<proto::OpKind>(42));
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'mul'"), HasSubstr("unknown op kind 42")));
  MutableNode(&p, "mul")->set_op(proto::OP_KIND_UNSPECIFIED);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'mul'"), HasSubstr("op kind is missing")));
}

TEST(SerializationVerifyTest, MissingOutputIsRefused) {
  proto::GraphModule p = SampleProto();
  p.mutable_graph()->mutable_nodes()->RemoveLast();
  EXPECT_THAT(Load(p).message(), HasSubstr("no output node"));
  p.mutable_graph()->clear_nodes();
  EXPECT_THAT(Load(p).message(), HasSubstr("no output node"));
}

TEST(SerializationVerifyTest, OutputNotLastIsRefused) {
  proto::GraphModule p = SampleProto();
  auto* nodes = p.mutable_graph()->mutable_nodes();
  nodes->SwapElements(nodes->size() - 1, nodes->size() - 2);
  // The swapped output now precedes a node and references a later one; the
  // order problem is reported at the output, whichever check fires first.
  absl::Status s = Load(p);
  EXPECT_THAT(s.message(), HasSubstr("node 'output'"));
}

TEST(SerializationVerifyTest, SecondOutputIsRefused) {
  proto::GraphModule p = SampleProto();
  *p.mutable_graph()->add_nodes() = p.graph().nodes(p.graph().nodes_size() - 1);
  p.mutable_graph()->mutable_nodes(p.graph().nodes_size() - 1)
      ->set_name("output2");
  absl::Status s = Load(p);
  EXPECT_THAT(s.message(), HasSubstr("output"));
  EXPECT_FALSE(s.ok());
}

TEST(SerializationVerifyTest, OutputFollowedByNodeIsRefused) {
  proto::GraphModule p = SampleProto();
  proto::Node* extra = p.mutable_graph()->add_nodes();
  extra->set_name("late");
  extra->set_op(proto::OP_KIND_CALL_FUNCTION);
  extra->set_target("aten.relu.default");
  extra->add_args()->set_node("x");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'output'"), HasSubstr("not last")));
}

TEST(SerializationVerifyTest, PlaceholderAfterComputeNodeIsRefused) {
  proto::GraphModule p = SampleProto();
  proto::Node ph = p.graph().nodes(0);
  ph.set_name("late_input");
  ph.set_target("late_input");
  auto* nodes = p.mutable_graph()->mutable_nodes();
  *nodes->Add() = ph;
  // Move it before the output: [..., output, ph] -> [..., ph, output].
  nodes->SwapElements(nodes->size() - 1, nodes->size() - 2);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'late_input'"),
                    HasSubstr("placeholder after non-placeholder")));
}

TEST(SerializationVerifyTest, WrongArityAgainstSchemaNamesNode) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "dropout")->add_args()->set_int_value(1);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("%dropout:"), HasSubstr("positional")));
  p = SampleProto();
  MutableNode(&p, "dropout")->mutable_args()->RemoveLast();
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("%dropout:"), HasSubstr("missing")));
}

TEST(SerializationVerifyTest, WrongLiteralTypeAgainstSchemaNamesArgument) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "dropout")->mutable_args(2)->set_string_value("yes");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("%dropout:"), HasSubstr("'train'"),
                    HasSubstr("bool")));
  p = SampleProto();
  MutableNode(&p, "add")->mutable_kwargs(0)->set_name("beta");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("%add:"), HasSubstr("'beta'")));
}

TEST(SerializationVerifyTest, GetitemWithNonIntIndexIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "getitem")->mutable_args(1)->set_double_value(0.0);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("%getitem:"), HasSubstr("takes exactly (node, int)")));
}

TEST(SerializationVerifyTest, ArgumentWithoutValueIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "dropout")->mutable_args(1)->Clear();
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'dropout'"), HasSubstr("has no value")));
}

TEST(SerializationVerifyTest, BadLiteralEnumsAndDevicesAreRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "empty_like")->mutable_kwargs(0)->mutable_value()->set_dtype(
      static_cast<proto::Dtype>(99));
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'empty_like'"), HasSubstr("dtype 99")));
  p = SampleProto();
  MutableNode(&p, "empty_like")->mutable_kwargs(2)->mutable_value()->set_device(
      "tpu:0");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'empty_like'"), HasSubstr("tpu:0")));
}

TEST(SerializationVerifyTest, NegativeDimInValIsRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "add")->mutable_meta(0)->mutable_value()->mutable_tensor()
      ->mutable_shape(1)->set_size(-3);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("negative")));
}

TEST(SerializationVerifyTest, OverflowingValShapeIsRefused) {
  proto::GraphModule p = SampleProto();
  auto* t = MutableNode(&p, "add")->mutable_meta(0)->mutable_value()
                ->mutable_tensor();
  t->mutable_shape(0)->set_size(int64_t{1} << 40);
  t->mutable_shape(1)->set_size(int64_t{1} << 40);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("overflow")));
}

TEST(SerializationVerifyTest, RankOverLimitIsRefused) {
  proto::GraphModule p = SampleProto();
  auto* t = MutableNode(&p, "add")->mutable_meta(0)->mutable_value()
                ->mutable_tensor();
  t->set_has_strides(false);
  t->clear_strides();
  for (int i = 0; i < 70; ++i) t->add_shape()->set_size(1);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("rank 72")));
  LoadOptions loose;
  loose.max_dims = 100;
  EXPECT_TRUE(Load(p, loose).ok());
}

TEST(SerializationVerifyTest, StridesDisagreeingWithRankAreRefused) {
  proto::GraphModule p = SampleProto();
  MutableNode(&p, "add")->mutable_meta(0)->mutable_value()->mutable_tensor()
      ->add_strides(1);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'add'"), HasSubstr("strides")));
}

TEST(SerializationVerifyTest, TensorDataSizeMismatchNamesTensor) {
  proto::GraphModule p = SampleProto();
  p.mutable_tensors(0)->mutable_data()->pop_back();
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("23 bytes")));
}

TEST(SerializationVerifyTest, TensorWithAbsurdShapeIsRefused) {
  proto::GraphModule p = SampleProto();
  p.mutable_tensors(0)->set_shape(0, -2);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("negative")));
  p = SampleProto();
  p.mutable_tensors(0)->set_shape(0, int64_t{1} << 62);
  p.mutable_tensors(0)->set_shape(1, 4);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("overflow")));
  p = SampleProto();
  for (int i = 0; i < 65; ++i) p.mutable_tensors(0)->add_shape(1);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("rank")));
}

TEST(SerializationVerifyTest, DuplicateTensorNameIsRefused) {
  proto::GraphModule p = SampleProto();
  p.mutable_tensors(1)->set_name("w");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("duplicate")));
}

TEST(SerializationVerifyTest, BindingToMissingPlaceholderIsRefused) {
  proto::GraphModule p = SampleProto();
  p.mutable_tensors(0)->set_placeholder("p_nothing");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("'p_nothing'")));
  p = SampleProto();
  p.mutable_tensors(0)->set_placeholder("add");  // exists, not a placeholder
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'w'"), HasSubstr("not a placeholder")));
  p = SampleProto();
  p.mutable_tensors(1)->set_placeholder("p_w");
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'running_mean'"),
                    HasSubstr("already bound")));
}

TEST(SerializationVerifyTest, UnspecifiedEnumsInTensorsAreRefused) {
  proto::GraphModule p = SampleProto();
  p.mutable_tensors(2)->set_role(proto::TENSOR_ROLE_UNSPECIFIED);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'const0'"), HasSubstr("role")));
  p = SampleProto();
  p.mutable_tensors(2)->set_dtype(proto::DTYPE_UNSPECIFIED);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("tensor 'const0'"), HasSubstr("dtype")));
}

proto::Argument NestedList(int depth) {
  proto::Argument a;
  a.set_int_value(1);
  for (int i = 0; i < depth; ++i) {
    proto::Argument outer;
    *outer.mutable_list()->add_items() = std::move(a);
    a = std::move(outer);
  }
  return a;
}

TEST(SerializationVerifyTest, ListNestingDeeperThanLimitIsRefused) {
  proto::GraphModule p = SampleProto();
  *MutableNode(&p, "op")->add_args() = NestedList(33);
  EXPECT_THAT(Load(p).message(),
              AllOf(HasSubstr("node 'op'"), HasSubstr("limit of 32")));
  p = SampleProto();
  *MutableNode(&p, "op")->add_args() = NestedList(32);
  EXPECT_TRUE(Load(p).ok()) << Load(p);
}

TEST(SerializationVerifyTest, BinaryNestingBeyondProtobufLimitIsAnError) {
  proto::GraphModule p = SampleProto();
  *MutableNode(&p, "op")->add_args() = NestedList(200);
  std::string bytes;
  ASSERT_TRUE(p.SerializeToString(&bytes));
  absl::Status s = LoadModuleFromBytes(bytes, Format::kBinaryProto).status();
  EXPECT_THAT(s.message(), HasSubstr("malformed"));
}

TEST(SerializationVerifyTest, LimitsOnNodesAndInputBytesAreEnforced) {
  LoadOptions o;
  o.max_nodes = 3;
  absl::Status s = Load(SampleProto(), o);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("limit of 3"));
  LoadOptions small;
  small.max_input_bytes = 10;
  s = LoadModuleFromBytes(MustSerialize(SampleModule(), Format::kBinaryProto),
                          Format::kBinaryProto, small)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  LoadOptions few_bytes;
  few_bytes.max_total_tensor_bytes = 30;
  s = Load(SampleProto(), few_bytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("tensor 'running_mean'"));
}

TEST(SerializationVerifyTest, TextParseErrorIsCapturedWithPosition) {
  absl::Status s =
      LoadModuleFromBytes("ir_version: 1\ngraph { nodes { bogus: 3 } }",
                          Format::kTextProto)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("line 2"), HasSubstr("bogus")));
}

// ------------------------------------------------------------ robustness

TEST(SerializationRobustnessTest, EveryTruncationOfBinaryFailsCleanly) {
  const std::string bytes = MustSerialize(SampleModule(), Format::kBinaryProto);
  ASSERT_GT(bytes.size(), 100u);
  int loaded = 0;
  for (size_t len = 0; len < bytes.size(); ++len) {
    absl::StatusOr<ExportedModule> m = LoadModuleFromBytes(
        absl::string_view(bytes.data(), len), Format::kBinaryProto);
    if (m.ok()) ++loaded;
  }
  // A cut inside the tensors can still leave a valid, smaller module; a cut
  // in the graph never does (the output node is last in the graph message).
  EXPECT_LT(loaded, static_cast<int>(bytes.size()) / 2);
}

TEST(SerializationRobustnessTest, EveryTruncationOfTextFailsCleanly) {
  const std::string text = MustSerialize(SampleModule(), Format::kTextProto);
  ASSERT_TRUE(LoadModuleFromBytes(text, Format::kTextProto).ok());
  int loaded = 0;
  for (size_t len = 0; len < text.size(); ++len) {
    absl::StatusOr<ExportedModule> m =
        LoadModuleFromBytes(absl::string_view(text.data(), len), Format::kTextProto);
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument)
          << "length " << len << ": " << m.status();
      EXPECT_FALSE(m.status().message().empty()) << "length " << len;
      continue;
    }
    // A cut between whole fields can still be a valid, smaller module
    // (trailing whitespace, or fewer tensors): it must save and reload.
    ++loaded;
    const std::string again = MustSerialize(*m, Format::kTextProto);
    absl::StatusOr<ExportedModule> re = LoadModuleFromBytes(again, Format::kTextProto);
    ASSERT_TRUE(re.ok()) << "length " << len << ": " << re.status();
    EXPECT_EQ(MustSerialize(*re, Format::kTextProto), again) << "length " << len;
  }
  // Most cuts leave a module without its graph's end or a tensor's data.
  EXPECT_LT(loaded, static_cast<int>(text.size()) / 2);
}

TEST(SerializationRobustnessTest, RandomBitFlipsNeverCrash) {
  const std::string bytes = MustSerialize(SampleModule(), Format::kBinaryProto);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pos(0, bytes.size() - 1);
  std::uniform_int_distribution<int> bit(0, 7);
  std::uniform_int_distribution<int> count(1, 4);
  int ok = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    std::string mutated = bytes;
    for (int k = count(rng); k > 0; --k) {
      mutated[pos(rng)] ^= static_cast<char>(1 << bit(rng));
    }
    absl::StatusOr<ExportedModule> m =
        LoadModuleFromBytes(mutated, Format::kBinaryProto);
    if (m.ok()) {
      ++ok;
      // Whatever loads must also save and reload identically.
      std::string again = MustSerialize(*m, Format::kBinaryProto);
      absl::StatusOr<ExportedModule> m2 =
          LoadModuleFromBytes(again, Format::kBinaryProto);
      ASSERT_TRUE(m2.ok()) << m2.status();
      EXPECT_EQ(MustSerialize(*m2, Format::kBinaryProto), again);
    }
  }
  RecordProperty("loaded_after_flips", ok);
}

// A placeholder, a million relus and the output, each with a "val": builds,
// saves, loads and saves again identically, with no recursion over the chain.
TEST(SerializationScaleTest, MillionNodeChainRoundTrips) {
  constexpr int kChain = 1000000;
  ExportedModule m;
  Graph& g = m.graph();
  const Metadata val = Val({8, 16});
  Node* prev = Must(g.AddPlaceholder("x", val));
  for (int i = 0; i < kChain; ++i) {
    prev = Must(g.AddCall("aten.relu.default", {Argument::Ref(prev)}, {}, val));
  }
  Must(g.AddOutput({Argument::Ref(prev)}));
  ASSERT_EQ(g.size(), static_cast<size_t>(kChain + 2));
  std::string bytes = MustSerialize(m, Format::kBinaryProto);
  absl::StatusOr<ExportedModule> back =
      LoadModuleFromBytes(bytes, Format::kBinaryProto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->graph().size(), g.size());
  EXPECT_TRUE(MustSerialize(*back, Format::kBinaryProto) == bytes);
}

// ------------------------------------------------------------ files

using testing_files::ListDir;
using testing_files::ReadAll;
using testing_files::TempDir;

TEST(SerializationFileTest, SaveThenLoadBothFormats) {
  const std::string dir = TempDir() + "/both";
  mkdir(dir.c_str(), 0755);
  ExportedModule m = SampleModule();
  for (const char* name : {"/m.pb", "/m.pbtxt"}) {
    const std::string path = dir + name;
    ASSERT_TRUE(SaveModuleToFile(m, path).ok());
    absl::StatusOr<ExportedModule> back = LoadModuleFromFile(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(MustSerialize(*back, Format::kBinaryProto),
              MustSerialize(m, Format::kBinaryProto));
  }
  EXPECT_EQ(ListDir(dir).size(), 2u);  // no temporaries left behind
}

TEST(SerializationFileTest, SuccessfulSaveReplacesExistingFile) {
  const std::string dir = TempDir() + "/replace";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/m.pb";
  { std::ofstream(path) << "old contents"; }
  ASSERT_TRUE(SaveModuleToFile(SampleModule(), path).ok());
  EXPECT_EQ(ReadAll(path), MustSerialize(SampleModule(), Format::kBinaryProto));
  EXPECT_EQ(ListDir(dir).size(), 1u);
}

TEST(SerializationFileTest, SaveIntoMissingDirectoryFails) {
  const std::string path = TempDir() + "/no/such/dir/m.pb";
  absl::Status s = SaveModuleToFile(SampleModule(), path);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(path));
}

TEST(SerializationFileTest, FailedSaveLeavesDestinationUntouched) {
  // The destination is a non-empty directory, so the final rename fails after
  // the temporary was written: nothing may be clobbered or left behind.
  const std::string dir = TempDir() + "/untouched";
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/m.pb";
  mkdir(path.c_str(), 0755);
  { std::ofstream(path + "/keep") << "precious"; }
  absl::Status s = SaveModuleToFile(SampleModule(), path);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("rename"));
  EXPECT_EQ(ReadAll(path + "/keep"), "precious");
  EXPECT_EQ(ListDir(dir), std::vector<std::string>{"m.pb"});
}

TEST(SerializationFileTest, UnknownExtensionIsRefused) {
  const std::string path = TempDir() + "/m.json";
  EXPECT_THAT(SaveModuleToFile(SampleModule(), path).message(),
              HasSubstr(".pbtxt"));
  EXPECT_THAT(LoadModuleFromFile(path).status().message(),
              HasSubstr(".pbtxt"));
}

TEST(SerializationFileTest, MissingFileIsNotFound) {
  absl::Status s = LoadModuleFromFile(TempDir() + "/absent.pb").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("absent.pb"));
}

TEST(SerializationFileTest, LoadErrorsNameTheFile) {
  const std::string path = TempDir() + "/corrupt.pb";
  { std::ofstream(path, std::ios::binary) << "\xff\xff\xff"; }
  absl::Status s = LoadModuleFromFile(path).status();
  EXPECT_THAT(s.message(), AllOf(HasSubstr("corrupt.pb"), HasSubstr("malformed")));
}

// A FIFO with no writer or /dev/zero as a model would block forever or read
// without end; every format's loader reads through ReadFileToString, which
// refuses anything but a regular file before reading a byte.
TEST(SerializationFileTest, FifosAndDevicesAreRefusedInEveryFormat) {
  const std::string dir = TempDir() + "/not_regular";
  mkdir(dir.c_str(), 0755);
  for (const char* ext : {".pb", ".pbtxt", ".txt", ".rwir"}) {
    SCOPED_TRACE(ext);
    const std::string fifo = dir + "/pipe" + ext;
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    absl::Status s = LoadModuleFromFile(fifo).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), AllOf(HasSubstr(fifo), HasSubstr("FIFO")));
    const std::string zero = dir + "/zero" + ext;
    ASSERT_EQ(symlink("/dev/zero", zero.c_str()), 0);
    s = LoadModuleFromFile(zero).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), AllOf(HasSubstr(zero), HasSubstr("device")));
  }
}

}  // namespace
}  // namespace rewire
