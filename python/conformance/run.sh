#!/bin/sh
# Conformance of rewire against eager PyTorch, with both interpreters, then
# the table (docs/CONFORMANCE.md). Arguments go to conformance.py, e.g.
#   python/conformance/run.sh --subset ci
#   python/conformance/run.sh --models resnet18,mobilenet_v2
# PY1 / PY2 override the interpreters (default /usr/bin/python3 = torch 1.13,
# python3 = torch 2.x). Run one at a time: each uses one CPU thread.
set -u
cd "$(dirname "$0")/../.." || exit 2
PY1=${PY1:-/usr/bin/python3}
PY2=${PY2:-python3}
status=0
"$PY1" python/conformance/conformance.py "$@" || status=1
"$PY2" python/conformance/conformance.py "$@" || status=1
"$PY2" python/conformance/conformance.py --table || status=1
exit $status
