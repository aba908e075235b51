/* End-to-end test of the C API (tools/rewire_c.h), compiled as C so that the
 * header is checked to be plain C: load tests/testdata/cli_small.pb (written
 * by `rewire gen`), query it, run a training step, switch to eval and check
 * determinism, switch back, save and reload, serialize, and exercise the
 * error paths (missing file, corrupt bytes, unknown input name, NULLs,
 * enum arguments out of range, control bytes in names). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs `m` on `x` and copies the single output into `out` (n floats). */
static int run_once(rewire_module* m, const float* x, const int64_t* shape,
                    size_t ndim, uint64_t seed, float* out, int64_t n) {
  rewire_input in;
  rewire_outputs* outs = NULL;
  in.name = "x";
  in.data = x;
  in.shape = shape;
  in.ndim = ndim;
  if (rewire_module_run(m, &in, 1, seed, &outs) != REWIRE_OK) return 0;
  CHECK(rewire_outputs_count(outs) == 1);
  CHECK(strcmp(rewire_outputs_name(outs, 0), "dropout_1") == 0);
  CHECK(rewire_outputs_ndim(outs, 0) == ndim);
  CHECK(rewire_outputs_numel(outs, 0) == n);
  CHECK(rewire_outputs_shape(outs, 0)[1] == shape[1]);
  memcpy(out, rewire_outputs_data(outs, 0), (size_t)n * sizeof(float));
  CHECK(rewire_outputs_data(outs, 1) == NULL); /* out of range */
  rewire_outputs_free(outs);
  return 1;
}

int main(void) {
  const char* path = "tests/testdata/cli_small.pb";
  rewire_module* m = NULL;
  rewire_module* other = NULL;
  int64_t shape[8];
  size_t ndim = 0;
  int64_t n = 1;
  size_t i;
  float *x, *y1, *y2, *y3;
  char* report = NULL;
  void* bytes = NULL;
  size_t size = 0;
  char saved[4096];
  const char* tmpdir = getenv("TEST_TMPDIR");
  rewire_input bad;
  rewire_outputs* outs = NULL;

  /* Errors: missing file, corrupt bytes, NULL arguments. */
  CHECK(rewire_module_load_file("tests/testdata/no_such.pb", &m) ==
        REWIRE_NOT_FOUND);
  CHECK(strstr(rewire_last_error(), "no_such.pb") != NULL);
  CHECK(m == NULL);
  CHECK(rewire_module_load_bytes("\x93garbage", 8, REWIRE_FORMAT_BINARY_PROTO,
                                 &m) == REWIRE_INVALID_ARGUMENT);
  CHECK(strlen(rewire_last_error()) > 0);
  CHECK(rewire_module_load_file(NULL, &m) == REWIRE_INVALID_ARGUMENT);
  CHECK(rewire_module_move_to_eval(NULL, NULL) == REWIRE_INVALID_ARGUMENT);
  CHECK(strcmp(rewire_status_name(REWIRE_NOT_FOUND), "NOT_FOUND") == 0);
  rewire_module_free(NULL);
  rewire_outputs_free(NULL);
  rewire_free(NULL);

  /* Load and query. */
  CHECK_OK(rewire_module_load_file(path, &m));
  if (m == NULL) return 1;
  CHECK(strcmp(rewire_last_error(), "") == 0);
  CHECK(rewire_module_is_exported(m) == 1);
  CHECK(rewire_module_is_training(m) == 1);
  CHECK(rewire_module_num_inputs(m) == 1);
  CHECK(strcmp(rewire_module_input_name(m, 0), "x") == 0);
  CHECK(rewire_module_input_name(m, 1) == NULL);
  CHECK_OK(rewire_module_input_shape(m, 0, shape, 8, &ndim));
  CHECK(ndim == 4);
  CHECK(rewire_module_input_shape(m, 5, shape, 8, &ndim) ==
        REWIRE_INVALID_ARGUMENT);
  for (i = 0; i < ndim; ++i) n *= shape[i];
  CHECK(n == 2 * 2 * 4 * 4);
  x = (float*)malloc((size_t)n * sizeof(float));
  y1 = (float*)malloc((size_t)n * sizeof(float));
  y2 = (float*)malloc((size_t)n * sizeof(float));
  y3 = (float*)malloc((size_t)n * sizeof(float));
  for (i = 0; i < (size_t)n; ++i) x[i] = (float)sin((double)i);

  /* Bad inputs: unknown name, wrong shape. */
  bad.name = "nope";
  bad.data = x;
  bad.shape = shape;
  bad.ndim = ndim;
  CHECK(rewire_module_run(m, &bad, 1, 0, &outs) != REWIRE_OK);
  CHECK(outs == NULL);
  CHECK(strlen(rewire_last_error()) > 0);

  /* Training: dropout zeroes some elements; different seeds differ. */
  CHECK(run_once(m, x, shape, ndim, 1, y1, n));
  CHECK(run_once(m, x, shape, ndim, 2, y2, n));
  CHECK(memcmp(y1, y2, (size_t)n * sizeof(float)) != 0);

  /* Eval: deterministic whatever the seed, and the report says what
   * happened. */
  CHECK_OK(rewire_module_move_to_eval(m, &report));
  CHECK(report != NULL && strstr(report, "train -> eval") != NULL);
  rewire_free(report);
  report = NULL;
  CHECK(rewire_module_is_training(m) == 0);
  CHECK(run_once(m, x, shape, ndim, 1, y1, n));
  CHECK(run_once(m, x, shape, ndim, 99, y2, n));
  CHECK(memcmp(y1, y2, (size_t)n * sizeof(float)) == 0);
  CHECK_OK(rewire_module_move_to_eval(m, &report)); /* no-op */
  CHECK(report != NULL && strstr(report, "already in eval") != NULL);
  rewire_free(report);

  /* Strict eval refuses a graph that keeps drawing random numbers, and
   * leaves it in training mode. */
  {
    char odd_path[4096];
    rewire_module* odd = NULL;
    FILE* f;
    snprintf(odd_path, sizeof(odd_path), "%s/c_api_odd.pbtxt",
             tmpdir ? tmpdir : "/tmp");
    f = fopen(odd_path, "w");
    CHECK(f != NULL);
    fputs("ir_version: 1\n"
          "graph {\n"
          "  nodes { name: \"x\" op: OP_KIND_PLACEHOLDER target: \"x\"\n"
          "    meta { key: \"val\" value { tensor { dtype: DTYPE_FLOAT32\n"
          "      shape { size: 2 } shape { size: 3 } device: \"cpu\" } } } }\n"
          "  nodes { name: \"b\" op: OP_KIND_CALL_FUNCTION\n"
          "    target: \"aten.bernoulli.p\" args { node: \"x\" }\n"
          "    args { double_value: 0.5 } }\n"
          "  nodes { name: \"y\" op: OP_KIND_CALL_FUNCTION\n"
          "    target: \"aten.mul.Tensor\" args { node: \"x\" }\n"
          "    args { node: \"b\" } }\n"
          "  nodes { name: \"output\" op: OP_KIND_OUTPUT args { node: \"y\" } }\n"
          "}\n", f);
    fclose(f);
    CHECK_OK(rewire_module_load_file(odd_path, &odd));
    CHECK(rewire_module_move_to_eval_ex(odd, 1, &report) ==
          REWIRE_FAILED_PRECONDITION);
    CHECK(report == NULL);
    CHECK(strstr(rewire_last_error(), "%b") != NULL);
    CHECK(rewire_module_is_training(odd) == 1);
    CHECK_OK(rewire_module_move_to_eval_ex(odd, 0, &report));
    CHECK(report != NULL && strstr(report, "differs from eager eval") != NULL);
    rewire_free(report);
    report = NULL;
    CHECK(rewire_module_is_training(odd) == 0);
    rewire_module_free(odd);
  }

  /* Save (atomic) and reload: the copy computes the same eval outputs. */
  snprintf(saved, sizeof(saved), "%s/c_api_eval.pb", tmpdir ? tmpdir : "/tmp");
  CHECK_OK(rewire_module_save_file(m, saved));
  CHECK_OK(rewire_module_load_file(saved, &other));
  if (other != NULL) {
    CHECK(rewire_module_is_training(other) == 0);
    CHECK(run_once(other, x, shape, ndim, 5, y3, n));
    CHECK(memcmp(y1, y3, (size_t)n * sizeof(float)) == 0);
    rewire_module_free(other);
    other = NULL;
  }
  CHECK(rewire_module_save_file(m, "/nonexistent_dir/x.pb") != REWIRE_OK);
  CHECK(strstr(rewire_last_error(), "/nonexistent_dir/x.pb") != NULL);

  /* Serialize to bytes and load them back (text proto). */
  CHECK_OK(rewire_module_serialize(m, REWIRE_FORMAT_TEXT_PROTO, &bytes, &size));
  CHECK(bytes != NULL && size > 0);
  CHECK_OK(rewire_module_load_bytes(bytes, size, REWIRE_FORMAT_TEXT_PROTO,
                                    &other));
  rewire_free(bytes);
  CHECK(other != NULL && rewire_module_is_training(other) == 0);
  rewire_module_free(other);
  other = NULL;

  /* Enum arguments outside their enumerators are refused, naming the
   * argument and the value, never read as some default format. */
  bytes = NULL;
  CHECK(rewire_module_serialize(m, (rewire_format)7, &bytes, &size) ==
        REWIRE_INVALID_ARGUMENT);
  CHECK(strstr(rewire_last_error(), "format is 7") != NULL);
  CHECK(bytes == NULL && size == 0);
  CHECK(rewire_module_serialize(m, (rewire_format)-1, &bytes, &size) ==
        REWIRE_INVALID_ARGUMENT);
  CHECK(strstr(rewire_last_error(), "format is -1") != NULL);
  CHECK(rewire_module_load_bytes("", 0, (rewire_format)3, &other) ==
        REWIRE_INVALID_ARGUMENT);
  CHECK(strstr(rewire_last_error(), "format is 3") != NULL);
  CHECK(other == NULL);
  CHECK(strcmp(rewire_status_name((rewire_status)42), "NOT_A_STATUS") == 0);
  CHECK(strcmp(rewire_status_name((rewire_status)-3), "NOT_A_STATUS") == 0);
  CHECK(strcmp(rewire_status_name(REWIRE_UNKNOWN), "UNKNOWN") == 0);

  /* A name from the input reaches rewire_last_error escaped, never as the
   * raw ESC sequence. */
  {
    static const char kDangling[] =
        "ir_version: 1 graph { nodes { name: \"y\" op: OP_KIND_CALL_FUNCTION "
        "target: \"aten.relu.default\" args { node: \"\\033[2J\" } } "
        "nodes { name: \"output\" op: OP_KIND_OUTPUT args { node: \"y\" } } }";
    CHECK(rewire_module_load_bytes(kDangling, sizeof(kDangling) - 1,
                                   REWIRE_FORMAT_TEXT_PROTO,
                                   &other) == REWIRE_INVALID_ARGUMENT);
    CHECK(strchr(rewire_last_error(), '\033') == NULL);
    CHECK(strstr(rewire_last_error(), "\\x1b[2J") != NULL);
  }

  /* Run limits: on by default, adjustable, and refusals name the node. */
  {
    rewire_run_options opts;
    rewire_input in;
    rewire_outputs* limited = NULL;
    in.name = "x";
    in.data = x;
    in.shape = shape;
    in.ndim = ndim;
    rewire_run_options_init(&opts);
    CHECK(opts.struct_size == sizeof(rewire_run_options));
    CHECK(opts.max_total_bytes > 0 && opts.max_total_bytes < REWIRE_UNLIMITED);
    CHECK(opts.max_node_work == ((int64_t)1 << 40));
    CHECK_OK(rewire_module_run_ex(m, &in, 1, &opts, &limited));
    rewire_outputs_free(limited);
    limited = NULL;
    CHECK_OK(rewire_module_run_ex(m, &in, 1, NULL, &limited)); /* defaults */
    rewire_outputs_free(limited);
    limited = NULL;
    opts.max_total_bytes = 200; /* less than the run's copy of x (256 bytes) */
    CHECK(rewire_module_run_ex(m, &in, 1, &opts, &limited) == REWIRE_RESOURCE_EXHAUSTED);
    CHECK(limited == NULL);
    CHECK(strstr(rewire_last_error(), "%x") != NULL);
    CHECK(strstr(rewire_last_error(), "limit of 200 bytes in total") != NULL);
    opts.max_total_bytes = REWIRE_UNLIMITED;
    opts.max_node_work = 100; /* the first conv needs more */
    CHECK(rewire_module_run_ex(m, &in, 1, &opts, &limited) == REWIRE_RESOURCE_EXHAUSTED);
    CHECK(strstr(rewire_last_error(), "estimated work") != NULL);
    opts.max_node_work = 0;
    CHECK(rewire_module_run_ex(m, &in, 1, &opts, &limited) == REWIRE_INVALID_ARGUMENT);
    opts.max_node_work = REWIRE_UNLIMITED;
    opts.struct_size = sizeof(rewire_run_options) + 8; /* a newer caller */
    CHECK(rewire_module_run_ex(m, &in, 1, &opts, &limited) == REWIRE_INVALID_ARGUMENT);
    CHECK(strstr(rewire_last_error(), "struct_size") != NULL);
  }

  /* Back to train: dropout is random again. */
  CHECK_OK(rewire_module_move_to_train(m, NULL));
  CHECK(rewire_module_is_training(m) == 1);
  CHECK(run_once(m, x, shape, ndim, 1, y1, n));
  CHECK(run_once(m, x, shape, ndim, 2, y2, n));
  CHECK(memcmp(y1, y2, (size_t)n * sizeof(float)) != 0);

  /* Rewrite rules: relu -> clamp(x, 0.0) keeps the outputs; the result
   * names each site and its new nodes. */
  {
    static const char kRules[] =
        "rule relu_to_clamp:\n"
        "pattern:\n"
        "  %x = placeholder\n"
        "  %r = aten.relu.default(%x)\n"
        "  return (%r,)\n"
        "replacement:\n"
        "  %x = placeholder\n"
        "  %c = aten.clamp.default(%x, 0.0)\n"
        "  return (%c,)\n"
        "end\n";
    rewire_rules* rules = NULL;
    CHECK_OK(rewire_rules_parse(kRules, sizeof(kRules) - 1, "inline.rules", &rules));
    CHECK(rewire_rules_count(rules) == 1);
    CHECK(strcmp(rewire_rules_name(rules, 0), "relu_to_clamp") == 0);
    CHECK(rewire_rules_name(rules, 1) == NULL);
    rewire_module* e = NULL;
    CHECK_OK(rewire_module_load_file(path, &e));
    CHECK_OK(rewire_module_move_to_eval(e, NULL));
    CHECK(run_once(e, x, shape, ndim, 0, y1, n));
    rewire_rewrite_result* rr = NULL;
    CHECK_OK(rewire_module_apply_rules(e, rules, 0, 0, &rr));
    CHECK(rewire_rewrite_result_num_rules(rr) == 1);
    CHECK(rewire_rewrite_result_replaced(rr, 0) == 2); /* two relus */
    CHECK(rewire_rewrite_result_total_replaced(rr) == 2);
    CHECK(rewire_rewrite_result_iterations(rr) == 1);
    CHECK(rewire_rewrite_result_num_sites(rr, 0) == 2);
    CHECK(rewire_rewrite_result_site_anchor(rr, 0, 0) != NULL);
    CHECK(rewire_rewrite_result_site_num_nodes(rr, 0, 0) == 1);
    CHECK(rewire_rewrite_result_site_node(rr, 0, 0, 0) != NULL);
    CHECK(rewire_rewrite_result_site_node(rr, 0, 0, 1) == NULL);
    CHECK(rewire_rewrite_result_site_anchor(rr, 0, 9) == NULL);
    CHECK(rewire_rewrite_result_rule_name(rr, 1) == NULL);
    rewire_rewrite_result_free(rr);
    CHECK(run_once(e, x, shape, ndim, 0, y2, n));
    CHECK(memcmp(y1, y2, (size_t)n * sizeof(float)) == 0);
    /* Nothing left to match. */
    CHECK_OK(rewire_module_apply_rules(e, rules, 1, 4, &rr));
    CHECK(rewire_rewrite_result_total_replaced(rr) == 0);
    CHECK(rewire_rewrite_result_converged(rr) == 1);
    rewire_rewrite_result_free(rr);
    /* Errors name the line; NULLs are refused. */
    rewire_rules* bad = NULL;
    CHECK(rewire_rules_parse("rule a:\n  colour = red\n", 22, "bad.rules", &bad) ==
          REWIRE_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    CHECK(strstr(rewire_last_error(), "bad.rules:2: unknown option 'colour'") != NULL);
    CHECK(rewire_rules_load_file("/nonexistent.rules", &bad) == REWIRE_NOT_FOUND);
    CHECK(rewire_rules_parse(NULL, 3, NULL, &bad) == REWIRE_INVALID_ARGUMENT);
    CHECK(rewire_module_apply_rules(NULL, rules, 0, 0, NULL) == REWIRE_INVALID_ARGUMENT);
    CHECK(rewire_module_apply_rules(e, NULL, 0, 0, NULL) == REWIRE_INVALID_ARGUMENT);
    CHECK(rewire_module_apply_rules(e, rules, 1, -1, NULL) == REWIRE_INVALID_ARGUMENT);
    rewire_rules_free(rules);
    rewire_rules_free(NULL);
    rewire_rewrite_result_free(NULL);
    rewire_module_free(e);
  }

  rewire_module_free(m);
  free(x);
  free(y1);
  free(y2);
  free(y3);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("c api test passed\n");
  return 0;
}
