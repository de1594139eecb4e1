//! Logs and traces: one `tracing` subscriber for the process, with an OpenTelemetry layer that
//! exports spans over OTLP/gRPC when an endpoint is configured: `--otlp-endpoint`
//! (`LIVEGATE_OTLP_ENDPOINT`), or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_ENDPOINT`. The other standard variables are honoured too:
//! `OTEL_SERVICE_NAME` (unless `--service-name` is given), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_EXPORTER_OTLP_HEADERS` and `_TIMEOUT` (read by the exporter), and `OTEL_SDK_DISABLED=true`
//! or `OTEL_TRACES_EXPORTER=none`, which turn the export off.
//!
//! Spans, documented for operators:
//! - `grpc` (every gRPC call: `path`) and `http` (every REST/WebSocket request: `method`,
//!   `path`). Their parent is the caller's W3C trace context (`traceparent` / `tracestate`, in
//!   gRPC metadata or HTTP headers) when it sends one, so our spans join the caller's trace.
//! - `stream` (one per stream: `session`), inside its call's span.
//! - `frame` (one per analysed frame, inside `stream`): `timestamp_ms`, `faces`, `hint`, and the
//!   engine's stage times in microseconds (`decode_us`, `detect_us`, `landmarks_us`, `pose_us`,
//!   `eyes_us`, `quality_us`, `identity_us`, `parallax_us`, `light_us`, `outline_us`, `verdict_us`,
//!   `total_us`; see `livegate_engine::StageTimings`).
//!
//! Images and tokens never go into a span.

use http::HeaderMap;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the exporter running; dropping it (or [`Telemetry::shutdown`]) flushes the spans still
/// buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans buffered so far now.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }

    /// Flushes and stops the exporter now (as dropping it does).
    pub fn shutdown(self) {}
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Where spans go, decided from our flags and the standard `OTEL_*` environment.
#[derive(Debug, PartialEq, Eq)]
enum TraceExport {
    Off,
    Otlp {
        /// Our flag's endpoint; None lets the exporter read the `OTEL_EXPORTER_OTLP_*` ones.
        endpoint: Option<String>,
        service_name: String,
    },
}

/// Name of the exported service when neither `--service-name` nor `OTEL_SERVICE_NAME` says.
const DEFAULT_SERVICE_NAME: &str = "livegate";

fn trace_export(
    endpoint: Option<&str>,
    service_name: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> TraceExport {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let is =
        |name: &str, value: &str| set(name).is_some_and(|v| v.trim().eq_ignore_ascii_case(value));
    if is("OTEL_SDK_DISABLED", "true") || is("OTEL_TRACES_EXPORTER", "none") {
        return TraceExport::Off;
    }
    let endpoint = endpoint.filter(|e| !e.is_empty()).map(str::to_string);
    let from_env = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    if endpoint.is_none() && !from_env {
        return TraceExport::Off;
    }
    TraceExport::Otlp {
        endpoint,
        service_name: service_name
            .map(str::to_string)
            .or_else(|| set("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string()),
    }
}

/// Installs the process's subscriber: logs to stderr filtered by `LIVEGATE_LOG` (default
/// `info`), and spans exported over OTLP when an endpoint is configured (see the module doc;
/// `otlp_endpoint` and `service_name` are our flags). Must run inside the Tokio runtime (the
/// exporter is a task on it).
pub fn init(
    otlp_endpoint: Option<&str>,
    service_name: Option<&str>,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    let filter = EnvFilter::try_from_env("LIVEGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer();
    let TraceExport::Otlp {
        endpoint,
        service_name,
    } = trace_export(otlp_endpoint, service_name, |name| std::env::var(name).ok())
    else {
        tracing_subscriber::registry()
            .with(filter)
            .with(logs)
            .try_init()?;
        return Ok(Telemetry { provider: None });
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic();
    if let Some(endpoint) = endpoint {
        exporter = exporter.with_endpoint(endpoint);
    }
    let exporter = exporter.build()?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name)
                .build(),
        )
        .build();
    let tracer = provider.tracer("livegate");
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()?;
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// Makes the caller's W3C trace context, if its headers carry one, the parent of `span`.
pub fn adopt_caller_trace(span: &tracing::Span, headers: &HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(headers))
    });
    // Without an OpenTelemetry layer (no endpoint configured) there is nothing to parent.
    let _ = span.set_parent(parent);
}

/// HTTP headers (and gRPC metadata, which travels as HTTP/2 headers) as a propagation carrier.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_standard_otel_environment_turns_export_on_and_names_the_service() {
        assert_eq!(trace_export(None, None, env(&[])), TraceExport::Off);
        assert_eq!(
            trace_export(
                None,
                None,
                env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")])
            ),
            TraceExport::Otlp {
                endpoint: None,
                service_name: "livegate".into()
            },
            "the exporter reads the endpoint itself"
        );
        assert_eq!(
            trace_export(
                None,
                None,
                env(&[
                    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317"),
                    ("OTEL_SERVICE_NAME", "kyc-liveness"),
                ])
            ),
            TraceExport::Otlp {
                endpoint: None,
                service_name: "kyc-liveness".into()
            }
        );
        // Our flags win over the environment.
        assert_eq!(
            trace_export(
                Some("http://ours:4317"),
                Some("ours"),
                env(&[("OTEL_SERVICE_NAME", "theirs")])
            ),
            TraceExport::Otlp {
                endpoint: Some("http://ours:4317".into()),
                service_name: "ours".into()
            }
        );
    }

    #[test]
    fn otel_sdk_disabled_or_no_traces_exporter_turns_export_off() {
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                trace_export(
                    Some("http://ours:4317"),
                    None,
                    env(&[off, ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")])
                ),
                TraceExport::Off,
                "{off:?}"
            );
        }
        assert_ne!(
            trace_export(
                Some("http://ours:4317"),
                None,
                env(&[("OTEL_SDK_DISABLED", "false")])
            ),
            TraceExport::Off
        );
    }
}
