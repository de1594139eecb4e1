//! Client attestation: whether a stream comes from the customer's own app on a genuine device,
//! as the platform's attestation service vouches (Play Integrity, App Attest, ...).
//!
//! Why it exists: a client that controls the camera feed (a virtual camera, a hooked app) can
//! inject frames of the victim doing every step, relit with the light step's colours; nothing
//! in the pictures tells them from a camera's (the PAD species "B: injected replay, relit").
//! Only the platform can say that the frames come through the app the customer shipped.
//!
//! Livegate holds none of the customer's Google or Apple credentials, so it does not read a
//! token itself. The app asks the platform for a token bound to [`challenge`] of its session
//! and sends it in `start.attestation`; [`AttestationCheck::begin`] posts it at once to the
//! deployment's verifier (an HTTP endpoint of the customer's backend, [`Verifier`]), beside the
//! stream; the outcome waits for the answer and [`gate`] applies the policy to it
//! ([`AttestationCheck::apply`]). The device is never told (no oracle): a stream goes on as usual and the
//! backend reads the reason in the result.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use livegate_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::ApiError;
use crate::metrics::metrics;
use crate::sessions::Outcome;

/// What a deployment does with attestation (`LIVEGATE_ATTESTATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttestationPolicy {
    /// Tokens are not read.
    Off,
    /// Every token a stream brings is verified and the answers counted
    /// (`livegate_attestation_total`); no verdict changes: for rolling attestation out.
    Observe,
    /// A stream without a token is refused; a session whose token was not found valid is not live.
    Required,
}

/// The reason of a session whose token the verifier did not accept.
pub const CLIENT_NOT_ATTESTED: &str = "CLIENT_NOT_ATTESTED";
/// The reason of a session whose token could not be verified: the verifier did not answer in
/// time, or not as agreed. Not live under `required`: an attacker must not gain by making the
/// verifier slow.
pub const ATTESTATION_UNAVAILABLE: &str = "ATTESTATION_UNAVAILABLE";

/// Most characters of `attestation.kind`, and most bytes of its token (Play Integrity tokens and
/// App Attest assertions are a few KiB).
const MAX_KIND_CHARS: usize = 64;
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Most bytes of the verifier's answer read.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the verifier said about a stream's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    Valid,
    Invalid,
    /// The stream brought no token (`observe` only: `required` refuses such a stream).
    Absent,
    Unavailable,
}

impl Attestation {
    /// The label of `livegate_attestation_total{outcome}`.
    pub fn label(self) -> &'static str {
        match self {
            Attestation::Valid => "valid",
            Attestation::Invalid => "invalid",
            Attestation::Absent => "absent",
            Attestation::Unavailable => "unavailable",
        }
    }
}

/// The challenge a session's token must be bound to (Play Integrity's `requestHash` or nonce,
/// App Attest's client data): base64url without padding of
/// SHA-256("livegate-attestation-v1\n" + session id). The app computes it from the session id
/// alone; a token for one session says nothing for another (and each session streams once).
pub fn challenge(session_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"livegate-attestation-v1\n")
        .chain_update(session_id.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The deployment's verifier: where tokens are posted, as whom, and how long it may take.
#[derive(Debug)]
pub struct Verifier {
    url: VerifierUrl,
    bearer: Option<BearerToken>,
    timeout: Duration,
}

/// What the verifier is sent: `POST` with this JSON body.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyRequest<'a> {
    session_id: &'a str,
    challenge: String,
    kind: &'a str,
    /// The token, base64 (standard alphabet, padded).
    token: String,
}

/// What the verifier answers: HTTP 200 with this JSON body (other fields are ignored).
#[derive(serde::Deserialize)]
struct VerifyAnswer {
    valid: bool,
}

impl Verifier {
    pub fn new(url: VerifierUrl, bearer: Option<BearerToken>, timeout: Duration) -> Self {
        Verifier {
            url,
            bearer,
            timeout,
        }
    }

    /// The verifier's word on `token`, or `Unavailable` when it gave none in time.
    pub async fn verify(&self, session_id: &str, kind: &str, token: &[u8]) -> Attestation {
        let request = VerifyRequest {
            session_id,
            challenge: challenge(session_id),
            kind,
            token: base64::engine::general_purpose::STANDARD.encode(token),
        };
        match tokio::time::timeout(self.timeout, self.ask(&request)).await {
            Ok(Ok(true)) => Attestation::Valid,
            Ok(Ok(false)) => Attestation::Invalid,
            Ok(Err(why)) => {
                tracing::warn!(verifier = %self.url, "attestation verifier failed: {why}");
                Attestation::Unavailable
            }
            Err(_) => {
                tracing::warn!(verifier = %self.url, timeout = ?self.timeout, "attestation verifier did not answer in time");
                Attestation::Unavailable
            }
        }
    }

    /// One HTTP/1.1 exchange on a connection of its own: verifications are a few a second at
    /// most, one per stream, so a pool would buy nothing.
    async fn ask(&self, request: &VerifyRequest<'_>) -> Result<bool, String> {
        let tcp = tokio::net::TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        // Drives the connection; it ends when `sender` is dropped.
        tokio::spawn(connection.in_current_span());
        let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        let mut builder = http::Request::post(self.url.path.as_str())
            .header(http::header::HOST, self.url.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(bearer) = &self.bearer {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {}", bearer.0));
        }
        let http_request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(http_request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        if status != http::StatusCode::OK {
            return Err(format!("answered HTTP {status}"));
        }
        let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        let answer: VerifyAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| format!("an answer that is not {{\"valid\": bool}}: {e}"))?;
        Ok(answer.valid)
    }
}

/// One stream's attestation: not asked for, absent, or being verified beside the stream.
#[derive(Debug)]
pub struct AttestationCheck {
    policy: AttestationPolicy,
    state: CheckState,
}

#[derive(Debug)]
enum CheckState {
    NotAsked,
    Absent,
    /// No verifier is configured (a `Config` built in code): every token is unavailable.
    NoVerifier,
    Asked(JoinHandle<Attestation>),
}

impl AttestationCheck {
    /// Refuses a stream that the policy requires to bring a token and that brought none (or a
    /// malformed one), before its session is claimed: the session stays usable.
    pub fn admit(
        policy: AttestationPolicy,
        given: Option<&pb::ClientAttestation>,
    ) -> Result<(), ApiError> {
        if policy == AttestationPolicy::Off {
            return Ok(());
        }
        match given {
            Some(a) if a.kind.chars().count() > MAX_KIND_CHARS => Err(ApiError::Protocol(format!(
                "attestation kind longer than {MAX_KIND_CHARS} characters"
            ))),
            Some(a) if a.token.len() > MAX_TOKEN_BYTES => Err(ApiError::Protocol(format!(
                "attestation token larger than {MAX_TOKEN_BYTES} bytes"
            ))),
            Some(a) if !a.token.is_empty() => Ok(()),
            _ if policy == AttestationPolicy::Required => Err(ApiError::AttestationRequired),
            _ => Ok(()),
        }
    }

    /// Starts verifying the token `start` brought for the claimed session `session_id`, on a
    /// task of its own.
    pub fn begin(
        policy: AttestationPolicy,
        verifier: Option<&Arc<Verifier>>,
        session_id: &str,
        given: Option<pb::ClientAttestation>,
    ) -> Self {
        let state = match (policy, given.filter(|a| !a.token.is_empty()), verifier) {
            (AttestationPolicy::Off, _, _) => CheckState::NotAsked,
            (_, None, _) => CheckState::Absent,
            (_, Some(_), None) => CheckState::NoVerifier,
            (_, Some(given), Some(verifier)) => {
                let verifier = verifier.clone();
                let session_id = session_id.to_string();
                let span = tracing::info_span!("attestation", kind = %given.kind);
                CheckState::Asked(tokio::spawn(
                    async move {
                        verifier
                            .verify(&session_id, &given.kind, &given.token)
                            .await
                    }
                    .instrument(span),
                ))
            }
        };
        AttestationCheck { policy, state }
    }

    /// Waits for the verifier's answer (at most its timeout) and applies the policy to the
    /// stream's outcome ([`gate`]).
    pub async fn apply(self, outcome: &mut Outcome) {
        let policy = self.policy;
        gate(outcome, policy, self.finish().await);
    }

    /// The verifier's answer (waiting for it, at most the verifier's timeout), counted in
    /// `livegate_attestation_total`; `None` when the policy is off.
    async fn finish(self) -> Option<Attestation> {
        let attestation = match self.state {
            CheckState::NotAsked => return None,
            CheckState::Absent => Attestation::Absent,
            CheckState::NoVerifier => Attestation::Unavailable,
            CheckState::Asked(task) => task.await.unwrap_or(Attestation::Unavailable),
        };
        metrics().attestation(attestation.label());
        Some(attestation)
    }
}

/// Applies the policy to an outcome: under `required`, a session whose token was not found valid
/// is not live, whatever its pictures showed, and says why. Its confidence is 0: pictures whose
/// source is unproven are no evidence (and a verify of it then reads "confidence 0.00 % is below
/// the threshold", as the seed words error 1009, instead of a high number that failed).
pub fn gate(outcome: &mut Outcome, policy: AttestationPolicy, attestation: Option<Attestation>) {
    if policy != AttestationPolicy::Required {
        return;
    }
    let (reason, message) = match attestation {
        Some(Attestation::Valid) => return,
        Some(Attestation::Unavailable) | None => (
            ATTESTATION_UNAVAILABLE,
            "The client's attestation could not be verified.",
        ),
        Some(Attestation::Invalid) | Some(Attestation::Absent) => (
            CLIENT_NOT_ATTESTED,
            "The client's attestation was not accepted by the verifier.",
        ),
    };
    outcome.is_live = false;
    outcome.confidence = 0.0;
    outcome.reasons.push(reason.to_string());
    outcome.message = if outcome.message.is_empty() {
        message.to_string()
    } else {
        format!("{message} {}", outcome.message)
    };
}

/// The verifier's address: `http://host[:port][/path]`. Plain HTTP only: the verifier is the
/// customer's own service beside the server (the same host, a private network, or a mesh
/// sidecar that adds TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierUrl {
    host: String,
    port: u16,
    /// `host:port` as written, for the `Host` header.
    authority: String,
    path: String,
}

impl std::str::FromStr for VerifierUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wrong =
            |why: &str| format!("an attestation verifier is http://host[:port][/path]: {why}");
        let uri: http::Uri = s.parse().map_err(|e| wrong(&format!("{e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(wrong("only http:// (put TLS in a sidecar)"));
        }
        let authority = uri.authority().ok_or_else(|| wrong("no host"))?;
        if authority.as_str().contains('@') {
            return Err(wrong("no credentials in the URL; use the verifier token"));
        }
        Ok(VerifierUrl {
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string()),
        })
    }
}

impl std::fmt::Display for VerifierUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}{}", self.authority, self.path)
    }
}

/// The secret the server shows the verifier (`Authorization: Bearer …`); never printed.
#[derive(Clone)]
pub struct BearerToken(String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for BearerToken {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() < 16 || !s.chars().all(|c| c.is_ascii_graphic()) {
            return Err("a verifier token is at least 16 printable ASCII characters".into());
        }
        Ok(BearerToken(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn live_outcome() -> Outcome {
        Outcome {
            is_live: true,
            confidence: 97.0,
            reasons: Vec::new(),
            message: String::new(),
            reference_image: None,
            audit_images: Vec::new(),
            finished_at: SystemTime::now(),
        }
    }

    #[test]
    fn under_required_only_a_valid_token_leaves_a_live_session_live() {
        let cases = [
            (Some(Attestation::Valid), None),
            (Some(Attestation::Invalid), Some(CLIENT_NOT_ATTESTED)),
            (Some(Attestation::Absent), Some(CLIENT_NOT_ATTESTED)),
            (
                Some(Attestation::Unavailable),
                Some(ATTESTATION_UNAVAILABLE),
            ),
            (None, Some(ATTESTATION_UNAVAILABLE)),
        ];
        for (attestation, reason) in cases {
            let mut outcome = live_outcome();
            gate(&mut outcome, AttestationPolicy::Required, attestation);
            assert_eq!(outcome.is_live, reason.is_none(), "{attestation:?}");
            let confidence = if reason.is_none() { 97.0 } else { 0.0 };
            assert_eq!(outcome.confidence, confidence, "{attestation:?}");
            assert_eq!(
                outcome.reasons,
                reason.map(str::to_string).into_iter().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn observe_and_off_never_change_a_verdict() {
        for policy in [AttestationPolicy::Observe, AttestationPolicy::Off] {
            let mut outcome = live_outcome();
            gate(&mut outcome, policy, Some(Attestation::Invalid));
            assert!(outcome.is_live && outcome.reasons.is_empty());
        }
    }

    #[test]
    fn the_challenge_is_the_documented_hash_of_the_session_id() {
        // SHA-256("livegate-attestation-v1\nabc"), computed apart:
        // printf 'livegate-attestation-v1\nabc' | openssl dgst -sha256 -binary | basenc --base64url
        assert_eq!(
            challenge("abc"),
            "I8FCzw0yJW-390_a3idBFEjAzDXtNzz8mE_Mnu-kHvA"
        );
        assert_ne!(challenge("abc"), challenge("abd"));
    }

    #[test]
    fn a_stream_without_a_token_is_refused_only_where_required() {
        let none = None;
        let empty = pb::ClientAttestation::default();
        assert!(matches!(
            AttestationCheck::admit(AttestationPolicy::Required, none),
            Err(ApiError::AttestationRequired)
        ));
        assert!(matches!(
            AttestationCheck::admit(AttestationPolicy::Required, Some(&empty)),
            Err(ApiError::AttestationRequired)
        ));
        assert!(AttestationCheck::admit(AttestationPolicy::Observe, none).is_ok());
        assert!(AttestationCheck::admit(AttestationPolicy::Off, none).is_ok());
        let huge = pb::ClientAttestation {
            kind: "play-integrity".into(),
            token: vec![1; MAX_TOKEN_BYTES + 1],
        };
        assert!(matches!(
            AttestationCheck::admit(AttestationPolicy::Observe, Some(&huge)),
            Err(ApiError::Protocol(_))
        ));
    }

    #[test]
    fn verifier_urls_are_plain_http_without_credentials() {
        let url: VerifierUrl = "http://verifier.internal:8081/attest?v=1".parse().unwrap();
        assert_eq!((url.host.as_str(), url.port), ("verifier.internal", 8081));
        assert_eq!(url.path, "/attest?v=1");
        let bare: VerifierUrl = "http://127.0.0.1".parse().unwrap();
        assert_eq!((bare.port, bare.path.as_str()), (80, "/"));
        for wrong in [
            "https://v.internal/",
            "http://user:pw@v.internal/",
            "v.internal:80",
        ] {
            assert!(wrong.parse::<VerifierUrl>().is_err(), "{wrong}");
        }
    }
}
