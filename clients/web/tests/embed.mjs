// The web flow inside a customer's app, in a real browser: the backend example
// (clients/backend-example/app.py) creates sessions with its API key and serves pages that embed
// the module, frame the hosted page, or link to it with a return URL. Debian's Chromium, headless,
// driven by playwright-core, with a fake camera playing a .y4m of real video; axe-core checks
// accessibility. Run by server/tests/api/web_client.rs, which starts Livegate (its --web-origins
// listing the example's origin) and the example; by hand:
//
//   LIVEGATE_EXAMPLE_URL=http://127.0.0.1:8000 LIVEGATE_Y4M=franck.y4m \
//   LIVEGATE_ARTIFACTS=/tmp/shots node clients/web/tests/embed.mjs
//
// Each case prints one line; the first failed assertion ends the run with a non-zero status.

import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { artifactsDir, checkAccessibility as accessibility, executablePath, need } from "./support.mjs";

const example = need("LIVEGATE_EXAMPLE_URL");
const y4m = need("LIVEGATE_Y4M");
const artifacts = artifactsDir();

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox", "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${y4m}`,
  ],
});

/** A fresh page whose browser prefers `locale`. CSP is bypassed only to inject axe-core. */
async function page(locale = "en-US") {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, locale, bypassCSP: true });
  const p = await context.newPage();
  p.on("pageerror", (e) => { throw new Error(`page error: ${e.message}`); });
  return p;
}

/** Presses Tab until the focus is on `selector`; returns how many presses it took. */
async function tabTo(p, frame, selector, most = 12) {
  for (let presses = 1; presses <= most; presses++) {
    await p.keyboard.press("Tab");
    if (await frame.evaluate((s) => document.activeElement?.matches(s), selector)) return presses;
  }
  throw new Error(`${selector} is not reachable with Tab`);
}

/** What the customer's page saw: the flow's events and its backend's answer. */
async function waitForBackend(p) {
  await p.waitForFunction(() => window.example?.backend, null, { timeout: 90_000 });
  return p.evaluate(() => window.example);
}

function checkBackendAnswer(answer, sessionId) {
  assert.equal(answer.sessionId, sessionId);
  assert.ok(["SUCCEEDED", "FAILED"].includes(answer.status), `backend read a final outcome: ${answer.status}`);
  assert.equal(answer.verified, answer.status === "SUCCEEDED" && answer.isLive, JSON.stringify(answer));
}

// The module in the customer's page, English from the browser, operated by keyboard alone.
async function moduleByKeyboard() {
  const p = await page("en-GB");
  await p.goto(`${example}/verify`);
  const flow = p.mainFrame();
  await p.waitForSelector(".lg-flow");
  assert.equal(await p.getAttribute(".lg-flow", "lang"), "en");
  const introViolations = await accessibility(flow, "module intro");
  const presses = await tabTo(p, flow, ".lg-begin");
  await p.keyboard.press("Enter");
  await p.waitForSelector('.lg-flow[data-state="light"]', { timeout: 30_000 });
  // The colours fill the integrator's whole window, not the box the flow is mounted in.
  const lit = await p.evaluate(() => {
    const r = document.querySelector(".lg-light").getBoundingClientRect();
    return { width: r.width, height: r.height, window: [innerWidth, innerHeight] };
  });
  assert.deepEqual([lit.width, lit.height], lit.window, "the light layer covers the window");
  await p.waitForSelector('.lg-flow[data-state="verdict"]', { timeout: 90_000 });
  // The verdict's heading takes the focus, so a screen reader reads it out.
  assert.ok(await p.evaluate(() => document.activeElement?.classList.contains("lg-verdict-title")));
  assert.equal(await p.textContent(".lg-verdict-title"), "Done");
  const verdictViolations = await accessibility(flow, "module verdict");
  await p.screenshot({ path: join(artifacts, "embedded-module.png") });
  const seen = await waitForBackend(p);
  const [complete] = seen.events;
  assert.equal(complete.kind, "complete");
  // The device learns that the attempt ended, never its score.
  assert.equal(complete.detail.status, "COMPLETED");
  assert.deepEqual(Object.keys(complete.detail).sort(), ["resultPending", "sessionId", "status"]);
  checkBackendAnswer(seen.backend, complete.detail.sessionId);
  console.log(JSON.stringify({
    case: "module, keyboard only", tabPresses: presses, backend: seen.backend,
    axe: { intro: introViolations, verdict: verdictViolations },
  }));
  await p.context().close();
}

// An app that leaves the page mid-check unmounts the flow: the camera is released, the socket
// closed, and nothing of the flow is left in the page.
async function unmountMidCheck() {
  const p = await page();
  await p.goto(`${example}/verify`);
  await p.click(".lg-begin");
  await p.waitForSelector('.lg-flow[data-state="streaming"]', { timeout: 30_000 });
  const left = await p.evaluate(async () => {
    const attempt = document.querySelector(".lg-flow").attempt;
    const tracks = attempt.camera.getTracks();
    window.example.check.unmount();
    await new Promise((r) => setTimeout(r, 300));
    return {
      tracks: tracks.map((t) => t.readyState),
      socket: attempt.socket.readyState,
      elements: document.querySelectorAll(".lg-flow, .lg-light").length,
    };
  });
  assert.ok(left.tracks.length > 0 && left.tracks.every((s) => s === "ended"), JSON.stringify(left));
  assert.ok(left.socket >= 2, `the socket is closing or closed: ${left.socket}`);
  assert.equal(left.elements, 0);
  console.log(JSON.stringify({ case: "unmount mid-check", ...left }));
  await p.context().close();
}

// The hosted page in a frame, French from the integrator, the flashing colours declined.
async function frameInFrench() {
  const p = await page("de-DE");
  await p.goto(`${example}/verify?mode=frame&lang=fr`);
  const handle = await p.waitForSelector("iframe");
  const frame = await handle.contentFrame();
  await frame.waitForSelector(".lg-flow");
  assert.equal(await frame.getAttribute(".lg-flow", "lang"), "fr");
  assert.equal(await frame.textContent(".lg-begin"), "Commencer");
  const notice = await frame.textContent(".lg-notice");
  assert.match(notice, /épilepsie photosensible/);
  const violations = await accessibility(frame, "framed page, French");
  await frame.click(".lg-begin-no-light");
  await frame.waitForFunction(() => document.querySelector(".lg-flow").dataset.challenge, null, { timeout: 30_000 });
  const plan = await frame.evaluate(() => document.querySelector(".lg-flow").attempt.plan);
  assert.ok(plan.length >= 2 && !plan.includes(6), `declined colours: no light step in ${plan}`);
  const instruction = await frame.textContent(".lg-challenge");
  const streamingViolations = await accessibility(frame, "framed page, French, a challenge");
  const french = ["Tournez la tête vers votre gauche", "Tournez la tête vers votre droite", "Clignez des yeux", "Levez les yeux", "Rapprochez-vous de la caméra"];
  assert.ok(french.includes(instruction), `a French instruction, not ${instruction}`);
  await frame.waitForSelector('.lg-flow[data-state="verdict"]', { timeout: 90_000 });
  assert.equal(await frame.textContent(".lg-verdict-title"), "Terminé");
  await p.screenshot({ path: join(artifacts, "framed-french.png") });
  const seen = await waitForBackend(p);
  const kinds = seen.events.map((e) => e.kind);
  assert.deepEqual(kinds, ["ready", "complete"], "the parent heard the page by postMessage");
  const complete = seen.events[1].detail;
  assert.equal(complete.status, "COMPLETED");
  assert.equal(complete.isLive, undefined, "no verdict crosses to the parent");
  checkBackendAnswer(seen.backend, complete.sessionId);
  console.log(JSON.stringify({ case: "framed, French, colours declined", plan, instruction, backend: seen.backend, axe: { intro: violations, challenge: streamingViolations } }));
  await p.context().close();
}

// The hosted page by link: Escape cancels, "Continue" leads back to the app's return URL.
async function linkCancelAndReturn() {
  const p = await page("es-ES");
  await p.goto(`${example}/verify?mode=link`);
  await p.click("#go");
  await p.waitForSelector(".lg-flow");
  assert.equal(await p.getAttribute(".lg-flow", "lang"), "es", "the browser's language");
  assert.ok(!p.url().includes("token="), `the token left the address bar: ${p.url()}`);
  await tabTo(p, p.mainFrame(), ".lg-begin");
  await p.keyboard.press("Enter");
  await p.waitForSelector('.lg-flow[data-state="streaming"]', { timeout: 30_000 });
  await p.keyboard.press("Escape");
  await p.waitForSelector('.lg-flow[data-state="cancelled"]');
  const cameraStopped = await p.evaluate(() => document.querySelector(".lg-viewport video").srcObject === null);
  assert.ok(cameraStopped, "cancel releases the camera");
  const focused = await p.evaluate(() => document.activeElement?.textContent);
  assert.equal(focused, "Continuar", "the way back takes the focus");
  await p.keyboard.press("Enter");
  await p.waitForSelector("#returned");
  const returned = await p.getAttribute("#returned", "data-outcome");
  assert.equal(returned, "cancel");
  const url = new URL(p.url());
  assert.equal(url.origin, new URL(example).origin);
  assert.ok(url.searchParams.get("livegate_session"), "the return URL names the session");
  console.log(JSON.stringify({ case: "link, Escape cancels, return URL", returned: url.pathname + url.search.replace(/livegate_session=[^&]+/, "livegate_session=…") }));
  await p.context().close();
}

// A site the deployment does not list cannot frame the hosted page (CSP frame-ancestors):
// the same example, reached as `localhost` instead of 127.0.0.1, is another origin.
async function unlistedOriginCannotFrame() {
  const other = new URL(example);
  other.hostname = "localhost";
  const p = await page();
  await p.goto(`${other.origin}/verify?mode=frame`);
  const handle = await p.waitForSelector("iframe");
  await p.waitForTimeout(2000);
  const frame = await handle.contentFrame();
  const flows = frame ? await frame.locator(".lg-flow").count() : 0;
  assert.equal(flows, 0, "the page must not render inside an unlisted origin's frame");
  console.log(JSON.stringify({ case: "unlisted origin cannot frame", frameUrl: frame?.url() }));
  await p.context().close();
}

await moduleByKeyboard();
await unmountMidCheck();
await frameInFrench();
await linkCancelAndReturn();
await unlistedOriginCannotFrame();
await browser.close();
console.log("all embedding cases passed");
