//! Logs and traces: one `tracing` subscriber for the process, with an OpenTelemetry layer that
//! exports spans over OTLP/gRPC when `--otlp-endpoint` is set.
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

/// Installs the process's subscriber: logs to stderr filtered by `LIVEGATE_LOG` (default
/// `info`), and, with an `otlp_endpoint`, spans exported to it as `service_name`. Must run
/// inside the Tokio runtime (the exporter is a task on it).
pub fn init(
    otlp_endpoint: Option<&str>,
    service_name: &str,
) -> Result<Telemetry, Box<dyn std::error::Error + Send + Sync>> {
    let filter = EnvFilter::try_from_env("LIVEGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer();
    let Some(endpoint) = otlp_endpoint else {
        tracing_subscriber::registry()
            .with(filter)
            .with(logs)
            .try_init()?;
        return Ok(Telemetry { provider: None });
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_string())
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
