// The executor's op-adapter interface, shared by the files that implement
// op adapters (kernels/executor.cc, kernels/construct_ops.cc): schema-ordered
// argument values with typed accessors (Args), the run's device and Philox
// stream (Ctx), and small result helpers. Internal to //kernels:executor.
#ifndef REWIRE_KERNELS_OP_ARGS_H_
#define REWIRE_KERNELS_OP_ARGS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ir/schema.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/executor.h"

namespace rewire {
namespace op_args {


// ------------------------------------------------------------------ args
// Schema-ordered argument values with typed accessors by name.
class Args {
 public:
  Args(const OpSchema& schema, std::vector<RuntimeValue>& values)
      : schema_(schema), values_(values) {}

  absl::StatusOr<RuntimeValue*> Get(absl::string_view name) {
    const int i = schema_.ArgumentIndex(name);
    if (i < 0) {
      return absl::InternalError(absl::StrCat("schema ", schema_.QualifiedName(),
                                              " has no argument ", name));
    }
    return &values_[i];
  }
  absl::StatusOr<Tensor*> T(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (!v->is_tensor() || !v->tensor.defined()) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a tensor"));
    }
    return &v->tensor;
  }
  // nullptr for None.
  absl::StatusOr<Tensor*> OptT(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->is_none()) return nullptr;
    if (!v->is_tensor()) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a tensor or None"));
    }
    return &v->tensor;
  }
  absl::StatusOr<double> D(absl::string_view name) {
    ASSIGN_OR_RETURN(ops::Scalar s, S(name));
    return s.value;
  }
  absl::StatusOr<ops::Scalar> S(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    return ScalarOf(*v, name);
  }
  absl::StatusOr<int64_t> I(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    return IntOf(*v, name);
  }
  absl::StatusOr<std::optional<int64_t>> OptI(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->is_none()) return std::optional<int64_t>();
    ASSIGN_OR_RETURN(int64_t i, IntOf(*v, name));
    return std::optional<int64_t>(i);
  }
  absl::StatusOr<bool> B(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->kind != RuntimeValue::Kind::kLiteral || v->literal.kind() != Argument::Kind::kBool) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a bool"));
    }
    return v->literal.as_bool();
  }
  // An int list; a single int broadcasts to `n` entries when n > 0.
  absl::StatusOr<std::vector<int64_t>> Ints(absl::string_view name, int n = 0) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    std::vector<int64_t> out;
    if (v->is_list()) {
      for (const RuntimeValue& e : v->list) {
        ASSIGN_OR_RETURN(int64_t i, IntOf(e, name));
        out.push_back(i);
      }
      if (n > 0 && out.size() == 1) out.assign(n, out[0]);
    } else if (!v->is_none()) {
      ASSIGN_OR_RETURN(int64_t i, IntOf(*v, name));
      out.assign(n > 0 ? n : 1, i);
    }
    if (n > 0 && !out.empty() && static_cast<int>(out.size()) != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "argument '", name, "' needs ", n, " ints, got ", out.size()));
    }
    return out;
  }
  absl::StatusOr<std::array<int64_t, 2>> Pair(absl::string_view name) {
    ASSIGN_OR_RETURN(std::vector<int64_t> v, Ints(name, 2));
    if (v.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' needs 2 ints"));
    }
    return std::array<int64_t, 2>{v[0], v[1]};
  }
  absl::StatusOr<std::optional<ScalarType>> Dtype(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->is_none()) return std::optional<ScalarType>();
    if (v->kind == RuntimeValue::Kind::kLiteral && v->literal.kind() == Argument::Kind::kDtype) {
      return std::optional<ScalarType>(v->literal.as_dtype());
    }
    return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a dtype"));
  }
  absl::StatusOr<std::vector<Tensor>> Tensors(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (!v->is_list()) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a tensor list"));
    }
    std::vector<Tensor> out;
    for (const RuntimeValue& e : v->list) {
      if (!e.is_tensor()) {
        return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a tensor list"));
      }
      out.push_back(e.tensor);
    }
    return out;
  }
  // A Scalar? argument: nullopt for None.
  absl::StatusOr<std::optional<ops::Scalar>> OptS(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->is_none()) return std::optional<ops::Scalar>();
    ASSIGN_OR_RETURN(ops::Scalar s, ScalarOf(*v, name));
    return std::optional<ops::Scalar>(s);
  }
  absl::StatusOr<std::optional<double>> OptD(absl::string_view name) {
    ASSIGN_OR_RETURN(std::optional<ops::Scalar> s, OptS(name));
    if (!s.has_value()) return std::optional<double>();
    return std::optional<double>(s->value);
  }
  absl::StatusOr<std::string> Str(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (v->kind != RuntimeValue::Kind::kLiteral || v->literal.kind() != Argument::Kind::kString) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a string"));
    }
    return v->literal.as_string();
  }
  // A Tensor?[] argument: an undefined Tensor for each None.
  absl::StatusOr<std::vector<Tensor>> OptTensors(absl::string_view name) {
    ASSIGN_OR_RETURN(RuntimeValue * v, Get(name));
    if (!v->is_list()) {
      return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a list"));
    }
    std::vector<Tensor> out;
    for (const RuntimeValue& e : v->list) {
      if (e.is_none()) {
        out.emplace_back();
      } else if (e.is_tensor()) {
        out.push_back(e.tensor);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "argument '", name, "' must hold tensors or None"));
      }
    }
    return out;
  }
  bool Has(absl::string_view name) const { return schema_.ArgumentIndex(name) >= 0; }
  absl::Span<const RuntimeValue> values() const { return values_; }

  static absl::StatusOr<int64_t> IntOf(const RuntimeValue& v, absl::string_view name) {
    if (v.kind == RuntimeValue::Kind::kLiteral) {
      if (v.literal.kind() == Argument::Kind::kInt) return v.literal.as_int();
      if (v.literal.kind() == Argument::Kind::kBool) return v.literal.as_bool() ? 1 : 0;
    }
    return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be an int"));
  }
  static absl::StatusOr<ops::Scalar> ScalarOf(const RuntimeValue& v, absl::string_view name) {
    if (v.kind == RuntimeValue::Kind::kLiteral) {
      switch (v.literal.kind()) {
        case Argument::Kind::kInt: return ops::Scalar::Int(v.literal.as_int());
        case Argument::Kind::kBool: return ops::Scalar::Int(v.literal.as_bool() ? 1 : 0);
        case Argument::Kind::kDouble: return ops::Scalar::Float(v.literal.as_double());
        default: break;
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("argument '", name, "' must be a number"));
  }

 private:
  const OpSchema& schema_;
  std::vector<RuntimeValue>& values_;
};

struct Ctx {
  const DeviceOps* dev;
  PhiloxGenerator* gen;
};

using OpFn = absl::StatusOr<RuntimeValue> (*)(Ctx&, Args&);

// An op of the executor's table and what the executor must do around it.
struct OpEntry {
  OpFn fn = nullptr;
  // Served on every device (the kernels of cpu_kernels.h through DeviceOps,
  // or metadata-only view ops); the rest run on host copies.
  bool device_native = false;
  // Takes tensors of any strides. Other ops get contiguous copies of strided
  // arguments, and a mutated argument is written back through its view.
  bool strided = false;
  // Changes its first argument's sizes and strides in place (as_strided_):
  // later readers of that argument's node see the result.
  bool rebinds_self = false;
  // Its stride arguments address the first argument's memory as PyTorch
  // laid it out (as_strided, _reshape_alias): when the executor's layout of
  // that argument differs from the strides its node's "val" records, the
  // argument is first copied into the recorded layout.
  bool layout_sensitive = false;
  // Its result shares its first argument's storage (the view ops), so a
  // write to the result is a write to that argument.
  bool aliases = false;
  // Writes its running_mean / running_var arguments in training although
  // the schema does not annotate them (batch_norm, native_batch_norm,
  // cudnn_batch_norm, instance_norm).
  bool writes_running_stats = false;
};
using OpRegistry = absl::flat_hash_map<std::string, OpEntry>;

// Each op family adds its ops (kernels/<family>_adapters.cc).
void RegisterViewOps(OpRegistry& table);
void RegisterPointwiseOps(OpRegistry& table);
void RegisterIndexOps(OpRegistry& table);
void RegisterAttentionOps(OpRegistry& table);
void RegisterNormOps(OpRegistry& table);
void RegisterCoreOps(OpRegistry& table);

inline RuntimeValue Tup(std::vector<Tensor> ts) {
  std::vector<RuntimeValue> vs;
  for (Tensor& t : ts) vs.push_back(RuntimeValue::FromTensor(std::move(t)));
  return RuntimeValue::List(std::move(vs));
}
inline RuntimeValue V(Tensor t) { return RuntimeValue::FromTensor(std::move(t)); }

// A tensor of `size` (argument `size_name`) filled with `fill`, of the
// `dtype` argument's type or `default_dtype`.
inline absl::StatusOr<RuntimeValue> SizedOp(Args& a, const char* size_name, double fill,
                              ScalarType default_dtype) {
  ASSIGN_OR_RETURN(std::vector<int64_t> size, a.Ints(size_name));
  ASSIGN_OR_RETURN(std::optional<ScalarType> dt, a.Dtype("dtype"));
  ASSIGN_OR_RETURN(Tensor r, ops::Full(size, fill, dt.value_or(default_dtype)));
  return V(std::move(r));
}

}  // namespace op_args
}  // namespace rewire

#endif  // REWIRE_KERNELS_OP_ARGS_H_
