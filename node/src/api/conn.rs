//! The connection loop: which connections are served, and for how long.
//!
//! * At most `max_connections` connections are served at once (more wait in the listen
//!   backlog), and at most `max_connections_per_ip` of one client (an IPv4 address or an IPv6
//!   /64, as for the rate limit): a client over its share is answered 503
//!   `too_many_connections` at once and closed, so one address cannot take the slots of all.
//! * Each connection is HTTP/1.1 by hyper with a header read timeout (`header_timeout`, also the
//!   keep-alive idle time); bodies are read within `body_timeout` by the routes.
//! * A response must make progress: when the client does not take its bytes (its receive window
//!   stays shut) for `write_timeout`, the connection is reset (RST, so the kernel drops what is
//!   queued for it). Every write that moves bytes starts the time again, as `SO_SNDTIMEO` does.
//! * With TLS (`[api] tls_cert`, `tls_key`) the handshake must complete within
//!   `header_timeout` (else the connection is closed); the write deadline applies beneath TLS.
//! * On shutdown the listener closes, idle connections close, requests in flight get
//!   `shutdown_timeout` to finish; connections still open then are reset.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::{Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::errors::ApiError;
use super::headers::SECURITY_HEADERS;
use super::limit::client_key;
use super::tls::TlsAcceptor;
use super::{router, ApiState, ClientAddr, Limits};
use crate::chain::lock;
use crate::metrics::Metrics;

/// Most refused connections lingering at once (each at most [`REFUSAL_LINGER`]); beyond it a
/// refused connection is closed without waiting.
const MAX_REFUSALS: usize = 256;
/// How long a refused connection is kept to read what the client sent before its answer
/// (closing a socket with unread bytes resets it, and the client could lose the answer).
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Serves the API on `listener` until `shutdown` completes, then closes the listener, lets the
/// requests in flight finish within `shutdown_timeout` and resets the connections still open.
/// HTTP/1.1 only; see the module documentation for the bounds on each connection.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_tls(listener, state, None, shutdown).await
}

/// [`serve`], over TLS with `tls` when given.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: ApiState,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::debug!(%addr, "HTTP API serving");
    }
    let limits = state.limits;
    let metrics = state.metrics.clone();
    let app = router(state);
    let max = limits
        .max_connections
        .clamp(1, crate::config::MAX_CONNECTIONS);
    let open = Arc::new(Semaphore::new(max));
    let per_client = Arc::new(PerClient::new(limits.max_connections_per_ip.clamp(1, max)));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (closing_tx, closing) = watch::channel(false);
    let (force_tx, force) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut refused = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        while refused.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = open.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "HTTP API cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_client.take(peer.ip()) else {
            drop(permit);
            refuse(stream, peer, &per_client, &metrics, &refusals, &mut refused);
            continue;
        };
        let service = app.clone().layer(Extension(ClientAddr(peer)));
        connections.spawn(connection(
            stream,
            peer,
            (service, tls.clone()),
            limits,
            [closing.clone(), force.clone()],
            (permit, slot),
        ));
    }
    drop(listener);
    refused.abort_all();
    let _ = closing_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            timeout_ms = limits.shutdown_timeout.as_millis() as u64,
            "HTTP API: resetting the connections still open after the shutdown timeout"
        );
        let _ = force_tx.send(true);
        while connections.join_next().await.is_some() {}
    }
    while refused.join_next().await.is_some() {}
    Ok(())
}

/// Serves one connection until it ends, the server closes it gracefully (`signals[0]`) or
/// resets it at the shutdown timeout (`signals[1]`). With TLS, the handshake comes first,
/// within `header_timeout`. The permits are released when it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    (service, tls): (Router, Option<TlsAcceptor>),
    limits: Limits,
    signals: [watch::Receiver<bool>; 2],
    permits: (OwnedSemaphorePermit, ClientSlot),
) {
    let reset = Arc::new(AtomicBool::new(false));
    let io = WriteDeadline::new(stream, limits.write_timeout, reset.clone());
    match tls {
        None => http(io, peer, service, limits, signals, reset).await,
        Some(tls) => {
            let [mut closing, mut force] = signals.clone();
            let handshake = tokio::select! {
                r = tokio::time::timeout(limits.header_timeout, tls.accept(io)) => r,
                _ = closing.changed() => return,
                _ = force.changed() => return,
            };
            match handshake {
                Ok(Ok(io)) => http(io, peer, service, limits, signals, reset).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(
                    %peer,
                    timeout_ms = limits.header_timeout.as_millis() as u64,
                    "TLS handshake not done within the header timeout: closed"
                ),
            }
        }
    }
    drop(permits);
}

/// HTTP/1.1 over `io` until the connection ends or the server closes or resets it.
async fn http<I>(
    io: I,
    peer: SocketAddr,
    service: Router,
    limits: Limits,
    signals: [watch::Receiver<bool>; 2],
    reset: Arc<AtomicBool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let [mut closing, mut force] = signals;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let (mut graceful, mut forced) = (false, false);
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended");
                }
                break;
            }
            r = closing.changed(), if !graceful => {
                graceful = true;
                if r.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            r = force.changed(), if !forced => {
                forced = true;
                if r.is_ok() {
                    tracing::debug!(%peer, "HTTP connection reset at the shutdown timeout");
                    reset.store(true, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// Answers a client over its connection share with 503 `too_many_connections` (written at once
/// into the fresh socket's buffer), then closes; the connection holds no slot meanwhile.
fn refuse(
    mut stream: TcpStream,
    peer: SocketAddr,
    per_client: &PerClient,
    metrics: &Metrics,
    refusals: &Arc<Semaphore>,
    lingering: &mut JoinSet<()>,
) {
    let client = client_key(peer.ip());
    tracing::debug!(%peer, "HTTP connection refused: over the per-address limit");
    metrics.http_response(503);
    let error = ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        format!(
            "client: {client} has {max} connections open, the most one address may hold \
             ([api] max_connections_per_ip); close one or retry later",
            max = per_client.max
        ),
    );
    let body =
        serde_json::to_vec(&serde_json::json!({ "error": error.body() })).unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in SECURITY_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    let _ = stream.try_write(&answer);
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    lingering.spawn(async move {
        let _ = stream.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut read = 0usize;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            while read < 1 << 16 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        })
        .await;
        drop(permit);
    });
}

/// Open connections by client (an IPv4 address or an IPv6 /64). It holds an entry only for a
/// client with a connection open, so it is bounded by `max_connections`.
#[derive(Debug)]
struct PerClient {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection of a client; dropping it gives the slot back.
#[derive(Debug)]
struct ClientSlot {
    of: Arc<PerClient>,
    client: IpAddr,
}

impl PerClient {
    fn new(max: usize) -> PerClient {
        PerClient {
            max,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for a connection from `addr`, or `None` if its client has `max` open.
    fn take(self: &Arc<Self>, addr: IpAddr) -> Option<ClientSlot> {
        let client = client_key(addr);
        let mut open = lock(&self.open);
        let n = open.entry(client).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            of: self.clone(),
            client,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.of.open);
        if let Some(n) = open.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// A TCP stream whose writes must make progress: a write (or flush) that stays pending for
/// `timeout` fails with `TimedOut`, and the stream is then reset when dropped (zero linger),
/// as it is when `reset` is set from outside.
struct WriteDeadline {
    stream: TcpStream,
    timeout: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    reset: Arc<AtomicBool>,
}

impl WriteDeadline {
    fn new(stream: TcpStream, timeout: Duration, reset: Arc<AtomicBool>) -> WriteDeadline {
        WriteDeadline {
            stream,
            timeout,
            stalled: None,
            reset,
        }
    }

    /// Runs a write operation: progress clears the stall timer; pending starts it (once) and
    /// fails when it fires.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.stream), cx) {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stalled = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stalled.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        self.reset.store(true, Ordering::Relaxed);
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "the client took no response bytes for {} ms (write timeout)",
                                timeout.as_millis()
                            ),
                        )))
                    }
                }
            }
        }
    }
}

impl Drop for WriteDeadline {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Relaxed) {
            // RST instead of FIN: the kernel drops what is still queued for this client.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().progress(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .progress(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().progress(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().progress(cx, |s, cx| s.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_share_and_slots_come_back() {
        let per = Arc::new(PerClient::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let one = per.take(a).unwrap();
        let two = per.take(a).unwrap();
        assert!(per.take(a).is_none());
        assert!(per.take("192.0.2.2".parse().unwrap()).is_some());
        // One IPv6 /64 is one client.
        let _x = per.take(v6a).unwrap();
        let _y = per.take(v6b).unwrap();
        assert!(per.take("2001:db8:1:2::7".parse().unwrap()).is_none());
        drop(one);
        let three = per.take(a).unwrap();
        drop((two, three));
        // No entry stays for a client with nothing open.
        assert!(!lock(&per.open).contains_key(&a));
    }
}
