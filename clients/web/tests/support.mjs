// What the two browser runs share: their environment, and axe-core's verdict on a page.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";

/** An environment variable the run needs; without it, the usage note and exit status 2. */
export function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set (see the comment at the top of the test file)`);
    process.exit(2);
  }
  return value;
}

export const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Where screenshots go, created. */
export function artifactsDir() {
  const dir = need("LIVEGATE_ARTIFACTS");
  mkdirSync(dir, { recursive: true });
  return dir;
}

const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * axe-core (WCAG 2.0/2.1 A and AA rules, and best practices) on the flow in `frame` (a page or
 * a frame; its context must bypass CSP, which allows no injected script). Fails on any serious or
 * critical violation; returns every violation found, as `id(impact)`.
 */
export async function checkAccessibility(frame, label) {
  await frame.addScriptTag({ path: axePath });
  const violations = await frame.evaluate(async () => {
    const result = await window.axe.run(document.querySelector(".lg-flow") ?? document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
    }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious, [], `${label}: serious accessibility violations`);
  return violations.map((v) => `${v.id}(${v.impact})`);
}
