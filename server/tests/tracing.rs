//! Traces reach a real OTLP receiver (a tonic server implementing the OpenTelemetry collector's
//! trace service, inside this test), under the trace id the caller sent. The subscriber is the
//! process's, so this binary holds one test.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use support::{curl, grpc, jpeg_frame, start, start_message};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};

struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn with_trace<T>(message: T, traceparent: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
}

fn attributes(span: &Span) -> HashMap<String, String> {
    span.attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Value::IntValue(i)) => i.to_string(),
                Some(Value::StringValue(s)) => s.clone(),
                Some(Value::DoubleValue(d)) => d.to_string(),
                Some(Value::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_reach_an_otlp_receiver_under_the_callers_trace() {
    let (to_test, mut exported) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(to_test)))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    let telemetry = livegate_server::telemetry::init(
        Some(&format!("http://{receiver}")),
        Some("livegate-test"),
    )
    .unwrap();
    let server = start(|c| c.step_time_limit = Duration::from_secs(1)).await;

    // A gRPC caller with its own trace: create a session, stream a still photo to its verdict.
    let grpc_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{grpc_trace}-{caller_span}-01");
    let mut client = grpc(&server).await;
    let created = client
        .create_session(with_trace(
            pb::CreateSessionRequest::default(),
            &traceparent,
        ))
        .await
        .unwrap()
        .into_inner();
    let (tx, rx) = mpsc::channel(64);
    tx.send(start_message(&created.session_id, &created.stream_token))
        .await
        .unwrap();
    tx.send(jpeg_frame(0)).await.unwrap();
    let mut responses = client
        .stream_session(with_trace(ReceiverStream::new(rx), &traceparent))
        .await
        .unwrap()
        .into_inner();
    support::still_until_verdict(&tx, &mut responses, 0).await;

    // A REST caller with another trace.
    let rest_trace = "0af7651916cd43dd8448eb211c80319c";
    let created = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("traceparent: 00-{rest_trace}-b7ad6b7169203331-01"),
        &format!("{}/api/liveness/session", server.rest_url),
    ]);
    assert_eq!(created.status, 200);

    // Collect what the receiver got until every expected span is there.
    telemetry.flush();
    let mut spans: Vec<Span> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let complete = |spans: &[Span]| {
        let named = |name: &str, trace: &str| {
            spans
                .iter()
                .filter(|s| s.name == name && hex(&s.trace_id) == trace)
                .count()
        };
        named("grpc", grpc_trace) >= 2
            && named("stream", grpc_trace) == 1
            && named("frame", grpc_trace) >= 5
            && named("http", rest_trace) == 1
    };
    while !complete(&spans) && Instant::now() < deadline {
        telemetry.flush();
        if let Ok(Some(request)) =
            tokio::time::timeout(Duration::from_millis(500), exported.recv()).await
        {
            for resource in request.resource_spans {
                for scope in resource.scope_spans {
                    spans.extend(scope.spans);
                }
            }
        }
    }
    let summary: Vec<(String, String)> = spans
        .iter()
        .map(|s| (s.name.clone(), hex(&s.trace_id)))
        .collect();
    assert!(complete(&spans), "spans received: {summary:?}");

    // The calls' spans are children of the caller's span; a frame carries its stage timings.
    let call = spans
        .iter()
        .find(|s| s.name == "grpc" && hex(&s.trace_id) == grpc_trace)
        .unwrap();
    assert_eq!(hex(&call.parent_span_id), caller_span);
    assert!(
        attributes(call)["path"].starts_with("/livegate.v1.Liveness/"),
        "{:?}",
        attributes(call)
    );
    let frame = spans
        .iter()
        .find(|s| s.name == "frame" && hex(&s.trace_id) == grpc_trace)
        .unwrap();
    let stream = spans.iter().find(|s| s.name == "stream").unwrap();
    assert_eq!(
        frame.parent_span_id, stream.span_id,
        "frames nest in their stream"
    );
    let timings = attributes(frame);
    for stage in [
        "decode_us",
        "detect_us",
        "landmarks_us",
        "pose_us",
        "quality_us",
        "total_us",
    ] {
        assert!(
            timings.get(stage).is_some_and(|v| v.parse::<u64>().is_ok()),
            "{stage} in {timings:?}"
        );
    }
    assert!(timings["total_us"].parse::<u64>().unwrap() > 0);
    assert_eq!(timings["faces"], "1");
    let token = created.json["streamToken"].as_str().unwrap();
    assert!(
        !spans
            .iter()
            .flat_map(|s| attributes(s).into_values())
            .any(|v| v.contains(token)),
        "no stream token in any span"
    );
}
