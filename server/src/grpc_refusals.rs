//! Our codes for the gRPC requests tonic refuses before any handler of ours runs.
//!
//! tonic decodes a unary request itself: a body that is not the method's protobuf message comes
//! back as INTERNAL ("failed to decode Protobuf message"), as if the server had failed, and one
//! over the message size limit as OUT_OF_RANGE, both without our `ErrorInfo`. Those answers are
//! the caller's mistakes, so this layer gives them the codes every other bad input gets:
//! INVALID_ARGUMENT (2012) and REQUEST_TOO_LARGE (2016), with their ErrorInfo. It looks only at
//! trailers-only answers (a unary refusal), so streams and successful calls pass untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::error::ApiError;

#[derive(Clone, Copy, Default)]
pub struct TonicRefusalsLayer;

impl<S> Layer<S> for TonicRefusalsLayer {
    type Service = TonicRefusals<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TonicRefusals { inner }
    }
}

#[derive(Clone)]
pub struct TonicRefusals<S> {
    inner: S,
}

/// tonic routes a gRPC service by its name: the wrapped service keeps it.
impl<S: tonic::server::NamedService> tonic::server::NamedService for TonicRefusals<S> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, B, R> Service<Request<B>> for TonicRefusals<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Response<R>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map(ours) })
    }
}

/// The answer with tonic's own refusal replaced by ours; any other answer as it is.
fn ours<R: Default>(response: Response<R>) -> Response<R> {
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let error = match status.code() {
        Code::Internal
            if status
                .message()
                .starts_with("failed to decode Protobuf message") =>
        {
            ApiError::InvalidArgument(format!(
                "the request is not this method's protobuf message ({})",
                status.message()
            ))
        }
        Code::OutOfRange
            if status
                .message()
                .contains("decoded message length too large") =>
        {
            ApiError::MessageTooLarge(limit_in(status.message()))
        }
        _ => return response,
    };
    Status::from(error).into_http()
}

/// The limit in tonic's "…, the limit is: N bytes" (0 if it is not there).
fn limit_in(message: &str) -> usize {
    message
        .rsplit_once("the limit is: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(response: &Response<String>) -> Option<(Code, String)> {
        Status::from_header_map(response.headers()).map(|s| (s.code(), s.message().to_string()))
    }

    #[test]
    fn tonic_refusals_become_ours_and_other_answers_stay() {
        let garbage = Status::internal("failed to decode Protobuf message: invalid wire type")
            .into_http::<String>();
        let (code, message) = code_of(&ours(garbage)).unwrap();
        assert_eq!(code, Code::InvalidArgument);
        assert!(
            message.contains("not this method's protobuf message"),
            "{message}"
        );

        let big = Status::out_of_range(
            "Error, decoded message length too large: found 10485760 bytes, the limit is: 16777216 bytes",
        )
        .into_http::<String>();
        let (code, message) = code_of(&ours(big)).unwrap();
        assert_eq!(code, Code::ResourceExhausted, "{message}");
        assert!(message.contains("16777216"), "{message}");

        // An INTERNAL of our own, and an answer that is not a refusal, pass as they are.
        let own = Status::internal("engine failed").into_http::<String>();
        assert_eq!(code_of(&ours(own)).unwrap().0, Code::Internal);
        let fine = Response::new(String::from("ok"));
        assert!(code_of(&ours(fine)).is_none());
    }
}
