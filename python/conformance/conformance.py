"""Conformance of rewire's train -> eval switch and executor against eager PyTorch.

For each model (torchvision / timm with random weights, nothing downloaded,
plus one small nn.Module per mode-dependent construct) and each export form
the running torch offers:

  torch 1.x: make_fx      (rewire_bridge.exporter.trace_training + export_module)
  torch 2.x: make_fx, training_ir (torch.export), core_aten (run_decompositions)

the model is exported in train mode (non-default eps/momentum/dropout p,
randomized running statistics, num_batches_tracked = 5), switched to eval by
`rewire eval`, executed by `rewire run`, and its outputs and every buffer
(read back from the module `bridge_tool run --save_module` writes after the
run; `rewire run` only reports updated state) are compared with eager
PyTorch in eval mode. pt2e's move_exported_model_to_eval (torchao) is run on
the same graph module (training_ir and make_fx forms) for comparison.

One JSON line per (model, form) is appended to
python/conformance/results/torch-<version>.jsonl as soon as it is known.
Models run in a worker subprocess watched by this process: a model that
runs past --model-timeout or crashes the interpreter gets "timeout" /
"crashed" rows and the run goes on with the next model.

  python3 python/conformance/conformance.py --subset ci      # torch 2.x
  /usr/bin/python3 python/conformance/conformance.py --subset ci   # torch 1.13
  python3 python/conformance/conformance.py --table          # docs/CONFORMANCE.md

Run from anywhere; paths default to this checkout. CPU only, one thread.
"""
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
from table import table_main

# --------------------------------------------------------------------------
# Worker: everything that imports torch
# --------------------------------------------------------------------------
class Worker:
    def __init__(self, args):
        import logging
        import warnings
        import numpy as np
        import torch
        torch.set_num_threads(1)
        # Failed exports log whole graphs; the row keeps the short message.
        for name in ("torch", "torch.fx", "torch._dynamo", "torch.export",
                     "torch.fx.experimental.symbolic_shapes"):
            logging.getLogger(name).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")
        self.np, self.torch = np, torch
        sys.path.insert(0, os.path.join(REPO, "python"))
        from rewire_bridge import exporter
        self.exporter = exporter
        self.args = args
        self.major = int(torch.__version__.split(".")[0])
        self.forms = FORMS_1 if self.major < 2 else FORMS_2
        self.env = dict(os.environ, OMP_NUM_THREADS="1")
        self.versions = {"torch": torch.__version__}
        try:
            import torchvision
            self.versions["torchvision"] = torchvision.__version__
        except ImportError:
            pass
        try:
            import timm
            self.versions["timm"] = timm.__version__
        except ImportError:
            pass
        self.builds = {"rewire_build": binary_id(args.rewire),
                       "runner_build": binary_id(args.runner)}
        self.pt2e, self.pt2e_missing = self._find_pt2e()
        if self.pt2e is not None:
            try:
                import torchao
                self.versions["torchao"] = torchao.__version__
            except ImportError:
                pass

    # ---------------------------------------------------------------- pt2e
    def _find_pt2e(self):
        tried = []
        for mod, name in [("torchao.quantization.pt2e", "move_exported_model_to_eval"),
                          ("torchao.quantization.pt2e.export_utils",
                           "_move_exported_model_to_eval"),
                          ("torch.ao.quantization", "move_exported_model_to_eval")]:
            try:
                m = __import__(mod, fromlist=[name])
                return getattr(m, name), None
            except Exception as e:  # noqa: BLE001
                tried.append(f"{mod}.{name} ({type(e).__name__})")
        self.pt2e_tried = tried
        return None, f"no torchao / pt2e for torch {self.torch.__version__}"

    # ------------------------------------------------------------ building
    def build(self, name):
        """Returns (module in train mode, example input, notes dict)."""
        torch, nn = self.torch, self.torch.nn
        spec = MODELS[name]
        torch.manual_seed(0)
        notes = {}
        if spec["kind"] == "small":
            model, x = self._small(spec["ctor"])
            keep_momentum = spec["ctor"] == "batch_norm_momentum_none"
        else:
            keep_momentum = False
            if spec["kind"] == "tv":
                import torchvision.models as tvm
                ctor = getattr(tvm, spec["ctor"], None)
                if ctor is None:
                    raise SkipModel(f"torchvision {self.versions.get('torchvision')} "
                                    f"has no {spec['ctor']}")
                base = dict(spec["kwargs"], weights=None)
            else:
                try:
                    import timm
                except ImportError:
                    raise SkipModel(f"timm not installed for torch {torch.__version__}")
                ctor = functools.partial(timm.create_model, spec["ctor"])
                base = dict(spec["kwargs"])
            norm = ({"norm_layer": functools.partial(nn.BatchNorm2d, eps=BN_EPS,
                                                     momentum=BN_MOMENTUM)}
                    if spec["norm"] else {})
            drop = spec["drop"]
            candidates = [{**base, **norm, **drop}, {**base, **drop}, {**base, **norm}, base]
            model, err = None, None
            for kw in candidates:
                try:
                    model = ctor(**kw)
                    used = sorted(k for k in kw if k in norm or k in drop)
                    notes["ctor_kwargs"] = used
                    break
                except TypeError as e:
                    err = e
            if model is None:
                raise err
            x = torch.randn(spec["batch"], 3, spec["size"], spec["size"],
                            generator=torch.Generator().manual_seed(1))
        self._adjust(model, keep_momentum)
        model.train()
        return model, x, notes

    def _adjust(self, model, keep_momentum):
        """Non-default eps/momentum/p and moved running statistics."""
        torch, nn = self.torch, self.torch.nn
        g = torch.Generator().manual_seed(2)
        from torch.nn.modules.batchnorm import _BatchNorm, _NormBase
        from torch.nn.modules.dropout import _DropoutNd
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.eps = BN_EPS
                if not keep_momentum:
                    m.momentum = BN_MOMENTUM
            if isinstance(m, _DropoutNd):
                m.p = D
            if isinstance(m, _NormBase) and m.track_running_stats and \
                    m.running_mean is not None:
                with torch.no_grad():
                    m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                    if m.num_batches_tracked is not None:
                        m.num_batches_tracked.fill_(5)

    def _small(self, ctor):
        torch, nn = self.torch, self.torch.nn

        def conv(m):
            return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), m)

        img = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
        if ctor == "dropout_inplace":
            return (nn.Sequential(nn.Linear(16, 16), nn.Dropout(D, inplace=True)),
                    torch.randn(2, 16, generator=torch.Generator().manual_seed(1)))
        if ctor == "dropout2d":
            return conv(nn.Dropout2d(D)), img
        if ctor == "alpha_dropout":
            return conv(nn.AlphaDropout(D)), img
        if ctor == "feature_alpha_dropout":
            return conv(nn.FeatureAlphaDropout(D)), img
        if ctor in ("stochastic_depth_row", "stochastic_depth_batch"):
            from torchvision.ops import StochasticDepth
            return conv(StochasticDepth(D, ctor.rsplit("_", 1)[1])), img
        if ctor == "timm_drop_path":
            try:
                from timm.layers import DropPath
            except ImportError:
                try:
                    from timm.models.layers import DropPath
                except ImportError:
                    raise SkipModel(f"timm not installed for torch {torch.__version__}")
            return conv(DropPath(D)), img
        if ctor == "instance_norm_stats":
            return conv(nn.InstanceNorm2d(4, eps=BN_EPS, momentum=BN_MOMENTUM,
                                          affine=True, track_running_stats=True)), img
        if ctor == "rrelu":
            return conv(nn.RReLU(0.1, 0.3)), img
        if ctor == "batch_norm":
            return conv(nn.BatchNorm2d(4, eps=BN_EPS, momentum=BN_MOMENTUM)), img
        if ctor == "batch_norm_momentum_none":
            return conv(nn.BatchNorm2d(4, eps=BN_EPS, momentum=None)), img
        raise ValueError(f"unknown small module {ctor}")

    # ------------------------------------------------------------ helpers
    def snapshot(self, model):
        return {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()}

    def restore(self, model, snap):
        with self.torch.no_grad():
            sd = model.state_dict(keep_vars=True)
            for k, v in snap.items():
                sd[k].copy_(v)

    def flatten(self, out):
        from torch.utils._pytree import tree_flatten
        leaves, _ = tree_flatten(out)
        return [l.detach() for l in leaves if isinstance(l, self.torch.Tensor)]

    def max_diff(self, got, expected):
        """(max abs diff, all close?, message) of two lists of arrays."""
        np = self.np
        if len(got) != len(expected):
            return None, False, f"{len(got)} output(s), expected {len(expected)}"
        worst, ok, msg = 0.0, True, ""
        for i, (g, e) in enumerate(zip(got, expected)):
            g, e = np.asarray(g), np.asarray(e)
            if g.shape != e.shape:
                return None, False, f"output {i}: shape {list(g.shape)}, expected {list(e.shape)}"
            if e.size == 0:
                continue
            g64, e64 = g.astype(np.float64), e.astype(np.float64)
            if not np.all(np.isfinite(g64)):
                return float("nan"), False, f"output {i}: non-finite values"
            d = float(np.max(np.abs(g64 - e64)))
            worst = max(worst, d)
            atol = 1e-5 * max(1.0, float(np.max(np.abs(e64))))
            if not np.allclose(g64, e64, rtol=1e-4, atol=atol):
                ok, msg = False, msg or f"output {i}: max abs diff {d:.3g}"
        return worst, ok, msg

    def state_diff(self, got, expected):
        """got/expected: {name: array}. (max diff, mismatching names, missing)."""
        np = self.np
        worst, bad, missing = 0.0, [], []
        for name, e in expected.items():
            if name not in got:
                missing.append(name)
                continue
            g = np.asarray(got[name]).astype(np.float64).reshape(np.shape(e))
            e64 = np.asarray(e).astype(np.float64)
            d = float(np.max(np.abs(g - e64))) if e64.size else 0.0
            worst = max(worst, d)
            if np.asarray(e).dtype.kind in "iub":
                ok = np.array_equal(g, e64)
            else:
                ok = np.allclose(g, e64, rtol=1e-4,
                                 atol=1e-5 * max(1.0, float(np.max(np.abs(e64))) if e64.size else 1.0))
            if not ok:
                bad.append(name)
        return worst, bad, missing

    def call(self, argv, timeout):
        """Runs a rewire binary: (rc or "timeout", stdout, stderr, seconds)."""
        t = time.time()
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=timeout, env=self.env,
                               start_new_session=True)
            return p.returncode, p.stdout, p.stderr, time.time() - t
        except subprocess.TimeoutExpired as e:
            return "timeout", (e.stdout or b"").decode("utf-8", "replace") if isinstance(
                e.stdout, bytes) else (e.stdout or ""), "", time.time() - t

    @staticmethod
    def failure_reason(what, stderr):
        msg = first_error_line(stderr)
        m = re.search(r"no kernel for op (\S+)", msg)
        if m:
            return f"missing op: {m.group(1)}"
        m = re.search(r"(no kernel for [^(]*)", msg)
        if m:
            return f"missing op: {m.group(1).strip()}"
        return short(f"{what} failed: {msg}")

    # --------------------------------------------------------------- main
    def run_model(self, name, emit):
        spec = MODELS[name]
        base = {"model": name, "kind": spec["kind"], **self.versions, **self.builds,
                "expected": spec.get("expected")}
        t0 = time.time()
        try:
            model, x, notes = self.build(name)
        except SkipModel as e:
            for form in self.forms:
                emit({**base, "form": form, "status": "skip", "reason": str(e)})
            return
        except Exception as e:  # noqa: BLE001
            for form in self.forms:
                emit({**base, "form": form, "status": "fail",
                      "reason": "construct failed: " + exc_msg(e)})
            return
        base.update(notes)
        base["input_shape"] = list(x.shape)
        torch = self.torch
        snap = self.snapshot(model)
        # Eager eval reference, on a copy (the original stays in train mode).
        try:
            ref = copy.deepcopy(model).eval()
            with torch.no_grad():
                expected = [t.numpy().copy() for t in self.flatten(ref(x.clone()))]
            eval_state = {k: v.detach().numpy().copy() for k, v in ref.named_buffers()}
            changed = [k for k, v in ref.state_dict().items()
                       if not torch.equal(v, snap[k])]
            base["eager_eval_changed_state"] = changed
            del ref
            # How far train mode is from eval (0: the model is not mode-dependent
            # on this input, so a pass says little). On a copy: it moves buffers.
            tr = copy.deepcopy(model).train()
            torch.manual_seed(3)
            with torch.no_grad():
                got = [t.numpy() for t in self.flatten(tr(x.clone()))]
            tdiff, tsame, _ = self.max_diff(got, expected)
            base["eager_train_vs_eval_diff"] = tdiff
            # False: eager train output itself passes the eval check, so
            # a pass cannot tell a missed switch from a done one.
            base["train_eval_distinguishable"] = not tsame
            del tr
        except Exception as e:  # noqa: BLE001
            for form in self.forms:
                emit({**base, "form": form, "status": "fail",
                      "reason": "eager eval failed: " + exc_msg(e)})
            return
        base["build_eager_s"] = round(time.time() - t0, 2)
        with tempfile.TemporaryDirectory(prefix=f"conf_{name}_") as d:
            np = self.np
            xpath = os.path.join(d, "x.npy")
            np.save(xpath, x.numpy())
            cache = {"dir": d}  # the training-IR ExportedProgram, shared by forms
            for form in self.forms:
                row = dict(base, form=form)
                try:
                    self.restore(model, snap)
                    self.run_form(form, model, x, xpath, expected, eval_state, d, row,
                                  cache)
                except Exception as e:  # noqa: BLE001
                    row["status"] = "fail"
                    row["reason"] = "conformance script error: " + exc_msg(e)
                    row["traceback"] = traceback.format_exc()[-2000:]
                emit(row)

    def export(self, form, model, x, row, cache):
        """Exports in `form`; returns (graph module for pt2e, pt2e runner
        kwargs, user input names, path of the .pb)."""
        exporter = self.exporter
        t = time.time()
        if form == "make_fx":
            gm, state = exporter.trace_training(model, x)
            placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
            inputs = [n.name for n in placeholders[len(state):]]
            path = os.path.join(cache["dir"], "make_fx.pb")
            exporter.export_module(gm, path, state=state)
            obj = ("make_fx", gm, state)
            graph = gm.graph
        else:
            if "ep" not in cache:
                cache["ep"] = exporter.export_program(model, x)
            ep = cache["ep"]
            if form == "core_aten":
                ep = ep.run_decompositions()
            from torch.export.graph_signature import InputKind
            inputs = [s.arg.name for s in ep.graph_signature.input_specs
                      if s.kind == InputKind.USER_INPUT]
            path = os.path.join(cache["dir"], f"{form}.pb")
            exporter.export_module(ep, path)
            obj = (form, ep, None)
            graph = ep.graph
        row["nodes"] = len(graph.nodes)
        row["export_s"] = round(time.time() - t, 2)
        return obj, inputs, path

    def run_form(self, form, model, x, xpath, expected, eval_state, d, row, cache):
        try:
            with quiet_stderr():
                obj, inputs, path = self.export(form, model, x, row, cache)
        except Exception as e:  # noqa: BLE001
            row["status"] = "fail"
            row["reason"] = "export failed: " + exc_msg(e)
            self.pt2e_skip(row, "export failed")
            return
        # pt2e first: independent of rewire, on its own copy of the graph.
        with quiet_stderr():
            self.run_pt2e(obj, x, expected, eval_state, row)
        self.run_rewire(form, path, inputs, xpath, expected, eval_state, d, row)
        if form == "make_fx" and row.get("status") == "fail" and row.get("out_diff") is not None:
            self.torch_graph_check(model, x, expected, row)

    def torch_graph_check(self, model, x, expected, row):
        """On a make_fx output mismatch: does PyTorch itself, running the
        make_fx trace of the model in eval mode, reproduce eager eval? When
        not, the exported graph is off (torch's tracer), not the switch or
        the executor, and the row says so."""
        torch = self.torch
        try:
            m = copy.deepcopy(model).eval()
            with quiet_stderr():
                gm, state = self.exporter.trace_training(m, x)
                with torch.no_grad():
                    got = [t.numpy() for t in self.flatten(
                        gm({name: t for name, t, _ in state}, x.clone()))]
            diff, ok, _ = self.max_diff(got, expected)
        except Exception as e:  # noqa: BLE001
            row["torch_graph_vs_eager_diff"] = "error: " + exc_msg(e)
            return
        row["torch_graph_vs_eager_diff"] = diff
        if not ok:
            row["reason"] += (f"; PyTorch running its own eval-mode make_fx trace differs "
                              f"from eager by {diff:.3g} too: the traced graph is off")

    def run_rewire(self, form, path, inputs, xpath, expected, eval_state, d, row):
        a = self.args
        eval_pb = os.path.join(d, f"{form}.eval.pb")
        rc, out, err, secs = self.call([a.rewire, "eval", path, "-o", eval_pb], a.run_timeout)
        row["rewire_eval_s"] = round(secs, 2)
        row["eval_report"] = out.strip()[:4000]
        if rc == "timeout":
            row.update(status="fail", reason=f"timeout (rewire eval, {a.run_timeout:g} s)")
            return
        first = out.strip().splitlines()[0] if out.strip() else ""
        m = re.search(r"(\d+) site\(s\) rewritten", first)
        row["sites_rewritten"] = int(m.group(1)) if m else None
        row["left_alone"] = sum(1 for l in out.splitlines()
                                if "left alone" in l and not l.strip().startswith("note:"))
        if rc != 0:
            row.update(status="fail", reason=self.failure_reason("rewire eval", err))
            return
        outdir = os.path.join(d, f"{form}.out")
        argv = [a.rewire, "run", eval_pb, "-o", outdir]
        for name in inputs:
            argv += ["--input", f"{name}={xpath}"]
        rc, out, err, secs = self.call(argv, a.run_timeout)
        row["rewire_run_s"] = round(secs, 2)
        if rc == "timeout":
            row.update(status="fail", reason=f"timeout (rewire run, {a.run_timeout:g} s)")
            return
        if rc != 0:
            row.update(status="fail", reason=self.failure_reason("rewire run", err))
            return
        names = re.findall(r"^\s*output (\S+?):", out, flags=re.M)
        m = re.search(r"state updated by the run[^:]*: (.*)$", out, flags=re.M)
        row["run_updated_state"] = ([s.strip() for s in m.group(1).split(",") if s.strip()]
                                    if m else [])
        got = []
        for n in names:
            f = os.path.join(outdir, f"{n}.npy")
            got.append(self.np.load(f) if os.path.exists(f) else None)
        got = [g for g in got if g is not None]
        diff, ok_out, msg_out = self.max_diff(got, expected)
        row["out_diff"] = diff
        # State after the run: `bridge_tool run` executes the same module and
        # saves it; `rewire run` only reports which buffers it changed.
        state_pb = os.path.join(d, f"{form}.state.pb")
        ok_state, msg_state = True, ""
        if a.runner and os.path.exists(a.runner):
            rdir = os.path.join(d, f"{form}.runner")
            os.makedirs(rdir, exist_ok=True)
            rc, out, err, secs = self.call([a.runner, "run", "--model", eval_pb, "--input", xpath,
                                            "--out_dir", rdir, "--save_module", state_pb],
                                           a.run_timeout)
            row["runner_s"] = round(secs, 2)
            if rc == "timeout":
                row.update(status="fail",
                           reason=f"timeout (bridge_tool state run, {a.run_timeout:g} s)")
                return
            if rc != 0:
                row.update(status="fail", reason=self.failure_reason(
                    "bridge_tool", err) + " (bridge_tool's state run)")
                return
            try:  # the same module run by bridge_tool: same outputs?
                rgot = []
                with open(os.path.join(rdir, "outputs.txt")) as f:
                    for line in f:
                        file = line.split()[-1]
                        if file != "none":
                            rgot.append(self.np.load(os.path.join(rdir, file)))
                row["runner_vs_run_diff"] = self.max_diff(rgot, got)[0]
            except Exception as e:  # noqa: BLE001
                row["runner_vs_run_diff"] = "error: " + exc_msg(e)
            tensors, _mode = self.exporter.load_state(state_pb)
            sdiff, bad, missing = self.state_diff(tensors, eval_state)
            row["state_diff"] = sdiff
            row["state_mismatch"] = bad
            row["state_missing"] = missing
            if bad or missing:
                ok_state = False
                parts = []
                if bad:
                    parts.append("buffers changed: " + ", ".join(bad[:4]) +
                                 (f" (+{len(bad) - 4})" if len(bad) > 4 else ""))
                if missing:
                    parts.append(f"{len(missing)} buffer(s) missing from the module")
                msg_state = "; ".join(parts)
        else:
            row["state_diff"] = None
            if row["run_updated_state"]:
                ok_state = False
                msg_state = "buffers changed (reported by rewire run): " + \
                    ", ".join(row["run_updated_state"][:4])
        if ok_out and ok_state:
            row.update(status="pass", reason="")
        else:
            row.update(status="fail",
                       reason="; ".join(x for x in ["output mismatch (" + msg_out + ")"
                                                    if not ok_out else "", msg_state] if x))

    # ---------------------------------------------------------------- pt2e
    def pt2e_skip(self, row, why):
        row["pt2e_diff"] = None
        row["pt2e_switched"] = None
        row["pt2e_reason"] = why

    @staticmethod
    def _mode_nodes(graph):
        keys = collections.Counter()
        for n in graph.nodes:
            if n.op != "call_function":
                continue
            t = str(n.target)
            if not re.search(r"dropout|batch_norm|bernoulli|rrelu|instance_norm", t):
                continue
            import torch.fx
            lits = tuple(repr(a) for a in n.args if not isinstance(a, torch.fx.Node))
            keys[(t, lits)] += 1
        return keys

    def run_pt2e(self, obj, x, expected, eval_state, row):
        form, thing, state = obj
        if form == "core_aten":
            return self.pt2e_skip(row, "n/a (pt2e compared on training_ir and make_fx)")
        if self.pt2e is None:
            return self.pt2e_skip(row, "skipped: " + self.pt2e_missing)
        torch = self.torch
        try:
            if form == "make_fx":
                gm = copy.deepcopy(thing)
            else:
                gm = copy.deepcopy(thing.graph_module)
            before = self._mode_nodes(gm.graph)
            gm = self.pt2e(gm) or gm
            after = self._mode_nodes(gm.graph)
            row["pt2e_switched"] = sum((before - after).values())
        except Exception as e:  # noqa: BLE001
            return self.pt2e_skip(row, "pt2e switch failed: " + exc_msg(e))
        try:
            with torch.no_grad():
                if form == "make_fx":
                    pb = {n: t.detach().clone() for n, t, _ in state}
                    try:
                        out = gm(pb, x.clone())
                    except TypeError:
                        out = gm(*[t for t in pb.values()], x.clone())
                    got = self.flatten(out)
                    bufs = {n: pb[n] for n, _, role in state if role == "buffer"}
                else:
                    ep = thing
                    from torch.export.graph_signature import InputKind, OutputKind
                    args, bufs = [], {}
                    consts = getattr(ep, "constants", {}) or {}
                    for s in ep.graph_signature.input_specs:
                        if s.kind == InputKind.USER_INPUT:
                            args.append(x.clone())
                            continue
                        src = ep.state_dict.get(s.target)
                        if src is None:
                            src = consts[s.target]
                        t = src.detach().clone()
                        if s.kind == InputKind.BUFFER:
                            bufs[s.target] = t
                        args.append(t)
                    out = gm(*args)
                    out = list(out) if isinstance(out, (list, tuple)) else [out]
                    got, kinds = [], ep.graph_signature.output_specs
                    for spec, o in zip(kinds, out):
                        if spec.kind == OutputKind.USER_OUTPUT:
                            got.extend(self.flatten(o))
                        elif spec.kind == OutputKind.BUFFER_MUTATION:
                            bufs[spec.target] = o
            diff, ok, msg = self.max_diff([g.numpy() for g in got], expected)
            row["pt2e_diff"] = diff
            sdiff, bad, _missing = self.state_diff(
                {k: v.detach().numpy() for k, v in bufs.items()}, eval_state)
            row["pt2e_state_diff"] = sdiff
            row["pt2e_ok"] = bool(ok and not bad)
            row["pt2e_reason"] = "; ".join(
                x for x in [msg, ("buffers changed: " + ", ".join(bad[:4])) if bad else ""] if x)
        except Exception as e:  # noqa: BLE001
            row["pt2e_diff"] = None
            row["pt2e_reason"] = "pt2e run failed: " + exc_msg(e)


class SkipModel(Exception):
    """The model cannot be built with this interpreter (not a failure)."""


def worker_main(args):
    w = Worker(args)
    models = args.models.split(",")

    def emit(row):
        row.update(run_id=args.run_id, command=args.command,
                   date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
                   time=round(time.time(), 3), python=sys.executable)
        append_row(args.results, row)
        extra = f" (out {row.get('out_diff')}, state {row.get('state_diff')})" \
            if row.get("status") != "skip" else ""
        print(f"  {row['model']} [{row['form']}]: {row['status'].upper()}"
              f"{(' - ' + row['reason']) if row.get('reason') else ''}{extra}",
              file=sys.stderr, flush=True)

    for name in models:
        with open(args.progress, "w") as f:
            json.dump({"model": name, "start": time.time()}, f)
        print(f"[torch {w.versions['torch']}] {name}", file=sys.stderr, flush=True)
        t = time.time()
        w.run_model(name, emit)
        print(f"  {name}: {time.time() - t:.1f} s", file=sys.stderr, flush=True)
    with open(args.progress, "w") as f:
        json.dump({"model": None, "done": True}, f)


# --------------------------------------------------------------------------
# Parent: copies the binaries, runs workers, never hangs
# --------------------------------------------------------------------------
def parent_main(args, argv):
    if args.models:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    else:
        models = SUBSETS[args.subset or "full"]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        sys.exit(f"error: unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    tmp = tempfile.mkdtemp(prefix="rewire_conformance_")
    try:
        rewire = os.path.join(tmp, "rewire")
        shutil.copy2(args.rewire, rewire)
        runner = ""
        if args.runner and os.path.exists(args.runner):
            runner = os.path.join(tmp, "bridge_tool")
            shutil.copy2(args.runner, runner)
        else:
            print(f"warning: {args.runner} not found: state is checked from `rewire run`'s "
                  "report only", file=sys.stderr)
        desc = os.path.join(tmp, "graph_descriptor_set.pb")
        shutil.copy2(args.descriptor, desc)
        env = dict(os.environ, REWIRE_DESCRIPTOR_SET=desc, OMP_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                   TMPDIR=tmp)  # a killed worker's scratch files go with tmp
        version = torch_version_cheap(sys.executable)
        os.makedirs(args.results_dir, exist_ok=True)
        results = results_path(args.results_dir, version)
        if args.fresh and os.path.exists(results):
            os.remove(results)
        run_id = uuid.uuid4().hex[:12]
        command = shlex.join([os.path.basename(sys.executable) if sys.executable.startswith(
            os.path.expanduser("~")) else sys.executable,
            os.path.relpath(os.path.abspath(__file__), REPO)] + argv)
        forms = FORMS_1 if int(version.split(".")[0]) < 2 else FORMS_2
        progress = os.path.join(tmp, "progress.json")
        print(f"torch {version}: {len(models)} model(s) -> {results}", file=sys.stderr)
        t_all = time.time()
        remaining = list(models)
        while remaining:
            if os.path.exists(progress):
                os.remove(progress)
            cmd = [sys.executable, os.path.abspath(__file__), "--worker",
                   "--models", ",".join(remaining), "--results", results,
                   "--progress", progress, "--rewire", rewire, "--runner", runner,
                   "--run-timeout", str(args.run_timeout), "--run-id", run_id,
                   "--command", command]
            p = subprocess.Popen(cmd, env=env, start_new_session=True)
            current, started, outcome = None, time.time(), None
            while True:
                try:
                    rc = p.wait(timeout=1.0)
                    outcome = ("exit", rc)
                    break
                except subprocess.TimeoutExpired:
                    pass
                try:
                    with open(progress) as f:
                        prog = json.load(f)
                    if prog.get("model") != current:
                        current, started = prog.get("model"), prog.get("start", time.time())
                except (OSError, ValueError):
                    pass
                limit = args.model_timeout
                if current is None:
                    limit = max(limit, 300)  # interpreter start-up
                if time.time() - started > limit:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                    outcome = ("timeout", None)
                    break
            try:
                with open(progress) as f:
                    prog = json.load(f)
            except (OSError, ValueError):
                prog = {}
            if prog.get("done") and outcome == ("exit", 0):
                break
            current = prog.get("model")
            if current is None:
                # The worker died before its first model: record them all.
                why = ("timeout" if outcome[0] == "timeout"
                       else f"worker failed to start (rc {outcome[1]})")
                for name in remaining:
                    _fill_missing(results, run_id, command, name, forms, version, why)
                break
            why = (f"timeout (model over {args.model_timeout:g} s)" if outcome[0] == "timeout"
                   else f"crashed (interpreter exit status {outcome[1]})")
            _fill_missing(results, run_id, command, current, forms, version, why)
            remaining = remaining[remaining.index(current) + 1:]
        print(f"torch {version}: done in {time.time() - t_all:.1f} s -> {results}",
              file=sys.stderr)
        rows = [r for r in read_rows(results) if r.get("run_id") == run_id]
        counts = collections.Counter(r["status"] for r in rows)
        print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), file=sys.stderr)
        if args.check:
            return check_rows(rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def check_rows(rows):
    """--check: 1 when a row fails for any reason but a failure the model
    table expects (an export PyTorch refuses). A missing executor op fails
    too: every op the conformance models export has a kernel
    (tests/conformance_ops_test.cc). Prints one line per such row."""
    bad = [r for r in rows if r["status"] == "fail" and not r.get("expected")]
    for r in bad:
        print(f"conformance FAIL: {r['model']} [{r['form']}] torch {r.get('torch')}: "
              f"{short(r.get('reason') or '', 300)}", file=sys.stderr)
    passed = sum(1 for r in rows if r["status"] == "pass")
    print(f"{passed} passed, {len(bad)} failed", file=sys.stderr)
    return 1 if bad else 0


def _fill_missing(results, run_id, command, model, forms, version, why):
    have = {r["form"] for r in read_rows(results)
            if r.get("run_id") == run_id and r.get("model") == model}
    for form in forms:
        if form in have:
            continue
        row = {"model": model, "form": form, "torch": version, "status": "fail",
               "reason": why, "run_id": run_id, "command": command,
               "kind": MODELS[model]["kind"], "expected": MODELS[model].get("expected"),
               "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "time": round(time.time(), 3), "python": sys.executable}
        append_row(results, row)
        print(f"  {model} [{form}]: FAIL - {why}", file=sys.stderr)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", help="comma-separated model names")
    ap.add_argument("--subset", choices=sorted(SUBSETS),
                    help="ci: the small modules + resnet18 + mobilenet_v3_small; "
                         "full (default): every model")
    ap.add_argument("--rewire", default=DEFAULT_REWIRE, help="the rewire CLI binary")
    ap.add_argument("--runner", default=DEFAULT_RUNNER,
                    help="bridge_tool (its `run` saves the module after a run, for the state check)")
    ap.add_argument("--descriptor", default=DEFAULT_DESCRIPTOR,
                    help="graph_descriptor_set.pb for the bridge")
    ap.add_argument("--results-dir", default=DEFAULT_RESULTS)
    ap.add_argument("--fresh", action="store_true",
                    help="delete this torch version's results file first")
    ap.add_argument("--run-timeout", type=float, default=300,
                    help="seconds per rewire subprocess (eval, run, state run)")
    ap.add_argument("--model-timeout", type=float, default=1500,
                    help="seconds per model, all forms together")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a row fails other than for an expected "
                         "export failure")
    ap.add_argument("--table", action="store_true",
                    help="merge results/*.jsonl into docs/CONFORMANCE.md")
    ap.add_argument("--table-out", default=DEFAULT_TABLE)
    ap.add_argument("--list", action="store_true", help="list models and subsets")
    # Internal (worker process).
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--results", help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    ap.add_argument("--run-id", help=argparse.SUPPRESS)
    ap.add_argument("--command", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.list:
        for k, v in SUBSETS.items():
            print(f"{k}: {','.join(v)}")
        return
    if args.table:
        return table_main(args)
    if args.worker:
        return worker_main(args)
    return parent_main(args, argv)


if __name__ == "__main__":
    sys.exit(main())

