"""--table: docs/CONFORMANCE.md from every results file."""
import argparse
import collections
import copy
import datetime
import functools
import glob
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

from common import *  # noqa: F401,F403 (paths, registry, row helpers)

# --------------------------------------------------------------------------
# --table: docs/CONFORMANCE.md from every results file
# --------------------------------------------------------------------------
def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "nan"
        return "0" if v == 0 else f"{v:.2e}"
    return str(v)


def _cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def table_main(args):
    files = sorted(glob.glob(os.path.join(args.results_dir, "torch-*.jsonl")))
    latest = collections.OrderedDict()
    for path in files:
        for r in read_rows(path):
            latest[(r.get("torch"), r["model"], r["form"])] = r
    rows = list(latest.values())
    if not rows:
        sys.exit(f"error: no rows in {args.results_dir}/torch-*.jsonl")
    order = {m: i for i, m in enumerate(MODELS)}
    forms = {f: i for i, f in enumerate(FORMS_2)}
    rows.sort(key=lambda r: (order.get(r["model"], 999), r["model"],
                             str(r.get("torch")), forms.get(r["form"], 9)))
    versions = sorted({r.get("torch") for r in rows}, key=str)
    pythons = collections.OrderedDict()
    commands = []
    dates = sorted(r.get("date", "") for r in rows if r.get("date"))
    for r in sorted(rows, key=lambda r: r.get("time", 0)):
        pythons.setdefault(r.get("torch"), r.get("python", "?"))
        if r.get("command") and r["command"] not in commands:
            commands.append(r["command"])
    ran = sorted({r["model"] for r in rows}, key=lambda m: order.get(m, 999))
    not_run = [m for m in FULL if m not in ran]
    builds = collections.Counter(r.get("rewire_build") or "unknown" for r in rows)
    runners = sorted({r.get("runner_build") or "unknown" for r in rows})
    counts = collections.Counter((r.get("torch"), r["status"]) for r in rows)
    pt2e_rows = [r for r in rows if r.get("pt2e_diff") is not None]
    lines = [
        "# rewire conformance: train -> eval switch and executor vs eager PyTorch",
        "",
        "Each model is built with random weights (nothing downloaded), with "
        f"non-default batch-norm eps={BN_EPS}/momentum={BN_MOMENTUM} and dropout p={D}, "
        "randomized running statistics and num_batches_tracked = 5, exported in "
        "train mode in every form the interpreter's torch supports (torch 1.x: "
        "make_fx; torch 2.x: make_fx, training_ir = torch.export, core_aten = "
        "run_decompositions), switched with `rewire eval`, run with `rewire run`, "
        "and compared with eager PyTorch in eval mode: outputs (pass: allclose with "
        "rtol 1e-4, atol 1e-5 * max(1, max|expected|)) and every buffer after the run "
        "(read back from the module `bridge_tool run --save_module` writes; integer "
        "buffers must match exactly). \"pt2e\" columns: torchao's "
        "`move_exported_model_to_eval` on the same graph module (training_ir and "
        "make_fx), run with torch; \"switched\" counts dropout/batch-norm nodes whose "
        "op or flags it changed.",
        "",
        f"Produced on {dates[0] if dates else '?'} – {dates[-1] if dates else '?'} "
        f"(table written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}) "
        f"on {MACHINE} (CPU only, torch.set_num_threads(1)), with "
        + ", ".join(f"torch {v} ({pythons.get(v)})" for v in versions) + ", by:",
        "",
        "```",
        *commands,
        f"python3 python/conformance/conformance.py --table",
        "```",
        "",
        "(`python/conformance/run.sh ARGS` runs the two interpreters with ARGS, "
        "then `--table`; each run copies `bazel-bin/tools/rewire` and "
        "`bazel-bin/python/bridge_tool` to a temporary directory first.) "
        "rewire build(s) used, sha256 prefix and build time: "
        + "; ".join(f"`{b}` ({n} rows)" for b, n in builds.most_common())
        + ". bridge_tool: " + "; ".join(f"`{b}`" for b in runners) + ".",
        "",
    ]
    if not_run:
        lines += [
            f"**Partial run:** this table holds only the models that were run "
            f"({len(ran)} model(s): {', '.join(ran)}). Not run yet: "
            f"{', '.join(not_run)}.",
            "",
        ]
    summary = []
    for v in versions:
        c = {s: counts.get((v, s), 0) for s in ("pass", "fail", "skip")}
        summary.append(f"torch {v}: {c['pass']} pass, {c['fail']} fail, {c['skip']} skipped "
                       f"(of {sum(c.values())} rows)")
    lines += ["**Summary:** " + "; ".join(summary) + ". pt2e ran on "
              f"{len(pt2e_rows)} row(s), matching eager eval on "
              f"{sum(1 for r in pt2e_rows if r.get('pt2e_ok'))}.", ""]
    lines += [
        "Columns: nodes = nodes of the exported torch.fx graph; rewritten = "
        "\"N site(s) rewritten\" from `rewire eval`'s report; left alone = its "
        "\"left alone\" lines; Δ = max abs difference against eager eval.",
        "",
        "| model | torch | form | nodes | rewritten | left alone | Δ out | Δ state | "
        "result | reason | pt2e Δ out | pt2e switched |" + (" rewire build |" if len(builds) > 1 else ""),
        "|---|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|" + ("---|" if len(builds) > 1 else ""),
    ]
    for r in rows:
        reason = short(r.get("reason") or "", 140)
        if r.get("expected"):
            reason = (reason + " " if reason else "") + f"(expected: {r['expected']})"
        if r["status"] == "pass" and r.get("train_eval_distinguishable") is False:
            reason = (reason + " " if reason else "") + \
                "(weak: eager train output is within tolerance of eval too)"
        pt2e = _fmt(r.get("pt2e_diff"))
        if r.get("pt2e_diff") is not None:
            pt2e += " (match)" if r.get("pt2e_ok") else " (differs)"
        elif r.get("pt2e_reason"):
            pt2e = "– " + ("(n/a)" if r["pt2e_reason"].startswith("n/a") else
                           "(" + short(r["pt2e_reason"], 60) + ")")
        lines.append("| " + " | ".join(_cell(c) for c in [
            r["model"], (r.get("torch") or "?").split("+")[0], r["form"], _fmt(r.get("nodes")),
            _fmt(r.get("sites_rewritten")), _fmt(r.get("left_alone")),
            _fmt(r.get("out_diff")), _fmt(r.get("state_diff")),
            r["status"].upper(), reason, pt2e, _fmt(r.get("pt2e_switched"))]
            + ([(r.get("rewire_build") or "unknown").split()[0]] if len(builds) > 1 else []))
            + " |")
    lines.append("")
    os.makedirs(os.path.dirname(args.table_out), exist_ok=True)
    tmp = args.table_out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, args.table_out)
    print(f"wrote {args.table_out} ({len(rows)} rows from {len(files)} file(s))",
          file=sys.stderr)


