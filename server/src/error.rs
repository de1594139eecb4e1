//! Every error a caller can see, and the one place that maps it to a public error code, a gRPC
//! status and an HTTP status. Each gRPC status carries a `google.rpc.ErrorInfo` detail (reason =
//! the code's name, metadata `errorCode` = its number); REST answers
//! `{errorCode, message, status, timestamp}` as the seed API does. Both carry the same codes.

use std::time::SystemTime;

use axum::response::IntoResponse;
use http::StatusCode;

use livegate_proto::v1::ErrorCode;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::metrics::metrics;

/// The domain of our ErrorInfo details.
pub const ERROR_DOMAIN: &str = "livegate.v1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("liveness session not found")]
    SessionNotFound,
    #[error("liveness session expired")]
    SessionExpired,
    #[error("this session has already been streamed; create a new session for another attempt")]
    SessionAlreadyStreamed,
    #[error("stream token is not valid for this session")]
    InvalidStreamToken,
    #[error("stream protocol violation: {0}")]
    Protocol(String),
    #[error("no start message within {0} ms")]
    StartTimeout(u64),
    #[error("{0}")]
    InvalidFrame(String),
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: u32 },
    #[error("stream exceeded {0} frames")]
    TooManyFrames(u32),
    #[error("frames arrive faster than {0} per second, twice the limit of the stream")]
    FrameRateExceeded(u32),
    #[error("stream lasted longer than {0} s")]
    StreamDurationExceeded(u64),
    #[error("no frame for {0} ms")]
    StreamIdle(u64),
    #[error("the session has no result yet (status {0})")]
    ResultNotReady(&'static str),
    #[error("the session's result has already been verified")]
    AlreadyVerified,
    #[error("Liveness confidence {confidence:.2}% is below required threshold {threshold:.2}%")]
    ConfidenceTooLow { confidence: f32, threshold: f32 },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("liveness service error: {0}")]
    Service(String),
    #[error("the server is shutting down; start a new session")]
    ShuttingDown,
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// `what`: the calls limited, e.g. "sessions created" or "identity checks".
    #[error("too many {what} with this API key; retry in {retry_after_s} s")]
    RateLimited {
        what: &'static str,
        retry_after_s: u64,
    },
    #[error("request larger than the limit of {0} bytes")]
    MessageTooLarge(usize),
    /// Too many requests of a costly kind in flight (identity checks): retry shortly.
    #[error("the server is busy with other requests of this kind; retry in {retry_after_s} s")]
    Busy { retry_after_s: u64 },
    /// A picture to match cannot be read or shows no face.
    #[error("Face matching failed: {0}")]
    FaceMatchFailed(String),
    #[error(
        "this session requires the light step, and the client did not declare that it can show colours (can_show_colour)"
    )]
    LightStepUnsupported,
    #[error(
        "this deployment requires client attestation, and the stream's `start` carried none (attestation)"
    )]
    AttestationRequired,
    #[error("Face similarity {similarity:.2} is below required threshold {threshold:.2}")]
    SimilarityTooLow { similarity: f32, threshold: f32 },
    /// A REST path that is not part of the API.
    #[error("no endpoint {method} {path}")]
    UnknownEndpoint { method: String, path: String },
    /// A REST path of the API asked with a method it does not take.
    #[error("{path} does not take {method}")]
    MethodNotAllowed { method: String, path: String },
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::SessionNotFound => ErrorCode::SessionNotFound,
            ApiError::SessionExpired => ErrorCode::SessionExpired,
            ApiError::SessionAlreadyStreamed => ErrorCode::SessionAlreadyStreamed,
            ApiError::InvalidStreamToken => ErrorCode::InvalidStreamToken,
            ApiError::Protocol(_) => ErrorCode::StreamProtocolViolation,
            ApiError::StartTimeout(_) => ErrorCode::StartTimeout,
            ApiError::StreamIdle(_) => ErrorCode::StreamIdle,
            ApiError::Busy { .. } => ErrorCode::LivenessServiceError,
            ApiError::InvalidFrame(_) => ErrorCode::InvalidFrame,
            ApiError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            ApiError::TooManyFrames(_) => ErrorCode::TooManyFrames,
            ApiError::FrameRateExceeded(_) => ErrorCode::FrameRateExceeded,
            ApiError::StreamDurationExceeded(_) => ErrorCode::StreamDurationExceeded,
            ApiError::ResultNotReady(_) => ErrorCode::ResultNotReady,
            ApiError::AlreadyVerified => ErrorCode::ResultAlreadyVerified,
            ApiError::ConfidenceTooLow { .. } => ErrorCode::ConfidenceTooLow,
            ApiError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ApiError::Service(_) => ErrorCode::LivenessServiceError,
            ApiError::ShuttingDown => ErrorCode::ServerShuttingDown,
            ApiError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::MessageTooLarge(_) => ErrorCode::MessageTooLarge,
            ApiError::FaceMatchFailed(_) => ErrorCode::FaceMatchFailed,
            ApiError::SimilarityTooLow { .. } => ErrorCode::SimilarityTooLow,
            ApiError::LightStepUnsupported => ErrorCode::LightStepUnsupported,
            ApiError::AttestationRequired => ErrorCode::AttestationRequired,
            ApiError::UnknownEndpoint { .. } => ErrorCode::UnknownEndpoint,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
        }
    }

    /// The HTTP status of the REST answer: the seed's for its codes (1006–1011, 5001).
    /// The code's HTTP status, except for a busy server: 429, with `Retry-After`, so clients
    /// and proxies back off rather than count the replica as down.
    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            _ => http_status(self.code()),
        }
    }

    /// The REST error body, `{errorCode, message, status, timestamp}`.
    pub fn json_body(&self) -> String {
        body_with_status(self.code(), &self.to_string(), self.http_status())
    }

    pub fn grpc_code(&self) -> Code {
        match self.code() {
            ErrorCode::SessionNotFound => Code::NotFound,
            ErrorCode::InvalidStreamToken => Code::PermissionDenied,
            ErrorCode::StreamProtocolViolation
            | ErrorCode::InvalidFrame
            | ErrorCode::InvalidArgument
            // The caller's pictures: unreadable, or no face in them. (REST keeps the seed's 500.)
            | ErrorCode::FaceMatchFailed => Code::InvalidArgument,
            ErrorCode::StartTimeout | ErrorCode::StreamDurationExceeded | ErrorCode::StreamIdle => {
                Code::DeadlineExceeded
            }
            ErrorCode::FrameTooLarge
            | ErrorCode::FrameRateExceeded
            | ErrorCode::TooManyFrames
            | ErrorCode::MessageTooLarge => Code::ResourceExhausted,
            ErrorCode::LivenessServiceError | ErrorCode::ServerShuttingDown => Code::Unavailable,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::RateLimited => Code::ResourceExhausted,
            ErrorCode::NotAvailable
            | ErrorCode::UnknownEndpoint
            | ErrorCode::MethodNotAllowed => Code::Unimplemented,
            ErrorCode::SessionCreationFailed | ErrorCode::Unspecified => Code::Internal,
            ErrorCode::SessionExpired
            | ErrorCode::SessionAlreadyStreamed
            | ErrorCode::ResultNotReady
            | ErrorCode::ResultAlreadyVerified
            | ErrorCode::ConfidenceTooLow
            | ErrorCode::SimilarityTooLow
            | ErrorCode::LightStepUnsupported
            | ErrorCode::AttestationRequired => Code::FailedPrecondition,
        }
    }
}

/// A handler's error as the call's status, counted in the error metric.
impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        metrics().error(e.code());
        status_of(&e)
    }
}

/// `e` as a gRPC status with our ErrorInfo, not counted: for an error already counted where it
/// arose (a stream's end, counted by the driver whether or not its client is still there).
pub fn status_of(e: &ApiError) -> Status {
    let code = e.code();
    let details = ErrorDetails::with_error_info(
        code.api_name(),
        ERROR_DOMAIN,
        [("errorCode".to_string(), (code as i32).to_string())],
    );
    Status::with_error_details(e.grpc_code(), e.to_string(), details)
}

/// The HTTP status for a code: the seed's for its codes (1006–1011, 5001).
pub fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::SessionCreationFailed | ErrorCode::FaceMatchFailed => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        ErrorCode::SessionExpired
        | ErrorCode::StreamProtocolViolation
        | ErrorCode::InvalidFrame
        | ErrorCode::InvalidArgument
        | ErrorCode::LightStepUnsupported
        | ErrorCode::AttestationRequired => StatusCode::BAD_REQUEST,
        ErrorCode::SessionNotFound | ErrorCode::UnknownEndpoint => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::ConfidenceTooLow | ErrorCode::SimilarityTooLow => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ErrorCode::LivenessServiceError | ErrorCode::ServerShuttingDown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidStreamToken => StatusCode::FORBIDDEN,
        ErrorCode::SessionAlreadyStreamed
        | ErrorCode::ResultNotReady
        | ErrorCode::ResultAlreadyVerified => StatusCode::CONFLICT,
        ErrorCode::StartTimeout | ErrorCode::StreamDurationExceeded | ErrorCode::StreamIdle => {
            StatusCode::REQUEST_TIMEOUT
        }
        ErrorCode::FrameTooLarge | ErrorCode::MessageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::FrameRateExceeded | ErrorCode::TooManyFrames | ErrorCode::RateLimited => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ErrorCode::NotAvailable => StatusCode::NOT_IMPLEMENTED,
        ErrorCode::Unspecified => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The REST error body for `code`, `{errorCode, message, status, timestamp}`.
pub fn error_body(code: ErrorCode, message: &str) -> String {
    body_with_status(code, message, http_status(code))
}

fn body_with_status(code: ErrorCode, message: &str, status: StatusCode) -> String {
    let body = ErrorBody {
        error_code: code as i32,
        message: message.to_string(),
        status: status.as_u16(),
        timestamp: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// Our error code in a status built by [`From<ApiError>`], UNSPECIFIED for any other status (what
/// a gRPC client reads back out of an error).
pub fn code_of(status: &Status) -> ErrorCode {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("errorCode")?.parse::<i32>().ok())
        .and_then(|n| ErrorCode::try_from(n).ok())
        .unwrap_or(ErrorCode::Unspecified)
}

#[derive(serde::Serialize, serde::Deserialize, Debug, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub struct ErrorBody {
    /// Our code: the seed's 1006-1011 and 5001, 2001-2020 for stream, key and limit rules and
    /// unknown endpoints.
    pub error_code: i32,
    pub message: String,
    /// The HTTP status, repeated.
    pub status: u16,
    #[schema(format = DateTime)]
    pub timestamp: String,
}

/// An error with our code (seed codes 1006-1011 and 5001 with the seed's HTTP statuses;
/// 2001-2020 for stream, key and limit rules and unknown endpoints)
#[derive(utoipa::ToResponse)]
pub struct ErrorResponse(#[allow(dead_code)] ErrorBody);

impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        metrics().error(self.code());
        let mut response = (
            self.http_status(),
            [(http::header::CONTENT_TYPE, "application/json")],
            self.json_body(),
        )
            .into_response();
        if let ApiError::RateLimited { retry_after_s, .. } | ApiError::Busy { retry_after_s } = self
        {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, retry_after_s.into());
        }
        response
    }
}

/// gRPC callers refused by a layer get a status, as from a handler.
pub struct GrpcRejection;

/// How a transport answers a request that a gate refuses.
pub trait Rejection<B> {
    fn reject(error: ApiError) -> http::Response<B>;
}

impl Rejection<tonic::body::Body> for GrpcRejection {
    fn reject(error: ApiError) -> http::Response<tonic::body::Body> {
        Status::from(error).into_http()
    }
}

/// REST callers refused by a layer get the JSON error body.
pub struct JsonRejection;

impl Rejection<axum::body::Body> for JsonRejection {
    fn reject(error: ApiError) -> http::Response<axum::body::Body> {
        error.into_response()
    }
}

impl From<livegate_identity::IdentityError> for ApiError {
    fn from(e: livegate_identity::IdentityError) -> Self {
        use livegate_identity::IdentityError;
        match e {
            IdentityError::UnusablePicture(why) => ApiError::FaceMatchFailed(why),
            unreadable @ IdentityError::UnreadableDocument { .. } => {
                ApiError::InvalidArgument(unreadable.to_string())
            }
            IdentityError::Engine(e) => e.into(),
        }
    }
}

impl From<livegate_engine::EngineError> for ApiError {
    fn from(e: livegate_engine::EngineError) -> Self {
        match e {
            livegate_engine::EngineError::InvalidFrame(msg) => {
                ApiError::InvalidFrame(format!("invalid frame: {msg}"))
            }
            // The detail (OpenCV's or tract's message, with their source paths) is for the
            // operator's log; the caller learns that the service failed, not how.
            other => {
                tracing::error!(error = %other, "engine failure");
                ApiError::Service("the engine could not analyse this request".into())
            }
        }
    }
}
