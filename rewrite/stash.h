// Stashes: the nodes a switch to eval removed, kept as text in the metadata
// of the alias that stands in for them, so the way back restores them
// exactly.
//
// Some constructs have no eval form at all: a decomposed dropout, drop path
// or alpha dropout (`empty -> bernoulli_ -> div_ -> mul`) is the identity in
// eval. Train -> eval replaces the construct's last node by
// `aten.alias.default(x)` under the same name, and keeps the removed nodes
// under the alias's metadata key kStashKey, in the readable text form
// (ir/text_format.h): a header line `# rewire stash v1`, then a graph whose
// placeholders stand for the nodes the construct read from outside (same
// names) and whose other nodes are the removed ones with their literals,
// names and metadata. The way back inserts them before the alias, moves the
// alias's users to the last of them and erases the alias, so the graph
// prints as it did before the switch.
//
// A pattern rule's eval form can carry a stash too (make_fx and core ATen
// dropout: an alias; core ATen and pre-dispatch batch norm: the getitem of
// the no-training op). Then the anchor is the node of the eval form that
// the rest of the graph reads, the stash's output names the restored node
// that takes over its users, and restoring also erases the eval-form nodes
// only the anchor used. Each restored node goes back before the node that
// followed it before the switch (`# place %n before %s` lines after the
// header), where that is still a valid position, so buffer copies at the
// end of a graph return there.
//
// Anchors are found through the graph's target index (kStashAnchorTargets),
// so nothing here scans the graph.
#ifndef REWIRE_REWRITE_STASH_H_
#define REWIRE_REWRITE_STASH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ir/graph.h"

namespace rewire {

inline constexpr absl::string_view kStashKey = "rewire_stash";
// The targets a stash anchor can have.
inline constexpr const char* kStashAnchorTargets[] = {"aten.alias.default", "getitem"};

// The stash text for `nodes` (call nodes of one graph, in graph order; the
// last is the one the alias replaces).
absl::StatusOr<std::string> EncodeStash(absl::Span<Node* const> nodes);
// The same with `takeover`, one of `nodes`, as the node whose users the eval
// form's anchor takes over (and gives back on restore).
absl::StatusOr<std::string> EncodeStash(absl::Span<Node* const> nodes,
                                        const Node* takeover);

// Replaces `nodes` (as for EncodeStash, with `stash` its text) by
// `aten.alias.default(x)` named as the last node, which keeps that node's
// metadata plus the stash. Every node but the last must have users only
// among `nodes`. Returns the alias.
absl::StatusOr<Node*> ReplaceWithStashedAlias(Graph& graph,
                                              absl::Span<Node* const> nodes,
                                              Node* x, std::string stash);

// Aliases that carry a stash, in graph order.
std::vector<Node*> StashAnchors(const Graph& graph);

// Checks every stash without changing anything: the text parses, the nodes
// it reads from outside exist before the alias, and the names it restores
// are free (or held by the eval form the restore erases). Errors name the
// anchor.
absl::Status CheckStashes(const Graph& graph);

// Restores every stash, the last anchor first (a stash may read an earlier
// anchor); returns how many. Run CheckStashes
// first: after it passed, only an internal error can stop this.
absl::StatusOr<int64_t> RestoreStashes(Graph& graph);

}  // namespace rewire

#endif  // REWIRE_REWRITE_STASH_H_
