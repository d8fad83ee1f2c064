//! The HTTP server of `serve`: hyper (HTTP/1.1 and HTTP/2, with upgrades for websockets)
//! serving the poem application over a TCP listener, with a graceful shutdown bounded by a
//! timeout.
//!
//! It is ours rather than `poem::Server` for the connection settings poem does not expose:
//! header names are written in title case (`Content-Length`), because GRUB 2.06's HTTP client
//! matches them case-sensitively and, not finding the size, waited about a minute on every
//! file of a UEFI HTTP boot.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, IntoEndpoint, Request};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets the
/// requests in flight finish for at most `timeout`, and closes what is left.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    shutdown: impl Future<Output = ()>,
    timeout: Duration,
) where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep = std::sync::Arc::new(app.into_endpoint().map_to_response().boxed());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().title_case_headers(true);
    let builder = std::sync::Arc::new(builder);
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let local = match stream.local_addr() {
            Ok(a) => a,
            Err(_) => continue,
        };
        let ep = ep.clone();
        let builder = builder.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let ep = ep.clone();
                async move {
                    let req = Request::from((
                        req,
                        LocalAddr(Addr::SocketAddr(local)),
                        RemoteAddr(Addr::SocketAddr(remote)),
                        Scheme::HTTP,
                    ));
                    let resp = ep.get_response(req).await;
                    Ok::<_, Infallible>(hyper::Response::<BoxBody>::from(resp))
                }
            });
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, remote = %remote, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(timeout, tracker.wait()).await.is_err() {
        tracing::warn!(
            timeout_secs = timeout.as_secs(),
            "requests still in flight after the shutdown timeout were cut"
        );
    }
}
