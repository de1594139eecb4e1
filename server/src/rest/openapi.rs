//! The REST API's OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes
//! and the schemas of the types they read and answer, so it cannot drift from the code that
//! serves it. Served at `/api/openapi.json`; `server/openapi.json` is a copy for readers, kept
//! equal to it by a test (`livegate-server --openapi` writes it).

use std::sync::LazyLock;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::json::{CreateSessionResponse, SessionResult, VerifyResponse};
use crate::error::{ErrorBody, ErrorResponse};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Livegate REST API",
        description = "Face-liveness sessions, results and verification, served field for field \
            as the seed API customers know. The same operations are on gRPC \
            (livegate.v1.Liveness) with the same error codes. Every operation except those \
            marked with an empty security list (/health, /ready, /api/openapi.json, the \
            WebSocket stream and the demo route) needs an API key (Authorization: Bearer <key> \
            or x-api-key) unless the server runs without keys.",
    ),
    servers((url = "http://localhost:8080")),
    security(("bearer" = []), ("apiKey" = [])),
    tags(
        (name = "liveness", description = "Sessions: create, stream, results, verify"),
        (name = "identity", description = "Face matching and identity documents"),
        (name = "service", description = "Probes and this document"),
    ),
    modifiers(&KeySchemes, &OptionalBodies),
    paths(
        super::create_session,
        super::session_results,
        super::verify,
        super::identity::compare_faces,
        super::identity::kyc,
        super::ws::stream,
        super::web::demo_session,
        super::openapi,
        super::health,
        super::ready,
    ),
    components(
        schemas(CreateSessionResponse, SessionResult, VerifyResponse, ErrorBody),
        responses(ErrorResponse),
    ),
)]
pub struct ApiDoc;

/// The two ways to present a key (see [`crate::auth`]).
struct KeySchemes;

impl Modify for KeySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
    }
}

/// A body a route may go without (`parse_body` reads none as the defaults) is written
/// `Option<T>` in its `request_body`, which utoipa renders as "T or JSON null" and not required.
/// Absent is what is meant, not null (a null body is refused): keep the `T` and the "not
/// required".
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.patch] {
                let Some(RefOr::T(body)) = operation.as_mut().and_then(|o| o.request_body.as_mut())
                else {
                    continue;
                };
                for content in body.content.values_mut() {
                    if let RefOr::T(content) = content
                        && let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
                        && let [inner, RefOr::T(Schema::Object(null))] = one_of.items.as_slice()
                        && null.schema_type == SchemaType::Type(Type::Null)
                    {
                        content.schema = Some(inner.clone());
                    }
                }
            }
        }
    }
}

/// The document as served: pretty JSON, made once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises");
        text.push('\n');
        text
    });
    &DOCUMENT
}

#[cfg(test)]
mod tests {
    use livegate_proto::rest;
    use livegate_proto::v1 as pb;
    use serde_json::Value;

    use super::document;

    /// The field names of `value`, nested objects included, as dotted paths.
    fn paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(fields) = value {
            for (name, inner) in fields {
                let path = format!("{prefix}{name}");
                out.push(path.clone());
                paths(inner, &format!("{path}."), out);
            }
        }
    }

    /// The same for a schema of `doc`, following `$ref`s into other components.
    fn schema_paths(doc: &Value, schema: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Some(Value::String(target)) = schema.get("$ref") {
            let name = target.trim_start_matches("#/components/schemas/");
            return schema_paths(doc, &doc["components"]["schemas"][name], prefix, out);
        }
        if let Some(Value::Object(fields)) = schema.get("properties") {
            for (name, inner) in fields {
                let path = format!("{prefix}{name}");
                out.push(path.clone());
                schema_paths(doc, inner, &format!("{path}."), out);
            }
        }
    }

    fn fields(value: impl serde::Serialize) -> Vec<String> {
        let mut out = Vec::new();
        paths(&serde_json::to_value(value).unwrap(), "", &mut out);
        out.sort();
        out
    }

    fn documented(name: &str) -> Vec<String> {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let mut out = Vec::new();
        schema_paths(&doc, &doc["components"]["schemas"][name], "", &mut out);
        out.sort();
        out
    }

    /// Every answer the code gives has exactly the fields the document gives its schema (nested
    /// ones included), or a client generated from it misreads us: this holds the schemas'
    /// derivations to what serde writes.
    #[test]
    fn the_openapi_document_names_every_field_of_every_answer() {
        let finished = pb::SessionResult {
            timestamp: Some(prost_types::Timestamp::default()),
            reference_image: vec![1],
            ..Default::default()
        };
        let kyc = pb::AnalyzeIdentityResponse {
            kyc_analysis: Some(pb::KycAnalysis {
                extracted_data: Some(pb::ExtractedData {
                    validity: Some(Default::default()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        for (name, code) in [
            (
                "CreateSessionResponse",
                fields(rest::CreateSessionResponse::from(
                    pb::CreateSessionResponse::default(),
                )),
            ),
            ("SessionResult", fields(rest::SessionResult::from(finished))),
            (
                "VerifyResponse",
                fields(rest::VerifyResponse::from(
                    pb::VerifySessionResponse::default(),
                )),
            ),
            (
                "CompareFacesResponse",
                fields(rest::CompareFacesResponse::from(
                    pb::CompareFacesResponse::default(),
                )),
            ),
            ("KycResponse", fields(rest::KycResponse::from(kyc))),
            (
                "Error",
                fields(crate::error::ErrorBody {
                    error_code: 2012,
                    message: String::new(),
                    status: 400,
                    timestamp: String::new(),
                }),
            ),
        ] {
            assert_eq!(code, documented(name), "{name}");
        }
    }

    /// The enums a client may switch on are listed from the proto, not by hand.
    #[test]
    fn status_and_challenge_names_come_from_the_proto() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let statuses = &schemas["SessionResult"]["properties"]["status"]["enum"];
        for status in ["CREATED", "IN_PROGRESS", "SUCCEEDED", "FAILED", "EXPIRED"] {
            assert!(
                statuses.as_array().unwrap().contains(&status.into()),
                "{status}"
            );
        }
        assert!(!statuses.to_string().contains("UNSPECIFIED"));
        let kinds = &schemas["SessionSettings"]["properties"]["challengeKinds"]["items"]["enum"];
        for kind in ["TURN_LEFT", "BLINK", "MOVE_CLOSER", "COME_CLOSER"] {
            assert!(kinds.as_array().unwrap().contains(&kind.into()), "{kind}");
        }
    }

    /// `server/openapi.json` is for readers who do not run the server; it must be what the
    /// server serves.
    #[test]
    fn the_checked_in_copy_is_the_served_document() {
        let copy = include_str!("../../openapi.json");
        assert!(
            copy == document(),
            "server/openapi.json is stale: write it again with \
             `cargo run -p livegate-server -- --openapi > server/openapi.json`"
        );
    }
}
