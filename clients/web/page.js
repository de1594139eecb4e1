// The hosted page at /web/: the face check module, plus what a page of its own can offer an
// integrator who links or frames it instead of embedding the module.
//
//   /web/#session=<id>&token=<streamToken>   a session your backend created with its API key (the
//                                            fragment never reaches a server log); add
//     &lang=fr                               the language (default: the browser's),
//     &origin=https://app.example.com        when framed: the parent to tell by postMessage,
//     &return=https://app.example.com/done   where "Continue" leads when the check is over.
//   /web/                                    a demo session from POST /web/demo-session, when the
//                                            operator turned demos on (?light=0: no light step).
//
// `origin` and `return` count only for origins the deployment lists (`--web-origins`, served as
// config.json); the same list is the only one allowed to frame the page (CSP frame-ancestors).

import { VERSION, mount, pickLanguage, translator } from "./livegate-web.js";

const fragment = new URLSearchParams(location.hash.slice(1));
const query = new URLSearchParams(location.search);
// The token is single-use, but it need not stay in the address bar or the history.
if (location.hash) history.replaceState(null, "", location.pathname + location.search);

const config = await fetch("config.json", { cache: "no-store" })
  .then((r) => (r.ok ? r.json() : {}))
  .catch(() => ({}));
const allowed = new Set([location.origin, ...(config.origins ?? [])]);
const language = pickLanguage(fragment.get("lang") ?? query.get("lang") ?? undefined);
const t = translator(language);
document.documentElement.lang = language;
document.title = t("flow.title");

const parentOrigin = window.parent !== window ? listed(fragment.get("origin")) : null;
const returnUrl = returnTo(fragment.get("return"));
const container = document.getElementById("livegate");

/** `origin` if the deployment lists it, else null (and a console note for the integrator). */
function listed(origin) {
  if (!origin) return null;
  if (allowed.has(origin)) return origin;
  console.warn(`livegate: ${origin} is not in the deployment's --web-origins; not telling it`);
  return null;
}

/** The return URL, if its origin is listed: never an open redirect to anywhere. */
function returnTo(raw) {
  if (!raw) return null;
  try {
    const url = new URL(raw);
    return listed(url.origin) && /^https?:$/.test(url.protocol) ? url : null;
  } catch {
    return null;
  }
}

/** Tells the framing page what happened: the outcome's name and ids, never the evidence. */
function tell(type, detail) {
  if (parentOrigin) {
    window.parent.postMessage({ source: "livegate", version: VERSION, type, ...detail }, parentOrigin);
  }
}

/** Offers the way back to the integrator's app, with the outcome in its query. */
function offerReturn(outcome, sessionId, code) {
  if (!returnUrl) return;
  const url = new URL(returnUrl);
  if (sessionId) url.searchParams.set("livegate_session", sessionId);
  url.searchParams.set("livegate_outcome", outcome);
  if (code) url.searchParams.set("livegate_error", String(code));
  const link = document.createElement("a");
  link.className = "lg-continue";
  link.href = url.href;
  link.textContent = t("button.continue");
  container.append(link);
  link.focus();
}

async function demoSession(lightStep) {
  let response;
  try {
    response = await fetch("demo-session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ lightStep }),
    });
  } catch (e) {
    throw new Error(`demo session: ${e.message}`);
  }
  if (response.status === 404) throw { code: "NO_SESSION" };
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw { code: body.errorCode ?? "other", message: body.message };
  return { sessionId: body.sessionId, streamToken: body.streamToken };
}

const sessionId = fragment.get("session");
const streamToken = fragment.get("token");
const session = sessionId && streamToken
  ? { sessionId, streamToken }
  : { createSession: () => demoSession(query.get("light") !== "0") };

mount(container, {
  ...session,
  language,
  headingLevel: 1,
  onComplete(result) {
    tell("complete", result);
    offerReturn("complete", result.sessionId);
  },
  onError(error) {
    tell("error", { sessionId: error.sessionId, code: error.code, retryable: error.retryable });
    if (!error.retryable) offerReturn("error", error.sessionId, error.code);
  },
  onUserCancel({ sessionId: id }) {
    tell("cancel", { sessionId: id });
    offerReturn("cancel", id);
  },
});
tell("ready", {});
