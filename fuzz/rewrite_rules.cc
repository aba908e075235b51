// The train<->eval rules (see rewrite_rules.h). Placeholders bind literals
// (p, momentum, eps), so the model's own values carry over unchanged.
#include "fuzz/rewrite_rules.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "ir/text_format.h"

namespace rewire {
namespace fuzz {
namespace {

std::unique_ptr<Graph> MustParse(const std::string& text) {
  auto g = ParseGraph(text);
  if (!g.ok()) {
    std::fprintf(stderr, "bad rule text: %s\n%s\n",
                 std::string(g.status().message()).c_str(), text.c_str());
    std::abort();
  }
  return std::move(*g);
}

std::string DropoutText(const char* train) {
  return std::string("%x = placeholder\n%p = placeholder\n") +
         "%d = aten.dropout.default(%x, %p, " + train + ")\nreturn (%d,)\n";
}

std::string BatchNormText(const char* training) {
  return std::string(
             "%x = placeholder\n%w = placeholder\n%b = placeholder\n"
             "%rm = placeholder\n%rv = placeholder\n%m = placeholder\n"
             "%eps = placeholder\n%c = placeholder\n"
             "%bn = aten.batch_norm.default(%x, %w, %b, %rm, %rv, ") +
         training + ", %m, %eps, %c)\nreturn (%bn,)\n";
}

}  // namespace

const std::vector<RewriteRule>& TrainEvalRules() {
  static const auto* const kRules = [] {
    auto* rules = new std::vector<RewriteRule>;
    auto add = [&](std::string name, const std::string& p,
                   const std::string& r, ReplaceOptions o = {}) {
      rules->push_back({std::move(name), MustParse(p), MustParse(r),
                        std::move(o)});
    };
    add("dropout_to_eval", DropoutText("True"), DropoutText("False"));
    add("batch_norm_to_eval", BatchNormText("True"), BatchNormText("False"));
    ReplaceOptions legit;
    legit.ignore_literals = true;
    legit.preserve_literals = true;
    legit.preserve_except = {"training"};
    add("batch_norm_legit_to_eval",
        "%x = placeholder\n%w = placeholder\n%b = placeholder\n"
        "%rm = placeholder\n%rv = placeholder\n"
        "%bn = aten._native_batch_norm_legit.default(%x, %w, %b, %rm, %rv, "
        "True, 0.1, 1e-05)\n%g = getitem(%bn, 0)\nreturn (%g,)\n",
        "%x = placeholder\n%w = placeholder\n%b = placeholder\n"
        "%rm = placeholder\n%rv = placeholder\n"
        "%bn = aten._native_batch_norm_legit_no_training.default(%x, %w, %b, "
        "%rm, %rv, 0.1, 1e-05)\n%g = getitem(%bn, 0)\nreturn (%g,)\n",
        legit);
    add("native_dropout_to_eval",
        "%x = placeholder\n%p = placeholder\n"
        "%n = aten.native_dropout.default(%x, %p, True)\n"
        "%g = getitem(%n, 0)\nreturn (%g,)\n",
        "%x = placeholder\n%p = placeholder\n"
        "%n = aten.native_dropout.default(%x, %p, False)\n"
        "%g = getitem(%n, 0)\nreturn (%g,)\n");
    add("make_fx_dropout_to_eval",
        "%x = placeholder\n%q = placeholder\n%s = placeholder\n"
        "%e = aten.empty_like.default(%x, "
        "memory_format=torch.contiguous_format)\n"
        "%b = aten.bernoulli_.float(%e, %q)\n%d = aten.div_.Scalar(%b, %s)\n"
        "%m = aten.mul.Tensor(%x, %d)\nreturn (%m,)\n",
        "%x = placeholder\n%q = placeholder\n%s = placeholder\n"
        "return (%x,)\n");
    add("dropout_to_train", DropoutText("False"), DropoutText("True"));
    add("batch_norm_to_train", BatchNormText("False"), BatchNormText("True"));
    return rules;
  }();
  return *kRules;
}

}  // namespace fuzz
}  // namespace rewire
