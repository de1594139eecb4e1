"""Per-channel lookup tables in place of an int8 model's PReLU islands (the `prelu-lookup` transform).

    python prelu_lookup.py SRC.onnx DST.onnx

onnxruntime has no integer PReLU, so the QDQ quantiser leaves each PReLU in float between a
DequantizeLinear and a QuantizeLinear: three passes over the tensor, 45 % of MediaPipe Iris's
run in onnxruntime's profiler. But that island maps one uint8 to another, channel by channel:
its whole effect is a table of 256 values per channel. This replaces each DequantizeLinear ->
PRelu -> QuantizeLinear by Transpose (to channels last) -> `livegate.ChannelLookup(x, table)` ->
Transpose (back), table uint8 C×256, with the island's zero points as attributes; the engine
registers the operator
with onnxruntime (`engine/src/backend/lookup.rs`). The Transposes cost nothing: onnxruntime's
layout optimiser cancels them against those it puts round its channels-last integer
convolutions, which it cannot do through an operator it does not know (75 Transposes stayed
when the node took channels first, and the model ran slower than with the float islands).

The tables are computed here as onnxruntime computes the island: (q - zero point) × scale in
float32, x if x > 0 else slope × x, then x / scale rounded half to even, plus the zero point,
saturated. The script checks them against onnx's reference evaluator running the original
island on every input value of every channel, so the new model computes the same bytes as the
old one. Nothing here runs onnxruntime: the output is the same bytes on every machine.
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from graph_edit import replace_nodes  # beside this file

DOMAIN = "livegate"
OP = "ChannelLookup"


def scalar(inits: dict, name: str) -> np.ndarray:
    value = numpy_helper.to_array(inits[name])
    if value.size != 1:
        raise SystemExit(f"{name}: per-tensor quantisation expected, found shape {value.shape}")
    return value.reshape(())


def table(scale_in, zp_in, slope, scale_out, zp_out) -> np.ndarray:
    """The island's output for each channel (rows) and each input byte (columns)."""
    q = np.arange(256, dtype=np.int32)
    x = (q - np.int32(zp_in)).astype(np.float32) * np.float32(scale_in)
    x = x[None, :]
    slope = slope.astype(np.float32).reshape(-1, 1)
    y = np.where(x > 0, x, slope * x).astype(np.float32)
    y = np.rint(y / np.float32(scale_out)) + np.float32(zp_out)
    return np.clip(y, 0, 255).astype(np.uint8)


def reference_table(dq, prelu, q, inits, channels: int) -> np.ndarray:
    """The same table from onnx's reference evaluator running the original three nodes."""
    used = {i for n in (dq, prelu, q) for i in n.input[1:] if i}
    graph = helper.make_graph(
        [dq, prelu, q],
        "island",
        [helper.make_tensor_value_info(dq.input[0], TensorProto.UINT8, [1, channels, 1, 256])],
        [helper.make_tensor_value_info(q.output[0], TensorProto.UINT8, [1, channels, 1, 256])],
        [inits[name] for name in sorted(used)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    x = np.tile(np.arange(256, dtype=np.uint8), (1, channels, 1, 1))
    return ReferenceEvaluator(model).run(None, {dq.input[0]: x})[0].reshape(channels, 256)


def transform(src: Path, dst: Path) -> None:
    model = onnx.load(src)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    replaced = {}  # id of the island's first node -> the lookup node
    dropped = set()
    tables = []
    for prelu in [n for n in graph.node if n.op_type == "PRelu"]:
        dq = producer.get(prelu.input[0])
        after = consumers.get(prelu.output[0], [])
        if not (dq is not None and dq.op_type == "DequantizeLinear" and len(after) == 1
                and after[0].op_type == "QuantizeLinear" and len(consumers[dq.output[0]]) == 1):
            raise SystemExit(f"{prelu.name}: not a DequantizeLinear -> PRelu -> QuantizeLinear island")
        q = after[0]
        slope = numpy_helper.to_array(inits[prelu.input[1]]).ravel()
        channels = slope.size
        values = table(scalar(inits, dq.input[1]), scalar(inits, dq.input[2]), slope,
                       scalar(inits, q.input[1]), scalar(inits, q.input[2]))
        check = reference_table(dq, prelu, q, inits, channels)
        if not np.array_equal(values, check):
            bad = int(np.sum(values != check))
            raise SystemExit(f"{prelu.name}: {bad} table entries differ from the reference evaluator")
        name = f"{prelu.name}/lookup"
        tables.append(numpy_helper.from_array(values, f"{name}/table"))
        # Channels last, between two Transposes (the module doc says why).
        replaced[id(dq)] = [
            helper.make_node("Transpose", [dq.input[0]], [f"{name}/x"], name=f"{name}/in",
                             perm=[0, 2, 3, 1]),
            helper.make_node(OP, [f"{name}/x", f"{name}/table"], [f"{name}/y"], name=name,
                             domain=DOMAIN, x_zero_point=int(scalar(inits, dq.input[2])),
                             y_zero_point=int(scalar(inits, q.input[2]))),
            helper.make_node("Transpose", [f"{name}/y"], [q.output[0]], name=f"{name}/out",
                             perm=[0, 3, 1, 2]),
        ]
        dropped |= {id(prelu), id(q)}

    nodes = [m for n in graph.node if id(n) not in dropped for m in replaced.get(id(n), [n])]
    replace_nodes(graph, nodes, tables)
    model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
    onnx.save(model, dst)
    print(f"{len(tables)} PReLU islands replaced by lookup tables", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    transform(Path(sys.argv[1]), Path(sys.argv[2]))
