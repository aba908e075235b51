/* The C API's later additions, compiled as C: rewire_version, inputs and
 * outputs of other dtypes (rewire_module_run_tensors), the Philox offset of
 * rewire_run_options, the structured report of rewire_module_switch,
 * REWIRE_IO_ERROR for a failed write, and .pt2 archives (by name, by
 * content, and as bytes). */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/rewire_c.h"

static int failures = 0;

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n",    \
              __FILE__, __LINE__, #cond, rewire_last_error());         \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

#define CHECK_OK(expr) CHECK((expr) == REWIRE_OK)

/* Writes `text` to TEST_TMPDIR/name and loads it. */
static rewire_module* load_text(const char* name, const char* text) {
  char path[4096];
  rewire_module* m = NULL;
  FILE* f;
  const char* tmpdir = getenv("TEST_TMPDIR");
  snprintf(path, sizeof(path), "%s/%s", tmpdir ? tmpdir : "/tmp", name);
  f = fopen(path, "w");
  if (f == NULL) return NULL;
  fputs(text, f);
  fclose(f);
  CHECK_OK(rewire_module_load_file(path, &m));
  return m;
}

/* y = x + x on a [3] tensor of `dtype` (a DTYPE_* name of graph.proto). */
static rewire_module* doubling_model(const char* dtype) {
  char text[2048];
  snprintf(text, sizeof(text),
           "ir_version: 1\n"
           "graph {\n"
           "  nodes { name: \"x\" op: OP_KIND_PLACEHOLDER target: \"x\"\n"
           "    meta { key: \"val\" value { tensor { dtype: %s\n"
           "      shape { size: 3 } device: \"cpu\" } } } }\n"
           "  nodes { name: \"y\" op: OP_KIND_CALL_FUNCTION\n"
           "    target: \"aten.add.Tensor\" args { node: \"x\" } args { node: \"x\" } }\n"
           "  nodes { name: \"output\" op: OP_KIND_OUTPUT args { node: \"y\" } }\n"
           "}\n",
           dtype);
  {
    char name[64];
    snprintf(name, sizeof(name), "%s.pbtxt", dtype);
    return load_text(name, text);
  }
}

static void test_version(void) {
  CHECK(strcmp(rewire_version(), REWIRE_VERSION) == 0);
  CHECK(REWIRE_ABI_VERSION >= 1);
  CHECK(strcmp(rewire_status_name(REWIRE_IO_ERROR), "IO_ERROR") == 0);
}

static void test_dtypes(void) {
  const int64_t shape[1] = {3};
  rewire_outputs* outs = NULL;
  CHECK(strcmp(rewire_dtype_name(REWIRE_INT64), "int64") == 0);
  CHECK(strcmp(rewire_dtype_name(REWIRE_BFLOAT16), "bfloat16") == 0);
  CHECK(rewire_dtype_name((rewire_dtype)12) == NULL);
  CHECK(rewire_dtype_size(REWIRE_COMPLEX128) == 16);
  CHECK(rewire_dtype_size((rewire_dtype)-1) == 0);
  {
    const int64_t x[3] = {1, -2, (int64_t)1 << 40};
    rewire_tensor_input in = {"x", REWIRE_INT64, x, shape, 1};
    rewire_module* m = doubling_model("DTYPE_INT64");
    if (m == NULL) return;
    CHECK_OK(rewire_module_run_tensors(m, &in, 1, NULL, &outs));
    if (outs != NULL) {
      const int64_t* y = (const int64_t*)rewire_outputs_bytes(outs, 0);
      CHECK(rewire_outputs_dtype(outs, 0) == REWIRE_INT64);
      CHECK(rewire_outputs_nbytes(outs, 0) == 3 * sizeof(int64_t));
      CHECK(rewire_outputs_data(outs, 0) == NULL); /* not float32 */
      CHECK(y != NULL && y[0] == 2 && y[1] == -4 && y[2] == (int64_t)1 << 41);
    }
    rewire_outputs_free(outs);
    outs = NULL;
    in.dtype = (rewire_dtype)42;
    CHECK(rewire_module_run_tensors(m, &in, 1, NULL, &outs) == REWIRE_INVALID_ARGUMENT);
    CHECK(strstr(rewire_last_error(), "dtype is 42, not a rewire_dtype") != NULL);
    CHECK(outs == NULL);
    rewire_module_free(m);
  }
  {
    const double x[3] = {0.5, 1e300, -3};
    rewire_tensor_input in = {"x", REWIRE_FLOAT64, x, shape, 1};
    rewire_module* m = doubling_model("DTYPE_FLOAT64");
    if (m == NULL) return;
    CHECK_OK(rewire_module_run_tensors(m, &in, 1, NULL, &outs));
    if (outs != NULL) {
      const double* y = (const double*)rewire_outputs_bytes(outs, 0);
      CHECK(rewire_outputs_dtype(outs, 0) == REWIRE_FLOAT64);
      CHECK(y != NULL && y[0] == 1.0 && y[1] == 2e300 && y[2] == -6);
    }
    rewire_outputs_free(outs);
    rewire_module_free(m);
  }
}

/* Runs cli_small.pb (training mode: dropout) from `offset`, copying the
 * output to y; returns the final offset. */
static uint64_t run_from(rewire_module* m, const float* x, const int64_t* shape,
                         uint64_t offset, float* y, size_t n) {
  rewire_run_options opts;
  rewire_input in = {"x", x, shape, 4};
  rewire_outputs* outs = NULL;
  uint64_t final_offset = 0;
  rewire_run_options_init(&opts);
  CHECK(opts.offset == 0);
  opts.seed = 7;
  opts.offset = offset;
  CHECK_OK(rewire_module_run_ex(m, &in, 1, &opts, &outs));
  if (outs == NULL) return 0;
  CHECK(rewire_outputs_dtype(outs, 0) == REWIRE_FLOAT32);
  CHECK(rewire_outputs_nbytes(outs, 0) == n * sizeof(float));
  memcpy(y, rewire_outputs_data(outs, 0), n * sizeof(float));
  final_offset = rewire_outputs_final_offset(outs);
  rewire_outputs_free(outs);
  return final_offset;
}

static void test_offset(rewire_module* m) {
  const int64_t shape[4] = {2, 2, 4, 4};
  enum { kN = 2 * 2 * 4 * 4 };
  float x[kN], a[kN], b[kN], c[kN];
  uint64_t next, again;
  size_t i;
  for (i = 0; i < kN; ++i) x[i] = 1.0f + (float)i / kN;
  next = run_from(m, x, shape, 0, a, kN);
  CHECK(next > 0); /* dropout drew numbers */
  again = run_from(m, x, shape, next, b, kN);
  CHECK(again > next);
  CHECK(memcmp(a, b, sizeof(a)) != 0); /* fresh masks from the new offset */
  CHECK(run_from(m, x, shape, 0, c, kN) == next);
  CHECK(memcmp(a, c, sizeof(a)) == 0); /* same offset, same masks */
}

static void test_report(rewire_module* m) {
  rewire_switch_options opts;
  rewire_report* r = NULL;
  size_t i;
  int64_t sum = 0;
  rewire_switch_options_init(&opts);
  CHECK(opts.struct_size == sizeof(rewire_switch_options));
  CHECK(opts.to == REWIRE_MODE_EVAL && opts.strict == 0);
  CHECK(rewire_module_switch(NULL, &opts, &r) == REWIRE_INVALID_ARGUMENT);
  CHECK(r == NULL);
  opts.struct_size = 1;
  CHECK(rewire_module_switch(m, &opts, &r) == REWIRE_INVALID_ARGUMENT);
  CHECK(strstr(rewire_last_error(), "struct_size") != NULL);
  opts.struct_size = sizeof(opts);
  opts.to = (rewire_mode)5;
  CHECK(rewire_module_switch(m, &opts, &r) == REWIRE_INVALID_ARGUMENT);
  CHECK(rewire_module_is_training(m) == 1);
  opts.to = REWIRE_MODE_EVAL;

  CHECK_OK(rewire_module_switch(m, &opts, &r));
  CHECK(rewire_module_is_training(m) == 0);
  if (r == NULL) return;
  CHECK(strstr(rewire_report_text(r), "train -> eval") != NULL);
  CHECK(rewire_report_from(r) == REWIRE_MODE_TRAIN);
  CHECK(rewire_report_to(r) == REWIRE_MODE_EVAL);
  CHECK(rewire_report_already_in_mode(r) == 0);
  CHECK(rewire_report_num_sites(r) >= 2); /* dropout and batch_norm */
  for (i = 0; i < rewire_report_num_sites(r); ++i) {
    CHECK(strlen(rewire_report_site_pattern(r, i)) > 0);
    CHECK(strlen(rewire_report_site_dialect(r, i)) > 0);
    sum += rewire_report_site_count(r, i);
  }
  CHECK(sum == rewire_report_total_rewritten(r) && sum > 0);
  CHECK(rewire_report_site_pattern(r, 99) == NULL);
  CHECK(rewire_report_num_left_alone(r) == 0);
  rewire_report_free(r);
  r = NULL;

  CHECK_OK(rewire_module_switch(m, &opts, &r)); /* already in eval */
  CHECK(r != NULL && rewire_report_already_in_mode(r) == 1);
  rewire_report_free(r);
  r = NULL;
  opts.to = REWIRE_MODE_TRAIN;
  CHECK_OK(rewire_module_switch(m, &opts, NULL)); /* no report wanted */
  CHECK(rewire_module_is_training(m) == 1);
  rewire_report_free(NULL);

  /* A random op the switch cannot restore is left alone, with its reason. */
  {
    rewire_module* odd = load_text(
        "c_api_ex_odd.pbtxt",
        "ir_version: 1\n"
        "graph {\n"
        "  nodes { name: \"x\" op: OP_KIND_PLACEHOLDER target: \"x\"\n"
        "    meta { key: \"val\" value { tensor { dtype: DTYPE_FLOAT32\n"
        "      shape { size: 2 } device: \"cpu\" } } } }\n"
        "  nodes { name: \"b\" op: OP_KIND_CALL_FUNCTION\n"
        "    target: \"aten.bernoulli.p\" args { node: \"x\" } args { double_value: 0.5 } }\n"
        "  nodes { name: \"output\" op: OP_KIND_OUTPUT args { node: \"b\" } }\n"
        "}\n");
    if (odd == NULL) return;
    opts.to = REWIRE_MODE_EVAL;
    CHECK_OK(rewire_module_switch(odd, &opts, &r));
    CHECK(r != NULL && rewire_report_num_left_alone(r) == 1);
    if (r != NULL && rewire_report_num_left_alone(r) == 1) {
      CHECK(strcmp(rewire_report_left_alone_node(r, 0), "b") == 0);
      CHECK(strcmp(rewire_report_left_alone_target(r, 0), "aten.bernoulli.p") == 0);
      CHECK(strlen(rewire_report_left_alone_reason(r, 0)) > 0);
      CHECK(rewire_report_left_alone_prevents_eval(r, 0) == 1);
    }
    CHECK(rewire_report_left_alone_node(r, 1) == NULL);
    rewire_report_free(r);
    rewire_module_free(odd);
  }
}

static void test_io_error(rewire_module* m) {
  const char* tmpdir = getenv("TEST_TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/a_directory.pb", tmpdir ? tmpdir : "/tmp");
  CHECK(mkdir(dir, 0755) == 0);
  /* A directory where the file should go: an I/O failure, not bad input. */
  CHECK(rewire_module_save_file(m, dir) == REWIRE_IO_ERROR);
  CHECK(strstr(rewire_last_error(), dir) != NULL);
  CHECK(rewire_module_save_file(m, "/nonexistent_dir/x.pb") == REWIRE_NOT_FOUND);
}

/* Reads a whole file into malloc'ed memory; NULL on failure. */
static char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  char* data;
  long n;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc(n > 0 ? (size_t)n : 1);
  if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return data;
}

static void write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return;
  fwrite(data, 1, size, f);
  fclose(f);
}

/* torch.export.save's archive: loaded by name and by content, switched,
 * saved as .pt2 and serialized to .pt2 bytes that load back in eval mode. */
static void test_pt2(void) {
  const char* archive = "tests/testdata/pt2/conv_bn_dropout.train.pt2";
  const char* tmpdir = getenv("TEST_TMPDIR");
  char renamed[4096], saved[4096];
  rewire_module* m = NULL;
  rewire_module* back = NULL;
  void* bytes = NULL;
  size_t size = 0;
  char* data;
  CHECK_OK(rewire_module_load_file(archive, &m));
  if (m == NULL) return;
  CHECK(rewire_module_is_training(m) == 1);
  CHECK(rewire_module_num_inputs(m) == 1);
  CHECK_OK(rewire_module_move_to_eval(m, NULL));
  snprintf(saved, sizeof(saved), "%s/eval.pt2", tmpdir ? tmpdir : "/tmp");
  CHECK_OK(rewire_module_save_file(m, saved));
  CHECK_OK(rewire_module_load_file(saved, &back));
  CHECK(back != NULL && rewire_module_is_training(back) == 0);
  rewire_module_free(back);
  back = NULL;

  CHECK_OK(rewire_module_serialize(m, REWIRE_FORMAT_PT2, &bytes, &size));
  CHECK(size > 4 && memcmp(bytes, "PK\x03\x04", 4) == 0);
  CHECK_OK(rewire_module_load_bytes(bytes, size, REWIRE_FORMAT_PT2, &back));
  CHECK(back != NULL && rewire_module_is_training(back) == 0);
  rewire_module_free(back);
  back = NULL;
  /* The same bytes read as a protobuf are an error, not a guess. */
  CHECK(rewire_module_load_bytes(bytes, size, REWIRE_FORMAT_BINARY_PROTO, &back) != REWIRE_OK);
  CHECK(back == NULL);
  rewire_free(bytes);

  /* By content: the archive under a name with no model extension. */
  data = read_file(archive, &size);
  CHECK(data != NULL);
  if (data != NULL) {
    snprintf(renamed, sizeof(renamed), "%s/model.bin", tmpdir ? tmpdir : "/tmp");
    write_file(renamed, data, size);
    CHECK_OK(rewire_module_load_file(renamed, &back));
    CHECK(back != NULL && rewire_module_is_training(back) == 1);
    rewire_module_free(back);
    back = NULL;
    /* Not an archive and no known extension: named in the error. */
    write_file(renamed, "hello", 5);
    CHECK(rewire_module_load_file(renamed, &back) == REWIRE_INVALID_ARGUMENT);
    CHECK(strstr(rewire_last_error(), "model.bin") != NULL);
    CHECK(strstr(rewire_last_error(), "not a .pt2 archive") != NULL);
    free(data);
  }
  CHECK(rewire_module_load_bytes("x", 1, (rewire_format)3, &back) == REWIRE_INVALID_ARGUMENT);
  CHECK(strstr(rewire_last_error(), "format is 3") != NULL);
  rewire_module_free(m);
}

int main(void) {
  rewire_module* m = NULL;
  test_version();
  test_dtypes();
  CHECK_OK(rewire_module_load_file("tests/testdata/cli_small.pb", &m));
  if (m == NULL) return 1;
  test_offset(m);
  test_report(m);
  test_io_error(m);
  rewire_module_free(m);
  test_pt2();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("c api additions test passed\n");
  return 0;
}
