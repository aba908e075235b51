#include "kernels/node_work.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace rewire {
namespace {

using op_args::Args;

// A dim as the estimates count it: size 0 as 1.
double Extent(int64_t d) { return static_cast<double>(std::max<int64_t>(d, 1)); }

double Extent(absl::Span<const int64_t> shape) {
  double e = 1;
  for (int64_t d : shape) e *= Extent(d);
  return e;
}

// Element visits of every tensor argument, lists included.
double ArgumentElements(const Args& args) {
  double total = 0;
  std::vector<const RuntimeValue*> stack;
  for (const RuntimeValue& v : args.values()) stack.push_back(&v);
  while (!stack.empty()) {
    const RuntimeValue* v = stack.back();
    stack.pop_back();
    if (v->is_tensor() && v->tensor.defined()) total += Extent(v->tensor.shape());
    for (const RuntimeValue& c : v->list) stack.push_back(&c);
  }
  return total;
}

// The tensor argument `name`, or nullptr when it is absent or not a tensor.
const Tensor* TensorArg(Args& args, absl::string_view name) {
  if (!args.Has(name)) return nullptr;
  absl::StatusOr<Tensor*> t = args.OptT(name);
  return t.ok() && *t != nullptr && (*t)->defined() ? *t : nullptr;
}

// Two ints of a window argument (one int broadcasts); `fallback` when the
// argument is absent, empty or malformed (the kernel reports those).
std::array<int64_t, 2> Pair(Args& args, absl::string_view name, std::array<int64_t, 2> fallback) {
  if (!args.Has(name)) return fallback;
  absl::StatusOr<std::vector<int64_t>> v = args.Ints(name, 2);
  if (!v.ok() || v->size() != 2) return fallback;
  return {(*v)[0], (*v)[1]};
}

// Output length of a sliding window (in double: graph parameters need not
// keep int64 products in range), or nullopt for one the kernels refuse
// (empty, or longer than int64 can count).
std::optional<double> WindowOutput(int64_t in, int64_t k, int64_t stride, int64_t pad,
                                   int64_t dilation) {
  const double span = static_cast<double>(dilation) * (static_cast<double>(k) - 1) + 1;
  const double out =
      std::floor((static_cast<double>(in) + 2.0 * static_cast<double>(pad) - span) /
                 static_cast<double>(std::max<int64_t>(stride, 1))) + 1;
  if (!(out >= 1.0 && out < 9223372036854775808.0)) return std::nullopt;
  return out;
}

// ----------------------------------------------------- one per op family

// Convolution: 2 FLOPs per multiply-add of each output element with each
// kernel tap that can fall inside the input.
std::optional<double> ConvWork(Args& args) {
  const Tensor* x = TensorArg(args, "input");
  const Tensor* w = TensorArg(args, "weight");
  if (x == nullptr || w == nullptr || w->dim() != 4 || (x->dim() != 3 && x->dim() != 4)) {
    return std::nullopt;
  }
  const int r = x->dim();
  const double batch = r == 4 ? Extent(x->size(0)) : 1.0;
  const auto stride = Pair(args, "stride", {1, 1});
  const auto padding = Pair(args, "padding", {0, 0});
  const auto dilation = Pair(args, "dilation", {1, 1});
  double out = batch * Extent(w->size(0));
  double taps = Extent(w->size(1));  // input channels per group
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x->size(r - 2 + i), k = w->size(2 + i);
    const std::optional<double> o = WindowOutput(in, k, stride[i], padding[i], dilation[i]);
    if (!o.has_value()) return std::nullopt;
    out *= *o;
    taps *= std::min(Extent(k), Extent(in));
  }
  return 2.0 * out * taps;
}

// A batched product a[..., m, k] @ b[..., k, n] with broadcast batch dims
// (1-D operands as a row / a column): 2 * batch * m * k * n.
double ProductWork(absl::Span<const int64_t> a, absl::Span<const int64_t> b) {
  std::vector<int64_t> as(a.begin(), a.end()), bs(b.begin(), b.end());
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  if (as.size() < 2 || bs.size() < 2) return 0;
  double batch = 1;
  const size_t ab = as.size() - 2, bb = bs.size() - 2;
  for (size_t i = 0; i < std::max(ab, bb); ++i) {
    const int64_t da = i < ab ? as[ab - 1 - i] : 1;
    const int64_t db = i < bb ? bs[bb - 1 - i] : 1;
    batch *= std::max(Extent(da), Extent(db));
  }
  return 2.0 * batch * Extent(as[ab]) * Extent(as[ab + 1]) * Extent(bs[bb + 1]);
}

// mm, bmm, matmul, addmm, baddbmm, linear.
std::optional<double> MatmulWork(Args& args) {
  // addmm and baddbmm before mm and bmm: their `self` is the added term.
  for (const auto& [left, right] : {std::pair{"mat1", "mat2"}, std::pair{"batch1", "batch2"},
                                    std::pair{"self", "mat2"}, std::pair{"self", "other"}}) {
    const Tensor* a = TensorArg(args, left);
    const Tensor* b = TensorArg(args, right);
    if (a != nullptr && b != nullptr) return ProductWork(a->shape(), b->shape());
  }
  const Tensor* x = TensorArg(args, "input");
  const Tensor* w = TensorArg(args, "weight");  // [out, in]: x @ w^T
  if (x == nullptr || w == nullptr || w->dim() != 2) return std::nullopt;
  const std::vector<int64_t> wt = {w->size(1), w->size(0)};
  return ProductWork(x->shape(), wt);
}

// Attention: the scores q k^T and the weighted sum of v.
std::optional<double> AttentionWork(Args& args) {
  const Tensor* q = TensorArg(args, "query");
  const Tensor* k = TensorArg(args, "key");
  const Tensor* v = TensorArg(args, "value");
  if (q == nullptr || k == nullptr || v == nullptr || q->dim() < 2 || k->dim() < 2 ||
      v->dim() < 2) {
    return std::nullopt;
  }
  const int r = q->dim();
  const double batch_l = Extent(absl::MakeConstSpan(q->shape()).subspan(0, r - 1));
  const double s = Extent(k->size(k->dim() - 2));
  return 2.0 * batch_l * s * (Extent(q->size(r - 1)) + Extent(v->size(v->dim() - 1)));
}

// Einsum: at most one multiply-add per operand for every combination of
// label values (the product of all label sizes), whatever the contraction
// order.
std::optional<double> EinsumWork(Args& args) {
  absl::StatusOr<std::string> eq = args.Str("equation");
  absl::StatusOr<std::vector<Tensor>> ts = args.Tensors("tensors");
  if (!eq.ok() || !ts.ok()) return std::nullopt;
  const std::string lhs = eq->substr(0, eq->find("->"));
  std::map<char, double> labels;
  std::vector<double> ellipsis;  // broadcast sizes of "...", from the right
  size_t start = 0;
  for (const Tensor& t : *ts) {
    if (start > lhs.size()) return std::nullopt;  // fewer terms than tensors
    const size_t end = std::min(lhs.find(',', start), lhs.size());
    const std::string term = lhs.substr(start, end - start);
    start = end + 1;
    const size_t dots = term.find("...");
    const std::string letters =
        dots == std::string::npos ? term : term.substr(0, dots) + term.substr(dots + 3);
    const int before = dots == std::string::npos ? static_cast<int>(term.size())
                                                 : static_cast<int>(dots);
    const int covered = t.dim() - static_cast<int>(letters.size());
    if (covered < 0 || (covered > 0 && dots == std::string::npos)) return std::nullopt;
    for (int d = 0; d < t.dim(); ++d) {
      if (d < before) {
        labels[letters[d]] = std::max(labels[letters[d]], Extent(t.size(d)));
      } else if (d < before + covered) {
        const size_t j = static_cast<size_t>(before + covered - 1 - d);
        if (ellipsis.size() <= j) ellipsis.resize(j + 1, 1.0);
        ellipsis[j] = std::max(ellipsis[j], Extent(t.size(d)));
      } else {
        const char c = letters[d - covered];
        labels[c] = std::max(labels[c], Extent(t.size(d)));
      }
    }
  }
  double combos = 1;
  for (const auto& [c, size] : labels) combos *= size;
  for (double size : ellipsis) combos *= size;
  return 2.0 * combos * static_cast<double>(std::max<size_t>(ts->size(), 1));
}

// Pooling: each output element visits the window taps that can fall inside
// the input (the kernels skip the rest).
std::optional<double> PoolWork(Args& args) {
  const Tensor* x = TensorArg(args, "self");
  if (x == nullptr || x->dim() < 2) return std::nullopt;
  const int r = x->dim();
  const double planes = Extent(absl::MakeConstSpan(x->shape()).subspan(0, r - 2));
  if (args.Has("output_size")) {  // adaptive: windows of about in / out, overlapping by one
    const auto out = Pair(args, "output_size", {1, 1});
    double work = planes;
    for (int i = 0; i < 2; ++i) {
      const double in = Extent(x->size(r - 2 + i)), o = Extent(out[i]);
      work *= o * (std::ceil(in / o) + 1);
    }
    return work;
  }
  const auto kernel = Pair(args, "kernel_size", {1, 1});
  const auto stride = Pair(args, "stride", kernel);
  const auto padding = Pair(args, "padding", {0, 0});
  const auto dilation = Pair(args, "dilation", {1, 1});
  double work = planes;
  for (int i = 0; i < 2; ++i) {
    const int64_t in = x->size(r - 2 + i);
    const std::optional<double> o =
        WindowOutput(in, kernel[i], stride[i], padding[i], dilation[i]);
    if (!o.has_value()) return std::nullopt;
    work *= *o * std::min(Extent(kernel[i]), Extent(in));
  }
  return work;
}

using CostFn = std::optional<double> (*)(Args&);

const absl::flat_hash_map<std::string, CostFn>& CostTable() {
  static const auto* table = new absl::flat_hash_map<std::string, CostFn>{
      {"aten.conv2d.default", ConvWork},
      {"aten.convolution.default", ConvWork},
      {"aten.mm.default", MatmulWork},
      {"aten.bmm.default", MatmulWork},
      {"aten.matmul.default", MatmulWork},
      {"aten.addmm.default", MatmulWork},
      {"aten.baddbmm.default", MatmulWork},
      {"aten.linear.default", MatmulWork},
      {"aten.scaled_dot_product_attention.default", AttentionWork},
      {"aten._scaled_dot_product_flash_attention_for_cpu.default", AttentionWork},
      {"aten.einsum.default", EinsumWork},
      {"aten.max_pool2d.default", PoolWork},
      {"aten.max_pool2d_with_indices.default", PoolWork},
      {"aten.avg_pool2d.default", PoolWork},
      {"aten.adaptive_avg_pool2d.default", PoolWork},
      {"aten._adaptive_avg_pool2d.default", PoolWork},
  };
  return *table;
}

}  // namespace

int64_t EstimateNodeWork(absl::string_view op, Args& args, int64_t result_elements) {
  double work = ArgumentElements(args) + static_cast<double>(result_elements);
  auto it = CostTable().find(op);
  if (it != CostTable().end()) {
    const std::optional<double> flops = it->second(args);
    if (flops.has_value()) work += *flops;
  }
  // 2^63 as a double: anything at or above it saturates.
  constexpr double kLimit = 9223372036854775808.0;
  if (!(work < kLimit)) return INT64_MAX;
  return static_cast<int64_t>(work);
}

}  // namespace rewire
