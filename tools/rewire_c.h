/* The rewire C API: load an exported model, switch it between train and eval,
 * run it on float32 buffers, save it — from C or any language with a C FFI.
 *
 * Why a separate C layer: C++ types, exceptions and absl::Status cannot cross
 * a stable ABI, so everything here is an opaque handle, a plain struct or a
 * status code. Each function returns a rewire_status; on failure the message
 * (naming the file, node or tensor) is kept per thread and read with
 * rewire_last_error() until the next call on that thread. Enum arguments
 * are range-checked: a value that is no enumerator of its type is
 * REWIRE_INVALID_ARGUMENT naming the argument. No C++ exception leaves the
 * library: the few functions that return a value instead of a status
 * (rewire_module_num_inputs, rewire_module_input_name, ...) return 0 or
 * NULL if memory runs out and set rewire_last_error(). Nothing returned
 * needs C++ to free: handles have their own free functions, strings and byte
 * buffers the API allocates are released with rewire_free().
 *
 * Thread safety: distinct modules may be used from different threads at the
 * same time; one module must not be used concurrently (run updates its
 * buffers, switching rewrites its graph).
 *
 * Installed (tools/install.sh): #include <rewire/rewire.h>, link -lrewire
 * (pkg-config rewire, or CMake's find_package(rewire) and rewire::rewire);
 * in Bazel: //tools:rewire_c. */
#ifndef REWIRE_TOOLS_REWIRE_C_H_
#define REWIRE_TOOLS_REWIRE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one definition of rewire's version: the program's `rewire --version`,
 * rewire_version(), and the install tree's pkg-config and CMake files read
 * it. REWIRE_ABI_VERSION is the N of the SONAME librewire.so.N; it changes
 * only when a function or struct changes incompatibly (adding is not). */
#define REWIRE_VERSION "0.1.0"
#define REWIRE_ABI_VERSION 1

typedef enum rewire_status {
  REWIRE_OK = 0,
  REWIRE_INVALID_ARGUMENT = 1,   /* bad file contents, shapes, names, NULLs */
  REWIRE_NOT_FOUND = 2,          /* missing file */
  REWIRE_FAILED_PRECONDITION = 3,
  REWIRE_UNIMPLEMENTED = 4,      /* an op without a kernel */
  REWIRE_RESOURCE_EXHAUSTED = 5, /* allocation or size limits */
  REWIRE_UNAVAILABLE = 6,        /* e.g. CUDA requested without a CUDA build */
  REWIRE_PERMISSION_DENIED = 7,
  REWIRE_INTERNAL = 8,           /* a bug in rewire */
  REWIRE_UNKNOWN = 9,
  /* Reading or writing a file failed for a reason other than a missing file
   * or a permission (disk full, I/O error, a directory in the way). */
  REWIRE_IO_ERROR = 10
} rewire_status;

typedef enum rewire_format {
  REWIRE_FORMAT_BINARY_PROTO = 0, /* ".pb" */
  REWIRE_FORMAT_TEXT_PROTO = 1,   /* ".pbtxt" */
  REWIRE_FORMAT_PT2 = 2           /* ".pt2": torch.export.save's archive */
} rewire_format;

/* An ExportedModule: graph, parameters, buffers and mode. */
typedef struct rewire_module rewire_module;
/* The outputs of one run. */
typedef struct rewire_outputs rewire_outputs;

/* One named float32 input: C-order data of `ndim` dims `shape`. The data is
 * copied; the caller keeps ownership. */
typedef struct rewire_input {
  const char* name; /* the input placeholder's name */
  const float* data;
  const int64_t* shape;
  size_t ndim;
} rewire_input;

/* The last error message of this thread ("" after a success). Valid until
 * the next rewire_* call on this thread. */
const char* rewire_last_error(void);
/* "OK", "INVALID_ARGUMENT", ...; "NOT_A_STATUS" for any other value. */
const char* rewire_status_name(rewire_status status);
/* REWIRE_VERSION of the library loaded at run time (which may be newer than
 * the header a program was compiled with). */
const char* rewire_version(void);

/* Loading verifies the whole model (ir/serialization.h); *out is set only on
 * success. A zip archive is read as torch.export's .pt2 whatever its name;
 * other files by extension: .pb, .pbtxt, .pt2, or .txt / .rwir for the
 * readable text form (graph only: no weights, buffers or mode). Saving goes
 * by the extension; a .pt2 loaded and saved keeps every archive entry rewire
 * does not interpret. */
rewire_status rewire_module_load_file(const char* path, rewire_module** out);
rewire_status rewire_module_load_bytes(const void* data, size_t size,
                                       rewire_format format,
                                       rewire_module** out);
/* Atomic (temp file + rename): a failure leaves an existing file as it was. */
rewire_status rewire_module_save_file(const rewire_module* module,
                                      const char* path);
/* Serialized bytes in *data (release with rewire_free), length in *size. */
rewire_status rewire_module_serialize(const rewire_module* module,
                                      rewire_format format, void** data,
                                      size_t* size);
void rewire_module_free(rewire_module* module); /* NULL is fine */

/* torch's model_is_exported: 1 when some node carries "val", else 0. */
int rewire_module_is_exported(const rewire_module* module);
/* 1 in training mode, 0 in eval mode. */
int rewire_module_is_training(const rewire_module* module);

/* pt2e's move_exported_model_to_eval / _train. When `report` is not NULL it
 * receives the TrainEvalReport as text (release with rewire_free), also on
 * a no-op (already in that mode). On failure the module's mode is unchanged. */
rewire_status rewire_module_move_to_eval(rewire_module* module, char** report);
/* As rewire_module_move_to_eval; with strict != 0 it fails with
 * REWIRE_FAILED_PRECONDITION, leaving the module exactly as it was, when any
 * node would keep the eval graph from computing what eager model.eval()
 * computes (a random op, a training flag still set, a counter still
 * counting); rewire_last_error() names them. */
rewire_status rewire_module_move_to_eval_ex(rewire_module* module, int strict,
                                            char** report);
rewire_status rewire_module_move_to_train(rewire_module* module,
                                          char** report);

/* The model's real inputs (placeholders not bound to a parameter or buffer),
 * in order. The name stays valid until the module is switched or freed. */
size_t rewire_module_num_inputs(const rewire_module* module);
const char* rewire_module_input_name(const rewire_module* module, size_t i);
/* The input's shape from its "val" metadata: *ndim gets the rank; up to
 * max_dims sizes are written to dims. INVALID_ARGUMENT when there is no
 * "val" or a dim is symbolic. */
rewire_status rewire_module_input_shape(const rewire_module* module, size_t i,
                                        int64_t* dims, size_t max_dims,
                                        size_t* ndim);

/* Runs the module on the CPU with the given inputs (every input placeholder
 * needs one, by name). `seed` drives dropout. A run in training mode updates
 * the module's buffers (running stats), as a PyTorch training step does.
 * The run is bounded by the default limits of rewire_run_options_init. */
rewire_status rewire_module_run(rewire_module* module,
                                const rewire_input* inputs, size_t num_inputs,
                                uint64_t seed, rewire_outputs** out);

/* "No limit" for the limits below. */
#define REWIRE_UNLIMITED INT64_MAX

/* Options of rewire_module_run_ex. Initialize with rewire_run_options_init,
 * then change what you need: fields may be added at the end in later
 * versions, and struct_size tells the library which ones the caller knows
 * (the others keep their defaults). A run over a limit fails with
 * REWIRE_RESOURCE_EXHAUSTED, rewire_last_error() naming the node and the
 * limit, before the allocation or the kernel that would exceed it. */
typedef struct rewire_run_options {
  size_t struct_size;       /* sizeof(rewire_run_options) */
  uint64_t seed;            /* dropout masks (default 0) */
  /* Live bytes of all the run's tensors together (its copies of the
   * inputs included). Default: half of this machine's physical memory. */
  int64_t max_total_bytes;
  /* Largest single tensor, in bytes. Default 16 GiB. */
  int64_t max_tensor_bytes;
  /* Operations one node may need, estimated from its argument shapes
   * before it runs (FLOPs for convolution, matmul, attention, einsum and
   * pooling; element visits for the rest). Default 2^40. */
  int64_t max_node_work;
  /* Added in 0.1.0, after the fields above. Philox offset the run's dropout
   * and bernoulli streams start at (default 0); a training loop passes the
   * previous run's rewire_outputs_final_offset to draw fresh masks. */
  uint64_t offset;
} rewire_run_options;

/* Sets struct_size and every field to its default. */
void rewire_run_options_init(rewire_run_options* options);

/* rewire_module_run with options; NULL options means the defaults.
 * INVALID_ARGUMENT when struct_size is smaller than the first version's
 * fields or larger than this library knows, or a limit is not positive. */
rewire_status rewire_module_run_ex(rewire_module* module,
                                   const rewire_input* inputs,
                                   size_t num_inputs,
                                   const rewire_run_options* options,
                                   rewire_outputs** out);

/* Accessors; pointers stay valid until rewire_outputs_free. Every output is
 * converted to float32 (float64, int64 and bool values convert exactly or to
 * the nearest float; a None output has 0 dims and no data). */
size_t rewire_outputs_count(const rewire_outputs* outputs);
const char* rewire_outputs_name(const rewire_outputs* outputs, size_t i);
size_t rewire_outputs_ndim(const rewire_outputs* outputs, size_t i);
const int64_t* rewire_outputs_shape(const rewire_outputs* outputs, size_t i);
int64_t rewire_outputs_numel(const rewire_outputs* outputs, size_t i);
const float* rewire_outputs_data(const rewire_outputs* outputs, size_t i);
void rewire_outputs_free(rewire_outputs* outputs); /* NULL is fine */

/* Element types of rewire_module_run_tensors; the values are stable. */
typedef enum rewire_dtype {
  REWIRE_FLOAT32 = 0,
  REWIRE_FLOAT64 = 1,
  REWIRE_FLOAT16 = 2,  /* IEEE half, as uint16_t bits */
  REWIRE_BFLOAT16 = 3, /* as uint16_t bits */
  REWIRE_INT64 = 4,
  REWIRE_INT32 = 5,
  REWIRE_INT16 = 6,
  REWIRE_INT8 = 7,
  REWIRE_UINT8 = 8,
  REWIRE_BOOL = 9,       /* one byte, 0 or 1 */
  REWIRE_COMPLEX64 = 10, /* float real, float imaginary */
  REWIRE_COMPLEX128 = 11
} rewire_dtype;

/* "float32", "int64", ...; NULL for a value outside the enum. */
const char* rewire_dtype_name(rewire_dtype dtype);
/* Bytes per element; 0 for a value outside the enum. */
size_t rewire_dtype_size(rewire_dtype dtype);

/* One named input of any dtype: C-order data of `ndim` dims `shape`,
 * numel * rewire_dtype_size(dtype) bytes, read during the run only. */
typedef struct rewire_tensor_input {
  const char* name;
  rewire_dtype dtype;
  const void* data;
  const int64_t* shape;
  size_t ndim;
} rewire_tensor_input;

/* As rewire_module_run_ex, with inputs of any dtype; the outputs keep the
 * dtype the graph computed (read them with rewire_outputs_dtype and
 * rewire_outputs_bytes; rewire_outputs_data is NULL for non-float32 ones). */
rewire_status rewire_module_run_tensors(rewire_module* module,
                                        const rewire_tensor_input* inputs,
                                        size_t num_inputs,
                                        const rewire_run_options* options,
                                        rewire_outputs** out);
/* The dtype of output i (REWIRE_FLOAT32 for every output of
 * rewire_module_run and rewire_module_run_ex, which convert). */
rewire_dtype rewire_outputs_dtype(const rewire_outputs* outputs, size_t i);
/* Output i's C-order elements (NULL when it has none), and their bytes. */
const void* rewire_outputs_bytes(const rewire_outputs* outputs, size_t i);
size_t rewire_outputs_nbytes(const rewire_outputs* outputs, size_t i);
/* The Philox offset after the run (the next step's options.offset). */
uint64_t rewire_outputs_final_offset(const rewire_outputs* outputs);

/* What a train/eval switch did, for programs (the text form is
 * rewire_report_text). Every string stays valid until rewire_report_free. */
typedef struct rewire_report rewire_report;

typedef enum rewire_mode { REWIRE_MODE_TRAIN = 0, REWIRE_MODE_EVAL = 1 } rewire_mode;

/* Options of rewire_module_switch; initialize with
 * rewire_switch_options_init (struct_size as in rewire_run_options). */
typedef struct rewire_switch_options {
  size_t struct_size; /* sizeof(rewire_switch_options) */
  rewire_mode to;     /* default REWIRE_MODE_EVAL */
  int strict;         /* as rewire_module_move_to_eval_ex (default 0) */
} rewire_switch_options;

void rewire_switch_options_init(rewire_switch_options* options);

/* Switches the module as rewire_module_move_to_eval_ex / _train do; when
 * `report` is not NULL it receives the structured report (release with
 * rewire_report_free), also on a no-op. */
rewire_status rewire_module_switch(rewire_module* module,
                                   const rewire_switch_options* options,
                                   rewire_report** report);

const char* rewire_report_text(const rewire_report* report);
rewire_mode rewire_report_from(const rewire_report* report);
rewire_mode rewire_report_to(const rewire_report* report);
/* 1 when the module already was in the requested mode (nothing done). */
int rewire_report_already_in_mode(const rewire_report* report);
int64_t rewire_report_dead_nodes_removed(const rewire_report* report);
int64_t rewire_report_total_rewritten(const rewire_report* report);
/* Rewritten sites per (pattern, dialect): "dropout", "batch_norm", ...;
 * "training_ir", "core_aten", ... */
size_t rewire_report_num_sites(const rewire_report* report);
const char* rewire_report_site_pattern(const rewire_report* report, size_t i);
const char* rewire_report_site_dialect(const rewire_report* report, size_t i);
int64_t rewire_report_site_count(const rewire_report* report, size_t i);
/* Dropout and batch norm nodes the switch left alone, and why; prevents_eval
 * is 1 when the node keeps the eval graph from computing what eager
 * model.eval() computes. */
size_t rewire_report_num_left_alone(const rewire_report* report);
const char* rewire_report_left_alone_node(const rewire_report* report, size_t i);
const char* rewire_report_left_alone_target(const rewire_report* report, size_t i);
const char* rewire_report_left_alone_reason(const rewire_report* report, size_t i);
int rewire_report_left_alone_prevents_eval(const rewire_report* report, size_t i);
void rewire_report_free(rewire_report* report); /* NULL is fine */

/* Rewrite rules (docs/RULES.md): pattern/replacement graph pairs with
 * options, parsed once and applied to any number of modules. A rules handle
 * is read-only after parsing: one may be applied from several threads to
 * distinct modules. */
typedef struct rewire_rules rewire_rules;

/* Parses `size` bytes of rules text; `source` names it in errors ("my.rules";
 * NULL: "<string>"). Errors name the line (rewire_last_error). */
rewire_status rewire_rules_parse(const char* text, size_t size,
                                 const char* source, rewire_rules** out);
/* Reads and parses the rules file `path`. */
rewire_status rewire_rules_load_file(const char* path, rewire_rules** out);
size_t rewire_rules_count(const rewire_rules* rules);
const char* rewire_rules_name(const rewire_rules* rules, size_t i); /* NULL past the end */
void rewire_rules_free(rewire_rules* rules); /* NULL is fine */

/* What rewire_module_apply_rules did, per rule in file order. Strings stay
 * valid until rewire_rewrite_result_free. */
typedef struct rewire_rewrite_result rewire_rewrite_result;

/* Applies `rules` to the module's graph: by descending benefit, then file
 * order, in one sweep, or with `fixed_point` until a sweep replaces nothing
 * (at most `max_iterations` sweeps; 0: 16). All-or-nothing: on error the
 * module is exactly as it was. `result` (may be NULL) receives the outcome
 * on success; release it with rewire_rewrite_result_free. */
rewire_status rewire_module_apply_rules(rewire_module* module,
                                        const rewire_rules* rules,
                                        int fixed_point, int max_iterations,
                                        rewire_rewrite_result** result);
int64_t rewire_rewrite_result_total_replaced(const rewire_rewrite_result* r);
int rewire_rewrite_result_iterations(const rewire_rewrite_result* r);
/* 0 when fixed_point stopped at max_iterations still rewriting. */
int rewire_rewrite_result_converged(const rewire_rewrite_result* r);
size_t rewire_rewrite_result_num_rules(const rewire_rewrite_result* r);
const char* rewire_rewrite_result_rule_name(const rewire_rewrite_result* r, size_t rule);
int64_t rewire_rewrite_result_replaced(const rewire_rewrite_result* r, size_t rule);
int64_t rewire_rewrite_result_rejected_by_filters(const rewire_rewrite_result* r,
                                                  size_t rule);
/* Matches found but not applied, with the reason (e.g. a replacement that
 * would use a value before it is defined). */
size_t rewire_rewrite_result_num_skipped(const rewire_rewrite_result* r, size_t rule);
const char* rewire_rewrite_result_skipped_node(const rewire_rewrite_result* r,
                                               size_t rule, size_t i);
const char* rewire_rewrite_result_skipped_reason(const rewire_rewrite_result* r,
                                                 size_t rule, size_t i);
/* Each replaced site: the graph node its anchor matched, and the names of
 * the nodes the replacement inserted there. */
size_t rewire_rewrite_result_num_sites(const rewire_rewrite_result* r, size_t rule);
const char* rewire_rewrite_result_site_anchor(const rewire_rewrite_result* r,
                                              size_t rule, size_t site);
size_t rewire_rewrite_result_site_num_nodes(const rewire_rewrite_result* r,
                                            size_t rule, size_t site);
const char* rewire_rewrite_result_site_node(const rewire_rewrite_result* r,
                                            size_t rule, size_t site, size_t i);
void rewire_rewrite_result_free(rewire_rewrite_result* r); /* NULL is fine */

/* Releases strings and buffers this API allocated (NULL is fine). */
void rewire_free(void* p);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* REWIRE_TOOLS_REWIRE_C_H_ */
