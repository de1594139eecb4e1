//! Every error a caller can see, and the one place that maps it to a public error code and a
//! gRPC status. Each status carries a `google.rpc.ErrorInfo` detail (reason = the code's name,
//! metadata `errorCode` = its number) so gRPC and REST callers get the same codes.

use livegate_proto::v1::ErrorCode;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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
            ApiError::InvalidFrame(_) => ErrorCode::InvalidFrame,
            ApiError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            ApiError::TooManyFrames(_) => ErrorCode::TooManyFrames,
            ApiError::ResultNotReady(_) => ErrorCode::ResultNotReady,
            ApiError::AlreadyVerified => ErrorCode::ResultAlreadyVerified,
            ApiError::ConfidenceTooLow { .. } => ErrorCode::ConfidenceTooLow,
            ApiError::InvalidArgument(_) => ErrorCode::InvalidArgument,
            ApiError::Service(_) => ErrorCode::LivenessServiceError,
        }
    }

    pub fn grpc_code(&self) -> Code {
        match self.code() {
            ErrorCode::SessionNotFound => Code::NotFound,
            ErrorCode::InvalidStreamToken => Code::PermissionDenied,
            ErrorCode::StreamProtocolViolation
            | ErrorCode::InvalidFrame
            | ErrorCode::InvalidArgument => Code::InvalidArgument,
            ErrorCode::StartTimeout | ErrorCode::StreamDurationExceeded => Code::DeadlineExceeded,
            ErrorCode::FrameTooLarge | ErrorCode::FrameRateExceeded | ErrorCode::TooManyFrames => {
                Code::ResourceExhausted
            }
            ErrorCode::LivenessServiceError => Code::Unavailable,
            ErrorCode::SessionCreationFailed
            | ErrorCode::FaceMatchFailed
            | ErrorCode::Unspecified => Code::Internal,
            ErrorCode::SessionExpired
            | ErrorCode::SessionAlreadyStreamed
            | ErrorCode::ResultNotReady
            | ErrorCode::ResultAlreadyVerified
            | ErrorCode::ConfidenceTooLow
            | ErrorCode::SimilarityTooLow => Code::FailedPrecondition,
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let code = e.code();
        let details = ErrorDetails::with_error_info(
            code.as_str_name(),
            ERROR_DOMAIN,
            [("errorCode".to_string(), (code as i32).to_string())],
        );
        Status::with_error_details(e.grpc_code(), e.to_string(), details)
    }
}

impl From<livegate_engine::EngineError> for ApiError {
    fn from(e: livegate_engine::EngineError) -> Self {
        match e {
            livegate_engine::EngineError::InvalidFrame(msg) => {
                ApiError::InvalidFrame(format!("invalid frame: {msg}"))
            }
            other => ApiError::Service(other.to_string()),
        }
    }
}
