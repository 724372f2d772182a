#!/usr/bin/env bash
# proofmint's GEMM work proof and EZKL's proof of the same product, in one
# run on this machine: our `gemm_probe` (development parameters, as the
# `proofmint` binary builds halo2: with its assembly field arithmetic on
# x86-64), then EZKL on a MatMul ONNX model of the same shape with Poseidon
# on its inputs and output (gemm_ezkl.py). Each proves once; both lines are
# printed, then the ratio of the prove times.
#
#   benches/ezkl/compare.sh 64
#
# EZKL is installed into a virtual environment of its own on first use
# (EZKL_VENV, default target/ezkl-venv), from the Python package registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-64}
venv=${EZKL_VENV:-target/ezkl-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ezkl" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q ezkl==23.0.5 onnx numpy
fi
features=()
[ "$(uname -m)" = x86_64 ] && features=(--features asm)
cargo build -q --release -p proofmint-work "${features[@]}" --example gemm_probe
ours=$(./target/release/examples/gemm_probe "$n")
echo "proofmint: $ours" | tr '\n' ' '; echo
theirs=$("$venv/bin/python" benches/ezkl/gemm_ezkl.py "$n")
echo "ezkl: $theirs"
ours_s=$(echo "$ours" | sed -n 's/^prove \([0-9.]*\)s.*/\1/p')
theirs_s=$("$venv/bin/python" -c "import json,sys; print(json.loads(sys.argv[1])['prove_s'])" "$theirs")
"$venv/bin/python" -c "import sys; o, t = map(float, sys.argv[1:]); print(f'{sys.argv[2]} s against {sys.argv[1]} s: proofmint {t / o:.1f}x faster')" "$ours_s" "$theirs_s"
