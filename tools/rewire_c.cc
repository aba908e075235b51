// The C API over ExportedModule, the serializer, train_eval and the executor.
//
// Every entry point runs its body inside Guard(), which turns absl::Status
// into a rewire_status plus the thread-local message and catches any C++
// exception (std::bad_alloc included) so none unwinds into C frames, where
// unwinding is undefined behaviour.
#include "tools/rewire_c.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/printable.h"
#include "ir/exported_module.h"
#include "ir/serialization.h"
#include "kernels/executor.h"
#include "kernels/tensor.h"
#include "pt2/pt2_reader.h"
#include "pt2/pt2_writer.h"
#include "tools/mode_switch.h"
#include "tools/model_files.h"
#include "tools/rewire_c_internal.h"

namespace {

thread_local std::string g_last_error;

// rewire_dtype's values are ScalarType's, so a cast converts them.
static_assert(REWIRE_FLOAT32 == static_cast<int>(rewire::ScalarType::kFloat32) &&
              REWIRE_INT64 == static_cast<int>(rewire::ScalarType::kInt64) &&
              REWIRE_BOOL == static_cast<int>(rewire::ScalarType::kBool) &&
              REWIRE_COMPLEX128 == static_cast<int>(rewire::ScalarType::kComplex128) &&
              rewire::kNumScalarTypes == REWIRE_COMPLEX128 + 1);

rewire_status ToCode(absl::StatusCode c) {
  switch (c) {
    case absl::StatusCode::kOk: return REWIRE_OK;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kDataLoss: return REWIRE_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound: return REWIRE_NOT_FOUND;
    case absl::StatusCode::kFailedPrecondition: return REWIRE_FAILED_PRECONDITION;
    case absl::StatusCode::kUnimplemented: return REWIRE_UNIMPLEMENTED;
    case absl::StatusCode::kResourceExhausted: return REWIRE_RESOURCE_EXHAUSTED;
    case absl::StatusCode::kUnavailable: return REWIRE_UNAVAILABLE;
    case absl::StatusCode::kPermissionDenied: return REWIRE_PERMISSION_DENIED;
    case absl::StatusCode::kInternal: return REWIRE_INTERNAL;
    default: return REWIRE_UNKNOWN;
  }
}

rewire_status Set(const absl::Status& s) {
  if (s.ok()) {
    g_last_error.clear();
    return REWIRE_OK;
  }
  // Callers print it; names from a hostile file must not reach a terminal
  // as control bytes.
  g_last_error = rewire::PrintableMessage(s.message());
  // A failed read or write (base/file.h tags those with their errno) is an
  // I/O error unless a missing file or a permission explains it.
  const rewire_status code = ToCode(s.code());
  if (rewire::ErrnoOf(s).has_value() && code != REWIRE_NOT_FOUND &&
      code != REWIRE_PERMISSION_DENIED) {
    return REWIRE_IO_ERROR;
  }
  return code;
}

template <typename F>
rewire_status Guard(F&& body) {
  try {
    return Set(body());
  } catch (const std::bad_alloc&) {
    g_last_error = "out of memory";
    return REWIRE_RESOURCE_EXHAUSTED;
  } catch (const std::exception& e) {
    g_last_error = absl::StrCat("internal error: ", e.what());
    return REWIRE_INTERNAL;
  } catch (...) {
    g_last_error = "internal error: unknown C++ exception";
    return REWIRE_INTERNAL;
  }
}

// For the entry points that return a value rather than a status: an
// exception (only std::bad_alloc can arise in them) returns `fallback` and
// sets the last error; success leaves the last error as it was.
template <typename T, typename F>
T GuardValue(T fallback, F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    g_last_error = "out of memory";
  } catch (const std::exception& e) {
    g_last_error = absl::StrCat("internal error: ", e.what());
  } catch (...) {
    g_last_error = "internal error: unknown C++ exception";
  }
  return fallback;
}

absl::Status Null(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat(what, " is NULL"));
}

// Every enum argument goes through one of these: an out-of-range value is an
// error naming the argument, never a silent default.
// Bytes per element of the rewire_dtype with this value; 0 for none.
size_t DtypeSize(int value) {
  if (value < 0 || value >= rewire::kNumScalarTypes) return 0;
  return static_cast<size_t>(
      rewire::ScalarTypeSize(static_cast<rewire::ScalarType>(value)));
}

// The serialized forms rewire_format names: a protobuf Format, or a .pt2.
struct FormatChoice {
  bool pt2 = false;
  rewire::Format proto = rewire::Format::kBinaryProto;
};

absl::StatusOr<FormatChoice> FormatArg(const rewire_format& format) {
  const int value = rewire::c_api::RawEnumValue(format);
  switch (value) {
    case REWIRE_FORMAT_BINARY_PROTO:
      return FormatChoice{false, rewire::Format::kBinaryProto};
    case REWIRE_FORMAT_TEXT_PROTO:
      return FormatChoice{false, rewire::Format::kTextProto};
    case REWIRE_FORMAT_PT2:
      return FormatChoice{true};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "format is ", value, ", not a rewire_format (REWIRE_FORMAT_BINARY_PROTO ",
      "= 0, REWIRE_FORMAT_TEXT_PROTO = 1 or REWIRE_FORMAT_PT2 = 2)"));
}

// malloc'ed copy, so C callers free it with rewire_free (= free).
char* CopyString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

rewire_status Switch(rewire_module* m, char** report, bool to_eval,
                     bool strict = false) {
  if (report != nullptr) *report = nullptr;
  return Guard([&]() -> absl::Status {
    if (m == nullptr) return Null("module");
    absl::StatusOr<rewire::tools::ModeSwitchResult> r =
        rewire::tools::SwitchExportedModel(
            m->module,
            to_eval ? rewire::ModuleMode::kEval : rewire::ModuleMode::kTrain,
            strict);
    if (!r.ok()) return r.status();
    if (report != nullptr) *report = CopyString(r->report);
    return absl::OkStatus();
  });
}

const rewire_outputs::Entry* EntryAt(const rewire_outputs* o, size_t i) {
  if (o == nullptr || i >= o->entries.size()) return nullptr;
  return &o->entries[i];
}

// The body of rewire_module_run_ex and rewire_module_run_tensors; with
// `to_float32` every output is converted to float32.
absl::Status RunTensors(rewire_module* module, const rewire_tensor_input* inputs,
                        size_t num_inputs, const rewire_run_options* run_options,
                        bool to_float32, rewire_outputs** out);

}  // namespace

namespace rewire {
namespace c_api {

rewire_status Guarded(absl::FunctionRef<absl::Status()> body) { return Guard(body); }

absl::Status NullArgument(const char* what) { return Null(what); }

}  // namespace c_api
}  // namespace rewire

namespace {

absl::Status RunTensors(rewire_module* module, const rewire_tensor_input* inputs,
                        size_t num_inputs, const rewire_run_options* run_options,
                        bool to_float32, rewire_outputs** out) {
  {
    if (out == nullptr) return Null("out");
    *out = nullptr;
    if (module == nullptr) return Null("module");
    rewire_run_options given;
    rewire_run_options_init(&given);
    if (run_options != nullptr) {
      // The fields the caller's version of the struct has; the rest keep
      // their defaults.
      const size_t size = run_options->struct_size;
      if (size < offsetof(rewire_run_options, max_node_work) + sizeof(int64_t) ||
          size > sizeof(rewire_run_options)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rewire_run_options.struct_size is ", size, ", expected ",
            sizeof(rewire_run_options), " (call rewire_run_options_init)"));
      }
      std::memcpy(&given, run_options, size);
    }
    for (int64_t limit : {given.max_total_bytes, given.max_tensor_bytes, given.max_node_work}) {
      if (limit <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "rewire_run_options: limits must be positive (REWIRE_UNLIMITED for none), got ",
            limit));
      }
    }
    if (inputs == nullptr && num_inputs > 0) return Null("inputs");
    std::vector<std::pair<std::string, rewire::Tensor>> named;
    for (size_t k = 0; k < num_inputs; ++k) {
      const rewire_tensor_input& in = inputs[k];
      if (in.name == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("inputs[", k, "].name is NULL"));
      }
      if (in.shape == nullptr && in.ndim > 0) {
        return absl::InvalidArgumentError(absl::StrCat("input '", in.name, "': shape is NULL"));
      }
      std::vector<int64_t> shape(in.shape, in.shape + in.ndim);
      // Read in place: the run copies its inputs (within its limits), so a
      // second copy here would only double the memory.
      // Not rewire_dtype_size(in.dtype): passing the enum by value loads it.
      const int dtype = rewire::c_api::RawEnumValue(in.dtype);
      const size_t element_size = DtypeSize(dtype);
      if (element_size == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", rewire::Printable(in.name), "': dtype is ", dtype,
            ", not a rewire_dtype"));
      }
      absl::StatusOr<int64_t> numel = rewire::CheckedNumel(shape);
      int64_t bytes = 0;
      if (numel.ok() &&
          __builtin_mul_overflow(*numel, static_cast<int64_t>(element_size), &bytes)) {
        numel = absl::OutOfRangeError("its byte count overflows int64");
      }
      if (numel.ok() && *numel > 0 && in.data == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("input '", in.name, "': data is NULL"));
      }
      static const double kNoData[2] = {0, 0};  // the largest element, complex128
      absl::StatusOr<rewire::Tensor> t =
          numel.ok() ? rewire::Tensor::Borrow(*numel > 0 ? in.data : kNoData, bytes,
                                              static_cast<rewire::ScalarType>(dtype), shape)
                     : absl::StatusOr<rewire::Tensor>(numel.status());
      if (!t.ok()) {
        return absl::Status(t.status().code(), absl::StrCat("input '", in.name,
                                                            "': ", t.status().message()));
      }
      named.emplace_back(in.name, std::move(*t));
    }
    rewire::ExecuteOptions options;
    options.seed = given.seed;
    options.max_total_bytes = given.max_total_bytes;
    options.max_tensor_bytes = given.max_tensor_bytes;
    options.max_node_work = given.max_node_work;
    options.offset = given.offset;
    options.device = rewire::Device::Cpu();
    // The float32 conversions of the outputs count with the run's tensors.
    rewire::ScopedTensorLimits limits(options.max_tensor_bytes, options.max_tensor_elements,
                                      options.max_total_bytes);
    absl::StatusOr<rewire::ExecutionResult> r =
        rewire::Execute(module->module, named, options);
    if (!r.ok()) return r.status();
    auto result = std::make_unique<rewire_outputs>();
    for (rewire::NamedTensor& nt : r->outputs) {
      rewire_outputs::Entry e;
      e.name = nt.name;
      if (nt.tensor.defined()) {
        const rewire::Tensor& t = nt.tensor;
        e.shape = t.shape();
        if (!to_float32 || t.dtype() == rewire::ScalarType::kFloat32) {
          e.data = t;  // outputs are contiguous tensors of their own
          result->entries.push_back(std::move(e));
          continue;
        }
        absl::StatusOr<rewire::Tensor> f =
            rewire::Tensor::Empty(rewire::ScalarType::kFloat32, t.shape());
        if (!f.ok()) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "output '", nt.name, "' as float32: ", f.status().message()));
        }
        e.data = *std::move(f);
        float* dst = e.data.data<float>();
        for (int64_t i = 0; i < t.numel(); ++i) {
          switch (t.dtype()) {
            case rewire::ScalarType::kFloat64: dst[i] = static_cast<float>(t.data<double>()[i]); break;
            case rewire::ScalarType::kInt64: dst[i] = static_cast<float>(t.data<int64_t>()[i]); break;
            case rewire::ScalarType::kBool: dst[i] = t.data<bool>()[i] ? 1.0f : 0.0f; break;
            default:
              return absl::UnimplementedError(absl::StrCat(
                  "output '", nt.name, "' has dtype ",
                  rewire::ScalarTypeName(t.dtype()),
                  ", which the C API cannot convert to float32"));
          }
        }
      }
      result->entries.push_back(std::move(e));
    }
    result->final_offset = r->final_offset;
    *out = result.release();
    return absl::OkStatus();
  }
}

}  // namespace

extern "C" {

const char* rewire_last_error(void) { return g_last_error.c_str(); }

const char* rewire_version(void) { return REWIRE_VERSION; }

const char* rewire_status_name(rewire_status status) {
  switch (rewire::c_api::RawEnumValue(status)) {
    case REWIRE_OK: return "OK";
    case REWIRE_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case REWIRE_NOT_FOUND: return "NOT_FOUND";
    case REWIRE_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case REWIRE_UNIMPLEMENTED: return "UNIMPLEMENTED";
    case REWIRE_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case REWIRE_UNAVAILABLE: return "UNAVAILABLE";
    case REWIRE_PERMISSION_DENIED: return "PERMISSION_DENIED";
    case REWIRE_INTERNAL: return "INTERNAL";
    case REWIRE_UNKNOWN: return "UNKNOWN";
    case REWIRE_IO_ERROR: return "IO_ERROR";
  }
  return "NOT_A_STATUS";
}

rewire_status rewire_module_load_file(const char* path, rewire_module** out) {
  return Guard([&]() -> absl::Status {
    if (out == nullptr) return Null("out");
    *out = nullptr;
    if (path == nullptr) return Null("path");
    absl::StatusOr<rewire::ExportedModule> m = rewire::tools::LoadModelFile(path);
    if (!m.ok()) return m.status();
    *out = new rewire_module{std::move(*m)};
    return absl::OkStatus();
  });
}

rewire_status rewire_module_load_bytes(const void* data, size_t size,
                                       rewire_format format,
                                       rewire_module** out) {
  return Guard([&]() -> absl::Status {
    if (out == nullptr) return Null("out");
    *out = nullptr;
    if (data == nullptr && size > 0) return Null("data");
    absl::StatusOr<FormatChoice> f = FormatArg(format);
    if (!f.ok()) return f.status();
    const absl::string_view bytes(static_cast<const char*>(data), size);
    absl::StatusOr<rewire::ExportedModule> m =
        f->pt2 ? rewire::pt2::LoadPt2FromBytes(bytes, "the bytes")
               : rewire::LoadModuleFromBytes(bytes, f->proto);
    if (!m.ok()) return m.status();
    *out = new rewire_module{std::move(*m)};
    return absl::OkStatus();
  });
}

rewire_status rewire_module_save_file(const rewire_module* module,
                                      const char* path) {
  return Guard([&]() -> absl::Status {
    if (module == nullptr) return Null("module");
    if (path == nullptr) return Null("path");
    return rewire::tools::SaveModelFile(module->module, path);
  });
}

rewire_status rewire_module_serialize(const rewire_module* module,
                                      rewire_format format, void** data,
                                      size_t* size) {
  return Guard([&]() -> absl::Status {
    if (data == nullptr || size == nullptr) return Null("data/size");
    *data = nullptr;
    *size = 0;
    if (module == nullptr) return Null("module");
    absl::StatusOr<FormatChoice> f = FormatArg(format);
    if (!f.ok()) return f.status();
    absl::StatusOr<std::string> bytes =
        f->pt2 ? rewire::pt2::SerializePt2(module->module)
               : rewire::SerializeModule(module->module, f->proto);
    if (!bytes.ok()) return bytes.status();
    void* p = std::malloc(bytes->empty() ? 1 : bytes->size());
    if (p == nullptr) throw std::bad_alloc();
    std::memcpy(p, bytes->data(), bytes->size());
    *data = p;
    *size = bytes->size();
    return absl::OkStatus();
  });
}

void rewire_module_free(rewire_module* module) { delete module; }

int rewire_module_is_exported(const rewire_module* module) {
  return GuardValue(0, [&] {
    return module != nullptr && rewire::ModelIsExported(module->module) ? 1 : 0;
  });
}

int rewire_module_is_training(const rewire_module* module) {
  return module != nullptr && module->module.mode() == rewire::ModuleMode::kTrain
             ? 1
             : 0;
}

rewire_status rewire_module_move_to_eval(rewire_module* module, char** report) {
  return Switch(module, report, true);
}

rewire_status rewire_module_move_to_eval_ex(rewire_module* module, int strict,
                                            char** report) {
  return Switch(module, report, true, strict != 0);
}

rewire_status rewire_module_move_to_train(rewire_module* module,
                                          char** report) {
  return Switch(module, report, false);
}

size_t rewire_module_num_inputs(const rewire_module* module) {
  return GuardValue(size_t{0}, [&] {
    return module == nullptr ? 0 : module->module.InputPlaceholders().size();
  });
}

const char* rewire_module_input_name(const rewire_module* module, size_t i) {
  return GuardValue(static_cast<const char*>(nullptr), [&]() -> const char* {
    if (module == nullptr) return nullptr;
    std::vector<rewire::Node*> phs = module->module.InputPlaceholders();
    return i < phs.size() ? phs[i]->name().c_str() : nullptr;
  });
}

rewire_status rewire_module_input_shape(const rewire_module* module, size_t i,
                                        int64_t* dims, size_t max_dims,
                                        size_t* ndim) {
  return Guard([&]() -> absl::Status {
    if (module == nullptr) return Null("module");
    if (ndim == nullptr) return Null("ndim");
    std::vector<rewire::Node*> phs = module->module.InputPlaceholders();
    if (i >= phs.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input index ", i, " out of range (", phs.size(), " inputs)"));
    }
    const rewire::MetaValue* v = phs[i]->meta().val();
    if (v == nullptr || !v->is_tensor()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input %", phs[i]->name(), " has no tensor \"val\""));
    }
    const rewire::TensorMeta& m = v->tensor();
    *ndim = m.shape.size();
    for (size_t d = 0; d < m.shape.size(); ++d) {
      if (m.shape[d].is_symbolic()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input %", phs[i]->name(), " has symbolic dim ", d, " (",
            std::string(m.shape[d].symbol), ")"));
      }
      if (dims != nullptr && d < max_dims) dims[d] = m.shape[d].value;
    }
    return absl::OkStatus();
  });
}

void rewire_run_options_init(rewire_run_options* options) {
  if (options == nullptr) return;
  const rewire::ExecuteOptions defaults;
  *options = rewire_run_options{};
  options->struct_size = sizeof(rewire_run_options);
  options->seed = defaults.seed;
  options->max_total_bytes = defaults.max_total_bytes;
  options->max_tensor_bytes = defaults.max_tensor_bytes;
  options->max_node_work = defaults.max_node_work;
  options->offset = defaults.offset;
}

rewire_status rewire_module_run(rewire_module* module,
                                const rewire_input* inputs, size_t num_inputs,
                                uint64_t seed, rewire_outputs** out) {
  rewire_run_options options;
  rewire_run_options_init(&options);
  options.seed = seed;
  return rewire_module_run_ex(module, inputs, num_inputs, &options, out);
}

rewire_status rewire_module_run_ex(rewire_module* module,
                                   const rewire_input* inputs,
                                   size_t num_inputs,
                                   const rewire_run_options* run_options,
                                   rewire_outputs** out) {
  return Guard([&]() -> absl::Status {
    if (inputs == nullptr && num_inputs > 0) return Null("inputs");
    std::vector<rewire_tensor_input> typed(num_inputs);
    for (size_t k = 0; k < num_inputs; ++k) {
      typed[k] = {inputs[k].name, REWIRE_FLOAT32, inputs[k].data, inputs[k].shape,
                  inputs[k].ndim};
    }
    return RunTensors(module, typed.data(), num_inputs, run_options, true, out);
  });
}

rewire_status rewire_module_run_tensors(rewire_module* module,
                                        const rewire_tensor_input* inputs,
                                        size_t num_inputs,
                                        const rewire_run_options* run_options,
                                        rewire_outputs** out) {
  return Guard([&]() -> absl::Status {
    return RunTensors(module, inputs, num_inputs, run_options, false, out);
  });
}

size_t rewire_outputs_count(const rewire_outputs* outputs) {
  return outputs == nullptr ? 0 : outputs->entries.size();
}
const char* rewire_outputs_name(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr ? nullptr : e->name.c_str();
}
size_t rewire_outputs_ndim(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr ? 0 : e->shape.size();
}
const int64_t* rewire_outputs_shape(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr ? nullptr : e->shape.data();
}
int64_t rewire_outputs_numel(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr || !e->data.defined() ? 0 : e->data.numel();
}
const float* rewire_outputs_data(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr || !e->data.defined() || e->data.numel() == 0 ||
                 e->data.dtype() != rewire::ScalarType::kFloat32
             ? nullptr
             : e->data.data<float>();
}
rewire_dtype rewire_outputs_dtype(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr || !e->data.defined() ? REWIRE_FLOAT32
                                            : static_cast<rewire_dtype>(e->data.dtype());
}
const void* rewire_outputs_bytes(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr || !e->data.defined() || e->data.numel() == 0 ? nullptr
                                                                    : e->data.raw_data();
}
size_t rewire_outputs_nbytes(const rewire_outputs* outputs, size_t i) {
  const rewire_outputs::Entry* e = EntryAt(outputs, i);
  return e == nullptr || !e->data.defined()
             ? 0
             : static_cast<size_t>(e->data.nbytes());
}
uint64_t rewire_outputs_final_offset(const rewire_outputs* outputs) {
  return outputs == nullptr ? 0 : outputs->final_offset;
}

const char* rewire_dtype_name(rewire_dtype dtype) {
  const int value = rewire::c_api::RawEnumValue(dtype);
  if (value < 0 || value >= rewire::kNumScalarTypes) return nullptr;
  // "torch.float32" without its "torch." prefix; names are static strings.
  return rewire::ScalarTypeName(static_cast<rewire::ScalarType>(value)).data() + 6;
}

size_t rewire_dtype_size(rewire_dtype dtype) {
  return DtypeSize(rewire::c_api::RawEnumValue(dtype));
}
void rewire_outputs_free(rewire_outputs* outputs) { delete outputs; }

void rewire_free(void* p) { std::free(p); }

}  // extern "C"
