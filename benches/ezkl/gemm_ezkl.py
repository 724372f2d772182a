"""The peer of `proofmint work gemm`: EZKL proving the same product.

A MatMul ONNX model of two int8-valued inputs, A (n x n) and B (n x n), both
inputs and the output hashed with Poseidon (as proofmint's commitments are),
scales 0 (the values are integers), an SRS generated locally (no download).
Times EZKL's setup, witness, prove and verify, once each, and prints them as
one JSON line.

    python3 -m venv venv && venv/bin/pip install ezkl==23.0.5 onnx numpy
    venv/bin/python benches/ezkl/gemm_ezkl.py 64
"""

import asyncio
import inspect
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

import ezkl


def run(result):
    """EZKL's Python functions are synchronous or coroutines by version."""
    if inspect.isawaitable(result):
        return asyncio.run(result)
    return result


def timed(step):
    start = time.perf_counter()
    result = run(step())
    return result, time.perf_counter() - start


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, size=(n, n))
    b = rng.integers(-128, 128, size=(n, n))
    work = tempfile.mkdtemp(prefix="ezkl-gemm-")
    path = lambda name: os.path.join(work, name)

    inputs = [
        helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n]),
        helper.make_tensor_value_info("B", TensorProto.FLOAT, [n, n]),
    ]
    output = helper.make_tensor_value_info("C", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path("gemm.onnx"))
    with open(path("input.json"), "w") as f:
        json.dump({"input_data": [a.flatten().astype(float).tolist(), b.flatten().astype(float).tolist()]}, f)

    args = ezkl.PyRunArgs()
    args.input_visibility = "hashed"
    args.output_visibility = "hashed"
    args.param_visibility = "fixed"
    args.input_scale = 0
    args.param_scale = 0
    assert run(ezkl.gen_settings(path("gemm.onnx"), path("settings.json"), py_run_args=args))
    run(ezkl.calibrate_settings(path("input.json"), path("gemm.onnx"), path("settings.json"), "resources", scales=[0]))
    with open(path("settings.json")) as f:
        logrows = json.load(f)["run_args"]["logrows"]
    assert run(ezkl.compile_circuit(path("gemm.onnx"), path("gemm.compiled"), path("settings.json")))
    run(ezkl.gen_srs(path("kzg.srs"), logrows))
    _, setup = timed(lambda: ezkl.setup(path("gemm.compiled"), path("vk.key"), path("pk.key"), srs_path=path("kzg.srs")))
    _, witness = timed(lambda: ezkl.gen_witness(path("input.json"), path("gemm.compiled"), path("witness.json")))
    _, prove = timed(lambda: ezkl.prove(path("witness.json"), path("gemm.compiled"), path("pk.key"), path("proof.json"), srs_path=path("kzg.srs")))
    verified, verify = timed(lambda: ezkl.verify(path("proof.json"), path("settings.json"), path("vk.key"), srs_path=path("kzg.srs")))
    assert verified
    with open(path("proof.json")) as f:
        proof = json.load(f)
    size = len(bytes.fromhex(proof["hex_proof"][2:])) if proof.get("hex_proof") else None
    print(json.dumps({
        "peer": "ezkl " + getattr(ezkl, "__version__", "?"),
        "shape": [n, n, n],
        "logrows": logrows,
        "setup_s": round(setup, 3),
        "witness_s": round(witness, 3),
        "prove_s": round(prove, 3),
        "verify_s": round(verify, 4),
        "proof_bytes": size,
    }))


if __name__ == "__main__":
    main()
