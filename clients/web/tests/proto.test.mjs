// The hand-written codec against bytes worked out from the protobuf encoding rules (the browser
// test then runs it against the real server).

import assert from "node:assert/strict";
import test from "node:test";
import { decodeResponse, encodeRequest } from "../proto.js";

const hex = (bytes) => Buffer.from(bytes).toString("hex");

test("a frame encodes field by field, defaults left out", () => {
  const bytes = encodeRequest({ frame: { timestampMs: 300, encoding: 1, width: 0, data: new Uint8Array([7, 8]) } });
  // field 2 (frame), 9 bytes: timestamp 300 = ac 02, encoding 1, data 2 bytes.
  assert.equal(hex(bytes), "1209" + "08ac02" + "1001" + "32020708");
});

test("timestamps beyond 32 bits survive as varints", () => {
  const bytes = encodeRequest({ frame: { timestampMs: 2 ** 40 + 5 } });
  assert.equal(hex(bytes), "1207" + "08" + "858080808020");
});

test("a light report nests repeated messages", () => {
  const bytes = encodeRequest({ lightShown: { challengeIndex: 0, flashes: [{ rgb: 0xff0000, startMs: 1, endMs: 2 }] } });
  assert.equal(hex(bytes), "1a0b" + "1209" + "088080fc07" + "1001" + "1802");
});

test("responses decode packed enums, floats, strings and skip unknown fields", () => {
  // session_started {session_id "s", plan [6, 1] packed, unknown field 9 varint 1}
  const started = decodeResponse(Uint8Array.from(Buffer.from("0a09" + "0a0173" + "12020601" + "4801", "hex")));
  assert.deepEqual(started.sessionStarted.plan, [6, 1]);
  assert.equal(started.sessionStarted.sessionId, "s");
  // verdict {is_live true, confidence 97.5, reasons ["A", "B"]}
  const verdict = decodeResponse(Uint8Array.from(Buffer.from("220d" + "0801" + "150000c342" + "220141" + "220142", "hex")));
  assert.equal(verdict.verdict.isLive, true);
  assert.equal(verdict.verdict.confidence, 97.5);
  assert.deepEqual(verdict.verdict.reasons, ["A", "B"]);
});
