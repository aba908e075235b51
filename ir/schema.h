// Operator schemas: aten signature strings parsed once into argument lists.
//
// A schema such as
//   aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias,
//                    Tensor? running_mean, Tensor? running_var, bool training,
//                    float momentum, float eps, bool cudnn_enabled) -> Tensor
// gives each argument's name, type, default, whether it is keyword-only and
// whether the op writes to it (`Tensor(a!)`). The matcher uses this to
// normalize keyword and default arguments before comparing calls; the graph
// uses it to keep side-effecting nodes alive in dead-code elimination; the
// verifier uses it to check arity and literal types. Ops without a schema are
// allowed in graphs and kept opaquely.
#ifndef REWIRE_IR_SCHEMA_H_
#define REWIRE_IR_SCHEMA_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/argument.h"

namespace rewire {

// The type of a schema argument or return.
struct SchemaType {
  enum class Base : uint8_t {
    kTensor,
    kInt,     // also SymInt
    kFloat,
    kBool,
    kScalar,  // int, float or bool literal
    kStr,
    kScalarType,
    kLayout,
    kDevice,
    kMemoryFormat,
    kGenerator,
    kDimname,
    kAny,
  };
  Base base = Base::kTensor;
  bool is_list = false;      // `int[]`, `int[2]`, `Tensor[]`
  int fixed_size = -1;       // `int[2]` -> 2 (a scalar broadcasts)
  bool element_optional = false;  // `Tensor?[]`
  bool optional = false;     // `T?` (None allowed)

  // Whether `value` (a literal or a list of literals; node references are
  // accepted wherever a tensor or a scalar can flow) fits this type.
  bool Accepts(const Argument& value) const;
  std::string ToString() const;
};

struct SchemaArgument {
  std::string name;
  SchemaType type;
  std::optional<Argument> default_value;  // literal defaults only
  bool kwarg_only = false;
  bool is_mutable = false;  // alias annotation with '!'
};

struct OpSchema {
  std::string ns;        // "aten"
  std::string name;      // "batch_norm"
  std::string overload;  // "default" when none is written
  std::vector<SchemaArgument> arguments;
  std::vector<SchemaArgument> returns;
  std::string text;      // the source string

  // "aten.batch_norm.default": the spelling node targets use.
  std::string QualifiedName() const;
  bool is_mutable() const;  // some argument is written
  int num_returns() const { return static_cast<int>(returns.size()); }
  // Index of the argument named `name`, or -1.
  int ArgumentIndex(absl::string_view name) const;
};

// Parses one schema string. Errors name the position and what was expected.
absl::StatusOr<OpSchema> ParseSchema(absl::string_view text);

// Normalized call arguments: one entry per schema argument, in schema order,
// filled from positional args, keyword args and defaults.
struct NormalizedArgs {
  std::vector<Argument> values;
  // For each schema argument: -1 default, 0..n-1 positional index, or
  // 1000000 + k for the k-th kwarg. Lets callers map back to the original
  // argument position.
  std::vector<int> source;
};

// Fills every schema argument from `args`/`kwargs`, else its default. Error
// when there are too many positional args, an unknown or duplicate keyword,
// or a required argument is missing.
absl::StatusOr<NormalizedArgs> NormalizeArguments(
    const OpSchema& schema, absl::Span<const Argument> args,
    const std::vector<Kwarg>& kwargs);

// The process-wide, immutable registry of known aten schemas (built once,
// thread-safe). Lookup by qualified target ("aten.add.Tensor").
class SchemaRegistry {
 public:
  static const SchemaRegistry& Global();

  const OpSchema* Find(absl::string_view qualified) const;
  size_t size() const { return by_name_.size(); }
  // All schema source strings, in registration order (tests parse each).
  const std::vector<std::string>& sources() const { return sources_; }
  std::vector<const OpSchema*> All() const;

  // For building extra registries (tests, plugins); Global() is fixed.
  absl::Status Register(absl::string_view text);

 private:
  std::vector<std::unique_ptr<OpSchema>> schemas_;
  absl::flat_hash_map<std::string, const OpSchema*> by_name_;
  std::vector<std::string> sources_;
};

}  // namespace rewire

#endif  // REWIRE_IR_SCHEMA_H_
