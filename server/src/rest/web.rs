//! The reference web client (`clients/web`), served at `/web/`, and its demo session route.
//!
//! The page's files are compiled into the binary, so the server needs no source tree at run
//! time. They are served with a content security policy that allows only this origin (and its
//! WebSocket), no inline script and no framing by other sites.
//!
//! `POST /web/demo-session` creates a session for the page to stream into without an API key.
//! It exists only when the operator turns it on (`--demo`): then anyone who can reach the port
//! can create sessions, all owned by the demo tenant (`--demo-tenant`), drawing on that tenant's
//! session rate limit. In production the customer's backend creates the session with its key and
//! opens the page as `/web/#session=<id>&token=<streamToken>`; the fragment never reaches a
//! server log.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use livegate_proto::v1 as pb;
use serde::Deserialize;

use crate::api;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::rest::json;
use crate::state::AppState;

/// The page's files: path under `/web/`, content type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../../clients/web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../clients/web/app.js"),
    ),
    (
        "proto.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../clients/web/proto.js"),
    ),
    (
        "livegate.css",
        "text/css; charset=utf-8",
        include_str!("../../../clients/web/livegate.css"),
    ),
];

const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                   media-src 'self' blob: mediastream:; frame-ancestors 'self'; base-uri 'none'";

/// Paths of the page, all served without a key: it is public code.
pub fn is_page(path: &str) -> bool {
    path == "/web" || path.starts_with("/web/")
}

pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new().route(
        "/web",
        get(|| async {
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, "/web/")],
            )
        }),
    );
    for &(name, content_type, body) in FILES {
        router = router.route(
            &format!("/web/{name}"),
            get(move || async move { file(content_type, body) }),
        );
    }
    if state.config.demo {
        router = router.route("/web/demo-session", post(demo_session));
    }
    router
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// What the page may choose for a demo session: only whether it has a light step.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DemoSessionBody {
    #[serde(default)]
    light_step: Option<bool>,
}

async fn demo_session(
    State(state): State<AppState>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<json::CreateSessionResponse>, ApiError> {
    let body: DemoSessionBody = json::parse_body(&super::body(raw, &state)?)?;
    // No key: the demo tenant's sessions, under that tenant's rate limit (taken by
    // `api::create_session`, as for every tenant).
    let tenant = Tenant::new(&state.config.demo_tenant);
    let settings = pb::SessionSettings {
        light_step: body.light_step,
        ..Default::default()
    };
    Ok(Json(
        api::create_session(&state, &tenant, settings).await?.into(),
    ))
}
