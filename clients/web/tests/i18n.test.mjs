// The catalogue: every language says everything English says, with the same placeholders, and
// the language is chosen as the README promises.

import assert from "node:assert/strict";
import test from "node:test";
import { MESSAGES, pickLanguage, translator } from "../i18n.js";

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every language has exactly English's keys and placeholders", () => {
  const english = MESSAGES.en;
  assert.ok(Object.keys(MESSAGES).length >= 3, "English and at least two other languages");
  for (const [language, messages] of Object.entries(MESSAGES)) {
    assert.deepEqual(Object.keys(messages).sort(), Object.keys(english).sort(), language);
    for (const [key, text] of Object.entries(messages)) {
      assert.ok(text.trim().length > 0, `${language} ${key} is empty`);
      assert.deepEqual(placeholders(text), placeholders(english[key]), `${language} ${key}`);
    }
  }
});

test("translations are translated, not copied", () => {
  for (const language of Object.keys(MESSAGES).filter((l) => l !== "en")) {
    const same = Object.keys(MESSAGES.en).filter((k) => MESSAGES[language][k] === MESSAGES.en[k]);
    // Units and codes may read the same ("{n} s", "(error {code})" in Spanish).
    assert.ok(same.length <= 3, `${language} copies English for ${same}`);
  }
});

test("the integrator's language wins, then the browser's, then English", () => {
  assert.equal(pickLanguage("fr", ["de-DE"]), "fr");
  assert.equal(pickLanguage("fr-CA", []), "fr");
  assert.equal(pickLanguage(undefined, ["pt-BR", "es-MX", "en"]), "es");
  assert.equal(pickLanguage("xx", ["DE"]), "de");
  assert.equal(pickLanguage(undefined, ["ja"]), "en");
});

test("placeholders are filled, and an unknown key is an error, never shown", () => {
  const t = translator("de");
  assert.equal(t("verdict.steps", { done: 2, total: 4 }), "2 von 4 Schritten erledigt.");
  assert.equal(translator("zz")("button.start"), "Start");
  assert.throws(() => t("no.such.key"));
});
