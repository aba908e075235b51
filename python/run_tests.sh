#!/usr/bin/env bash
# PyTorch bridge tests: installs what they need, builds the C++ helpers and the
# descriptor set, runs python/tests under torch 1.13 (Debian's /usr/bin/python3)
# and under torch 2.x (the default python3) when that one has torch installed.
# Exits non-zero on any failure; prints pytest's summary line per interpreter.
#
#   REWIRE_BRIDGE_INSTALL=0      don't apt-get install anything
#   REWIRE_BRIDGE_PIP_TORCH=1    also `pip install torch torchvision timm
#                                protobuf numpy pytest` into the default python3
#                                (several GB from PyPI with the CUDA libraries)
#
# With a pip torch 2.x in the default python3 and REWIRE_BRIDGE_INSTALL=1, it
# also `pip install torchao` there when missing (PyTorch's pt2e train/eval
# rewrite, which the tests compare with rewire's; skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PY=/usr/bin/python3
if [[ "${REWIRE_BRIDGE_INSTALL:-1}" == 1 ]] &&
   ! "$DEB_PY" -c 'import torch, torchvision, google.protobuf, numpy, pytest' 2>/dev/null; then
  echo "== installing python3-torch python3-torchvision python3-protobuf (apt)"
  SUDO=""; [[ $(id -u) == 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends python3-torch python3-torchvision python3-protobuf \
    python3-numpy python3-pytest >/dev/null
fi
if [[ "${REWIRE_BRIDGE_PIP_TORCH:-0}" == 1 ]] &&
   ! python3 -c "import torch, torchvision, timm, google.protobuf, numpy, pytest" 2>/dev/null; then
  # Several GB with torch's CUDA libraries: once per machine, then skipped.
  # timm: DropPath models for the conformance table.
  python3 -m pip install -q torch torchvision timm protobuf numpy pytest
fi

DEFAULT_PY=$(command -v python3 || true)
if [[ "${REWIRE_BRIDGE_INSTALL:-1}" == 1 && -n "$DEFAULT_PY" &&
      "$(readlink -f "$DEFAULT_PY")" != "$(readlink -f "$DEB_PY")" ]] &&
   "$DEFAULT_PY" -c 'import sys, torch; sys.exit(int(torch.__version__.split(".")[0]) < 2)' 2>/dev/null &&
   ! "$DEFAULT_PY" -c 'import torchao' 2>/dev/null; then
  echo "== installing torchao (pip, $DEFAULT_PY)"
  "$DEFAULT_PY" -m pip install -q --disable-pip-version-check torchao ||
    echo "== pip install torchao failed: pt2e comparison tests will be skipped"
fi

echo "== bazel build //python:bridge_tool //proto:graph_descriptor_set //tools:rewire"
bazel build //python:bridge_tool //proto:graph_descriptor_set //tools:rewire
export REWIRE_BIN="$PWD/bazel-bin/tools/rewire"
export REWIRE_BRIDGE_BIN="$PWD/bazel-bin/python"
export REWIRE_DESCRIPTOR_SET="$PWD/bazel-bin/proto/graph_descriptor_set.pb"

status=0
ran=0
run_suite() {  # $1: interpreter
  local py=$1 version
  version=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null) || return 0
  "$py" -c 'import torchvision, google.protobuf, numpy, pytest' 2>/dev/null || {
    echo "== $py (torch $version): torchvision/protobuf/numpy/pytest missing, skipped"
    return 0
  }
  echo "== python tests: $py (torch $version)"
  ran=$((ran + 1))
  local log
  log=$(mktemp)
  if (cd python && "$py" -m pytest -q -s -p no:cacheprovider tests) >"$log" 2>&1; then
    tail -n 40 "$log" | grep -E '^\s+[a-z_0-9]+/|max abs' || true
  else
    status=1
    cat "$log"
  fi
  echo "summary ($py, torch $version): $(grep -E '(passed|failed|error)' "$log" | tail -n 1)"
  rm -f "$log"
}

run_suite "$DEB_PY"
if [[ -n "$DEFAULT_PY" && "$(readlink -f "$DEFAULT_PY")" != "$(readlink -f "$DEB_PY")" ]]; then
  run_suite "$DEFAULT_PY"
fi
if [[ $ran == 0 ]]; then
  echo "python bridge tests: no interpreter with torch found" >&2
  exit 1
fi
exit $status
