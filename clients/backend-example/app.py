"""A customer's backend, in the shortest form that is still the real flow.

    python app.py --livegate-grpc 127.0.0.1:50051 --livegate-web http://127.0.0.1:8080 \\
        --api-key "$LIVEGATE_KEY" --port 8000

Open http://127.0.0.1:8000/. For each check this service:

1. creates a Livegate session over gRPC with its API key (the key never reaches a browser);
2. hands the browser the session id and its one-use stream token, with the web flow either
   embedded as a module (`/verify`) or as Livegate's hosted page in a frame (`/verify?mode=frame`)
   or by link with a return URL (`/verify?mode=link`);
3. when the browser says the check is over, reads the outcome with its key (GetSessionResult)
   and asks Livegate to verify it against the session's threshold (VerifySession). Only this
   answer counts: the browser is the user's device, and it is never told the score.

The gRPC stubs are generated from Livegate's .proto files at start-up (grpcio-tools), as your
build would. Python's standard library serves the pages; grpcio is the only dependency.
"""

import argparse
import html
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import grpc
import grpc_tools
from grpc_tools import protoc


def generate_stubs(proto_root: Path, out: Path):
    """The Python classes of livegate/v1/liveness.proto, generated into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main([
        "protoc", f"-I{proto_root}", f"-I{well_known}",
        f"--python_out={out}", f"--grpc_python_out={out}", "livegate/v1/liveness.proto",
    ])
    if status != 0:
        sys.exit(f"protoc failed with status {status}")
    sys.path.insert(0, str(out))
    from livegate.v1 import liveness_pb2, liveness_pb2_grpc
    return liveness_pb2, liveness_pb2_grpc


class Livegate:
    """The calls this backend makes, with its key, and the sessions it created."""

    def __init__(self, pb, rpc, address: str, api_key: str):
        self.pb = pb
        self.stub = rpc.LivenessStub(grpc.insecure_channel(address))
        self.metadata = [("authorization", f"Bearer {api_key}")]
        self.mine = set()
        self.lock = threading.Lock()

    def create_session(self):
        created = self.stub.CreateSession(
            self.pb.CreateSessionRequest(settings=self.pb.SessionSettings(audit_images_limit=1)),
            metadata=self.metadata, timeout=10)
        with self.lock:
            self.mine.add(created.session_id)
        return created.session_id, created.stream_token

    def outcome(self, session_id: str) -> dict:
        """The session's outcome as this backend decides on it; None if not ours."""
        with self.lock:
            if session_id not in self.mine:
                return None
        pb = self.pb
        # The browser may say "done" a moment before the outcome is stored (the server holds it
        # while its store is away): wait a little for a final status.
        for _ in range(20):
            result = self.stub.GetSessionResult(
                pb.GetSessionResultRequest(session_id=session_id),
                metadata=self.metadata, timeout=10)
            if result.status not in (pb.SESSION_STATUS_CREATED, pb.SESSION_STATUS_IN_PROGRESS):
                break
            time.sleep(0.25)
        answer = {
            "sessionId": session_id,
            "status": pb.SessionStatus.Name(result.status).removeprefix("SESSION_STATUS_"),
            "isLive": result.is_live,
            "confidence": round(result.confidence, 2),
            "reasons": list(result.reasons),
            "hasReferenceImage": len(result.reference_image) > 0,
        }
        try:
            self.stub.VerifySession(pb.VerifySessionRequest(session_id=session_id),
                                    metadata=self.metadata, timeout=10)
            answer["verified"] = True
        except grpc.RpcError as e:
            answer["verified"] = False
            answer["verifyError"] = f"{e.code().name}: {e.details()}"
        return answer


PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example Bank — verify your identity</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 0; background: #eef1f4; color: #15202b; }}
  header {{ background: #0b3d2e; color: #fff; padding: 0.75rem 1.5rem; }}
  main {{ max-width: 40rem; margin: 1.5rem auto; padding: 0 1rem; }}
  iframe {{ width: 100%; height: 46rem; border: 0; border-radius: 12px; background: #fff; }}
  #outcome {{ font-weight: 600; }}
  a {{ color: #0b3d2e; }}
</style></head>
<body><header><p><strong>Example Bank</strong></p></header>
<main><h1>Verify your identity</h1>
{body}
<p id="outcome" role="status"></p>
</main></body></html>"""

MODULE = """<div id="face-check"></div>
<script type="module">
  import {{ mount }} from {module};
  const outcome = document.getElementById("outcome");
  window.example = {{ events: [] }};
  async function askBackend(kind, detail) {{
    window.example.events.push({{ kind, detail }});
    if (kind !== "complete") {{ outcome.textContent = kind === "cancel" ? "Cancelled." : "The check stopped."; return; }}
    const answer = await fetch("/api/outcome?session=" + encodeURIComponent(detail.sessionId)).then((r) => r.json());
    window.example.backend = answer;
    outcome.dataset.verified = String(answer.verified);
    outcome.textContent = answer.verified ? "Thank you, you are verified." : "We could not verify you this time.";
  }}
  // The handle's unmount() removes the check (a page that navigates away would call it).
  window.example.check = mount(document.getElementById("face-check"), {{
    sessionId: {session_id}, streamToken: {stream_token}, language: {lang_js},
    onComplete: (result) => askBackend("complete", result),
    onError: (error) => askBackend("error", error),
    onUserCancel: (detail) => askBackend("cancel", detail),
  }});
</script>"""

FRAME = """<iframe src="{src}" allow="camera" title="Face check"></iframe>
<script type="module">
  const outcome = document.getElementById("outcome");
  window.example = {{ events: [] }};
  window.addEventListener("message", async (event) => {{
    // Only Livegate's page, from Livegate's origin, speaks for the check.
    if (event.origin !== {livegate_origin} || event.data?.source !== "livegate") return;
    window.example.events.push({{ kind: event.data.type, detail: event.data }});
    if (event.data.type !== "complete") return;
    const answer = await fetch("/api/outcome?session=" + encodeURIComponent(event.data.sessionId)).then((r) => r.json());
    window.example.backend = answer;
    outcome.dataset.verified = String(answer.verified);
    outcome.textContent = answer.verified ? "Thank you, you are verified." : "We could not verify you this time.";
  }});
</script>"""

LINK = """<p><a id="go" href="{src}">Start the face check</a></p>"""

DONE = """<p id="returned" data-outcome="{outcome}" data-verified="{verified}">{text}</p>
<p><a href="/">Back to the start</a></p>"""

INDEX = """<ul>
<li><a href="/verify">Embedded module</a></li>
<li><a href="/verify?mode=frame">Hosted page in a frame</a></li>
<li><a href="/verify?mode=link">Hosted page by link, with a return URL</a></li>
</ul>"""


def make_handler(livegate: Livegate, web: str, public_url: str = None):
    web_origin = "{0.scheme}://{0.netloc}".format(urlparse(web))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            # Paths carry session ids; a real service would log them to its own audit trail.
            pass

        def do_GET(self):  # noqa: N802 - the base class's name
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/":
                return self.page(INDEX)
            if url.path == "/verify":
                return self.verify(query)
            if url.path == "/api/outcome":
                answer = livegate.outcome(query.get("session", ""))
                if answer is None:
                    return self.send(404, "application/json", b'{"error": "not our session"}')
                return self.send(200, "application/json", json.dumps(answer).encode())
            if url.path == "/done":
                return self.done(query)
            self.send(404, "text/plain", b"not found")

        def own_origin(self):
            # The origin browsers see this app at: behind a proxy or TLS, say it (--public-url);
            # it must be in Livegate's --web-origins for framing, postMessage and the return URL.
            return public_url or f"http://{self.headers['Host']}"

        def verify(self, query):
            session_id, token = livegate.create_session()
            lang = query.get("lang", "")
            mode = query.get("mode", "module")
            if mode == "module":
                body = MODULE.format(
                    module=json.dumps(f"{web}/web/v1/livegate-web.js"),
                    session_id=json.dumps(session_id), stream_token=json.dumps(token),
                    lang_js=json.dumps(lang or None))
                return self.page(body, lang)
            fragment = {"session": session_id, "token": token}
            if lang:
                fragment["lang"] = lang
            if mode == "frame":
                fragment["origin"] = self.own_origin()
                src = f"{web}/web/#{urlencode(fragment)}"
                body = FRAME.format(src=html.escape(src), livegate_origin=json.dumps(web_origin))
            else:
                fragment["return"] = f"{self.own_origin()}/done"
                body = LINK.format(src=html.escape(f"{web}/web/#{urlencode(fragment)}"))
            self.page(body, lang)

        def done(self, query):
            """The return URL: the page says how it ended; the backend says whether it counts."""
            outcome = query.get("livegate_outcome", "")
            answer = livegate.outcome(query.get("livegate_session", ""))
            verified = bool(answer and answer["verified"])
            if outcome == "complete":
                text = "Thank you, you are verified." if verified else "We could not verify you this time."
            elif outcome == "cancel":
                text = "You cancelled the check."
            else:
                text = f"The check stopped (error {html.escape(query.get('livegate_error', '?'))})."
            self.page(DONE.format(outcome=html.escape(outcome), verified=str(verified).lower(),
                                  text=text))

        def page(self, body, lang=""):
            self.send(200, "text/html; charset=utf-8",
                      PAGE.format(body=body, lang=html.escape(lang or "en")).encode())

        def send(self, status, content_type, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--livegate-grpc", default="127.0.0.1:50051",
                        help="Livegate's gRPC address, as this backend reaches it")
    parser.add_argument("--livegate-web", default="http://127.0.0.1:8080",
                        help="Livegate's REST/web origin, as browsers reach it")
    parser.add_argument("--api-key", required=True, help="this tenant's Livegate API key")
    parser.add_argument("--public-url", default=None,
                        help="this app's origin as browsers reach it (default: http://<Host header>)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--proto", type=Path, default=here.parent.parent / "proto",
                        help="Livegate's proto/ directory")
    parser.add_argument("--stubs", type=Path, default=here / "generated",
                        help="where the generated gRPC stubs go")
    args = parser.parse_args()

    pb, rpc = generate_stubs(args.proto, args.stubs)
    livegate = Livegate(pb, rpc, args.livegate_grpc, args.api_key)
    web = args.livegate_web.rstrip("/")
    public_url = args.public_url.rstrip("/") if args.public_url else None
    handler = make_handler(livegate, web, public_url)
    server = ThreadingHTTPServer((args.host, args.port), handler)
    # The test (and you) read the address from here; port 0 picks a free one.
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
