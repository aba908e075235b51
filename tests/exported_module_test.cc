// Tests for ExportedModule, ModelIsExported and AssertAndGetUniqueDevice
// (SEMANTICS.md §1).
#include "ir/exported_module.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ir/graph.h"
#include "ir/metadata.h"

namespace rewire {
namespace {

using ::testing::HasSubstr;

StateTensor MakeTensor(std::string name, TensorRole role, Device device) {
  StateTensor t;
  t.name = std::move(name);
  t.role = role;
  t.dtype = ScalarType::kFloat32;
  t.shape = {2};
  t.device = device;
  t.data.assign(8, '\0');
  return t;
}

ExportedModule ModuleWith(std::initializer_list<StateTensor> tensors) {
  ExportedModule m;
  for (const StateTensor& t : tensors) {
    absl::Status s = m.AddTensor(t);
    EXPECT_TRUE(s.ok()) << s;
  }
  return m;
}

TEST(ModelIsExportedTest, TrueWhenSomeNodeHasVal) {
  ExportedModule m;
  ASSERT_TRUE(m.graph().AddPlaceholder("x").ok());
  Metadata meta;
  meta.Set("val", MetaValue::Tensor(TensorMeta::Make(ScalarType::kFloat32, {2})));
  Node* x = m.graph().FindNode("x");
  ASSERT_TRUE(m.graph()
                  .AddCall("aten.relu.default", {Argument::Ref(x)}, {}, meta)
                  .ok());
  EXPECT_TRUE(ModelIsExported(m));
  EXPECT_TRUE(GraphIsExported(m.graph()));
}

TEST(ModelIsExportedTest, FalseForSymbolicallyTracedGraphWithoutVal) {
  ExportedModule m;
  Metadata meta;
  meta.Set("stack_trace", MetaValue::String("File foo.py"));
  ASSERT_TRUE(m.graph().AddPlaceholder("x", meta).ok());
  Node* x = m.graph().FindNode("x");
  ASSERT_TRUE(m.graph().AddOutput({Argument::Ref(x)}).ok());
  EXPECT_FALSE(ModelIsExported(m));
}

TEST(ModelIsExportedTest, FalseForEmptyGraph) {
  ExportedModule m;
  EXPECT_FALSE(ModelIsExported(m));
}

TEST(AssertAndGetUniqueDeviceTest, NoTensorsGivesNullopt) {
  ExportedModule m;
  absl::StatusOr<std::optional<Device>> d = AssertAndGetUniqueDevice(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->has_value());
}

TEST(AssertAndGetUniqueDeviceTest, SingleCpu) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Cpu()),
                                 MakeTensor("b", TensorRole::kBuffer, Device::Cpu())});
  auto d = AssertAndGetUniqueDevice(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(**d, Device::Cpu());
}

TEST(AssertAndGetUniqueDeviceTest, SingleCuda0) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Cuda(0)),
                                 MakeTensor("b", TensorRole::kBuffer, Device::Cuda(0))});
  auto d = AssertAndGetUniqueDevice(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(**d, Device::Cuda(0));
}

TEST(AssertAndGetUniqueDeviceTest, CpuPlusMetaCountsAsCpu) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Meta()),
                                 MakeTensor("b", TensorRole::kBuffer, Device::Cpu())});
  auto d = AssertAndGetUniqueDevice(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(**d, Device::Cpu());
}

TEST(AssertAndGetUniqueDeviceTest, Cuda0AndCuda1AreDifferentDevices) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Cuda(1)),
                                 MakeTensor("b", TensorRole::kBuffer, Device::Cuda(0))});
  auto d = AssertAndGetUniqueDevice(m);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("{cuda:0, cuda:1}"));
}

TEST(AssertAndGetUniqueDeviceTest, CpuPlusCudaErrorListsSortedDevices) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Cuda(0)),
                                 MakeTensor("b", TensorRole::kBuffer, Device::Cpu())});
  auto d = AssertAndGetUniqueDevice(m);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(),
            "AssertAndGetUniqueDevice only works with cpu or single-device "
            "CUDA modules, but got devices {cpu, cuda:0}");
}

TEST(AssertAndGetUniqueDeviceTest, ConstantsDoNotCount) {
  ExportedModule m = ModuleWith({MakeTensor("w", TensorRole::kParameter, Device::Cuda(0)),
                                 MakeTensor("c", TensorRole::kConstant, Device::Cpu())});
  auto d = AssertAndGetUniqueDevice(m);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(**d, Device::Cuda(0));
}

TEST(ExportedModuleTest, AddTensorRejectsDuplicateNameAndWrongSize) {
  ExportedModule m;
  ASSERT_TRUE(m.AddTensor(MakeTensor("w", TensorRole::kParameter, Device::Cpu())).ok());
  absl::Status dup = m.AddTensor(MakeTensor("w", TensorRole::kBuffer, Device::Cpu()));
  EXPECT_THAT(dup.message(), HasSubstr("'w'"));
  StateTensor bad = MakeTensor("v", TensorRole::kParameter, Device::Cpu());
  bad.data.resize(7);
  absl::Status size = m.AddTensor(bad);
  EXPECT_EQ(size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(size.message(), HasSubstr("'v'"));
  EXPECT_EQ(m.tensors().size(), 1u);
}

TEST(ExportedModuleTest, AddTensorRejectsAPlaceholderBoundTwice) {
  ExportedModule m;
  StateTensor a = MakeTensor("a", TensorRole::kParameter, Device::Cpu());
  a.placeholder = "p_a";
  ASSERT_TRUE(m.AddTensor(a).ok());
  StateTensor b = MakeTensor("b", TensorRole::kParameter, Device::Cpu());
  b.placeholder = "p_a";
  absl::Status s = m.AddTensor(b);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("'p_a' is already bound to tensor 'a'"));
  EXPECT_EQ(m.tensors().size(), 1u);
}

TEST(ExportedModuleTest, LookupsStayIndexedThroughEditsAndClones) {
  ExportedModule m;
  for (int i = 0; i < 1000; ++i) {
    StateTensor t = MakeTensor(absl::StrCat("t", i), TensorRole::kBuffer, Device::Cpu());
    t.placeholder = absl::StrCat("b_t", i);
    ASSERT_TRUE(m.AddTensor(std::move(t)).ok());
  }
  (*m.MutableTensorData("t500"))[0] = 'x';
  m.mutable_tensor_data(7)[1] = 'y';
  m.set_tensor_device(3, Device::Cuda(0));
  ExportedModule c = m.Clone();
  for (const ExportedModule* x : {&m, &c}) {
    ASSERT_NE(x->FindTensor("t500"), nullptr);
    EXPECT_EQ(x->FindTensor("t500")->data[0], 'x');
    EXPECT_EQ(x->TensorForPlaceholder("b_t7")->data[1], 'y');
    EXPECT_EQ(x->TensorForPlaceholder("b_t3")->device, Device::Cuda(0));
    EXPECT_EQ(x->TensorForPlaceholder("b_t999"), &x->tensors()[999]);
    EXPECT_EQ(x->FindTensor("t1000"), nullptr);
  }
  EXPECT_EQ(m.MutableTensorData("nothing"), nullptr);
}

TEST(ExportedModuleTest, ExpectedBytesRejectsNegativeAndOverflowingShapes) {
  StateTensor t = MakeTensor("t", TensorRole::kParameter, Device::Cpu());
  t.shape = {2, -1};
  EXPECT_THAT(t.ExpectedBytes().status().message(), HasSubstr("negative"));
  t.shape = {int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_THAT(t.ExpectedBytes().status().message(), HasSubstr("overflow"));
  t.shape = {int64_t{1} << 62};  // elements fit, bytes do not
  EXPECT_THAT(t.ExpectedBytes().status().message(), HasSubstr("overflow"));
  t.shape = {3, 0};
  EXPECT_EQ(*t.ExpectedBytes(), 0);
}

TEST(ExportedModuleTest, InputPlaceholdersExcludeBoundState) {
  ExportedModule m;
  ASSERT_TRUE(m.graph().AddPlaceholder("p_w").ok());
  ASSERT_TRUE(m.graph().AddPlaceholder("x").ok());
  StateTensor w = MakeTensor("w", TensorRole::kParameter, Device::Cpu());
  w.placeholder = "p_w";
  ASSERT_TRUE(m.AddTensor(w).ok());
  std::vector<Node*> inputs = m.InputPlaceholders();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0]->name(), "x");
  EXPECT_EQ(m.TensorForPlaceholder("p_w")->name, "w");
  EXPECT_EQ(m.TensorForPlaceholder("x"), nullptr);
}

TEST(ExportedModuleTest, CloneIsDeepAndIndependent) {
  ExportedModule m;
  ASSERT_TRUE(m.graph().AddPlaceholder("x").ok());
  ASSERT_TRUE(m.AddTensor(MakeTensor("w", TensorRole::kParameter, Device::Cpu())).ok());
  m.set_mode(ModuleMode::kEval);
  m.set_train_eval_allowed(true);
  ExportedModule c = m.Clone();
  EXPECT_NE(&c.graph(), &m.graph());
  EXPECT_EQ(c.graph().size(), 1u);
  EXPECT_EQ(c.tensors(), m.tensors());
  EXPECT_EQ(c.mode(), ModuleMode::kEval);
  EXPECT_TRUE(c.train_eval_allowed());
  (*c.MutableTensorData("w"))[0] = 'x';
  ASSERT_TRUE(c.graph().AddPlaceholder("y").ok());
  EXPECT_EQ(m.FindTensor("w")->data[0], '\0');
  EXPECT_EQ(m.graph().size(), 1u);
}

}  // namespace
}  // namespace rewire
