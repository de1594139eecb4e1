//! Bad input on the stream gets a clear status with our error code, and the session records why.

use livegate_testkit as support;
use livegate_testkit::start as start_server;

use std::time::Duration;

use livegate_cli::{connect, create_session, error_code};
use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use support::*;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

fn start(session: &pb::CreateSessionResponse) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Start(pb::StreamStart {
            session_id: session.session_id.clone(),
            stream_token: session.stream_token.clone(),
            client: None,
            attestation: None,
        })),
    }
}

fn frame(ts: i64, encoding: pb::FrameEncoding, data: Vec<u8>) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Frame(pb::Frame {
            timestamp_ms: ts,
            encoding: encoding as i32,
            data,
            ..Default::default()
        })),
    }
}

/// Sends `messages` on a fresh stream and returns the error status that ends it.
async fn stream_error(
    server: &TestServer,
    messages: Vec<pb::StreamSessionRequest>,
    session: Option<&pb::CreateSessionResponse>,
) -> tonic::Status {
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let (tx, rx) = mpsc::channel(8);
    for m in messages {
        tx.send(m).await.unwrap();
    }
    let result = client.stream_session(ReceiverStream::new(rx)).await;
    let status = match result {
        Err(status) => status,
        Ok(response) => {
            let mut inbound = response.into_inner();
            loop {
                match inbound.next().await {
                    Some(Ok(pb::StreamSessionResponse {
                        message: Some(Out::Verdict(v)),
                    })) => panic!("verdict instead of an error: {v:?}"),
                    Some(Ok(_)) => continue,
                    Some(Err(status)) => break status,
                    None => panic!("stream ended without an error"),
                }
            }
        }
    };
    drop(tx);
    if let Some(session) = session {
        let result = client
            .get_session_result(pb::GetSessionResultRequest {
                session_id: session.session_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            result.status,
            pb::SessionStatus::Failed as i32,
            "the session records the failure"
        );
        assert!(!result.is_live);
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_frame_ends_the_stream_with_invalid_frame() {
    let server = start_server(|_| {}).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let status = stream_error(
        &server,
        vec![
            start(&session),
            frame(
                0,
                pb::FrameEncoding::Jpeg,
                b"\xFF\xD8 this is no jpeg".to_vec(),
            ),
        ],
        Some(&session),
    )
    .await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::InvalidFrame as i32),
        "{status:?}"
    );

    let session = create_session(&mut client, 0).await.unwrap();
    let status = stream_error(
        &server,
        vec![
            start(&session),
            frame(0, pb::FrameEncoding::Rgb24, vec![0; 10]),
        ],
        Some(&session),
    )
    .await;
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::InvalidFrame as i32)
    );
    assert!(
        status.message().contains("raw frames need a width"),
        "{}",
        status.message()
    );

    // An encoding from a newer proto than the server's is named, not called "not set".
    let session = create_session(&mut client, 0).await.unwrap();
    let mut newer = frame(0, pb::FrameEncoding::Jpeg, vec![1, 2, 3]);
    if let Some(In::Frame(f)) = &mut newer.message {
        f.encoding = 99;
    }
    let status = stream_error(&server, vec![start(&session), newer], Some(&session)).await;
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::InvalidFrame as i32)
    );
    assert!(
        status.message().contains("frame encoding 99"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frame_is_refused() {
    let server = start_server(|c| c.max_frame_bytes = 1000).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let status = stream_error(
        &server,
        vec![
            start(&session),
            frame(0, pb::FrameEncoding::Jpeg, vec![0; 1500]),
        ],
        Some(&session),
    )
    .await;
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::FrameTooLarge as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_that_never_starts_times_out() {
    let server = start_server(|c| c.start_timeout = Duration::from_millis(300)).await;
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let (tx, rx) = mpsc::channel::<pb::StreamSessionRequest>(1);
    let status = client
        .stream_session(ReceiverStream::new(rx))
        .await
        .unwrap_err();
    drop(tx);
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::StartTimeout as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_before_start_is_a_protocol_violation() {
    let server = start_server(|_| {}).await;
    let status = stream_error(
        &server,
        vec![frame(0, pb::FrameEncoding::Jpeg, vec![1, 2, 3])],
        None,
    )
    .await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::StreamProtocolViolation as i32)
    );

    // A message with nothing in it is not mistaken for a second `start`.
    let mut client = connect(&server.grpc_url, None).await.unwrap();
    let session = create_session(&mut client, 0).await.unwrap();
    let empty = pb::StreamSessionRequest { message: None };
    let status = stream_error(&server, vec![start(&session), empty], Some(&session)).await;
    assert_eq!(
        error_code(&status),
        Some(pb::ErrorCode::StreamProtocolViolation as i32)
    );
    assert!(
        status
            .message()
            .contains("none of `start`, `frame` or `light_shown`"),
        "{}",
        status.message()
    );
}
