"""A Livegate client that is not ours: Python grpcio with stubs generated from proto/ alone.

    python liveness_client.py ADDRESS API_KEY FRAME.jpg STUB_DIR

Generates the stubs into STUB_DIR with grpcio-tools, then drives CreateSession ->
StreamSession -> GetSessionResult -> VerifySession, and Identity's CompareFaces (the frame
against itself), and prints what it saw as one JSON object.
"""

import json
import sys
from pathlib import Path

import grpc
import grpc_tools
from grpc_tools import protoc

address, api_key, frame_path, stub_dir = sys.argv[1:5]
proto_root = Path(__file__).resolve().parents[3] / "proto"
Path(stub_dir).mkdir(parents=True, exist_ok=True)
well_known = Path(grpc_tools.__file__).parent / "_proto"
status = protoc.main([
    "protoc", f"-I{proto_root}", f"-I{well_known}",
    f"--python_out={stub_dir}", f"--grpc_python_out={stub_dir}",
    "livegate/v1/liveness.proto", "livegate/v1/identity.proto",
])
if status != 0:
    sys.exit(f"protoc failed with {status}")
sys.path.insert(0, stub_dir)
from livegate.v1 import liveness_pb2 as pb  # noqa: E402
from livegate.v1 import liveness_pb2_grpc as rpc  # noqa: E402
from livegate.v1 import identity_pb2 as ipb  # noqa: E402
from livegate.v1 import identity_pb2_grpc as irpc  # noqa: E402

metadata = [("authorization", f"Bearer {api_key}")]
report = {}
with grpc.insecure_channel(address) as channel:
    stub = rpc.LivenessStub(channel)
    created = stub.CreateSession(
        pb.CreateSessionRequest(settings=pb.SessionSettings(audit_images_limit=2)),
        metadata=metadata)
    report["created"] = {"status": pb.SessionStatus.Name(created.status),
                         "session_id": created.session_id,
                         "has_token": len(created.stream_token) == 64}

    jpeg = Path(frame_path).read_bytes()

    def requests():
        yield pb.StreamSessionRequest(start=pb.StreamStart(
            session_id=created.session_id, stream_token=created.stream_token,
            client=pb.ClientInfo(device="python grpcio", fps=10.0)))
        for i in range(60):
            yield pb.StreamSessionRequest(frame=pb.Frame(
                timestamp_ms=i * 100, encoding=pb.FRAME_ENCODING_JPEG, data=jpeg))

    seen = {"session_started": 0, "challenge": 0, "feedback": 0}
    verdict = None
    for response in stub.StreamSession(requests(), metadata=metadata):
        kind = response.WhichOneof("message")
        if kind == "verdict":
            verdict = response.verdict
            break
        seen[kind] = seen.get(kind, 0) + 1
    report["stream"] = seen
    report["verdict"] = None if verdict is None else {
        "status": pb.SessionStatus.Name(verdict.status),
        "is_live": verdict.is_live, "confidence": verdict.confidence,
        "reasons": list(verdict.reasons)}

    result = stub.GetSessionResult(
        pb.GetSessionResultRequest(session_id=created.session_id), metadata=metadata)
    report["result"] = {"status": pb.SessionStatus.Name(result.status),
                        "is_live": result.is_live, "confidence": result.confidence,
                        "reasons": list(result.reasons),
                        "has_reference_image": len(result.reference_image) > 0}

    try:
        stub.VerifySession(pb.VerifySessionRequest(session_id=created.session_id),
                           metadata=metadata)
        report["verify"] = {"ok": True}
    except grpc.RpcError as e:
        trailers = dict(e.trailing_metadata() or ())
        report["verify"] = {"ok": False, "code": e.code().name, "message": e.details(),
                            "has_error_details": "grpc-status-details-bin" in trailers}

    compared = irpc.IdentityStub(channel).CompareFaces(
        ipb.CompareFacesRequest(source_image=jpeg, target_image=jpeg), metadata=metadata)
    report["compare"] = {"similarity": compared.similarity, "is_match": compared.is_match,
                         "threshold": compared.threshold}

print(json.dumps(report))
