//! The one tower layer behind every cross-cutting check on requests (API keys, request limits):
//! a [`Gate`] looks at a request and admits it (possibly annotating it, say with the caller's
//! tenant) or refuses it with an [`ApiError`], which the layer answers itself in the transport's
//! own error shape ([`Rejection`]). The same gate serves gRPC and REST.
//!
//! A check may wait (the rate limit asks Redis when replicas share it), so admission is a future;
//! the request reaches the inner service only once it is admitted.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::error::{ApiError, Rejection};

/// A check on requests.
pub trait Gate: Clone + Send + Sync + 'static {
    /// Admits `request`, or says why not.
    fn admit<B: Send>(
        &self,
        request: &mut Request<B>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// Puts `G` in front of a service, refusing in the shape of protocol `P`.
pub struct GateLayer<G, P> {
    gate: G,
    protocol: PhantomData<fn() -> P>,
}

impl<G, P> GateLayer<G, P> {
    pub fn new(gate: G) -> Self {
        GateLayer {
            gate,
            protocol: PhantomData,
        }
    }
}

impl<G: Clone, P> Clone for GateLayer<G, P> {
    fn clone(&self) -> Self {
        GateLayer::new(self.gate.clone())
    }
}

impl<S, G: Clone, P> Layer<S> for GateLayer<G, P> {
    type Service = Gated<S, G, P>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            inner,
            layer: self.clone(),
        }
    }
}

pub struct Gated<S, G, P> {
    inner: S,
    layer: GateLayer<G, P>,
}

impl<S: Clone, G: Clone, P> Clone for Gated<S, G, P> {
    fn clone(&self) -> Self {
        Gated {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

impl<S, G, P, B, R> Service<Request<B>> for Gated<S, G, P>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    G: Gate,
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let gate = self.layer.gate.clone();
        // The service that was polled ready goes into the future; a clone stays for the next
        // call (tower's usual move for a middleware that awaits before calling).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            match gate.admit(&mut request).await {
                Ok(()) => inner.call(request).await,
                Err(e) => Ok(P::reject(e)),
            }
        })
    }
}

/// A gated gRPC service keeps its name, so it is routed as the service it guards.
impl<S: tonic::server::NamedService, G, P> tonic::server::NamedService for Gated<S, G, P> {
    const NAME: &'static str = S::NAME;
}
