"""An fp32 model's PReLUs and channel pads in operators onnxruntime keeps in its blocked layout
(the `prelu-nchwc` transform).

    python prelu_nchwc.py SRC.onnx DST.onnx

On x86, onnxruntime runs convolutions in a blocked channel layout (NCHWc) and converts tensors
into and out of it around every operator it has no blocked form of. MediaPipe FaceMesh has a
PReLU after nearly every convolution, and PReLU is such an operator: in its profiler the
conversions and the PReLUs took about as long as all the convolutions. ReLU, Add and
convolutions do stay blocked, and, with `scale(t, s)` a 1×1 depthwise convolution multiplying
each channel by its own number,

    PReLU(x) = Relu(x) + scale(Relu(scale(x, -1)), -slope)

exactly, in floating point too: for each element one of the two terms is zero and the other
is x, or slope × x rounded once as PReLU rounds it. A Pad that appends zero channels
(FaceMesh's shortcut where a block widens) becomes a 1×1 convolution by an identity with zero
rows, also exact. The model then stays blocked from its first convolution to its outputs.

What onnxruntime computes can still differ in the last bits: with both inputs of a residual Add
now blocked, it adds the shortcut inside the convolution before it, in another order (FaceMesh
on random inputs: at most 6e-5 px of 192). Followed over a video, where each frame's crop
comes from the last frame's landmarks, such a difference grows to what any change of
arithmetic gives (tract against onnxruntime alike): 0.01–0.05 px at p50 on seven real clips.
SFace, also full of PReLUs, came out no faster this way and keeps its file. The script checks every replacement against the node it replaces
with onnx's reference evaluator on seeded random values (equal), and writes the same bytes on
every machine. tract gains nothing from it: the engine loads this file only on onnxruntime
(`variant_of` in `models.toml`).
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from graph_edit import replace_nodes  # beside this file


def channel_pad(node, inits) -> int:
    """How many zero channels a constant Pad appends, or 0 if it does anything else."""
    if node.op_type != "Pad" or len(node.input) < 2 or node.input[1] not in inits:
        return 0
    mode = next((a.s for a in node.attribute if a.name == "mode"), b"constant")
    if mode != b"constant" or (len(node.input) > 2 and node.input[2]):
        return 0
    pads = numpy_helper.to_array(inits[node.input[1]]).tolist()
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 2, 3, 4, 6, 7)) or pads[5] <= 0:
        return 0
    return int(pads[5])


def replacement(node, inits, channels: int, name: str):
    """The nodes and new initialisers that compute what `node` does, or None to keep it."""
    def const(suffix, values):
        return numpy_helper.from_array(np.asarray(values, np.float32), f"{name}/{suffix}")

    if node.op_type == "PRelu":
        if node.input[1] not in inits:
            return None
        slope = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32).ravel()
        if slope.size != channels:
            return None
        minus_one = const("minus_one", -np.ones((channels, 1, 1, 1)))
        minus_slope = const("minus_slope", -slope.reshape(channels, 1, 1, 1))
        x, n = node.input[0], lambda s: f"{name}/{s}"

        def scale(src, by, dst):
            # Each channel times its own number: a 1×1 depthwise convolution.
            return helper.make_node("Conv", [src, by.name], [dst], name=dst, group=channels)

        nodes = [
            helper.make_node("Relu", [x], [n("positive")], name=n("positive")),
            scale(x, minus_one, n("negated")),
            helper.make_node("Relu", [n("negated")], [n("negative")], name=n("negative")),
            scale(n("negative"), minus_slope, n("sloped")),
            helper.make_node("Add", [n("positive"), n("sloped")], [node.output[0]], name=n("sum")),
        ]
        return nodes, [minus_one, minus_slope]

    extra = channel_pad(node, inits)
    if extra:
        weights = np.zeros((channels + extra, channels, 1, 1), np.float32)
        weights[np.arange(channels), np.arange(channels), 0, 0] = 1.0
        eye = const("identity", weights)
        return [helper.make_node("Conv", [node.input[0], eye.name], [node.output[0]],
                                 name=f"{name}/conv")], [eye]
    return None


def check(original, nodes, new_inits, inits, shape, opset) -> None:
    """The replacement computes what the original node does, on seeded random values."""
    x = np.random.default_rng(8803).normal(0, 1, shape).astype(np.float32)
    def run(graph_nodes, extra):
        used = {i for n in graph_nodes for i in n.input}
        graph = helper.make_graph(
            graph_nodes, "check",
            [helper.make_tensor_value_info(original.input[0], TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info(original.output[0], TensorProto.FLOAT, None)],
            [t for t in list(inits.values()) + extra if t.name in used and t.name != original.input[0]])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return ReferenceEvaluator(model).run(None, {original.input[0]: x})[0]
    want, got = run([original], []), run(nodes, new_inits)
    if not np.array_equal(want, got):
        raise SystemExit(f"{original.name}: the replacement differs by {np.abs(want - got).max()}")


def transform(src: Path, dst: Path) -> None:
    model = onnx.load(src)
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    inits = {t.name: t for t in graph.initializer}
    inferred = shape_inference.infer_shapes(model).graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.value_info) + list(inferred.input)}

    nodes, added, counts = [], [], {"PRelu": 0, "Pad": 0}
    for index, node in enumerate(graph.node):
        shape = shapes.get(node.input[0]) if node.input else None
        swap = None
        if shape and len(shape) == 4 and all(shape):
            swap = replacement(node, inits, shape[1], f"{node.op_type.lower()}_{index}_nchwc")
        if swap is None:
            nodes.append(node)
            continue
        check(node, *swap, inits, shape, opset)
        nodes += swap[0]
        added += swap[1]
        counts[node.op_type] += 1

    replace_nodes(graph, nodes, added)
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(f"{counts['PRelu']} PReLUs and {counts['Pad']} channel pads rewritten", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    transform(Path(sys.argv[1]), Path(sys.argv[2]))
