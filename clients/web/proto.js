// The protobuf messages of proto/livegate/v1/liveness.proto that the page sends and receives
// over the WebSocket, encoded and decoded by hand: the page loads no library.
//
// Only what the stream needs is here. Each schema maps a field number to [name, type] or
// [name, type, schema] for nested messages; a name ending in [] is repeated. Field numbers must
// match the .proto file; the browser test (clients/web/tests) exercises every message against
// the real server. Unknown fields are skipped when decoding, as protobuf requires, so a newer
// server does not break this page.

const FLOAT = "float", UINT = "uint", INT64 = "int64", BOOL = "bool", STRING = "string",
  BYTES = "bytes", MESSAGE = "message";

const Timestamp = { 1: ["seconds", INT64], 2: ["nanos", UINT] };
const ClientInfo = {
  1: ["device", STRING], 2: ["cameraWidth", UINT], 3: ["cameraHeight", UINT],
  4: ["fps", FLOAT], 5: ["mirrored", BOOL], 6: ["canShowColour", BOOL],
};
const StreamStart = {
  1: ["sessionId", STRING], 2: ["streamToken", STRING], 3: ["client", MESSAGE, ClientInfo],
};
const Frame = {
  1: ["timestampMs", INT64], 2: ["encoding", UINT], 3: ["width", UINT], 4: ["height", UINT],
  5: ["rotation", UINT], 6: ["data", BYTES],
};
const ShownFlash = { 1: ["rgb", UINT], 2: ["startMs", INT64], 3: ["endMs", INT64] };
const LightShown = { 1: ["challengeIndex", UINT], 2: ["flashes[]", MESSAGE, ShownFlash] };
const StreamSessionRequest = {
  1: ["start", MESSAGE, StreamStart], 2: ["frame", MESSAGE, Frame],
  3: ["lightShown", MESSAGE, LightShown],
};

const StreamLimits = {
  1: ["maxFps", FLOAT], 2: ["maxFrameBytes", UINT], 3: ["maxFrames", UINT],
  4: ["deadline", MESSAGE, Timestamp],
};
const SessionStarted = {
  1: ["sessionId", STRING], 2: ["plan[]", UINT], 3: ["limits", MESSAGE, StreamLimits],
};
const LightFlash = { 1: ["rgb", UINT], 2: ["durationMs", UINT] };
const Challenge = {
  1: ["index", UINT], 2: ["kind", UINT], 3: ["instruction", STRING], 4: ["timeLimitMs", UINT],
  5: ["lightSequence[]", MESSAGE, LightFlash], 6: ["again", BOOL],
};
const FaceBox = {
  1: ["x", FLOAT], 2: ["y", FLOAT], 3: ["width", FLOAT], 4: ["height", FLOAT], 5: ["score", FLOAT],
};
const HeadPose = { 1: ["yaw", FLOAT], 2: ["pitch", FLOAT], 3: ["roll", FLOAT] };
const Quality = {
  1: ["brightness", FLOAT], 2: ["contrast", FLOAT], 3: ["sharpness", FLOAT],
  4: ["faceSize", FLOAT], 5: ["centering", FLOAT],
};
const ChallengeProgress = {
  1: ["index", UINT], 2: ["kind", UINT], 3: ["progress", FLOAT], 4: ["completed", BOOL],
  5: ["timeLeftMs", UINT],
};
const FrameFeedback = {
  1: ["frameTimestampMs", INT64], 2: ["faces", UINT], 3: ["face", MESSAGE, FaceBox],
  4: ["pose", MESSAGE, HeadPose], 5: ["quality", MESSAGE, Quality], 6: ["hint", UINT],
  7: ["challenge", MESSAGE, ChallengeProgress], 8: ["droppedFrames", UINT],
  9: ["eyeOpenness", FLOAT], 10: ["analysisMs", FLOAT],
};
const Verdict = {
  1: ["isLive", BOOL], 2: ["confidence", FLOAT], 3: ["status", UINT], 4: ["reasons[]", STRING],
  5: ["message", STRING], 6: ["resultPending", BOOL],
};
const StreamSessionResponse = {
  1: ["sessionStarted", MESSAGE, SessionStarted], 2: ["challenge", MESSAGE, Challenge],
  3: ["feedback", MESSAGE, FrameFeedback], 4: ["verdict", MESSAGE, Verdict],
};

export const ChallengeKind = {
  TURN_LEFT: 1, TURN_RIGHT: 2, BLINK: 3, LOOK_UP: 4, MOVE_CLOSER: 5, LIGHT: 6,
};
export const Hint = {
  OK: 1, NO_FACE: 2, MULTIPLE_FACES: 3, MOVE_CLOSER: 4, MOVE_BACK: 5, CENTER_FACE: 6,
  TOO_DARK: 7, TOO_BRIGHT: 8, BLURRY: 9, HOLD_STILL: 10, LOOK_AT_CAMERA: 11, MORE: 12,
};
export const FrameEncoding = { JPEG: 1 };
export const SessionStatus = {
  CREATED: 1, IN_PROGRESS: 2, SUCCEEDED: 3, FAILED: 4, EXPIRED: 5, COMPLETED: 6,
};

// --- encoding -----------------------------------------------------------------------------

const utf8 = new TextEncoder();

class Writer {
  constructor() { this.bytes = []; }

  // Non-negative integers up to 2^53 (timestamps in ms, sizes, enums).
  varint(n) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a varint: ${n}`);
    while (n >= 0x80) {
      this.bytes.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.bytes.push(n);
  }

  tag(field, wireType) { this.varint(field * 8 + wireType); }

  chunk(field, data) {
    this.tag(field, 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
  }
}

function writeMessage(writer, schema, value) {
  for (const [number, [rawName, type, nested]] of Object.entries(schema)) {
    const repeated = rawName.endsWith("[]");
    const name = repeated ? rawName.slice(0, -2) : rawName;
    const field = Number(number);
    const items = repeated ? (value[name] ?? []) : [value[name]];
    for (const item of items) {
      if (item === undefined || item === null) continue;
      switch (type) {
        case UINT: case INT64:
          if (item !== 0 || repeated) { writer.tag(field, 0); writer.varint(item); }
          break;
        case BOOL:
          if (item) { writer.tag(field, 0); writer.varint(1); }
          break;
        case FLOAT: {
          if (item === 0 && !repeated) break;
          const buf = new DataView(new ArrayBuffer(4));
          buf.setFloat32(0, item, true);
          writer.tag(field, 5);
          for (let i = 0; i < 4; i++) writer.bytes.push(buf.getUint8(i));
          break;
        }
        case STRING:
          if (item !== "" || repeated) writer.chunk(field, utf8.encode(item));
          break;
        case BYTES:
          writer.chunk(field, item);
          break;
        case MESSAGE: {
          const inner = new Writer();
          writeMessage(inner, nested, item);
          writer.chunk(field, inner.bytes);
          break;
        }
      }
    }
  }
}

// A StreamSessionRequest, e.g. {frame: {timestampMs, encoding, data}}, as bytes.
export function encodeRequest(request) {
  const writer = new Writer();
  writeMessage(writer, StreamSessionRequest, request);
  return new Uint8Array(writer.bytes);
}

// --- decoding -----------------------------------------------------------------------------

const utf8Decoder = new TextDecoder();

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  varint() {
    let value = 0, scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error("truncated varint");
      const b = this.bytes[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  }

  take(n) {
    if (this.pos + n > this.bytes.length) throw new Error("truncated message");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType) {
    switch (wireType) {
      case 0: this.varint(); break;
      case 1: this.take(8); break;
      case 2: this.take(this.varint()); break;
      case 5: this.take(4); break;
      default: throw new Error(`unknown wire type ${wireType}`);
    }
  }
}

function readMessage(bytes, schema) {
  const reader = new Reader(bytes);
  const out = {};
  for (const [rawName] of Object.values(schema)) {
    if (rawName.endsWith("[]")) out[rawName.slice(0, -2)] = [];
  }
  while (reader.pos < bytes.length) {
    const key = reader.varint();
    const field = Math.floor(key / 8), wireType = key % 8;
    const spec = schema[field];
    if (!spec) { reader.skip(wireType); continue; }
    const [rawName, type, nested] = spec;
    const repeated = rawName.endsWith("[]");
    const name = repeated ? rawName.slice(0, -2) : rawName;
    let values;
    if (wireType === 2 && (type === UINT || type === INT64 || type === BOOL)) {
      // A packed repeated scalar.
      const packed = new Reader(reader.take(reader.varint()));
      values = [];
      while (packed.pos < packed.bytes.length) values.push(packed.varint());
    } else {
      switch (type) {
        case UINT: case INT64: case BOOL: values = [reader.varint()]; break;
        case FLOAT: {
          const at = reader.pos;
          reader.take(4);
          values = [reader.view.getFloat32(at, true)];
          break;
        }
        case STRING: values = [utf8Decoder.decode(reader.take(reader.varint()))]; break;
        case BYTES: values = [reader.take(reader.varint()).slice()]; break;
        case MESSAGE: values = [readMessage(reader.take(reader.varint()), nested)]; break;
      }
    }
    if (type === BOOL) values = values.map((v) => v !== 0);
    if (repeated) out[name].push(...values);
    else out[name] = values[values.length - 1];
  }
  return out;
}

// A StreamSessionResponse from bytes: an object with exactly one of sessionStarted, challenge,
// feedback, verdict.
export function decodeResponse(bytes) {
  return readMessage(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), StreamSessionResponse);
}
