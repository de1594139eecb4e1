//! The web flow (`clients/web`): the embeddable module and the hosted page, served at `/web/`
//! and at `/web/v1/` (the path an integrator pins: a breaking change to the module's options
//! would be served under `/web/v2/`), and the demo session route.
//!
//! The files are compiled into the binary, so the server needs no source tree at run time.
//! The hosted page is served with a content security policy that allows only this origin (and
//! its WebSocket), no inline script, and framing only by this origin and the deployment's own
//! apps (`--web-origins`). `config.json` tells the page that list: the only parents it tells by
//! `postMessage`, and the only origins its return URL may lead to. The module's files are public
//! code: any page may import them (`Access-Control-Allow-Origin: *`, no credentials).
//!
//! `POST /web/demo-session` creates a session for the page to stream into without an API key.
//! It exists only when the operator turns it on (`--demo`): then anyone who can reach the port
//! can create sessions, all owned by the demo tenant (`--demo-tenant`), drawing on that tenant's
//! session rate limit. In production the customer's backend creates the session with its key and
//! hands the page `/web/#session=<id>&token=<streamToken>` (or the module the same two values);
//! the fragment never reaches a server log.

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
use crate::config::Config;
use crate::error::ApiError;
use crate::rest::json;
use crate::state::AppState;

/// A file of the flow: its path under `/web/`, content type, contents.
struct WebFile {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// A file of `clients/web` by its name, served under the same name.
macro_rules! web_file {
    ($name:literal, $content_type:expr) => {
        WebFile {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../../../clients/web/", $name)),
        }
    };
}

const FILES: &[WebFile] = &[
    WebFile {
        name: "",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../clients/web/index.html"),
    },
    web_file!("page.js", JS),
    web_file!("livegate-web.js", JS),
    web_file!("i18n.js", JS),
    web_file!("proto.js", JS),
    web_file!("livegate-web.d.ts", "application/typescript; charset=utf-8"),
    web_file!("livegate.css", "text/css; charset=utf-8"),
];

/// The directories the files are served from: the unversioned one the hosted page links, and
/// the module's major version.
const PREFIXES: &[&str] = &["/web/", "/web/v1/"];

/// The hosted page's policy, with the deployment's apps allowed to frame it.
fn content_security_policy(config: &Config) -> HeaderValue {
    let mut ancestors = String::from("'self'");
    for origin in &config.web_origins {
        ancestors.push(' ');
        ancestors.push_str(origin.as_str());
    }
    let policy = format!(
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
         media-src 'self' blob: mediastream:; frame-ancestors {ancestors}; base-uri 'none'"
    );
    // `WebOrigin` admits only characters that are valid in a header.
    HeaderValue::from_str(&policy).expect("origins are header-safe")
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
    let csp = content_security_policy(&state.config);
    let page_config = serde_json::json!({
        "origins": state.config.web_origins.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
    })
    .to_string();
    for prefix in PREFIXES {
        for file in FILES {
            let csp = csp.clone();
            router = router.route(
                &format!("{prefix}{}", file.name),
                get(move || async move { serve_file(file, csp) }),
            );
        }
        let body = page_config.clone();
        router = router.route(
            &format!("{prefix}config.json"),
            get(move || async move { page_config_file(body) }),
        );
    }
    if state.config.demo {
        router = router.route("/web/demo-session", post(demo_session));
    }
    router
}

/// Headers every file of the flow carries.
fn common_headers(response: &mut Response, content_type: &'static str, csp: HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn serve_file(file: &'static WebFile, csp: HeaderValue) -> Response {
    let mut response = file.body.into_response();
    common_headers(&mut response, file.content_type, csp);
    if !file.name.is_empty() {
        // The module and its stylesheet, imported by integrators' pages on other origins.
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
    }
    response
}

fn page_config_file(body: String) -> Response {
    let mut response = body.into_response();
    let csp = HeaderValue::from_static("default-src 'none'");
    common_headers(&mut response, "application/json", csp);
    response
}

/// What the page may choose for a demo session: only whether it has a light step.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = DemoSessionRequest)]
pub(super) struct DemoSessionBody {
    #[serde(default)]
    light_step: Option<bool>,
}

/// Create a session for the web page without an API key (only when the server runs with --demo true)
///
/// Served only when the operator turned demo sessions on; otherwise 404. Sessions belong to the
/// demo tenant (LIVEGATE_DEMO_TENANT) and draw on its rate limit.
#[utoipa::path(
    post,
    path = "/web/demo-session",
    tag = "liveness",
    operation_id = "createDemoSession",
    security(),
    request_body(content = Option<DemoSessionBody>),
    responses(
        (status = 200, description = "Session created", body = json::CreateSessionResponse),
        (status = 400, description = "2012: a field other than lightStep, or invalid JSON",
            body = crate::error::ErrorBody),
        (status = 404, description = "Demo sessions are off"),
        (status = 429, description = "2014: the demo tenant's rate limit",
            body = crate::error::ErrorBody),
    ),
)]
pub(super) async fn demo_session(
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
