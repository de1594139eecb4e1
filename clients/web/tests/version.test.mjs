// The module's VERSION is the package's: integrators read one, `postMessage` reports the other.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import { LANGUAGES, VERSION } from "../livegate-web.js";

test("the module reports the package's version and its languages", () => {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  assert.equal(VERSION, pkg.version);
  assert.deepEqual(LANGUAGES, ["en", "fr", "de", "es"]);
});
