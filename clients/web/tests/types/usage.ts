// How a TypeScript app uses the module; `npm test` compiles it against ../../livegate-web.d.ts
// (strict), so the declarations cannot drift from what the README shows.
import { LANGUAGES, VERSION, mount } from "https://livegate.example.com/web/v1/livegate-web.js";
import type { LivegateError, LivegateResult } from "https://livegate.example.com/web/v1/livegate-web.js";

const element = document.getElementById("face-check")!;
const check = mount(element, {
  sessionId: "0f8e…",
  streamToken: "…",
  language: "fr",
  headingLevel: 2,
  onComplete(result: LivegateResult) {
    const pending: boolean = result.resultPending;
    console.log(result.sessionId, result.status, pending, result.isLive ?? "undisclosed");
  },
  onError(error: LivegateError) {
    if (typeof error.code === "number" && error.code === 2017) console.log(error.title);
  },
  onUserCancel: ({ sessionId }) => console.log(sessionId),
});
check.unmount();
console.log(VERSION, LANGUAGES.includes(check.language));

mount(element, { createSession: async () => ({ sessionId: "a", streamToken: "b" }), lightStep: false });

// @ts-expect-error: the heading level is 1–6.
mount(element, { sessionId: "a", streamToken: "b", headingLevel: 7 });
// @ts-expect-error: a session is two strings, not a number.
mount(element, { sessionId: 42, streamToken: "b" });
