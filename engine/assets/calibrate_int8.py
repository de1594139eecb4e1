"""Measures the activation ranges an int8 model is quantised with, on real inputs.

A developer's tool, not run by users or CI. `fetch.py models` builds an int8 model from its fp32
file and a committed ranges file (`transform = ["...", "qdq-int8"]` in `models.toml`): the
quantisation is then plain arithmetic on fixed numbers and gives the same bytes on every machine,
so its sha256 can be pinned, while calibrating at fetch time would run the model and depend on
the CPU's floating point. This script writes that ranges file, from inputs saved as NumPy arrays
by an example (for Iris: `cargo run --release -p livegate-engine --example iris_calibration`).

    ~/.cache/livegate/converter-venv/bin/python engine/assets/calibrate_int8.py \
        ~/.cache/livegate/models/iris_contour.onnx crops.npy... --out engine/assets/iris_int8_ranges.json

Each range is the lowest and highest value the tensor took over every input (min-max).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from int8 import OP_TYPES, prepared  # noqa: E402


class Inputs(CalibrationDataReader):
    def __init__(self, name, arrays):
        self.items = iter([{name: a[i : i + 1]} for a in arrays for i in range(len(a))])

    def get_next(self):
        return next(self.items, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("inputs", nargs="+", help=".npy arrays, N x the model's input shape")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    arrays = [np.load(p).astype(np.float32) for p in args.inputs]
    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(tmp) / "prepared.onnx"
        model = prepared(Path(args.model))
        onnx.save(model, model_path)
        calibrator = create_calibrator(
            model_path,
            OP_TYPES,
            augmented_model_path=str(Path(tmp) / "augmented.onnx"),
            calibrate_method=CalibrationMethod.MinMax,
        )
        calibrator.collect_data(Inputs(model.graph.input[0].name, arrays))
        ranges = calibrator.compute_data()
    scalar = lambda v: float(np.asarray(v).reshape(-1)[0])  # noqa: E731
    out = {name: [scalar(ranges[name].lowest), scalar(ranges[name].highest)] for name in sorted(ranges)}
    lines = [f"{json.dumps(name)}: [{lo!r}, {hi!r}]" for name, (lo, hi) in out.items()]
    Path(args.out).write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"{len(out)} tensor ranges from {sum(len(a) for a in arrays)} inputs -> {args.out}")


if __name__ == "__main__":
    main()
