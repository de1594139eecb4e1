"""int8 quantisation of an fp32 model from committed activation ranges (the `qdq-int8` transform).

    python int8.py SRC.onnx DST.onnx RANGES.json

Run by `fetch.py models` in the converter virtualenv (pinned onnxruntime, onnx, numpy); the
ranges come from `calibrate_int8.py`. onnxruntime's QDQ quantiser, as `quantize_static` sets it
up, but given the ranges instead of measuring them: weights int8 per output channel, activations
uint8 (the fast kind on x86: u8 × s8), weights in 7 bits (`reduce_range`: on x86 CPUs without
VNNI, onnxruntime adds pairs of u8 × s8 products in 16 bits, which 8-bit weights can saturate,
so the same file would compute other numbers there; 7 bits cannot, and on six people's eye
crops agree with fp32 as closely), QuantizeLinear/DequantizeLinear pairs around every
operator onnxruntime has an integer kernel for, which its graph optimiser then fuses. Nothing
here runs the model, so the output is the same bytes on every machine and is pinned by sha256.

tract runs such a model slower than the fp32 one (it has no fused integer convolutions for
it): the engine loads the int8 file only on onnxruntime (`variant_of` in `models.toml`).
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import QuantType
from onnxruntime.quantization.calibrate import CalibrationMethod, TensorData, TensorsData
from onnxruntime.quantization.qdq_quantizer import QDQQuantizer
from onnx.version_converter import convert_version
from onnxruntime.quantization.quant_utils import (
    get_opset_version,
    load_model_with_shape_infer,
    save_and_reload_model_with_shape_infer,
)
from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

# The operators quantised and calibrated: every one onnxruntime has an integer form of.
OP_TYPES = sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


# Per-channel weights need DequantizeLinear's `axis`, from opset 13.
OPSET = 13


def prepared(src: Path) -> onnx.ModelProto:
    """The model with its shapes inferred and its opset raised to OPSET: what both the
    calibration and the quantisation work on, so tensor names agree."""
    model = load_model_with_shape_infer(src)
    if get_opset_version(model) < OPSET:
        model = save_and_reload_model_with_shape_infer(convert_version(model, OPSET))
    return model


def quantise(src: Path, dst: Path, ranges_path: Path) -> None:
    ranges = json.loads(ranges_path.read_text())
    tensors = TensorsData(
        CalibrationMethod.MinMax,
        {
            name: TensorData(lowest=np.array(lo, np.float32), highest=np.array(hi, np.float32))
            for name, (lo, hi) in ranges.items()
        },
    )
    quantizer = QDQQuantizer(
        prepared(src),
        True,  # per channel
        True,  # weights in 7 bits (below)
        QuantType.QInt8,
        QuantType.QUInt8,
        tensors,
        [],
        [],
        OP_TYPES,
        {},
    )
    quantizer.quantize_model()
    quantizer.model.save_model_to_file(str(dst))  # sorts the nodes topologically first
    onnx.checker.check_model(onnx.load(dst))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    quantise(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
