//! Connections: the accept loop, the header-read timeout (hyper's, which needs a timer that
//! `axum::serve` does not set) and an idle timeout on the socket itself, so that slow or
//! silent clients cannot hold connections.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_stream::StreamExt;

use super::{ApiError, MAX_BODY_BYTES};

/// How long a client may take to send a request's headers, and how long a connection may
/// sit with no bytes moving while the server is not working on one of its requests.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// What one connection is doing, shared by its socket and its requests.
pub struct Activity {
    start: Instant,
    /// Milliseconds since `start` when bytes last moved either way.
    last: AtomicU64,
    /// Requests whose bodies are read and that the server is answering (generation can take
    /// minutes with nothing on the wire).
    busy: AtomicUsize,
    idle: Duration,
}

impl Activity {
    fn new(idle: Duration) -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            idle,
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis().min(u64::MAX as u128) as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    fn deadline(&self) -> tokio::time::Instant {
        let last = self.start + Duration::from_millis(self.last.load(Ordering::Relaxed));
        tokio::time::Instant::from_std(last + self.idle)
    }
}

/// Marks a connection busy while the server answers one of its requests.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

/// A socket whose pending reads and writes fail once nothing has moved for the idle timeout
/// (reads only while the server is not busy with a request, since hyper keeps a read pending
/// to notice a client that leaves).
struct IdleTimeout<S> {
    inner: S,
    activity: Arc<Activity>,
    sleep: Pin<Box<Sleep>>,
}

impl<S> IdleTimeout<S> {
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = self.activity.deadline();
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "idle connection closed")
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.activity.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if self.activity.busy.load(Ordering::SeqCst) == 0 && self.expired(cx) {
                    return Poll::Ready(Err(timed_out()));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.activity.touch();
                }
                Poll::Ready(r)
            }
            // A client that stops reading the answer.
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Middleware: reads the whole body within the idle timeout (a stalled upload is closed
/// like an idle socket), then marks the connection busy while the handler answers.
pub async fn body_deadline(request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(activity) = request.extensions().get::<Arc<Activity>>().cloned() else {
        return Ok(next.run(request).await);
    };
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(activity.idle, read_body(body)).await {
        Ok(read) => read?,
        Err(_) => return Err(ApiError::timeout()),
    };
    activity.busy.fetch_add(1, Ordering::SeqCst);
    let busy = Busy(activity);
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    let streamed = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streamed {
        return Ok(response);
    }
    // A stream stays busy until its last event: a long prefill sends nothing for a while.
    Ok(response.map(|body| {
        axum::body::Body::from_stream(body.into_data_stream().map(move |frame| {
            let _ = &busy;
            frame
        }))
    }))
}

/// The whole body, refused past MAX_BODY_BYTES; a broken or stalled one (the socket's idle
/// timeout) is a 408. A body over the limit is still read to its end (and thrown away, up
/// to DISCARD_BYTES): answering 413 while the client is still sending would leave unread
/// data, and closing such a socket resets it, so the client would see "connection reset"
/// instead of the 413.
async fn read_body(body: axum::body::Body) -> Result<axum::body::Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut discarded = 0usize;
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|_| ApiError::timeout())?;
        if discarded > 0 || bytes.len() + frame.len() > MAX_BODY_BYTES {
            discarded += frame.len();
            if discarded > DISCARD_BYTES {
                return Err(ApiError::too_large());
            }
            bytes.clear();
            continue;
        }
        bytes.extend_from_slice(&frame);
    }
    if discarded > 0 {
        return Err(ApiError::too_large());
    }
    Ok(bytes.into())
}

/// An oversized body is read and thrown away up to this much before the 413 goes out.
const DISCARD_BYTES: usize = 32 << 20;

/// How long, and for how many bytes, a finished connection keeps reading what the client
/// still sends before it is closed.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 8 << 20;

/// Closes a connection the way servers must when a request body may be left unread (a 413
/// answered before the whole body arrived): end our side first, then read and discard what
/// the client still sends, for a short while. Closing a socket with unread data sends a
/// reset, which can reach the client before the response and replace it with "connection
/// reset".
async fn linger_close(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = vec![0u8; 16 * 1024];
        let mut seen = 0usize;
        while seen < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Accepts connections until `shutdown` resolves; each is served on its own task.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new(timeouts.idle));
        activity.touch();
        let io = IdleTimeout {
            inner: stream,
            activity: Arc::clone(&activity),
            sleep: Box::pin(tokio::time::sleep(timeouts.idle)),
        };
        let inner = TowerToHyperService::new(router.clone());
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(Arc::clone(&activity));
                hyper::service::Service::call(&inner, request)
            },
        );
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read);
            let conn = builder
                .serve_connection(TokioIo::new(io), service)
                .without_shutdown();
            match conn.await {
                Ok(parts) => linger_close(parts.io.into_inner().inner).await,
                Err(e) => tracing::debug!("connection closed: {e}"),
            }
        });
    }
}
