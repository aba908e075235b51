#include "rewrite/pattern_tracer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/schema.h"
#include "ir/status_macros.h"

namespace rewire {
namespace {

const TensorMeta* TensorVal(const Node* n) {
  if (n == nullptr) return nullptr;
  const MetaValue* v = n->meta().val();
  return v != nullptr && v->is_tensor() ? &v->tensor() : nullptr;
}

// The first tensor-valued node argument's "val": the shape of elementwise and
// identity-like ops (dropout, clone, alias, copy_, the make_fx chain).
std::optional<TensorMeta> FirstTensor(const std::vector<Argument>& args) {
  for (const Argument& a : args) {
    if (a.is_node()) {
      if (const TensorMeta* t = TensorVal(a.node())) return *t;
    }
  }
  return std::nullopt;
}

// Per-channel statistics of batch norm: dim 1 of the input (dim 0 for 1-d).
TensorMeta ChannelStats(const TensorMeta& x, bool empty) {
  int64_t c = 1;
  if (x.shape.size() >= 2) {
    c = x.shape[1].value;
  } else if (x.shape.size() == 1) {
    c = x.shape[0].value;
  }
  TensorMeta t = TensorMeta::Make(x.dtype, {empty ? 0 : c}, x.device);
  if (x.shape.size() >= 2 && x.shape[1].is_symbolic() && !empty) {
    t.shape[0] = x.shape[1];
    t.strides = {1};
  }
  return t;
}

// "val" of a call by the shape rules of SEMANTICS.md §2.
MetaValue InferVal(absl::string_view target, const std::vector<Argument>& args) {
  std::optional<TensorMeta> x = FirstTensor(args);
  if (!x.has_value()) return MetaValue::None();
  if (target == "aten.native_dropout.default") {
    TensorMeta mask = *x;
    mask.dtype = ScalarType::kBool;
    mask.requires_grad = false;
    return MetaValue::Tensors({*x, mask});
  }
  if (target == "aten._native_batch_norm_legit.default" ||
      target == "aten._native_batch_norm_legit.no_stats" ||
      target == "aten.native_batch_norm.default") {
    TensorMeta c = ChannelStats(*x, false);
    return MetaValue::Tensors({*x, c, c});
  }
  if (target == "aten._native_batch_norm_legit_no_training.default") {
    TensorMeta e = ChannelStats(*x, true);
    return MetaValue::Tensors({*x, e, e});
  }
  if (target == "aten.cudnn_batch_norm.default") {
    TensorMeta c = ChannelStats(*x, false);
    TensorMeta reserve = TensorMeta::Make(ScalarType::kUInt8, {0}, x->device);
    return MetaValue::Tensors({*x, c, c, reserve});
  }
  if (target == "aten._native_batch_norm_legit_functional.default") {
    TensorMeta c = ChannelStats(*x, false);
    return MetaValue::Tensors({*x, c, c, c, c});
  }
  return MetaValue::Tensor(*x);
}

Argument Ref(TracedTensor v) { return Argument::Ref(v.node()); }
Argument OptRef(const std::optional<TracedTensor>& v) {
  return v.has_value() ? Argument::Ref(v->node()) : Argument::None();
}

}  // namespace

const TensorMeta* TracedTensor::meta() const { return TensorVal(node_); }

PatternTracer::PatternTracer(Dialect dialect, Device device)
    : dialect_(dialect), device_(device), graph_(std::make_unique<Graph>()) {}

void PatternTracer::RecordError(absl::Status s) {
  if (status_.ok()) status_ = std::move(s);
}

TracedTensor PatternTracer::Input(absl::string_view name, TensorMeta example) {
  if (finished_) {
    RecordError(absl::FailedPreconditionError("tracer already finished"));
    return TracedTensor();
  }
  if (device_.is_cuda()) example.device = device_;
  Metadata meta;
  meta.Set("val", MetaValue::Tensor(std::move(example)));
  // Placeholders must precede every call: insert before the first non-placeholder.
  Node* first_call = nullptr;
  for (Node* n : *graph_) {
    if (!n->is_placeholder()) {
      first_call = n;
      break;
    }
  }
  Graph::NodeSpec spec;
  spec.op = OpKind::kPlaceholder;
  spec.target = std::string(name);
  spec.name = std::string(name);
  spec.meta = std::move(meta);
  absl::StatusOr<Node*> made = first_call != nullptr
                                   ? graph_->InsertBefore(first_call, std::move(spec))
                                   : graph_->Append(std::move(spec));
  if (!made.ok()) {
    RecordError(absl::InvalidArgumentError(absl::StrCat(
        "pattern input '", name, "': ", made.status().message())));
    return TracedTensor();
  }
  return TracedTensor(*made);
}

TracedTensor PatternTracer::Call(absl::string_view target, std::vector<Argument> args,
                          std::vector<Kwarg> kwargs) {
  if (!status_.ok()) return TracedTensor();
  if (finished_) {
    RecordError(absl::FailedPreconditionError("tracer already finished"));
    return TracedTensor();
  }
  for (const Argument& a : args) {
    bool bad = false;
    a.ForEachNode([&](Node* n) { bad = bad || n == nullptr; });
    if (bad) {
      RecordError(absl::InvalidArgumentError(
          absl::StrCat("call of ", target, " with an invalid value")));
      return TracedTensor();
    }
  }
  if (const OpSchema* schema = SchemaRegistry::Global().Find(target)) {
    absl::StatusOr<NormalizedArgs> norm = NormalizeArguments(*schema, args, kwargs);
    if (!norm.ok()) {
      RecordError(absl::InvalidArgumentError(absl::StrCat(
          "pattern call of ", target, ": ", norm.status().message())));
      return TracedTensor();
    }
  }
  Metadata meta;
  MetaValue val = InferVal(target, args);
  if (!val.is_none()) meta.Set("val", std::move(val));
  absl::StatusOr<Node*> made =
      graph_->AddCall(target, std::move(args), std::move(kwargs), std::move(meta));
  if (!made.ok()) {
    RecordError(absl::InvalidArgumentError(absl::StrCat(
        "pattern call of ", target, ": ", made.status().message())));
    return TracedTensor();
  }
  return TracedTensor(*made);
}

TracedTensor PatternTracer::GetItem(TracedTensor tuple, int index) {
  if (!status_.ok()) return TracedTensor();
  if (!tuple.valid()) {
    RecordError(absl::InvalidArgumentError("getitem of an invalid value"));
    return TracedTensor();
  }
  Metadata meta;
  const MetaValue* v = tuple.node()->meta().val();
  if (v != nullptr && v->is_tensor_list()) {
    if (index < 0 || index >= static_cast<int>(v->tensors().size())) {
      RecordError(absl::InvalidArgumentError(
          absl::StrCat("getitem ", index, " of %", tuple.node()->name(),
                       " with ", v->tensors().size(), " outputs")));
      return TracedTensor();
    }
    if (v->tensors()[index].has_value()) {
      meta.Set("val", MetaValue::Tensor(*v->tensors()[index]));
    }
  }
  absl::StatusOr<Node*> made = graph_->AddCall(
      "getitem", {Argument::Ref(tuple.node()), Argument::Int(index)}, {},
      std::move(meta));
  if (!made.ok()) {
    RecordError(absl::InvalidArgumentError(
        absl::StrCat("getitem: ", made.status().message())));
    return TracedTensor();
  }
  return TracedTensor(*made);
}

TracedTensor PatternTracer::CopyInto(TracedTensor dst, TracedTensor src) {
  TracedTensor c = Call("aten.copy_.default", {Ref(dst), Ref(src)});
  if (c.valid()) mutations_.push_back(c.node());
  return c;
}

absl::StatusOr<std::unique_ptr<Graph>> PatternTracer::Finish(
    const std::vector<TracedTensor>& outputs, InputMutations mutations) {
  if (finished_) {
    return absl::FailedPreconditionError("PatternTracer::Finish called twice");
  }
  finished_ = true;
  RETURN_IF_ERROR(status_);
  if (outputs.empty()) {
    return absl::InvalidArgumentError("a pattern needs at least one output");
  }
  std::vector<Argument> out_args;
  for (const TracedTensor& v : outputs) {
    if (!v.valid()) {
      return absl::InvalidArgumentError("pattern output is an invalid value");
    }
    out_args.push_back(Ref(v));
  }
  if (mutations == InputMutations::kReturnAsOutputs) {
    for (Node* m : mutations_) out_args.push_back(Argument::Ref(m));
  }
  ASSIGN_OR_RETURN(Node * out, graph_->AddOutput(std::move(out_args)));
  (void)out;
  graph_->EliminateDeadCode();
  if (mutations == InputMutations::kErase) {
    // Upstream: erase copy_ nodes without users (writes into mutated inputs),
    // then dead code again.
    for (Node* m : mutations_) {
      if (!m->has_uses()) RETURN_IF_ERROR(graph_->Erase(m));
    }
    graph_->EliminateDeadCode();
  }
  return std::move(graph_);
}

namespace functional {

TracedTensor Dropout(PatternTracer& t, TracedTensor x, double p, bool train, bool inplace) {
  switch (t.dialect()) {
    case Dialect::kTrainingIr:
    case Dialect::kPreDispatch:
      return t.Call(inplace ? "aten.dropout_.default" : "aten.dropout.default",
                    {Ref(x), Argument::Double(p), Argument::Bool(train)});
    case Dialect::kCoreAten: {
      // torch._decomp's dropout: native_dropout only when training with
      // p != 0, else a clone (in-place dropout is functionalized away).
      if (!train || p == 0.0) return t.Call("aten.clone.default", {Ref(x)});
      TracedTensor nd = t.Call("aten.native_dropout.default",
                        {Ref(x), Argument::Double(p), Argument::Bool(true)});
      return t.GetItem(nd, 0);
    }
    case Dialect::kMakeFx:
      if (!train) return x;
      return MakeFxDropout(t, x, 1.0 - p == 0.5 ? std::nullopt
                                                : std::optional<double>(1.0 - p),
                           1.0 - p);
  }
  return TracedTensor();
}

TracedTensor MakeFxDropout(PatternTracer& t, TracedTensor x, std::optional<double> keep,
                    double divisor) {
  TracedTensor e = t.Call("aten.empty_like.default", {Ref(x)},
                   {Kwarg{"memory_format",
                          Argument::MemoryFormatValue(MemoryFormat::kContiguous)}});
  std::vector<Argument> bargs = {Ref(e)};
  if (keep.has_value()) bargs.push_back(Argument::Double(*keep));
  TracedTensor b = t.Call("aten.bernoulli_.float", std::move(bargs));
  TracedTensor d = t.Call("aten.div_.Scalar", {Ref(b), Argument::Double(divisor)});
  return t.Call("aten.mul.Tensor", {Ref(x), Ref(d)});
}

TracedTensor BatchNorm(PatternTracer& t, TracedTensor x, std::optional<TracedTensor> running_mean,
                std::optional<TracedTensor> running_var, std::optional<TracedTensor> weight,
                std::optional<TracedTensor> bias, bool training, double momentum,
                double eps, bool cudnn_enabled) {
  const bool has_stats = running_mean.has_value() && running_var.has_value();
  const Argument m = Argument::Double(momentum);
  const Argument e = Argument::Double(eps);
  const Argument tr = Argument::Bool(training);
  switch (t.dialect()) {
    case Dialect::kTrainingIr:
      return t.Call("aten.batch_norm.default",
                    {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                     OptRef(running_var), tr, m, e, Argument::Bool(cudnn_enabled)});
    case Dialect::kPreDispatch:
    case Dialect::kCoreAten:
    case Dialect::kMakeFx:
      break;
  }
  TracedTensor tuple;
  if (t.dialect() == Dialect::kMakeFx) {
    tuple = t.Call("aten.native_batch_norm.default",
                   {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                    OptRef(running_var), tr, m, e});
    return t.GetItem(tuple, 0);
  }
  if (!has_stats) {
    tuple = t.Call("aten._native_batch_norm_legit.no_stats",
                   {Ref(x), OptRef(weight), OptRef(bias), tr, m, e});
    return t.GetItem(tuple, 0);
  }
  if (!training) {
    if (t.dialect() == Dialect::kPreDispatch && t.is_cuda() &&
        weight.has_value() && bias.has_value()) {
      tuple = t.Call("aten.cudnn_batch_norm.default",
                     {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                      OptRef(running_var), tr, m, e});
      return t.GetItem(tuple, 0);
    }
    tuple = t.Call("aten._native_batch_norm_legit_no_training.default",
                   {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                    OptRef(running_var), m, e});
    return t.GetItem(tuple, 0);
  }
  if (t.dialect() == Dialect::kPreDispatch) {
    if (t.is_cuda() && weight.has_value() && bias.has_value()) {
      tuple = t.Call("aten.cudnn_batch_norm.default",
                     {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                      OptRef(running_var), tr, m, e});
      return t.GetItem(tuple, 0);
    }
    tuple = t.Call("aten._native_batch_norm_legit.default",
                   {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                    OptRef(running_var), tr, m, e});
    return t.GetItem(tuple, 0);
  }
  // Core ATen: functional batch norm; the new running stats (outputs 3 and
  // 4) are written back into the buffers with copy_.
  tuple = t.Call("aten._native_batch_norm_legit_functional.default",
                 {Ref(x), OptRef(weight), OptRef(bias), OptRef(running_mean),
                  OptRef(running_var), tr, m, e});
  TracedTensor out = t.GetItem(tuple, 0);
  TracedTensor new_rm = t.GetItem(tuple, 3);
  TracedTensor new_rv = t.GetItem(tuple, 4);
  t.CopyInto(*running_mean, new_rm);
  t.CopyInto(*running_var, new_rv);
  return out;
}

}  // namespace functional

}  // namespace rewire
