// DecodeExecuteCase and RunCase (see execute_case.h).
#include "fuzz/execute_case.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/metadata.h"
#include "ir/status_macros.h"
#include "ir/types.h"
#include "rewrite/train_eval.h"

namespace rewire {
namespace fuzz {
namespace {

// splitmix64: a few lines, and the same stream on every platform, so a saved
// input rebuilds the same tensors wherever it is replayed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(Next() >> 11) * 0x1.0p-53;
  }

 private:
  uint64_t s_;
};

double FloatValue(Rng& rng, bool specials) {
  if (specials && rng.Next() % 4 == 0) {
    static constexpr double kSpecial[] = {
        std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(),
        -0.0,
        1e30,
        -1e300,
        1e-40,  // subnormal as float32
        70000,  // over float16's range
    };
    return kSpecial[rng.Next() % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
  }
  return rng.Uniform(-2, 2);
}

int64_t IntValue(Rng& rng, bool specials, int64_t lo, int64_t hi) {
  if (specials && rng.Next() % 4 == 0) return rng.Next() % 2 == 0 ? lo : hi;
  return static_cast<int64_t>(rng.Next() % 7) - 3;
}

template <typename T>
void Put(Tensor& t, int64_t i, T v) {
  std::memcpy(static_cast<char*>(t.raw_data()) + i * sizeof(T), &v, sizeof(T));
}

// Fills every element of `t` with a value valid for its dtype (bools 0 or 1).
void Fill(Tensor& t, Rng& rng, bool specials) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case ScalarType::kFloat32:
        Put(t, i, static_cast<float>(FloatValue(rng, specials)));
        break;
      case ScalarType::kFloat64:
        Put(t, i, FloatValue(rng, specials));
        break;
      case ScalarType::kFloat16:
        Put(t, i, FloatToHalf(static_cast<float>(FloatValue(rng, specials))));
        break;
      case ScalarType::kBFloat16:
        Put(t, i, FloatToBFloat16(static_cast<float>(FloatValue(rng, specials))));
        break;
      case ScalarType::kInt64:
        Put(t, i, IntValue(rng, specials, std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max()));
        break;
      case ScalarType::kInt32:
        Put(t, i, static_cast<int32_t>(IntValue(rng, specials, INT32_MIN, INT32_MAX)));
        break;
      case ScalarType::kInt16:
        Put(t, i, static_cast<int16_t>(IntValue(rng, specials, INT16_MIN, INT16_MAX)));
        break;
      case ScalarType::kInt8:
        Put(t, i, static_cast<int8_t>(IntValue(rng, specials, INT8_MIN, INT8_MAX)));
        break;
      case ScalarType::kUInt8:
        Put(t, i, static_cast<uint8_t>(rng.Next()));
        break;
      case ScalarType::kBool:
        Put(t, i, static_cast<uint8_t>(rng.Next() & 1));
        break;
      case ScalarType::kComplex64:
      case ScalarType::kComplex128:
        break;  // refused before allocation
    }
  }
}

// The dtype and shape of the input for `node`: its "val" tensor, symbolic
// dims resolved through `symbols`; a scalar float32 when "val" describes no
// tensor (the executor only checks inputs against tensor "val"s).
absl::StatusOr<std::pair<ScalarType, std::vector<int64_t>>> InputSpec(
    const Node& node, uint8_t symbol_base,
    std::map<std::string, int64_t>& symbols) {
  const MetaValue* val = node.meta().val();
  if (val == nullptr || !val->is_tensor()) {
    return std::make_pair(ScalarType::kFloat32, std::vector<int64_t>{});
  }
  const TensorMeta& meta = val->tensor();
  if (meta.dtype == ScalarType::kComplex64 ||
      meta.dtype == ScalarType::kComplex128) {
    return absl::InvalidArgumentError("complex input");
  }
  std::vector<int64_t> shape;
  int64_t extent = 1;
  for (const Dim& d : meta.shape) {
    int64_t v = d.value;
    if (d.is_symbolic()) {
      auto it = symbols.find(d.symbol.str());
      if (it == symbols.end()) {
        const int64_t k = static_cast<int64_t>(symbols.size());
        it = symbols.emplace(d.symbol.str(), 1 + (symbol_base + k) % 4).first;
      }
      v = it->second;
    }
    if (v < 0 || v > kMaxElements) {
      return absl::InvalidArgumentError(absl::StrCat("input dim ", v));
    }
    // Zero-size dims count as 1, as ExecuteOptions::max_tensor_elements does.
    extent *= std::max<int64_t>(v, 1);
    if (extent > kMaxElements) {
      return absl::InvalidArgumentError("input over the element cap");
    }
    shape.push_back(v);
  }
  return std::make_pair(meta.dtype, std::move(shape));
}

}  // namespace

LoadOptions ExecuteLoadOptions() {
  LoadOptions o;
  o.max_input_bytes = 1 << 16;
  o.max_nodes = 128;
  o.max_total_tensor_bytes = 1 << 18;
  o.max_list_nesting = 8;
  o.max_dims = 8;
  return o;
}

absl::StatusOr<ExecuteCase> DecodeExecuteCase(absl::string_view bytes) {
  if (bytes.size() < kControlBytes) {
    return absl::InvalidArgumentError("shorter than the control bytes");
  }
  const uint8_t flags = static_cast<uint8_t>(bytes[0]);
  const uint8_t seed = static_cast<uint8_t>(bytes[1]);
  const uint8_t offset = static_cast<uint8_t>(bytes[2]);
  const uint8_t symbol_base = static_cast<uint8_t>(bytes[3]);
  ExecuteCase c;
  ASSIGN_OR_RETURN(c.module,
                   LoadModuleFromBytes(bytes.substr(kControlBytes),
                                       (flags & 64) != 0 ? Format::kTextProto
                                                         : Format::kBinaryProto,
                                       ExecuteLoadOptions()));
  // The switch is under test too (a crash in it is a finding); its errors
  // leave the module as it was, which is then run as loaded.
  const int mode_switch = flags & 3;
  if (mode_switch == 1 || mode_switch == 3) {
    (void)MoveExportedModelToEval(c.module);
  }
  if (mode_switch == 2 || mode_switch == 3) {
    (void)MoveExportedModelToTrain(c.module);
  }
  c.named_inputs = (flags & 4) != 0;
  const bool specials = (flags & 8) != 0;
  c.second_step = (flags & 16) != 0;
  c.check_determinism = (flags & 32) != 0;

  Rng rng(0x5eed0000u + seed);
  std::map<std::string, int64_t> symbols;
  for (const Node* n : c.module.InputPlaceholders()) {
    auto spec = InputSpec(*n, symbol_base, symbols);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input %", n->name(), " refused: ", spec.status().message()));
    }
    ASSIGN_OR_RETURN(Tensor t, Tensor::Empty(spec->first, spec->second));
    Fill(t, rng, specials);
    c.inputs.emplace_back(n->name(), std::move(t));
  }
  c.options.seed = seed;
  c.options.offset = uint64_t{offset} * 4;
  c.options.max_tensor_bytes = kMaxTensorBytes;
  c.options.max_tensor_elements = kMaxElements;
  c.options.max_total_bytes = kMaxTotalBytes;
  c.options.max_node_work = kMaxNodeWork;
  return c;
}

absl::StatusOr<ExecutionResult> RunCase(const ExecuteCase& c,
                                        ExportedModule& module,
                                        const ExecuteOptions& options) {
  if (c.named_inputs) return Execute(module, c.inputs, options);
  std::vector<Tensor> positional;
  positional.reserve(c.inputs.size());
  for (const auto& [name, t] : c.inputs) positional.push_back(t);
  return Execute(module, positional, options);
}

}  // namespace fuzz
}  // namespace rewire
