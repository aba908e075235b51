#include "kernels/einsum.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ir/status_macros.h"
#include "kernels/common_ops.h"
#include "kernels/linalg_ops.h"
#include "kernels/view_ops.h"

namespace rewire {
namespace ops {
namespace {

// Labels: 'A'-'Z' are 0-25 and 'a'-'z' 26-51 (so the implicit output lists
// upper case first, as PyTorch does); the dims of "..." are kEllipsis + j,
// j counted from the right so that broadcast dims line up.
constexpr int kEllipsis = 100;
using Labels = std::vector<int>;

absl::StatusOr<int> LetterLabel(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return absl::InvalidArgumentError(absl::StrCat(
      "einsum: invalid subscript '", std::string(1, c), "' (letters and ... only)"));
}

struct Term {
  std::vector<int> letters_before, letters_after;  // around "..."
  bool ellipsis = false;
};

absl::StatusOr<Term> ParseTerm(absl::string_view t) {
  Term term;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '.') {
      if (term.ellipsis || t.substr(i, 3) != "...") {
        return absl::InvalidArgumentError(absl::StrCat(
            "einsum: malformed or repeated ellipsis in '", t, "'"));
      }
      term.ellipsis = true;
      i += 3;
      continue;
    }
    ASSIGN_OR_RETURN(int l, LetterLabel(t[i]));
    (term.ellipsis ? term.letters_after : term.letters_before).push_back(l);
    ++i;
  }
  return term;
}

Labels Expand(const Term& t, int ellipsis_dims) {
  Labels out = t.letters_before;
  for (int j = ellipsis_dims - 1; j >= 0; --j) out.push_back(kEllipsis + j);
  out.insert(out.end(), t.letters_after.begin(), t.letters_after.end());
  return out;
}

bool Has(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) != ls.end(); }

// One operand with its labels, after diagonals.
struct Operand {
  Tensor t;
  Labels labels;
};

// Repeated labels of one operand become one dim (the diagonal).
absl::StatusOr<Operand> TakeDiagonals(const Tensor& x, const Labels& labels) {
  Labels uniq;
  std::vector<int64_t> sizes, strides;
  for (int d = 0; d < x.dim(); ++d) {
    auto it = std::find(uniq.begin(), uniq.end(), labels[d]);
    if (it == uniq.end()) {
      uniq.push_back(labels[d]);
      sizes.push_back(x.size(d));
      strides.push_back(x.strides()[d]);
      continue;
    }
    const size_t k = it - uniq.begin();
    if (sizes[k] != x.size(d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "einsum: a subscript repeated in one operand names dims of sizes ", sizes[k],
          " and ", x.size(d)));
    }
    strides[k] += x.strides()[d];
  }
  if (uniq.size() == labels.size()) return Operand{x, labels};
  ASSIGN_OR_RETURN(Tensor t, x.AsStrided(sizes, strides, x.storage_offset()));
  return Operand{std::move(t), std::move(uniq)};
}

// Sums the dims of `op` whose labels are not in `keep`.
absl::Status SumOut(Operand& op, const Labels& keep) {
  std::vector<int64_t> dims;
  Labels rest;
  for (size_t d = 0; d < op.labels.size(); ++d) {
    if (Has(keep, op.labels[d])) {
      rest.push_back(op.labels[d]);
    } else {
      dims.push_back(static_cast<int64_t>(d));
    }
  }
  if (dims.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(Tensor c, op.t.Contiguous());
  ASSIGN_OR_RETURN(op.t, Sum(c, dims, false, std::nullopt));
  op.labels = std::move(rest);
  return absl::OkStatus();
}

// `op` permuted to the labels `order` (all of its labels), broadcast to
// `sizes` where it has size 1.
absl::StatusOr<Tensor> Arrange(const Operand& op, const Labels& order,
                               const std::map<int, int64_t>& sizes) {
  std::vector<int64_t> perm, target;
  for (int l : order) {
    perm.push_back(std::find(op.labels.begin(), op.labels.end(), l) - op.labels.begin());
    target.push_back(sizes.at(l));
  }
  ASSIGN_OR_RETURN(Tensor p, Permute(op.t, perm));
  return ops::Expand(p, target);
}

int64_t Product(const Labels& ls, const std::map<int, int64_t>& sizes) {
  int64_t n = 1;
  for (int l : ls) n *= sizes.at(l);
  return n;
}

absl::StatusOr<Operand> Contract(const Operand& a, const Operand& b, const Labels& keep,
                                 const std::map<int, int64_t>& sizes) {
  Labels batch, left, contracted, right;
  for (int l : a.labels) {
    if (Has(b.labels, l)) {
      (Has(keep, l) ? batch : contracted).push_back(l);
    } else {
      left.push_back(l);
    }
  }
  for (int l : b.labels) {
    if (!Has(a.labels, l)) right.push_back(l);
  }
  Labels ao = batch, bo = batch;
  ao.insert(ao.end(), left.begin(), left.end());
  ao.insert(ao.end(), contracted.begin(), contracted.end());
  bo.insert(bo.end(), contracted.begin(), contracted.end());
  bo.insert(bo.end(), right.begin(), right.end());
  const int64_t nb = Product(batch, sizes), nl = Product(left, sizes);
  const int64_t nc = Product(contracted, sizes), nr = Product(right, sizes);
  ASSIGN_OR_RETURN(Tensor at, Arrange(a, ao, sizes));
  ASSIGN_OR_RETURN(Tensor bt, Arrange(b, bo, sizes));
  ASSIGN_OR_RETURN(Tensor a3, Reshape(at, {nb, nl, nc}));
  ASSIGN_OR_RETURN(Tensor b3, Reshape(bt, {nb, nc, nr}));
  ASSIGN_OR_RETURN(a3, a3.Contiguous());
  ASSIGN_OR_RETURN(b3, b3.Contiguous());
  ASSIGN_OR_RETURN(Tensor r, Bmm(a3, b3));
  Labels labels = batch;
  labels.insert(labels.end(), left.begin(), left.end());
  labels.insert(labels.end(), right.begin(), right.end());
  std::vector<int64_t> shape;
  for (int l : labels) shape.push_back(sizes.at(l));
  ASSIGN_OR_RETURN(Tensor out, r.Reshape(std::move(shape)));
  return Operand{std::move(out), std::move(labels)};
}

}  // namespace

absl::StatusOr<Tensor> Einsum(absl::string_view equation_in,
                              absl::Span<const Tensor> operands) {
  std::string eq;
  for (char c : equation_in) {
    if (c != ' ') eq.push_back(c);
  }
  if (operands.empty()) return absl::InvalidArgumentError("einsum: no operands");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    ASSIGN_OR_RETURN(Term t, ParseTerm(absl::string_view(lhs).substr(
                                 start, comma == std::string::npos ? std::string::npos
                                                                   : comma - start)));
    terms.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "einsum: '", equation_in, "' names ", terms.size(), " operands, got ",
        operands.size()));
  }
  // Labels of each operand, with "..." expanded by its rank.
  int max_ellipsis = 0;
  std::vector<Labels> labels;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    const int named = static_cast<int>(t.letters_before.size() + t.letters_after.size());
    const int rank = operands[i].dim();
    if (t.ellipsis ? rank < named : rank != named) {
      return absl::InvalidArgumentError(absl::StrCat(
          "einsum: operand ", i, " has ", rank, " dims but its subscripts name ", named));
    }
    const int e = t.ellipsis ? rank - named : 0;
    max_ellipsis = std::max(max_ellipsis, e);
    labels.push_back(Expand(t, e));
  }
  Labels out_labels;
  if (arrow != std::string::npos) {
    ASSIGN_OR_RETURN(Term t, ParseTerm(absl::string_view(eq).substr(arrow + 2)));
    out_labels = Expand(t, t.ellipsis ? max_ellipsis : 0);
    for (size_t i = 0; i < out_labels.size(); ++i) {
      const int l = out_labels[i];
      bool found = false;
      for (const Labels& ls : labels) found = found || Has(ls, l);
      if ((l < kEllipsis && !found) ||
          std::count(out_labels.begin(), out_labels.end(), l) > 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "einsum: output subscript ", i, " of '", equation_in,
            "' is repeated or names no input dim"));
      }
    }
  } else {
    for (int j = max_ellipsis - 1; j >= 0; --j) out_labels.push_back(kEllipsis + j);
    std::map<int, int> count;
    for (const Labels& ls : labels) {
      for (int l : ls) {
        if (l < kEllipsis) ++count[l];
      }
    }
    for (const auto& [l, n] : count) {
      if (n == 1) out_labels.push_back(l);
    }
  }
  // Sizes per label: equal, or 1 broadcasting.
  std::map<int, int64_t> sizes;
  for (size_t i = 0; i < labels.size(); ++i) {
    for (size_t d = 0; d < labels[i].size(); ++d) {
      const int64_t s = operands[i].size(static_cast<int>(d));
      auto [it, inserted] = sizes.emplace(labels[i][d], s);
      if (inserted || it->second == s || s == 1) continue;
      if (it->second != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "einsum: operand ", i, " dim ", d, " has size ", s,
            " where another operand has ", it->second, " for the same subscript"));
      }
      it->second = s;
    }
  }
  for (int l : out_labels) sizes.emplace(l, 1);  // "..." of no operand's dims
  std::vector<Operand> ops;
  for (size_t i = 0; i < operands.size(); ++i) {
    ASSIGN_OR_RETURN(Operand op, TakeDiagonals(operands[i], labels[i]));
    ops.push_back(std::move(op));
  }
  // Labels needed after operand i: the output's and those of later operands.
  auto needed_after = [&](size_t i) {
    Labels keep = out_labels;
    for (size_t j = i + 1; j < ops.size(); ++j) {
      keep.insert(keep.end(), ops[j].labels.begin(), ops[j].labels.end());
    }
    return keep;
  };
  Operand cur = ops[0];
  {
    Labels keep = needed_after(0);
    RETURN_IF_ERROR(SumOut(cur, keep));
  }
  for (size_t i = 1; i < ops.size(); ++i) {
    Labels keep = needed_after(i);
    Operand next = ops[i];
    Labels keep_next = keep;
    keep_next.insert(keep_next.end(), cur.labels.begin(), cur.labels.end());
    RETURN_IF_ERROR(SumOut(next, keep_next));
    ASSIGN_OR_RETURN(cur, Contract(cur, next, keep, sizes));
  }
  RETURN_IF_ERROR(SumOut(cur, out_labels));
  // Output labels the operands lacked ("..." wider than some) are size 1.
  Operand full = cur;
  for (int l : out_labels) {
    if (!Has(full.labels, l)) {
      ASSIGN_OR_RETURN(full.t, Unsqueeze(full.t, full.t.dim()));
      full.labels.push_back(l);
    }
  }
  ASSIGN_OR_RETURN(Tensor arranged, Arrange(full, out_labels, sizes));
  return arranged.Contiguous();
}

}  // namespace ops
}  // namespace rewire
