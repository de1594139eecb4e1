//! A cap on costly requests in flight, as a tower layer in front of the routes it guards (the
//! identity checks: compare-faces and KYC, on both transports).
//!
//! An identity request carries pictures of up to `max_request_bytes` each and then waits for an
//! engine slot. Without a cap, a hundred at once meant a hundred bodies buffered and waiting
//! (1.5 GB measured). With it, a request beyond the cap is refused at once, before its body is
//! read: 5001 with REST status 429 and `Retry-After` (gRPC `UNAVAILABLE`, which clients retry).
//! The slot is held until the answer is ready.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::error::Rejection;

/// What a refused caller is told to wait, seconds: an identity check takes a fraction of one.
const RETRY_AFTER_S: u64 = 1;

/// At most `slots` requests in the guarded services at once, shared by every service the
/// layer wraps; refusals in the shape of protocol `P`.
pub struct InFlightLayer<P> {
    slots: Arc<Semaphore>,
    protocol: PhantomData<fn() -> P>,
}

impl<P> InFlightLayer<P> {
    pub fn new(slots: Arc<Semaphore>) -> Self {
        InFlightLayer {
            slots,
            protocol: PhantomData,
        }
    }
}

impl<P> Clone for InFlightLayer<P> {
    fn clone(&self) -> Self {
        InFlightLayer::new(self.slots.clone())
    }
}

impl<S, P> Layer<S> for InFlightLayer<P> {
    type Service = InFlight<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlight {
            inner,
            layer: self.clone(),
        }
    }
}

pub struct InFlight<S, P> {
    inner: S,
    layer: InFlightLayer<P>,
}

impl<S: Clone, P> Clone for InFlight<S, P> {
    fn clone(&self) -> Self {
        InFlight {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

/// tonic routes a gRPC service by its name: the guarded service keeps it.
impl<S: tonic::server::NamedService, P> tonic::server::NamedService for InFlight<S, P> {
    const NAME: &'static str = S::NAME;
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, P, B, R> Service<Request<B>> for InFlight<S, P>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    P: Rejection<R>,
    B: Send + 'static,
    R: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Response<R>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Ok(slot) = self.layer.slots.clone().try_acquire_owned() else {
            let busy = ApiError::Busy {
                retry_after_s: RETRY_AFTER_S,
            };
            return Box::pin(async move { Ok(P::reject(busy)) });
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await;
            drop(slot);
            response
        })
    }
}
