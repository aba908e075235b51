/* A C program using an installed rewire (<rewire/rewire.h>, -lrewire):
 * loads MODEL, runs a training step on ones, switches to eval printing the
 * structured report, runs again, and prints the output's sum.
 * Usage: consumer_c MODEL.pb   (a model: `rewire gen --blocks 1 -o m.pb`) */
#include <rewire/rewire.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char* what, rewire_status s) {
  fprintf(stderr, "%s: %s: %s\n", what, rewire_status_name(s), rewire_last_error());
  return 1;
}

/* Runs `m` on ones of its first input's shape; prints the output's sum. */
static rewire_status run_ones(rewire_module* m, const char* label) {
  int64_t shape[8];
  size_t ndim = 0, i;
  int64_t n = 1;
  rewire_input in;
  rewire_outputs* outs = NULL;
  double sum = 0;
  float* x;
  rewire_status s = rewire_module_input_shape(m, 0, shape, 8, &ndim);
  if (s != REWIRE_OK) return s;
  for (i = 0; i < ndim; ++i) n *= shape[i];
  x = (float*)malloc((size_t)n * sizeof(float));
  if (x == NULL) return REWIRE_RESOURCE_EXHAUSTED;
  for (i = 0; i < (size_t)n; ++i) x[i] = 1.0f;
  in.name = rewire_module_input_name(m, 0);
  in.data = x;
  in.shape = shape;
  in.ndim = ndim;
  s = rewire_module_run(m, &in, 1, 0, &outs);
  free(x);
  if (s != REWIRE_OK) return s;
  for (i = 0; i < (size_t)rewire_outputs_numel(outs, 0); ++i) {
    sum += rewire_outputs_data(outs, 0)[i];
  }
  printf("%s: output %s, %lld elements, sum %.4f\n", label, rewire_outputs_name(outs, 0),
         (long long)rewire_outputs_numel(outs, 0), sum);
  rewire_outputs_free(outs);
  return REWIRE_OK;
}

int main(int argc, char** argv) {
  rewire_module* m = NULL;
  rewire_report* report = NULL;
  rewire_switch_options opts;
  rewire_status s;
  size_t i;
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL.pb\n", argv[0]);
    return 2;
  }
  printf("rewire %s (header %s)\n", rewire_version(), REWIRE_VERSION);
  if ((s = rewire_module_load_file(argv[1], &m)) != REWIRE_OK) return fail("load", s);
  if ((s = run_ones(m, "train")) != REWIRE_OK) return fail("run", s);
  rewire_switch_options_init(&opts);
  opts.to = REWIRE_MODE_EVAL;
  if ((s = rewire_module_switch(m, &opts, &report)) != REWIRE_OK) return fail("eval", s);
  for (i = 0; i < rewire_report_num_sites(report); ++i) {
    printf("rewrote %lld %s site(s) (%s)\n", (long long)rewire_report_site_count(report, i),
           rewire_report_site_pattern(report, i), rewire_report_site_dialect(report, i));
  }
  printf("left alone: %zu node(s)\n", rewire_report_num_left_alone(report));
  rewire_report_free(report);
  if ((s = run_ones(m, "eval")) != REWIRE_OK) return fail("run", s);
  rewire_module_free(m);
  return 0;
}
