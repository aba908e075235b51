// The readable text form of a Graph: a printer and a parser.
//
// Tests, patterns and debugging output across rewire are written in this form,
// so it stays close to what torch.fx prints (one node per line) while being
// exact: PrintGraph -> ParseGraph -> PrintGraph is the identity on text, and
// ParseGraph(PrintGraph(g)) is structurally equal to g (names, kinds, targets,
// args and kwargs with their literal kinds, every metadata entry in order).
// The parser is iterative (list nesting is bounded by
// TextParseOptions::max_nesting) and linear in the input size.
//
// Example:
//   graph():
//       %x : f32[1, 3, 4, 4] = placeholder[target=x]
//       %w : f32[3] = get_attr[target=bn.weight]
//       %bn : f32[1, 3, 4, 4] = aten.batch_norm.default(%x, %w, None, %rm, %rv, True, 0.1, 1e-05, True)
//       %nbn : (f32[1, 3, 4, 4], f32[3], f32[3]) = aten.native_batch_norm.default(%x, %w, %b, %rm, %rv, True, 0.1, 1e-05)
//       %getitem : f32[1, 3, 4, 4] = getitem(%nbn, 0)
//       %e = aten.empty_like.default(%x, memory_format=torch.contiguous_format) {stack_trace="  File \"m.py\", line 3\n"}
//       return (%getitem,)
//
// Grammar (whitespace, including newlines, is free inside (), [] and {};
// elsewhere a newline ends a statement; `#` starts a comment to end of line
// outside strings; blank lines are ignored):
//
//   text     := ['graph' '(' ')' ':'] stmt* output-stmt
//   stmt     := node NEWLINE
//   node     := NAME [':' annot] '=' rhs [meta]
//   NAME     := '%' [A-Za-z0-9_]+ | '%' STRING
//   annot    := ['[' IDENT '=' INT {',' ...} ']'] [mval]
//               The optional bracket (fx's `[num_users=1]`) is ignored; mval
//               becomes the node's "val" metadata (printed here only when
//               "val" is the node's first metadata entry).
//   rhs      := TARGET '(' arglist ')'                    a call_function
//             | KIND ['[' 'target' '=' (RAW | STRING) ']'] ['(' arglist ')']
//             | KIND '[' 'target' '=' ... ']' '(' 'args' '=' tuple ','
//                   'kwargs' '=' '{' [key ':' value {',' key ':' value}] '}' ')'
//                                                          fx's spelling
//   KIND     := 'placeholder' | 'get_attr' | 'call_function' | 'output'
//               A placeholder's target defaults to its name, an output's to
//               "output"; get_attr and call_function need one. RAW is any
//               run of characters other than blanks, ']' and '#'
//               (`bn.weight`); the printer quotes anything outside
//               [A-Za-z0-9_.].
//   TARGET   := [A-Za-z_][A-Za-z0-9_]* ('.' [A-Za-z0-9_]+)*   (not a KIND)
//               e.g. aten.add.Tensor, getitem, operator.getitem,
//               torch.ops.aten.add.Tensor (canonicalized by the graph)
//   arglist  := [value {',' value}] [kwarg {',' kwarg}] [',']
//   kwarg    := (IDENT | STRING) '=' value
//   value    := '%' name-ref | 'None' | 'True' | 'False' | INT | FLOAT | STRING
//             | 'torch.' dtype | 'torch.' layout | 'torch.' memory_format
//             | 'device(' STRING ')' | "device(type='cuda', index=0)"
//             | '[' [value {',' value}] [','] ']'     a list
//             | '(' [value {',' value}] [','] ')'     a tuple, held as a list
//   INT      := ['-'] digits                         (int64; overflow is an error)
//   FLOAT    := ['-'] digits with '.' and/or exponent (`0.1`, `1e-05`, `.5`),
//               'inf', '-inf', 'nan'
//               Floats always print with '.' or an exponent, in the shortest
//               spelling that reads back to the same double: `1` is an int,
//               `1.0` a float, `True` a bool, and they stay so.
//   STRING   := '"' ... '"' | "'" ... "'"  with escapes \n \t \r \\ \" \' \xHH
//   meta     := '{' [key '=' mval {',' key '=' mval}] [','] '}'
//               every metadata entry but an annotated "val", in order
//   key      := IDENT | STRING
//   mval     := tensor | '(' [tensor-or-None {',' ...}] [','] ')'   a tuple
//             | 'None' | 'True' | 'False' | INT | FLOAT | STRING
//   tensor   := DTYPE '[' [dim {',' dim}] ']' suffix*
//   DTYPE    := f32 f64 f16 bf16 i64 i32 i16 i8 u8 b8 c64 c128 (or torch names)
//   dim      := INT | symbolic expression (`s0`, `2*s1 + 1`) | STRING
//               (a symbolic Dim's `value` is meaningless, not printed, and
//               reads back as 0)
//   suffix   := '/' '[' [INT {',' INT}] ']'   strides, when they differ from
//                                             the default (row-major strides
//                                             when every dim is concrete,
//                                             none otherwise); `/[]`: none
//             | '@' DEVICE                    device when not plain `cpu`
//                                             (`@cuda:0`, `@cuda`, `@cpu:0`)
//             | '+grad'                       requires_grad
//   output-stmt := 'return' value [meta] NEWLINE-or-EOF
//               A top-level tuple lists the output's args: `return (%a, %b)`
//               has two args, `return (%a,)`, `return (%a)` and `return %a`
//               one, `return ()` none, `return [%a, %b]` one list arg.
//               An output node not named "output" or with kwargs prints as
//               `%name = output[target=...](args)`; nothing may follow it.
//
// References must name nodes defined on earlier lines; names are unique; at
// most one output node, and only comments may follow it. Other invariants
// (placeholders first, schema arity and types, getitem ranges) are the
// verifier's (ir/verifier.h), so tests can write invalid graphs on purpose.
// Files in this form are loaded with LoadModuleFromFile / LoadModuleFromBytes
// (ir/serialization.h, Format::kText), which run ParseGraph and then the
// checks every loader shares (ir/load_checks.h).
// Errors are InvalidArgument statuses "line N, column M: <what was expected>"
// (1-based; columns count bytes).
#ifndef REWIRE_IR_TEXT_FORMAT_H_
#define REWIRE_IR_TEXT_FORMAT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ir/argument.h"
#include "ir/graph.h"
#include "ir/metadata.h"

namespace rewire {

struct TextParseOptions {
  // Deepest list nesting accepted in an argument (`[[1]]` is 2).
  int max_nesting = 32;
  // When false, a text without an output line parses into a graph without an
  // output node (useful for fragments); the default requires one.
  bool require_output = true;
  // The line number of the text's first line in errors, for texts cut from
  // a larger file (a rules file's pattern).
  int first_line = 1;
};

// The whole graph, header line first, one node per line, '\n'-terminated.
std::string PrintGraph(const Graph& graph);

// One node's line as PrintGraph writes it, without indentation or newline.
std::string PrintNode(const Node& node);

// One argument value (`[1, 2.0, %x]`) and one metadata value (`f32[2]@cuda:0`).
std::string PrintArgument(const Argument& arg);
std::string PrintMetaValue(const MetaValue& value);

absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(
    absl::string_view text, const TextParseOptions& options = {});

// Parses a single metadata value, e.g. a tensor type `f32[2, s0]/[1, 2]`.
absl::StatusOr<MetaValue> ParseMetaValue(absl::string_view text);

}  // namespace rewire

#endif  // REWIRE_IR_TEXT_FORMAT_H_
