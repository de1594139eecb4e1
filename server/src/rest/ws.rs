//! `GET /api/liveness/session/{id}/stream`: the `StreamSession` protocol over a WebSocket, for
//! browsers. Each binary frame carries one protobuf `StreamSessionRequest` (client → server) or
//! `StreamSessionResponse` (server → client), the same messages, engine, and limits as the gRPC
//! stream ([`crate::stream`]).
//!
//! Browsers cannot set headers on a WebSocket, so this route takes no API key: the `start`
//! message's one-time stream token is the credential, and its session id must be the one in the
//! URL. An error ends the socket with a text frame holding the REST error body
//! (`{errorCode, message, status, timestamp}`) and a close frame whose reason is the code's name
//! (1008 for the client's errors, 1011 for ours).
//!
//! Every end is a closing handshake (RFC 6455): after its close frame the server reads on,
//! dropping what the browser still had in flight, until the browser's close frame or
//! [`CLOSE_GRACE`]. Closing the connection on unread frames would reset it, and the browser could
//! lose the close frame and the error body before it, and tell "connection lost" instead.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument;

use crate::error::{self, ApiError};
use crate::metrics::metrics;
use crate::rest::SessionId;
use crate::state::AppState;
use crate::stream::{self, InboundError};

/// WebSocket: binary frames carry protobuf livegate.v1.StreamSessionRequest / StreamSessionResponse
///
/// No key: the start message's one-time stream token is the credential (a browser cannot set a
/// WebSocket's headers).
#[utoipa::path(
    get,
    path = "/api/liveness/session/{sessionId}/stream",
    tag = "liveness",
    operation_id = "streamSession",
    params(SessionId),
    security(),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, description = "Not a WebSocket upgrade", body = crate::error::ErrorBody),
    ),
)]
pub async fn stream(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    SessionId(session_id): SessionId,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    // A request that is no WebSocket handshake gets our error body, not axum's plain text.
    let ws = ws.map_err(|e| ApiError::InvalidArgument(e.body_text()))?;
    let max = state.config.max_stream_message_bytes();
    // The socket outlives this request's task: carry its span (and the caller's trace) along.
    let span = tracing::Span::current();
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(state, session_id, socket).instrument(span)))
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Longest the server waits for the browser's close frame after sending its own.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

async fn serve(state: AppState, session_id: String, socket: WebSocket) {
    let max = state.config.max_stream_message_bytes();
    let (mut sink, source) = socket.split();
    // Client frames become the same inbound stream a gRPC call gives the driver.
    let (to_driver, inbound) = mpsc::channel(4);
    let reader = tokio::spawn(read_client(source, session_id, to_driver, max));
    let mut inbound = ReceiverStream::new(inbound);
    let accepted = match stream::accept(&state, None, &mut inbound).await {
        Ok(accepted) => accepted,
        Err(e) => {
            metrics().error(e.code());
            close_with_error(&mut sink, e.code(), &e.to_string()).await;
            drop(inbound);
            closing_handshake(reader).await;
            return;
        }
    };
    tracing::info!(session = %accepted.session.id, device = %accepted.client.device, "WebSocket stream started");
    let (to_client, mut outbound) = mpsc::channel(16);
    stream::spawn(state, accepted, inbound, to_client);
    while let Some(message) = outbound.recv().await {
        match message {
            Ok(m) => {
                if sink
                    .send(Message::Binary(m.encode_to_vec().into()))
                    .await
                    .is_err()
                {
                    // The browser went away; dropping `outbound` ends the driver.
                    break;
                }
            }
            Err(e) => {
                // Counted by the driver.
                close_with_error(&mut sink, e.code(), &e.to_string()).await;
                closing_handshake(reader).await;
                return;
            }
        }
    }
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })))
        .await;
    closing_handshake(reader).await;
}

/// Reads the browser's messages into the driver's inbound channel until the socket closes; a
/// refused message is passed on as such, for the driver to close the stream with its code.
async fn read_client(
    mut source: futures_util::stream::SplitStream<WebSocket>,
    session_id: String,
    to_driver: mpsc::Sender<Result<pb::StreamSessionRequest, InboundError>>,
    max: usize,
) {
    let mut first = true;
    let mut to_driver = Some(to_driver);
    while let Some(message) = source.next().await {
        let item = match message {
            Ok(Message::Binary(bytes)) => decode(&bytes, first.then_some(&*session_id)),
            Ok(Message::Text(_)) => Err(InboundError::Refused(ApiError::Protocol(
                "text frames are not part of the protocol: send binary protobuf StreamSessionRequest messages".into(),
            ))),
            // The socket refuses a message over its limit before we see it.
            Err(e) if too_long(&e) => Err(InboundError::Refused(ApiError::MessageTooLarge(max))),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
        };
        first = false;
        let unreadable = matches!(
            &item,
            Err(InboundError::Refused(ApiError::MessageTooLarge(_)))
        );
        // Once the driver is done, frames still arriving are read and dropped (see the
        // module doc) until the browser's close frame.
        if let Some(tx) = &to_driver
            && tx.send(item).await.is_err()
        {
            to_driver = None;
        }
        // The socket cannot read past a message it refused. Holding the connection open
        // while the browser reads our close frame, rather than closing it on the unread
        // rest (a reset the browser would report as a lost connection), is all there is.
        if unreadable {
            tokio::time::sleep(CLOSE_GRACE).await;
            break;
        }
    }
}

/// Waits (up to [`CLOSE_GRACE`]) for `reader` to see the browser's close frame, after ours.
async fn closing_handshake(mut reader: JoinHandle<()>) {
    if tokio::time::timeout(CLOSE_GRACE, &mut reader)
        .await
        .is_err()
    {
        reader.abort();
    }
}

/// One client message; the first must name the session of the URL.
fn decode(
    bytes: &[u8],
    url_session: Option<&str>,
) -> Result<pb::StreamSessionRequest, InboundError> {
    let request = pb::StreamSessionRequest::decode(bytes).map_err(|e| {
        InboundError::Refused(ApiError::Protocol(format!(
            "not a protobuf StreamSessionRequest: {e}"
        )))
    })?;
    if let (Some(url), Some(In::Start(start))) = (url_session, &request.message)
        && start.session_id != url
    {
        // Claims go by the URL's session: a token for another session is simply not valid.
        return Err(InboundError::Refused(ApiError::InvalidStreamToken));
    }
    Ok(request)
}

/// Whether the socket's error is a message over its size limit (tungstenite's capacity error,
/// which axum passes on only as an opaque error with its message).
fn too_long(e: &axum::Error) -> bool {
    e.to_string().contains("Message too long")
}

async fn close_with_error(sink: &mut Sink, code: pb::ErrorCode, message: &str) {
    let _ = sink
        .send(Message::Text(error::error_body(code, message).into()))
        .await;
    let close = match code {
        // "Going away": the browser should start over, here or on another replica.
        pb::ErrorCode::ServerShuttingDown => 1001,
        _ if error::http_status(code).is_server_error() => 1011,
        _ => 1008,
    };
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: code.api_name().into(),
        })))
        .await;
}
