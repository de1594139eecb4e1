// Types of livegate-web.js, for TypeScript apps. Copy this file into your project: it declares
// the module under any URL that ends in /livegate-web.js, so that
//   import { mount } from "https://livegate.example.com/web/v1/livegate-web.js";
// type-checks. Version 1.x of the module; README.md documents every field.

declare module "*/livegate-web.js" {
  /** The module's version (semver); `postMessage` events carry it too. */
  export const VERSION: string;
  /** The languages the flow speaks: "en", "fr", "de", "es". */
  export const LANGUAGES: readonly string[];

  /** A session as your backend created it (POST /api/liveness/session, or CreateSession). */
  export interface LivegateSession {
    sessionId: string;
    streamToken: string;
  }

  /** The end of an attempt, as far as the deployment lets the device know. */
  export interface LivegateResult {
    sessionId: string;
    /** "COMPLETED" unless the deployment discloses verdicts ("SUCCEEDED", "FAILED"). */
    status: "COMPLETED" | "SUCCEEDED" | "FAILED" | string;
    /** The server holds the outcome until its store answers; your backend reads IN_PROGRESS until then. */
    resultPending: boolean;
    /** Only where the deployment discloses verdicts. Decide on your backend's reading anyway. */
    isLive?: boolean;
    confidence?: number;
    reasons?: string[];
  }

  /** Client-side problems; numbers are Livegate's error codes (1007 expired, 2001 used, 2017 …). */
  export type LivegateErrorCode =
    | number
    | "CAMERA_DENIED"
    | "NO_CAMERA"
    | "CAMERA_BUSY"
    | "CAMERA_FAILED"
    | "INSECURE_CONTEXT"
    | "OFFLINE"
    | "CONNECTION_LOST"
    | "UNREACHABLE"
    | "PROTOCOL"
    | "NO_SESSION"
    | "other";

  export interface LivegateError {
    sessionId: string | null;
    code: LivegateErrorCode;
    /** What the flow shows the person, in their language. */
    title: string;
    message: string;
    /** Whether the flow offers "Try again". */
    retryable: boolean;
  }

  export interface MountOptions {
    /** A session from your backend, used once (or `createSession`). */
    sessionId?: string;
    streamToken?: string;
    /** Called for each attempt; the flow then offers "Try again". Throw `{ code }` for a refusal. */
    createSession?: () => Promise<LivegateSession>;
    /** The Livegate server; default the origin this module was loaded from. */
    serverUrl?: string;
    /** A BCP 47 tag; default the browser's preferences. */
    language?: string;
    /** false: never offer the colour step. Default true (with the photosensitivity notice). */
    lightStep?: boolean;
    /** The flow's heading level in your page, 1–6 (default 2). */
    headingLevel?: 1 | 2 | 3 | 4 | 5 | 6;
    onComplete?: (result: LivegateResult) => void;
    onError?: (error: LivegateError) => void;
    onUserCancel?: (detail: { sessionId: string | null }) => void;
  }

  export interface MountedCheck {
    version: string;
    /** The language the flow speaks. */
    language: string;
    /** Removes the flow, stopping the camera and the stream. */
    unmount(): void;
  }

  export function mount(element: Element, options: MountOptions): MountedCheck;
  export function pickLanguage(requested?: string, preferred?: readonly string[]): string;
  export function translator(language: string): (key: string, values?: Record<string, unknown>) => string;
}
