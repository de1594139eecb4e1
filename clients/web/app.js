// Livegate's reference web client: camera → JPEG frames over the WebSocket stream → oval,
// hints, challenges, the light step and the verdict.
//
// Where the session comes from:
//   /web/#session=<id>&token=<streamToken>   a session your backend created with its API key
//                                            (the fragment never reaches a server log);
//   /web/                                    a demo session from POST /web/demo-session, when
//                                            the operator turned demos on (add ?light=0 to
//                                            leave the light step out).
// Nothing is stored: frames go to the server only, and the camera stops at the verdict.

import { ChallengeKind, FrameEncoding, Hint, decodeResponse, encodeRequest } from "./proto.js";

// Frames a second sent. The server analyses up to its own max_fps and drops the rest; the light
// step needs a few frames within every 400 ms flash.
const SEND_FPS = 15;
const MAX_WIDTH = 640;
const JPEG_QUALITY = 0.85;
// SessionStatus.COMPLETED: a stream verdict that does not disclose the outcome to the device.
const SESSION_COMPLETED = 6;
// Frames waiting in the socket's buffer before the page skips one (a slow uplink).
const MAX_BUFFERED_BYTES = 256 * 1024;

const $ = (id) => document.getElementById(id);
const app = $("app");

const HINTS = {
  [Hint.OK]: "Face found — good",
  [Hint.NO_FACE]: "We can't see your face",
  [Hint.MULTIPLE_FACES]: "Only one person, please",
  [Hint.MOVE_CLOSER]: "Move a little closer",
  [Hint.MOVE_BACK]: "Move back a little",
  [Hint.CENTER_FACE]: "Put your face in the oval",
  [Hint.TOO_DARK]: "Too dark — find more light",
  [Hint.TOO_BRIGHT]: "Too bright — avoid strong light on or behind you",
  [Hint.BLURRY]: "Hold the camera steady",
  [Hint.HOLD_STILL]: "Hold still",
  [Hint.LOOK_AT_CAMERA]: "Look at the camera",
  [Hint.MORE]: "A bit more",
};

const REASONS = {
  CHALLENGE_TIMEOUT: "A step was not completed in time.",
  INCOMPLETE: "The check ended before every step was done.",
  NO_BLINK: "We did not see a blink.",
  NO_PARALLAX: "The head movement did not look three-dimensional.",
  FACE_CHANGED: "The face changed during the check.",
  MULTIPLE_FACES: "More than one face was in view.",
  FROZEN_FRAMES: "The camera picture froze.",
  INJECTION_SUSPECTED: "The camera's timing looked wrong.",
  SCREEN_SUSPECTED: "The face looked like it was on a screen.",
  DEVICE_OUTLINE: "The face looked like it was on a device or a photo held to the camera.",
  LOW_QUALITY: "The picture was too dark, blurred or far away.",
  LOW_CONFIDENCE: "The evidence was not strong enough.",
  NO_LIGHT_REFLECTION: "The screen's colours did not show on your face — turn the screen brightness up and face it.",
  WEAK_LIGHT_REFLECTION: "The screen's colours showed only faintly on your face — turn the screen brightness up.",
  LIGHT_NOT_SHOWN: "The colour sequence was not shown as asked.",
};

// Stream errors by our error code: what the person sees, and whether retrying can help.
const STREAM_ERRORS = {
  1007: ["This session has expired", "Sessions are only valid for a few minutes.", true],
  1008: ["This session does not exist", "The link may be mistyped or too old.", true],
  2001: ["This link was already used", "Each check can run once.", true],
  2002: ["This link is not valid", "The link's token does not match its session.", true],
  2004: ["The check did not start", "The camera took too long to start.", true],
  2007: ["Your device sent frames too fast", "Close other tabs using the camera and try again.", true],
  2009: ["Time is up", "The check has a time limit.", true],
  2018: ["The camera stopped", "No picture reached us for a while.", true],
  2014: ["Too many attempts", "Wait a minute before trying again.", true],
  5001: ["The service is unavailable", "Please try again later.", true],
};

/** One run of the check, from camera to verdict; a retry makes a new one. */
class Attempt {
  constructor(session) {
    this.session = session;
    this.camera = null;
    this.socket = null;
    this.ticker = null;
    this.t0 = performance.now();
    this.lastTimestamp = -1;
    this.encoding = false;
    this.plan = [];
    this.challenge = null;
    this.feedback = null;
    this.errorBody = null;
    this.finished = false;
    this.light = null;
    // What the stream carried, for the console and the browser test.
    this.stats = { framesSent: 0, bytesSent: 0, framesAnalysed: 0, analysisMs: 0, dropped: 0 };
  }

  now() {
    return Math.round(performance.now() - this.t0);
  }

  async run() {
    show("stage");
    setState("camera");
    try {
      this.camera = await openCamera();
    } catch (e) {
      return this.fail(cameraProblem(e));
    }
    const video = $("preview");
    video.srcObject = this.camera;
    await video.play().catch(() => {});
    await videoReady(video);

    let session;
    try {
      session = await this.session();
    } catch (problem) {
      return this.fail(problem);
    }
    this.connect(session, video);
  }

  connect(session, video) {
    setState("connecting");
    $("challenge").textContent = "Connecting…";
    const url = new URL(`/api/liveness/session/${encodeURIComponent(session.id)}/stream`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.send({
        start: {
          sessionId: session.id,
          streamToken: session.token,
          client: {
            device: "livegate-web 0.1",
            cameraWidth: video.videoWidth,
            cameraHeight: video.videoHeight,
            fps: SEND_FPS,
            mirrored: false,
            // The page fills the window with the light step's colours.
            canShowColour: true,
          },
        },
      });
      this.ticker = setInterval(() => this.sendFrame(video), 1000 / SEND_FPS);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        // The server's error body, sent just before it closes the socket.
        try { this.errorBody = JSON.parse(event.data); } catch { this.errorBody = { message: event.data }; }
        return;
      }
      let message;
      try {
        message = decodeResponse(event.data);
      } catch (e) {
        return this.fail(["Unexpected answer", `The server sent something this page cannot read (${e.message}).`, true]);
      }
      this.handle(message);
    };
    socket.onclose = (event) => {
      this.stopSending();
      if (this.finished) return;
      if (this.errorBody) return this.fail(streamProblem(this.errorBody));
      this.fail(networkProblem(event));
    };
    this.onOffline = () => {
      if (!this.finished) {
        this.fail(["You are offline", "The connection to the service was lost. Check your network, then try again.", true]);
      }
    };
    window.addEventListener("offline", this.onOffline);
  }

  send(request) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeRequest(request));
  }

  /** Sends the camera's current picture as a JPEG, unless the last one is still on its way. */
  sendFrame(video) {
    if (this.encoding || this.finished || !video.videoWidth) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    const scale = Math.min(1, MAX_WIDTH / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    const canvas = this.canvas ??= document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(video, 0, 0, width, height);
    const timestampMs = Math.max(this.now(), this.lastTimestamp + 1);
    this.lastTimestamp = timestampMs;
    this.encoding = true;
    canvas.toBlob(async (blob) => {
      try {
        if (!blob) return;
        const data = new Uint8Array(await blob.arrayBuffer());
        this.send({ frame: { timestampMs, encoding: FrameEncoding.JPEG, width, height, data } });
        this.stats.framesSent += 1;
        this.stats.bytesSent += data.length;
      } finally {
        this.encoding = false;
      }
    }, "image/jpeg", JPEG_QUALITY);
  }

  handle(message) {
    if (message.sessionStarted) {
      this.plan = message.sessionStarted.plan;
      setState("streaming");
      drawSteps(this.plan, 0);
    } else if (message.challenge) {
      const c = message.challenge;
      this.challenge = c;
      drawSteps(this.plan, c.index);
      $("challenge").textContent = c.instruction;
      $("time-left").textContent = `${Math.ceil(c.timeLimitMs / 1000)} s`;
      setProgress(0);
      app.dataset.challenge = kindName(c.kind);
      if (c.kind === ChallengeKind.LIGHT) this.runLight(c);
    } else if (message.feedback) {
      const f = message.feedback;
      this.feedback = f;
      this.stats.framesAnalysed += 1;
      this.stats.analysisMs += f.analysisMs ?? 0;
      this.stats.dropped = f.droppedFrames ?? 0;
      this.showFeedback(f);
    } else if (message.verdict) {
      this.finish(message.verdict);
    }
  }

  showFeedback(f) {
    app.dataset.face = f.faces === 1 ? "found" : "none";
    const hint = $("hint");
    hint.textContent = HINTS[f.hint] ?? "";
    hint.className = f.hint === Hint.OK ? "ok" : "";
    drawOverlay(f);
    if (f.challenge && this.challenge && f.challenge.index === this.challenge.index) {
      setProgress(f.challenge.progress);
      $("time-left").textContent = f.challenge.completed
        ? "Done"
        : `${Math.ceil(f.challenge.timeLeftMs / 1000)} s left`;
    }
  }

  /**
   * The light step: once a face is in view, fill the window with each colour for its duration,
   * note when each was painted (the frames' clock), then report what was shown.
   */
  async runLight(challenge) {
    const sequence = challenge.lightSequence;
    const total = sequence.reduce((sum, f) => sum + f.durationMs, 0);
    const waitUntil = performance.now() + Math.max(0, challenge.timeLimitMs - total - 1500);
    while (!this.finished && this.feedback?.faces !== 1 && performance.now() < waitUntil) {
      await sleep(100);
    }
    if (this.finished) return;
    const layer = $("light");
    layer.hidden = false;
    setState("light");
    const shown = [];
    for (const flash of sequence) {
      const painted = await nextPaint(() => { layer.style.background = cssColour(flash.rgb); });
      const start = Math.round(painted - this.t0);
      if (shown.length) shown[shown.length - 1].endMs = start;
      shown.push({ rgb: flash.rgb, startMs: start, endMs: start });
      const until = painted + flash.durationMs;
      while (!this.finished && performance.now() < until - 8) await nextPaint(() => {});
      if (this.finished) break;
    }
    const ended = await nextPaint(() => { layer.hidden = true; layer.style.background = ""; });
    if (shown.length) shown[shown.length - 1].endMs = Math.round(ended - this.t0);
    this.light = shown;
    if (this.finished) return;
    setState("streaming");
    this.send({ lightShown: { challengeIndex: challenge.index, flashes: shown } });
  }

  finish(verdict) {
    this.finished = true;
    this.stopSending();
    this.stopCamera();
    if (verdict.status === SESSION_COMPLETED) {
      // The deployment does not tell the device how the attempt went; its backend knows.
      app.dataset.live = "undisclosed";
      $("verdict-mark").textContent = "✓";
      $("verdict-title").textContent = "Done";
      $("verdict-confidence").textContent = "";
      $("verdict-reasons").replaceChildren();
      $("verdict-message").textContent = verdict.message || "Your provider will confirm the result.";
      show("verdict");
      setState("verdict");
      $("retry").hidden = true;
      return;
    }
    app.dataset.live = String(verdict.isLive);
    $("verdict-mark").textContent = verdict.isLive ? "✓" : "✗";
    $("verdict-title").textContent = verdict.isLive ? "Verified: you are live" : "We could not verify you";
    $("verdict-confidence").textContent = `Confidence ${verdict.confidence.toFixed(1)}%`;
    const reasons = $("verdict-reasons");
    reasons.replaceChildren(...verdict.reasons.map((code) => {
      const li = document.createElement("li");
      li.textContent = REASONS[code] ?? code;
      li.dataset.code = code;
      return li;
    }));
    $("verdict-message").textContent = verdict.message;
    show("verdict");
    setState("verdict");
    $("retry").hidden = verdict.isLive || !this.canRetry;
  }

  fail([title, message, retry]) {
    if (this.finished) return;
    this.finished = true;
    this.stopSending();
    this.stopCamera();
    this.socket?.close();
    $("light").hidden = true;
    $("problem-title").textContent = title;
    $("problem-message").textContent = retry && !this.canRetry
      ? `${message} Ask the service that sent you here for a new link.`
      : message;
    show("problem");
    setState("error");
    $("retry").hidden = !(retry && this.canRetry);
  }

  stopSending() {
    clearInterval(this.ticker);
    this.ticker = null;
    if (this.onOffline) window.removeEventListener("offline", this.onOffline);
  }

  stopCamera() {
    this.camera?.getTracks().forEach((t) => t.stop());
    $("preview").srcObject = null;
  }
}

// --- sessions -------------------------------------------------------------------------------

/** The session in the URL fragment (one use), or a function that asks for a demo session. */
function sessionSource() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const id = fragment.get("session"), token = fragment.get("token");
  if (id && token) {
    let used = false;
    const once = async () => {
      if (used) throw ["This link was already used", "Each check can run once.", true];
      used = true;
      return { id, token };
    };
    return { next: once, canRetry: false };
  }
  const light = new URLSearchParams(location.search).get("light") !== "0";
  return { next: () => demoSession(light), canRetry: true };
}

async function demoSession(lightStep) {
  let response;
  try {
    response = await fetch("/web/demo-session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ lightStep }),
    });
  } catch {
    throw ["Cannot reach the service", "Check your network connection, then try again.", true];
  }
  if (response.status === 404) {
    throw ["No session", "This server does not hand out demo sessions. Open this page with a session from your service: /web/#session=<id>&token=<streamToken>.", false];
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw streamProblem(body);
  return { id: body.sessionId, token: body.streamToken };
}

// --- problems -------------------------------------------------------------------------------

function cameraProblem(e) {
  switch (e?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return ["Camera access was denied", "Allow this site to use the camera (the camera icon in the address bar, or your browser's site settings), then try again.", true];
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return ["No camera found", "Connect a camera, or use a device that has one, then try again.", true];
    case "NotReadableError":
      return ["The camera is busy", "Another application is using the camera. Close it, then try again.", true];
    case "InsecureContext":
      return ["A secure connection is needed", "Browsers allow the camera only on https:// pages (or localhost).", false];
    default:
      return ["The camera did not start", e?.message ?? String(e), true];
  }
}

function streamProblem(body) {
  const code = body?.errorCode;
  const known = STREAM_ERRORS[code];
  if (known) return [known[0], `${known[1]} (error ${code})`, known[2]];
  return ["The check stopped", `${body?.message ?? "The service ended the check."}${code ? ` (error ${code})` : ""}`, true];
}

function networkProblem(event) {
  const offline = navigator.onLine === false;
  return [
    offline ? "You are offline" : "The connection was lost",
    `${offline ? "Your device has no network." : "The connection to the service closed unexpectedly"} (code ${event.code}). Check your network, then try again.`,
    true,
  ];
}

// --- drawing --------------------------------------------------------------------------------

function drawOverlay(f) {
  const canvas = $("overlay");
  const video = $("preview");
  if (!video.videoWidth) return;
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  // Dim everything outside the guide oval.
  ctx.fillStyle = "#0007";
  ctx.beginPath();
  ctx.rect(0, 0, w, h);
  ctx.ellipse(w / 2, h / 2, w * 0.26, h * 0.4, 0, 0, 2 * Math.PI, true);
  ctx.fill();
  const ok = f.faces === 1 && f.hint === Hint.OK;
  ctx.lineWidth = Math.max(3, w / 160);
  ctx.strokeStyle = ok ? "#19c37d" : "#ffb020";
  ctx.beginPath();
  ctx.ellipse(w / 2, h / 2, w * 0.26, h * 0.4, 0, 0, 2 * Math.PI);
  ctx.stroke();
  if (f.face && f.faces === 1) {
    // The face the server found, in the frame's pixels (the frames sent are the video's size
    // scaled to at most MAX_WIDTH).
    const s = w / Math.min(w, MAX_WIDTH);
    const b = f.face;
    ctx.setLineDash([8, 6]);
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.ellipse((b.x + b.width / 2) * s, (b.y + b.height / 2) * s, (b.width / 2) * s, (b.height / 2) * s, 0, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

function drawSteps(plan, current) {
  $("steps").replaceChildren(...plan.map((kind, i) => {
    const li = document.createElement("li");
    li.className = i < current ? "done" : i === current ? "current" : "";
    li.title = kindName(kind);
    return li;
  }));
}

function setProgress(p) {
  const pct = Math.round(Math.max(0, Math.min(1, p)) * 100);
  $("progress-bar").style.width = `${pct}%`;
  document.querySelector(".progress").setAttribute("aria-valuenow", String(pct));
}

function show(section) {
  for (const id of ["intro", "stage", "verdict", "problem"]) $(id).hidden = id !== section;
}

function setState(state) {
  app.dataset.state = state;
}

function kindName(kind) {
  return Object.keys(ChallengeKind).find((k) => ChallengeKind[k] === kind) ?? String(kind);
}

function cssColour(rgb) {
  return `#${rgb.toString(16).padStart(6, "0")}`;
}

// --- browser helpers ------------------------------------------------------------------------

function openCamera() {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    return Promise.reject({ name: "InsecureContext" });
  }
  return navigator.mediaDevices.getUserMedia({
    video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
    audio: false,
  });
}

function videoReady(video) {
  if (video.videoWidth) return Promise.resolve();
  return new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
}

/** Runs `change` just before the next paint; resolves with that paint's time. */
function nextPaint(change) {
  return new Promise((resolve) => requestAnimationFrame((t) => { change(); requestAnimationFrame(() => resolve(t)); }));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- start ----------------------------------------------------------------------------------

const source = sessionSource();

function start() {
  $("retry").hidden = true;
  delete app.dataset.live;
  delete app.dataset.challenge;
  app.dataset.face = "none";
  $("challenge").textContent = "Starting the camera…";
  $("hint").textContent = "";
  $("time-left").textContent = "";
  setProgress(0);
  const attempt = new Attempt(source.next);
  attempt.canRetry = source.canRetry;
  window.livegate = attempt; // for debugging in the console, and for the browser test
  attempt.run();
}

$("begin").addEventListener("click", start);
$("retry").addEventListener("click", start);
