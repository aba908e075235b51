#include "rewrite/dialect.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ir/metadata.h"

namespace rewire {
namespace {

constexpr absl::string_view kDialectNames[kNumDialects] = {
    "training_ir", "pre_dispatch", "core_aten", "make_fx"};

constexpr Dialect kTi = Dialect::kTrainingIr;
constexpr Dialect kPd = Dialect::kPreDispatch;
constexpr Dialect kCa = Dialect::kCoreAten;
constexpr Dialect kMf = Dialect::kMakeFx;

struct Entry {
  const char* target;
  std::vector<Dialect> dialects;
};

// Ordered by how decisive the op is: an op one exporter alone emits decides
// when it is the first present; shared ops only narrow the choice. The
// printed graphs behind each row are in tests/testdata/constructs/.
const std::vector<Entry>& Table() {
  static const auto* table = new std::vector<Entry>{
      // Unique to one exporter.
      {"aten.batch_norm.default", {kTi}},
      {"aten._native_batch_norm_legit.default", {kPd}},
      {"aten.cudnn_batch_norm.default", {kPd}},
      {"aten._native_batch_norm_legit_functional.default", {kCa}},
      {"aten.native_dropout.default", {kCa}},
      {"aten.bernoulli.p", {kCa}},
      {"aten.empty_permuted.default", {kCa}},
      {"aten.rrelu_with_noise_functional.default", {kCa}},
      {"aten.native_batch_norm.default", {kMf}},
      {"aten.rrelu_with_noise.default", {kMf}},
      // Shared by the two high-level exporters.
      {"aten.dropout.default", {kTi, kPd}},
      {"aten.dropout_.default", {kTi, kPd}},
      {"aten.feature_dropout.default", {kTi, kPd}},
      {"aten.feature_dropout_.default", {kTi, kPd}},
      {"aten.alpha_dropout.default", {kTi, kPd}},
      {"aten.alpha_dropout_.default", {kTi, kPd}},
      {"aten.feature_alpha_dropout.default", {kTi, kPd}},
      {"aten.feature_alpha_dropout_.default", {kTi, kPd}},
      {"aten.instance_norm.default", {kTi, kPd}},
      {"aten.rrelu.default", {kTi, kPd}},
      {"aten.conv2d.default", {kTi, kPd}},
      {"aten.linear.default", {kTi, kPd}},
      // Shared by the decomposing exporters.
      {"aten._native_batch_norm_legit_no_training.default", {kPd, kCa}},
      {"aten._native_batch_norm_legit.no_stats", {kPd, kCa}},
      {"aten.convolution.default", {kCa, kMf}},
      {"aten.addmm.default", {kCa, kMf}},
      // bernoulli_ appears in every dialect but core ATen (StochasticDepth,
      // DropPath), and in make_fx's decomposed dropout.
      {"aten.bernoulli_.float", {kTi, kPd, kMf}},
  };
  return *table;
}

bool Contains(const std::vector<Dialect>& v, Dialect d) {
  for (Dialect x : v) {
    if (x == d) return true;
  }
  return false;
}

// The markers a train -> eval switch leaves name their dialect
// (rewrite/train_eval.h); kept here as literals so the ir-level detection
// does not depend on the switch.
constexpr const char* kMarkerKeys[] = {"rewire_dropout", "rewire_batch_norm"};
constexpr const char* kMarkerTargets[] = {
    "aten.alias.default", "aten._native_batch_norm_legit_no_training.default"};

}  // namespace

absl::string_view DialectName(Dialect d) {
  return kDialectNames[static_cast<int>(d)];
}

absl::StatusOr<Dialect> ParseDialect(absl::string_view name) {
  for (int i = 0; i < kNumDialects; ++i) {
    if (kDialectNames[i] == name) return static_cast<Dialect>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown dialect '", name,
                   "' (expected training_ir, pre_dispatch, core_aten or make_fx)"));
}

DialectDetection DetectDialect(const Graph& g) {
  DialectDetection out;
  // Candidates narrow with each piece of evidence, in table order; the first
  // evidence that names one dialect alone decides among the remaining ones.
  std::vector<Dialect> candidates = {kTi, kPd, kCa, kMf};
  for (const Entry& e : Table()) {
    const size_t n = g.CountTarget(e.target);
    if (n == 0) continue;
    out.evidence.push_back(
        DialectEvidence{e.target, static_cast<int64_t>(n), e.dialects});
    std::vector<Dialect> narrowed;
    for (Dialect d : candidates) {
      if (Contains(e.dialects, d)) narrowed.push_back(d);
    }
    // Contradicting evidence (a hand-made mix): keep the earlier, more
    // decisive candidates.
    if (!narrowed.empty()) candidates = std::move(narrowed);
  }
  // make_fx decomposes dropout into empty_like -> bernoulli_; the training
  // IR keeps aten.dropout and draws drop-path masks from new_empty / empty.
  if (Contains(candidates, kTi) && Contains(candidates, kMf)) {
    for (const Node* n : g.NodesWithTarget("aten.bernoulli_.float")) {
      if (!n->args().empty() && n->args()[0].is_node() &&
          n->args()[0].node()->target().qualified == "aten.empty_like.default") {
        candidates = {kMf};
        out.evidence.push_back(DialectEvidence{
            "aten.empty_like.default -> aten.bernoulli_.float", 1, {kMf}});
        break;
      }
    }
  }
  std::map<std::string, int64_t> marked;
  for (int i = 0; i < 2; ++i) {
    for (const Node* n : g.NodesWithTarget(kMarkerTargets[i])) {
      const MetaValue* v = n->meta().Find(kMarkerKeys[i]);
      if (v == nullptr || !v->is_string()) continue;
      for (absl::string_view part : absl::StrSplit(v->as_string(), ';')) {
        if (absl::ConsumePrefix(&part, "dialect=")) {
          ++marked[absl::StrCat(kMarkerKeys[i], " marker|", part)];
        }
      }
    }
  }
  std::vector<Dialect> from_markers;
  for (const auto& [what, n] : marked) {
    std::pair<std::string, std::string> kv = absl::StrSplit(what, '|');
    absl::StatusOr<Dialect> d = ParseDialect(kv.second);
    DialectEvidence e{kv.first, n, {}};
    if (d.ok()) {
      e.dialects.push_back(*d);
      from_markers.push_back(*d);
    }
    out.evidence.push_back(std::move(e));
  }
  if (out.evidence.empty()) return out;
  if (candidates.size() == 1) {
    out.dialect = candidates[0];
  } else {
    for (Dialect d : from_markers) {
      if (Contains(candidates, d)) {
        out.dialect = d;
        break;
      }
    }
    // Ops shared by the high-level exporters without pre-dispatch's own
    // batch norm: the training IR, its successor (as the switch assumes).
    if (!out.dialect.has_value() && Contains(candidates, kTi)) out.dialect = kTi;
    if (!out.dialect.has_value() && candidates.size() < 4) {
      out.dialect = candidates[0];
    }
  }
  return out;
}

std::vector<std::string> DialectDetection::Lines() const {
  std::vector<std::string> lines;
  for (const DialectEvidence& e : evidence) {
    std::vector<std::string> names;
    for (Dialect d : e.dialects) names.emplace_back(DialectName(d));
    lines.push_back(absl::StrCat(e.target, " x", e.count, " -> ",
                                 absl::StrJoin(names, " or ")));
  }
  return lines;
}

std::string DialectDetection::Summary() const {
  if (dialect.has_value()) return std::string(DialectName(*dialect));
  if (evidence.empty()) return "none detected (no mode-dependent or dialect-specific ops)";
  return "none detected (contradicting evidence)";
}

}  // namespace rewire
