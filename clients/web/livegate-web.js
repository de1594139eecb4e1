// livegate-web: the face check as an ES module that mounts into an integrator's page.
//
//   import { mount } from "https://livegate.example.com/web/livegate-web.js";
//   const check = mount(document.getElementById("face-check"), {
//     sessionId, streamToken,                 // from your backend (POST /api/liveness/session)
//     language: "fr",                         // optional; else the browser's languages
//     onComplete: (result) => …,              // the attempt ended; ask your backend how it went
//     onError: (error) => …,                  // { code, title, message, retryable }
//     onUserCancel: () => …,
//   });
//   check.unmount();
//
// The module needs no build step and no library; it talks to the server it was loaded from
// (or `serverUrl`) over the WebSocket stream, camera → JPEG frames → hints, challenges, the light
// step. It never tells the person or the page more than the server discloses: under the default
// policy `onComplete` learns that the attempt ended, and the backend reads the verdict with its
// key. Everything the person reads comes from `i18n.js`, keyed by codes. `clients/web/README.md`
// documents the options; the hosted page (`index.html`, `page.js`) is this module plus a return URL
// and `postMessage`.

import { MESSAGES, hasText, pickLanguage, translator } from "./i18n.js";

export { pickLanguage, translator };
import { ChallengeKind, FrameEncoding, Hint, SessionStatus, decodeResponse, encodeRequest } from "./proto.js";

/** This module's version; the hosted page and `postMessage` report it. */
export const VERSION = "1.0.0";
export const LANGUAGES = Object.keys(MESSAGES);

// Frames a second sent. The server analyses up to its own max_fps and drops the rest; the light
// step needs a few frames within every 400 ms flash.
const SEND_FPS = 15;
const MAX_WIDTH = 640;
const JPEG_QUALITY = 0.85;
// Frames waiting in the socket's buffer before the flow skips one (a slow uplink).
const MAX_BUFFERED_BYTES = 256 * 1024;
// Stream errors after which a new attempt from this page cannot help: the deployment wants the
// light step (2017) or an attested app (2020), neither of which the page can give.
const FINAL_CODES = new Set([2017, 2020]);

const nameOf = (table, value) => Object.keys(table).find((k) => table[k] === value);

/**
 * Mounts the face check into `element` and returns `{ unmount, language, version }`.
 *
 * Options:
 * - `sessionId`, `streamToken`: a session your backend created; used once.
 * - `createSession`: instead, an async function returning `{ sessionId, streamToken }` for each
 *   attempt (the demo page); with it the flow offers "Try again" after a failure. It throws
 *   `{ code }` (our error code) for a refusal, anything else for an unreachable service.
 * - `serverUrl`: the Livegate server; default the origin this module was loaded from.
 * - `language`: a BCP 47 tag; default the browser's preferences. English, French, German, Spanish.
 * - `lightStep`: `true` (default) shows the photosensitivity notice and lets the person choose;
 *   `false` never offers the colour step (the client declares it cannot show colours).
 * - `headingLevel`: 1–6, the level of the flow's heading in your page (default 2).
 * - `onComplete(result)`, `onError(error)`, `onUserCancel({ sessionId })`: see the README.
 */
export function mount(element, options = {}) {
  if (!(element instanceof Element)) throw new TypeError("livegate-web: mount needs an element");
  const flow = new Flow(element, options);
  return {
    version: VERSION,
    language: flow.language,
    unmount: () => flow.unmount(),
  };
}

class Flow {
  constructor(element, options) {
    this.options = options;
    this.server = new URL(options.serverUrl ?? new URL(".", import.meta.url).origin);
    this.language = pickLanguage(options.language);
    this.t = translator(this.language);
    this.offerLight = options.lightStep !== false;
    if (options.createSession) {
      this.nextSession = options.createSession;
      // Whether a new attempt can follow this one: with a session source, always.
      this.canRetry = () => true;
    } else {
      const { sessionId, streamToken } = options;
      if (!sessionId || !streamToken) {
        throw new TypeError("livegate-web: mount needs sessionId and streamToken, or createSession");
      }
      let used = false;
      this.nextSession = async () => {
        if (used) throw { code: 2001 };
        used = true;
        return { sessionId, streamToken };
      };
      // One session: a new attempt only while it has not been streamed (a camera refused by
      // mistake, then allowed).
      this.canRetry = () => !used;
    }
    this.attempt = null;
    loadStyles(new URL("livegate.css", import.meta.url));
    this.ui = render(element, this.t, {
      language: this.language,
      headingLevel: options.headingLevel ?? 2,
      offerLight: this.offerLight,
    });
    this.ui.on("begin", () => this.start(this.offerLight));
    this.ui.on("beginNoLight", () => this.start(false));
    this.ui.on("retry", () => this.start(this.lastLightChoice));
    this.ui.on("cancel", () => this.cancel());
    this.onKey = (e) => {
      if (e.key === "Escape" && this.ui.cancelVisible()) this.cancel();
    };
    this.ui.root.addEventListener("keydown", this.onKey);
  }

  start(canShowColour) {
    this.lastLightChoice = canShowColour;
    this.ui.reset(this.t("stage.startingCamera"));
    this.attempt = new Attempt(this, canShowColour);
    this.attempt.run();
  }

  cancel() {
    const sessionId = this.attempt?.sessionId ?? this.options.sessionId ?? null;
    this.attempt?.stop();
    this.ui.cancelled();
    this.options.onUserCancel?.({ sessionId });
  }

  /** The attempt's verdict: what the server disclosed, and nothing more. */
  completed(attempt, verdict) {
    const disclosed = verdict.status !== SessionStatus.COMPLETED;
    const result = {
      sessionId: attempt.sessionId,
      status: nameOf(SessionStatus, verdict.status) ?? String(verdict.status),
      resultPending: Boolean(verdict.resultPending),
    };
    if (disclosed) {
      Object.assign(result, { isLive: verdict.isLive, confidence: verdict.confidence, reasons: [...verdict.reasons] });
    }
    this.ui.verdict(verdict, disclosed, attempt.stepsDone(), this.canRetry() && !verdict.isLive);
    this.options.onComplete?.(result);
  }

  failed(attempt, [code, detail]) {
    const retryable = !FINAL_CODES.has(Number(code)) && code !== "INSECURE_CONTEXT";
    const canRetry = this.canRetry();
    const error = {
      sessionId: attempt?.sessionId ?? this.options.sessionId ?? null,
      code: /^\d+$/.test(code) ? Number(code) : code,
      ...this.ui.problem(code, detail, retryable, canRetry),
      retryable: retryable && canRetry,
    };
    this.options.onError?.(error);
  }

  unmount() {
    this.attempt?.stop();
    this.ui.root.removeEventListener("keydown", this.onKey);
    this.ui.root.remove();
    this.ui.light.remove();
  }
}

/** A problem: our error code (a number as text) or a client-side code, and optional detail. */
function problem(code, detail) {
  return [String(code), detail];
}

/** One run of the check, from camera to verdict; a retry makes a new one. */
class Attempt {
  constructor(flow, canShowColour) {
    this.flow = flow;
    this.ui = flow.ui;
    this.canShowColour = canShowColour;
    this.camera = null;
    this.socket = null;
    this.ticker = null;
    this.t0 = performance.now();
    this.lastTimestamp = -1;
    this.encoding = false;
    this.plan = [];
    this.done = new Set();
    this.challenge = null;
    this.feedback = null;
    this.errorBody = null;
    this.finished = false;
    this.light = null;
    this.sessionId = null;
    // What the stream carried, for the console and the browser test.
    this.stats = { framesSent: 0, bytesSent: 0, framesAnalysed: 0, analysisMs: 0, dropped: 0 };
    // For debugging in the console (`$0.attempt` on the flow's element) and for the browser
    // test: on the flow's own element, not in the integrator's global scope.
    this.ui.root.attempt = this;
  }

  now() {
    return Math.round(performance.now() - this.t0);
  }

  async run() {
    this.ui.state("camera");
    try {
      this.camera = await openCamera();
    } catch (e) {
      return this.fail(cameraProblem(e));
    }
    if (this.finished) return this.stopCamera();
    const video = this.ui.video;
    video.srcObject = this.camera;
    await video.play().catch(() => {});
    await videoReady(video);

    let session;
    try {
      session = await this.flow.nextSession();
    } catch (e) {
      // `createSession` throws `{ code, message }` for an answer it understood (our error code,
      // or NO_SESSION); anything else means the service could not be reached.
      return this.fail(e?.code ? problem(e.code, e.message) : problem("UNREACHABLE", e?.message));
    }
    if (this.finished) return;
    this.sessionId = session.sessionId;
    this.connect(session, video);
  }

  connect(session, video) {
    this.ui.state("connecting");
    this.ui.challenge(this.flow.t("stage.connecting"));
    const url = new URL(`/api/liveness/session/${encodeURIComponent(session.sessionId)}/stream`, this.flow.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      this.send({
        start: {
          sessionId: session.sessionId,
          streamToken: session.streamToken,
          client: {
            device: `livegate-web ${VERSION}`,
            cameraWidth: video.videoWidth,
            cameraHeight: video.videoHeight,
            fps: SEND_FPS,
            mirrored: false,
            // Whether this flow may fill the window with the light step's colours: the person
            // may decline them after the photosensitivity notice.
            canShowColour: this.canShowColour,
          },
        },
      });
      this.ticker = setInterval(() => this.sendFrame(video), 1000 / SEND_FPS);
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        // The server's error body, sent just before it closes the socket.
        try { this.errorBody = JSON.parse(event.data); } catch { this.errorBody = {}; }
        return;
      }
      let message;
      try {
        message = decodeResponse(event.data);
      } catch (e) {
        return this.fail(problem("PROTOCOL", e.message));
      }
      this.handle(message);
    };
    socket.onclose = () => {
      this.stopSending();
      if (this.finished) return;
      if (this.errorBody) return this.fail(streamProblem(this.errorBody));
      this.fail(problem(navigator.onLine === false ? "OFFLINE" : "CONNECTION_LOST"));
    };
    this.onOffline = () => this.fail(problem("OFFLINE"));
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
      this.ui.state("streaming");
      this.ui.steps(this.plan, 0, this.done);
    } else if (message.challenge) {
      const c = message.challenge;
      this.challenge = c;
      // A light step shown again (its colours were too faint to judge) is not in the plan the
      // session started with: it joins the list, and the steps after it move down one.
      if (c.again && this.plan[c.index] !== c.kind) this.plan.splice(c.index, 0, c.kind);
      this.ui.steps(this.plan, c.index, this.done);
      const name = nameOf(ChallengeKind, c.kind);
      this.ui.challenge(this.flow.t(`challenge.${name}${c.again ? "_AGAIN" : ""}`), name);
      this.ui.timeLeft(this.flow.t("stage.seconds", { n: Math.ceil(c.timeLimitMs / 1000) }));
      this.ui.progress(0);
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
    const hint = nameOf(Hint, f.hint);
    this.ui.hint(hint ? this.flow.t(`hint.${hint}`) : "", f.faces === 1, f.hint === Hint.OK);
    this.ui.overlay(f);
    if (f.challenge && this.challenge && f.challenge.index === this.challenge.index) {
      // proto3 leaves a zero off the wire: a step not yet begun has no progress field.
      this.ui.progress(f.challenge.progress ?? 0);
      if (f.challenge.completed && !this.done.has(f.challenge.index)) {
        this.done.add(f.challenge.index);
        this.ui.steps(this.plan, this.challenge.index, this.done);
      }
      this.ui.timeLeft(f.challenge.completed
        ? this.flow.t("stage.stepComplete")
        : this.flow.t("stage.secondsLeft", { n: Math.ceil(f.challenge.timeLeftMs / 1000) }));
    }
  }

  /** How many of the plan's steps the server reported done, and how many there were. */
  stepsDone() {
    return { done: this.done.size, total: this.plan.length };
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
    const layer = this.ui.light;
    layer.hidden = false;
    this.ui.state("light");
    // The camera's own automatic exposure and white balance would start undoing the colours'
    // effect on the face within a flash or two: held while they play, where the browser allows.
    const release = await holdCamera(this.camera?.getVideoTracks()[0]);
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
    await release();
    this.light = shown;
    if (this.finished) return;
    this.ui.state("streaming");
    // The light step counts as done once shown; the server judges the reflection at the end.
    this.done.add(challenge.index);
    this.send({ lightShown: { challengeIndex: challenge.index, flashes: shown } });
  }

  finish(verdict) {
    if (this.finished) return;
    this.stop();
    this.flow.completed(this, verdict);
  }

  fail(found) {
    if (this.finished) return;
    this.stop();
    this.flow.failed(this, found);
  }

  /** Ends the attempt: no more frames, the socket closed, the camera released. */
  stop() {
    this.finished = true;
    this.stopSending();
    this.stopCamera();
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close();
    this.ui.light.hidden = true;
  }

  stopSending() {
    clearInterval(this.ticker);
    this.ticker = null;
    if (this.onOffline) window.removeEventListener("offline", this.onOffline);
  }

  stopCamera() {
    this.camera?.getTracks().forEach((t) => t.stop());
    this.ui.video.srcObject = null;
  }
}

// --- problems -------------------------------------------------------------------------------

function cameraProblem(e) {
  switch (e?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return problem("CAMERA_DENIED");
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return problem("NO_CAMERA");
    case "NotReadableError":
      return problem("CAMERA_BUSY");
    case "InsecureContext":
      return problem("INSECURE_CONTEXT");
    default:
      return problem("CAMERA_FAILED", e?.message);
  }
}

function streamProblem(body) {
  const code = body?.errorCode;
  return code ? problem(code, body.message) : problem("other", body?.message);
}

// --- the view -------------------------------------------------------------------------------

/** `h("p", { class: "x" }, "text", child)`: an element with attributes and children. */
function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === undefined) continue;
    el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children);
  return el;
}

/**
 * Builds the flow's elements inside `element` and returns the few operations the flow needs.
 * Every element is found through this object, never by id: a page may mount the flow twice.
 */
function render(element, t, { language, headingLevel, offerLight }) {
  const level = Math.min(6, Math.max(1, Number(headingLevel) || 2));
  const heading = (n, attributes, text) => h(`h${Math.min(6, level + n)}`, attributes, text);
  const button = (cls, text, attributes = {}) => h("button", { type: "button", class: cls, ...attributes }, text);

  const title = heading(0, { class: "lg-title", tabindex: "-1" }, t("flow.title"));
  const intro = h("div", { class: "lg-panel lg-intro" },
    h("p", {}, t("intro.text")));
  const begin = button("lg-begin", t("button.start"));
  const beginNoLight = button("lg-begin-no-light lg-secondary", t("button.startWithoutLight"));
  if (offerLight) {
    intro.append(
      h("div", { class: "lg-notice", role: "note" },
        heading(1, { class: "lg-notice-title" }, t("intro.lightTitle")),
        h("p", {}, t("intro.lightNotice")),
        h("p", { class: "lg-fine" }, t("intro.lightDeclined"))),
      h("div", { class: "lg-actions" }, begin, beginNoLight));
  } else {
    intro.append(h("div", { class: "lg-actions" }, begin));
  }

  const video = h("video", { autoplay: true, playsinline: true, muted: true, "aria-label": t("stage.camera") });
  video.muted = true;
  const overlay = h("canvas", { "aria-hidden": "true" });
  const stepsList = h("ol", { class: "lg-steps", "aria-label": t("stage.steps") });
  // The challenge takes the focus when the check starts: a screen reader reads it, and Escape
  // (cancel) reaches the flow.
  const challenge = h("p", { class: "lg-challenge", "aria-live": "assertive", tabindex: "-1" });
  const bar = h("div", { class: "lg-progress-bar" });
  const progress = h("div", {
    class: "lg-progress", role: "progressbar", "aria-label": t("stage.progress"),
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, bar);
  const time = h("p", { class: "lg-time" });
  const hint = h("p", { class: "lg-hint", "aria-live": "polite" });
  const stage = h("div", { class: "lg-stage", hidden: true },
    h("div", { class: "lg-viewport" }, video, overlay),
    stepsList,
    h("div", { class: "lg-status" }, challenge, progress, time, hint));

  const verdictTitle = heading(1, { class: "lg-verdict-title", tabindex: "-1" });
  const verdictMark = h("div", { class: "lg-verdict-mark", "aria-hidden": "true" });
  const confidence = h("p", { class: "lg-verdict-confidence" });
  const reasons = h("ul", { class: "lg-verdict-reasons" });
  const verdictMessage = h("p", { class: "lg-verdict-message lg-fine" });
  const verdict = h("div", { class: "lg-panel lg-verdict", hidden: true },
    verdictMark, verdictTitle, confidence, reasons, verdictMessage);

  const problemTitle = heading(1, { class: "lg-problem-title", tabindex: "-1" });
  const problemMessage = h("p", { class: "lg-problem-message" });
  const problemPanel = h("div", { class: "lg-panel lg-problem", role: "alert", hidden: true },
    problemTitle, problemMessage);

  const retry = button("lg-retry", t("button.retry"), { hidden: true });
  const cancel = button("lg-cancel lg-secondary", t("button.cancel"));
  const light = h("div", { class: "lg-light", lang: language, hidden: true }, h("p", {}, t("light.hold")));

  const root = h("section", { class: "lg-flow", lang: language, "aria-label": t("flow.label"), "data-state": "idle", "data-face": "none" },
    // Plain elements with our classes: an integrator's styles for `header` and the like must
    // not reach the flow (its contrast depends on its own colours).
    h("div", { class: "lg-head" }, title, h("p", { class: "lg-lead" }, t("flow.lead"))),
    intro, stage, verdict, problemPanel,
    h("div", { class: "lg-actions" }, retry, cancel));
  element.append(root);
  // The light layer fills the window: it lives in <body>, where no ancestor of the integrator's
  // (a transform, an overflow) can confine it.
  document.body.append(light);

  const panels = { intro, stage, verdict, problem: problemPanel };
  const handlers = {};
  begin.addEventListener("click", () => handlers.begin?.());
  beginNoLight.addEventListener("click", () => handlers.beginNoLight?.());
  retry.addEventListener("click", () => handlers.retry?.());
  cancel.addEventListener("click", () => handlers.cancel?.());

  let lastHint = null;
  const ui = {
    root, video, light,
    on: (event, handler) => { handlers[event] = handler; },
    cancelVisible: () => !cancel.hidden,
    show(name) {
      for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== name;
    },
    state: (state) => { root.dataset.state = state; },
    reset(message) {
      retry.hidden = true;
      cancel.hidden = false;
      delete root.dataset.live;
      delete root.dataset.challenge;
      root.dataset.face = "none";
      challenge.textContent = message;
      hint.textContent = "";
      lastHint = null;
      time.textContent = "";
      ui.progress(0);
      ui.show("stage");
      challenge.focus();
    },
    challenge(text, kind) {
      challenge.textContent = text;
      if (kind) root.dataset.challenge = kind;
    },
    timeLeft: (text) => { time.textContent = text; },
    hint(text, faceFound, ok) {
      root.dataset.face = faceFound ? "found" : "none";
      // A live region re-announces on every change: only real changes reach it.
      if (text !== lastHint) {
        hint.textContent = text;
        lastHint = text;
      }
      hint.classList.toggle("lg-ok", ok);
    },
    progress(p) {
      const pct = Math.round(Math.max(0, Math.min(1, p)) * 100);
      bar.style.width = `${pct}%`;
      progress.setAttribute("aria-valuenow", String(pct));
    },
    steps(plan, current, done) {
      stepsList.replaceChildren(...plan.map((kind, i) => {
        const name = t(`challenge.${nameOf(ChallengeKind, kind)}`);
        const state = done.has(i) || i < current ? "done" : i === current ? "current" : "";
        const key = state === "done" ? "stage.stepDone" : state === "current" ? "stage.stepCurrent" : "stage.step";
        // Drawn as a bar; read out as text.
        return h("li", { class: state && `lg-${state}` },
          h("span", { class: "lg-sr-only" }, t(key, { n: i + 1, total: plan.length, name })));
      }));
    },
    overlay: (f) => drawOverlay(overlay, video, f),
    verdict(v, disclosed, steps, canRetry) {
      cancel.hidden = true;
      if (!disclosed) {
        // The deployment does not tell the device how the attempt went; its backend knows.
        root.dataset.live = "undisclosed";
        verdictMark.textContent = "✓";
        verdictTitle.textContent = t("verdict.doneTitle");
        confidence.textContent = "";
        reasons.replaceChildren();
        verdictMessage.textContent = t("verdict.doneMessage");
      } else {
        root.dataset.live = String(v.isLive);
        verdictMark.textContent = v.isLive ? "✓" : "✗";
        verdictTitle.textContent = t(v.isLive ? "verdict.liveTitle" : "verdict.notLiveTitle");
        const number = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
        confidence.textContent = t("verdict.confidence", { value: number.format(v.confidence) });
        reasons.replaceChildren(...v.reasons.map((code) => h("li", { "data-code": code },
          hasText(`reason.${code}`) ? t(`reason.${code}`) : t("reason.other", { code }))));
        verdictMessage.textContent = steps.total ? t("verdict.steps", steps) : "";
      }
      ui.show("verdict");
      ui.state("verdict");
      retry.hidden = !canRetry;
      verdictTitle.focus();
    },
    /** Shows a problem; returns its title and message as shown. */
    problem(code, detail, retryable, canRetry) {
      // Where a new attempt can help, the person may also give up (Cancel, or Escape).
      cancel.hidden = !(retryable && canRetry);
      const key = hasText(`error.${code}.title`) ? code : "other";
      const titleText = t(`error.${key}.title`);
      let message = t(`error.${key}.message`);
      if (/^\d+$/.test(code)) message += ` ${t("error.code", { code })}`;
      if (retryable && !canRetry) message += ` ${t("error.newLink")}`;
      problemTitle.textContent = titleText;
      problemMessage.textContent = message;
      if (detail) problemMessage.title = String(detail);
      ui.show("problem");
      ui.state("error");
      retry.hidden = !(retryable && canRetry);
      problemTitle.focus();
      return { title: titleText, message };
    },
    cancelled() {
      cancel.hidden = true;
      retry.hidden = true;
      ui.show(null);
      ui.state("cancelled");
      title.focus();
    },
  };
  return ui;
}

function drawOverlay(canvas, video, f) {
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

function cssColour(rgb) {
  return `#${rgb.toString(16).padStart(6, "0")}`;
}

/** Adds the flow's stylesheet to the document once (a `<link>`, so a strict CSP allows it). */
function loadStyles(href) {
  const already = [...document.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === href.href);
  if (already) return;
  document.head.append(h("link", { rel: "stylesheet", href: href.href }));
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

/**
 * Asks the camera to hold its exposure and white balance where the browser lets a page do so
 * (Media Capture Image's `exposureMode` and `whiteBalanceMode`, "manual" keeping the current
 * setting), and resolves with how to hand them back to the camera. Best effort: where neither is
 * exposed, or the camera refuses, nothing changes; the server's measure also takes out what the
 * camera does to the whole picture.
 */
async function holdCamera(track) {
  const capabilities = track?.getCapabilities?.() ?? {};
  const modes = ["exposureMode", "whiteBalanceMode"].filter((mode) =>
    ["manual", "continuous"].every((m) => capabilities[mode]?.includes(m)));
  const nothing = async () => {};
  if (!modes.length) return nothing;
  // applyConstraints replaces the track's constraints: keep the ones it was opened with.
  const opened = track.getConstraints();
  const set = (value, extra = {}) => track.applyConstraints({
    ...opened,
    advanced: [{ ...Object.fromEntries(modes.map((mode) => [mode, value])), ...extra }],
  });
  // Held at what the camera had settled on: some cameras switched to manual fall back to a
  // default exposure instead of keeping the current one.
  const now = track.getSettings?.() ?? {};
  const current = {};
  if (modes.includes("exposureMode") && now.exposureTime) current.exposureTime = now.exposureTime;
  if (modes.includes("whiteBalanceMode") && now.colorTemperature) current.colorTemperature = now.colorTemperature;
  try {
    await set("manual", current);
  } catch {
    return nothing;
  }
  return async () => {
    try {
      await set("continuous");
    } catch {
      // The track was stopped meanwhile (the attempt ended): nothing left to hand back.
    }
  };
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
