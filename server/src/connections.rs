//! Admission of TCP connections, once for every listener (gRPC, REST, metrics): how many may be
//! open, how many from one peer address, and how long a new one may take to say what it wants.
//!
//! A peer that opens connections and trickles a byte now and then (a slowloris) holds a socket
//! and a file descriptor each for as long as the server lets it. Three bounds stop that:
//! - **A cap on open connections**, in all ([`ConnectionLimits::max_open`], kept below the usual
//!   1,024 open-file limit so the process never runs out) and per peer address
//!   ([`ConnectionLimits::max_per_peer`], so one peer cannot take them all). A connection over
//!   either is closed at once, before any byte is read: refused fast, nothing held.
//! - **A handshake deadline** ([`ConnectionLimits::handshake_timeout`]): a new connection must
//!   open its first request (an HTTP/1 request line, the HTTP/2 preface) within it
//!   ([`Admitted`]), and on REST an HTTP/1 request's headers must all arrive within it (hyper's
//!   header-read timeout, which also closes a kept-alive connection that stays silent that long).
//! - **HTTP/2 keep-alive pings**: a peer that stops answering them is dropped
//!   ([`KEEPALIVE_INTERVAL`], [`KEEPALIVE_TIMEOUT`]).
//!
//! Accept errors (out of file descriptors: EMFILE, ENFILE) are not retried in a tight loop: the
//! accept loop backs off from [`ACCEPT_BACKOFF_MIN`] to [`ACCEPT_BACKOFF_MAX`], so a full table
//! does not also cost a core.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// HTTP/2 connections are pinged this often when quiet...
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// ...and dropped when a ping is not answered within this.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// First wait after a failed accept; doubles up to [`ACCEPT_BACKOFF_MAX`].
pub const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Bytes every HTTP client sends before anything can be served: an HTTP/1 request line
/// (`GET / HTTP/1.1\r\n`) or the HTTP/2 connection preface (24 bytes) is at least this long.
const OPENING_BYTES: usize = 16;

/// The bounds, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_open: usize,
    pub max_per_peer: usize,
    pub handshake_timeout: Duration,
}

/// Counts open connections; shared by every listener.
#[derive(Debug)]
pub struct Admission {
    limits: ConnectionLimits,
    open: Arc<Semaphore>,
    per_peer: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Admission {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Admission {
            limits,
            open: Arc::new(Semaphore::new(limits.max_open)),
            per_peer: Arc::default(),
        })
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// The next connection on `listener` that is within the bounds. Connections over them are
    /// closed as they come; accept errors are backed off.
    pub async fn accept(&self, listener: &TcpListener) -> (Admitted, SocketAddr) {
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    accepted
                }
                Err(e) => {
                    tracing::warn!(retry_in = ?backoff, "accept failed: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            };
            match self.admit(tcp, peer) {
                Some(admitted) => return (admitted, peer),
                None => crate::metrics::metrics().connection_refused(),
            }
        }
    }

    /// `tcp` within the bounds, or `None` (and `tcp` closed) over them.
    fn admit(&self, tcp: TcpStream, peer: SocketAddr) -> Option<Admitted> {
        let Ok(permit) = self.open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: too many open");
            return None;
        };
        let ip = peer.ip();
        {
            let mut per_peer = self
                .per_peer
                .lock()
                .expect("per-peer counts are never poisoned");
            let count = per_peer.entry(ip).or_insert(0);
            if *count >= self.limits.max_per_peer {
                tracing::debug!(%peer, "connection refused: too many open from this address");
                return None;
            }
            *count += 1;
        }
        let _ = tcp.set_nodelay(true);
        Some(Admitted {
            tcp,
            _slot: Slot {
                _permit: permit,
                ip,
                per_peer: self.per_peer.clone(),
            },
            opening: Some((
                OPENING_BYTES,
                Box::pin(tokio::time::sleep(self.limits.handshake_timeout)),
            )),
        })
    }

    /// Admitted connections as a stream, for tonic's `serve_with_incoming_shutdown`.
    pub fn incoming(
        self: Arc<Self>,
        listener: TcpListener,
    ) -> impl futures_util::Stream<Item = io::Result<Admitted>> {
        futures_util::stream::unfold((self, listener), |(admission, listener)| async move {
            let (admitted, _) = admission.accept(&listener).await;
            Some((Ok(admitted), (admission, listener)))
        })
    }
}

/// Frees an admitted connection's place when it closes.
#[derive(Debug)]
struct Slot {
    _permit: OwnedSemaphorePermit,
    ip: IpAddr,
    per_peer: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_peer = self
            .per_peer
            .lock()
            .expect("per-peer counts are never poisoned");
        if let Some(count) = per_peer.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_peer.remove(&self.ip);
            }
        }
    }
}

/// A connection inside the bounds: reads and writes go to its socket; its place is freed when
/// it is dropped.
#[derive(Debug)]
pub struct Admitted {
    tcp: TcpStream,
    _slot: Slot,
    /// Until the client has opened its first request: the bytes still expected, and the
    /// handshake deadline.
    opening: Option<(usize, Pin<Box<Sleep>>)>,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if let Some((due, deadline)) = self.opening.as_mut() {
            if let Poll::Ready(Ok(())) = polled {
                *due = due.saturating_sub(buf.filled().len() - before);
            }
            if *due == 0 {
                self.opening = None;
            } else if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not open a request in time",
                )));
            }
        }
        polled
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for Admitted {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.tcp.connect_info()
    }
}
