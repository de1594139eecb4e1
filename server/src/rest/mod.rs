//! The REST/JSON API of the seed (`/api/liveness/...`, `/api/kyc/...`) and the WebSocket
//! stream, on their own port. Handlers parse JSON, call [`crate::api`] exactly as the gRPC
//! service does, and render the answer in the seed's shapes ([`json`]); errors render as
//! `{errorCode, message, status, timestamp}` ([`crate::error`]). Keys and the session rate limit
//! are the same tower layers as on gRPC.

mod extract;
pub mod identity;
pub mod json;
pub mod openapi;
pub mod web;
pub mod ws;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use tracing::Instrument;

use crate::api;
use crate::auth::{Authenticate, Tenant};
use crate::error::{ApiError, ErrorResponse, JsonRejection};
use crate::gate::GateLayer;
use crate::in_flight::InFlightLayer;
use crate::state::AppState;
pub(crate) use extract::SessionId;

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_request_bytes as usize;
    // Identity checks, refused before their bodies are read when too many are in flight.
    let in_flight = InFlightLayer::<JsonRejection>::new(state.identity_slots.clone());
    // Everything a key opens: a route belongs here unless it has a reason to be public.
    let protected = Router::new()
        .route("/api/liveness/session", post(create_session))
        .route("/api/liveness/session/{id}/results", get(session_results))
        .route("/api/liveness/verify/{id}", post(verify))
        .route(
            "/api/liveness/compare-faces",
            post(identity::compare_faces).route_layer(in_flight.clone()),
        )
        .route(
            "/api/kyc/analyze/identity-with-liveness",
            post(identity::kyc).route_layer(in_flight),
        )
        .route_layer(GateLayer::<_, JsonRejection>::new(Authenticate::new(
            state.api_keys.clone(),
        )));
    // Public, each for its reason: probes and the API's own description; the WebSocket stream
    // (browsers cannot set its headers; it presents its session's one-time stream token); the
    // web page with its demo route, when the operator turned that on ([`web`]).
    let public = Router::new()
        .route("/api/liveness/session/{id}/stream", get(ws::stream))
        .route("/api/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .merge(web::router(&state));
    protected
        .merge(public)
        // A path or method outside the API gets our error body, not an empty 404 or 405 (axum
        // keeps the 405's `Allow` header).
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(limit, declared_length))
        .layer(axum::middleware::from_fn(api_headers))
        // Outermost: every request, refused or not, has its span.
        .layer(axum::middleware::from_fn(trace_request))
        .with_state(state)
}

async fn unknown_endpoint(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::UnknownEndpoint {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

/// Runs the request in an `http` span whose parent is the caller's trace, if it sent one.
async fn trace_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let span =
        tracing::info_span!("http", method = %request.method(), path = %request.uri().path());
    crate::telemetry::adopt_caller_trace(&span, request.headers());
    next.run(request).instrument(span).await
}

/// API answers (results carry faces, refusals name sessions) are never cached, by a browser or
/// a proxy, and their JSON is never sniffed into something a browser would run. The web page
/// sets its own headers ([`web`]).
async fn api_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if api {
        let headers = response.headers_mut();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// A request that declares a body over the limit (`Content-Length`) is refused before any of
/// it is read; one that does not declare it is cut off at the limit as it is read
/// (`DefaultBodyLimit`).
async fn declared_length(
    State(limit): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::MessageTooLarge(limit).into_response(),
        _ => next.run(request).await,
    }
}

/// A body within the limit, or MESSAGE_TOO_LARGE.
fn body(body: Result<Bytes, BytesRejection>, state: &AppState) -> Result<Bytes, ApiError> {
    body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) => {
            ApiError::MessageTooLarge(state.config.max_request_bytes as usize)
        }
        other => ApiError::InvalidArgument(other.body_text()),
    })
}

/// Create a liveness session
///
/// The session starts CREATED, with the one-time token its stream (gRPC or WebSocket) presents.
/// A setting this API does not have, or one outside `settings`, is refused (2012), not ignored.
#[utoipa::path(
    post,
    path = "/api/liveness/session",
    tag = "liveness",
    operation_id = "createSession",
    request_body(
        content = Option<json::CreateSessionBody>,
        example = json!({"settings": {"auditImagesLimit": 4}}),
    ),
    responses(
        (status = 200, description = "The session, CREATED, with its one-time stream token",
            body = json::CreateSessionResponse),
        (status = 400, response = ErrorResponse),
        (status = 401, response = ErrorResponse),
        (status = 429, response = ErrorResponse),
        (status = 500, response = ErrorResponse),
    ),
)]
async fn create_session(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<json::CreateSessionResponse>, ApiError> {
    let request: json::CreateSessionBody = json::parse_body(&body(raw, &state)?)?;
    let settings = request.settings.unwrap_or_default().into_proto()?;
    let created = api::create_session(&state, &tenant, settings).await?;
    Ok(Json(created.into()))
}

/// Status and result of a session
#[utoipa::path(
    get,
    path = "/api/liveness/session/{sessionId}/results",
    tag = "liveness",
    operation_id = "getSessionResults",
    params(SessionId),
    responses(
        (status = 200,
            description = "Status; confidence, isLive, images, timestamp and message once finished",
            body = json::SessionResult),
        (status = 400, response = ErrorResponse),
        (status = 401, response = ErrorResponse),
        (status = 404, response = ErrorResponse),
    ),
)]
async fn session_results(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    SessionId(id): SessionId,
) -> Result<Json<json::SessionResult>, ApiError> {
    Ok(Json(
        api::get_session_result(&state, &tenant, &id).await?.into(),
    ))
}

/// Check a finished session against a threshold; consumes the result
///
/// The threshold may come in the body or the query (both with different values: 2012); without
/// either, the session's. A second verify of the same session gets 2011.
#[utoipa::path(
    post,
    path = "/api/liveness/verify/{sessionId}",
    tag = "liveness",
    operation_id = "verifySession",
    params(SessionId, json::VerifyBody),
    request_body(content = Option<json::VerifyBody>),
    responses(
        (status = 200, description = "Live at or above the threshold", body = json::VerifyResponse),
        (status = 400, response = ErrorResponse),
        (status = 401, response = ErrorResponse),
        (status = 404, response = ErrorResponse),
        (status = 409, response = ErrorResponse),
        (status = 422, response = ErrorResponse),
    ),
)]
async fn verify(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    SessionId(id): SessionId,
    query: Result<Query<json::VerifyBody>, QueryRejection>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<json::VerifyResponse>, ApiError> {
    // A query that does not parse (`?confidenceThreshold=abc`) is our 2012, in JSON, not
    // axum's plain-text 400.
    let Query(query) = query.map_err(|e| ApiError::InvalidArgument(e.body_text()))?;
    // The threshold may come in the body or the query; the seed's examples send neither. Two
    // that differ are refused rather than one picked: the other may be the one the caller meant.
    let from_body: json::VerifyBody = json::parse_body(&body(raw, &state)?)?;
    let threshold = match (from_body.confidence_threshold, query.confidence_threshold) {
        (Some(body), Some(query)) if body != query => {
            return Err(ApiError::InvalidArgument(format!(
                "confidenceThreshold is in both the body ({body}) and the query ({query}): send it once"
            )));
        }
        (body, query) => body.or(query),
    };
    Ok(Json(
        api::verify_session(&state, &tenant, &id, threshold)
            .await?
            .into(),
    ))
}

/// This document
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "service",
    operation_id = "openapi",
    security(),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json",
        body = Object)),
)]
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document(),
    )
}

/// A probe's answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Probe {
    status: Serving,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Serving {
    Serving,
    NotServing,
}

/// Readiness: 200 while the server takes new sessions, 503 while it drains for shutdown
///
/// See [`crate::lifecycle`]. `/health` stays the liveness probe.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "service",
    operation_id = "ready",
    security(),
    responses(
        (status = 200, description = "Ready: SERVING", body = Probe),
        (status = 503, description = "Draining: NOT_SERVING", body = Probe),
    ),
)]
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.ready().await {
        (
            http::StatusCode::OK,
            Json(Probe {
                status: Serving::Serving,
            }),
        )
    } else {
        let status = Serving::NotServing;
        (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(Probe { status }),
        )
    }
}

/// Liveness probe
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    security(),
    responses((status = 200, description = "Serving: SERVING", body = Probe)),
)]
async fn health() -> Json<Probe> {
    Json(Probe {
        status: Serving::Serving,
    })
}
