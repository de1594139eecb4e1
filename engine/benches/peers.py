"""The peers our per-frame numbers are compared with, on the same frames and the same core.

Run it right after the `pipeline` bench, both under `taskset -c 0`, so that the machine's noise is
the same for both (see README, "Speed"):

    python3 -m venv ~/.cache/livegate/peers-venv
    ~/.cache/livegate/peers-venv/bin/pip install mediapipe==0.10.14 onnxruntime==1.20.1 "numpy<2"
    taskset -c 0 ~/.cache/livegate/peers-venv/bin/python engine/benches/peers.py

Frames: the first 300 of franck.mp4, scaled to 640x480 and JPEG-encoded at quality 85, as the
pipeline bench sends them; each timing includes decoding the JPEG, as ours does. Cases:
- MediaPipe's face mesh (0.10.14, the legacy `solutions` graph), tracking (video mode): its own
  detector when the face is lost, the mesh on the previous frame's region otherwise;
- Python + onnxruntime (one thread) with our model files: YuNet at 640x640 and FaceMesh on its
  box on every frame; and tracking (FaceMesh on the previous landmarks' box, YuNet every 30
  frames or when the face is lost), the shape of our production path.
Not run in CI: the MediaPipe wheel and its dependencies take about 1 GB.
"""

import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

CACHE = Path(os.environ.get("LIVEGATE_CACHE_DIR", Path.home() / ".cache/livegate"))
FRAMES = 300


def frames():
    cap = cv2.VideoCapture(str(CACHE / "media/franck.mp4"))
    out = []
    while len(out) < FRAMES:
        ok, img = cap.read()
        if not ok:
            break
        img = cv2.resize(img, (640, 480), interpolation=cv2.INTER_LINEAR)
        out.append(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
    return out


def report(name, ms):
    ms = sorted(ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"| {name} | {statistics.median(ms):.2f} | {p95:.2f} | {statistics.fmean(ms):.2f} |")


def mediapipe_tracked(jpegs):
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1)
    ms, found = [], 0
    for j in jpegs:
        t = time.perf_counter()
        bgr = cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)
        result = mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        ms.append((time.perf_counter() - t) * 1e3)
        found += bool(result.multi_face_landmarks)
    return ms, found


class OnnxPipeline:
    def __init__(self):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        models = CACHE / "models"
        self.yunet = ort.InferenceSession(str(models / "face_detection_yunet_2023mar.onnx"), options)
        self.mesh = ort.InferenceSession(str(models / "face_landmark.onnx"), options)

    def detect(self, bgr):
        """The best face's box (x, y, w, h) by YuNet at 640x640, letterboxed; None if none."""
        scale = 640 / max(bgr.shape[:2])
        small = cv2.resize(bgr, None, fx=scale, fy=scale)
        canvas = np.zeros((640, 640, 3), np.float32)
        canvas[: small.shape[0], : small.shape[1]] = small
        outs = self.yunet.run(None, {self.yunet.get_inputs()[0].name: canvas.transpose(2, 0, 1)[None]})
        best, box = 0.5, None
        for level, stride in enumerate((8, 16, 32)):
            cls, obj, bbox = outs[level].ravel(), outs[3 + level].ravel(), outs[6 + level].reshape(-1, 4)
            score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            i = int(np.argmax(score))
            if score[i] > best:
                cols = 640 // stride
                cx, cy = (i % cols + bbox[i, 0]) * stride, (i // cols + bbox[i, 1]) * stride
                w, h = np.exp(bbox[i, 2]) * stride, np.exp(bbox[i, 3]) * stride
                best, box = score[i], ((cx - w / 2) / scale, (cy - h / 2) / scale, w / scale, h / scale)
        return box

    def landmarks(self, bgr, box):
        """FaceMesh on a square around `box` (1.5x its size); the landmarks in frame pixels."""
        x, y, w, h = box
        side = 1.5 * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        m = np.float32([[192 / side, 0, 96 - cx * 192 / side], [0, 192 / side, 96 - cy * 192 / side]])
        crop = cv2.warpAffine(bgr, m, (192, 192))
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        coords, flag = self.mesh.run(None, {self.mesh.get_inputs()[0].name: rgb.transpose(2, 0, 1)[None]})
        pts = coords.reshape(-1, 3)[:, :2] * side / 192 + (cx - side / 2, cy - side / 2)
        return pts, 1 / (1 + np.exp(-flag.ravel()[0]))

    def run(self, jpegs, every):
        ms, found, box = [], 0, None
        for k, j in enumerate(jpegs):
            t = time.perf_counter()
            bgr = cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)
            if box is None or k % every == 0:
                box = self.detect(bgr)
            if box is not None:
                pts, presence = self.landmarks(bgr, box)
                lo, hi = pts.min(0), pts.max(0)
                box = (lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]) if presence > 0.5 else None
            ms.append((time.perf_counter() - t) * 1e3)
            found += box is not None
        return ms, found


def main():
    cv2.setNumThreads(1)
    jpegs = frames()
    print(f"{len(jpegs)} frames of franck.mp4 at 640x480 (JPEG), one core\n")
    print("| peer | ms p50 | ms p95 | ms mean |")
    print("|---|---|---|---|")
    onnx = OnnxPipeline()
    onnx.run(jpegs[:30], 30)  # warm-up
    ms, _ = mediapipe_tracked(jpegs)
    report("MediaPipe face mesh 0.10.14, tracking", ms)
    ms, _ = onnx.run(jpegs, 30)
    report("Python + onnxruntime 1.20.1, tracking (YuNet every 30 frames, FaceMesh)", ms)
    ms, _ = onnx.run(jpegs, 1)
    report("Python + onnxruntime 1.20.1, detect on every frame (YuNet 640x640, FaceMesh)", ms)


if __name__ == "__main__":
    main()
