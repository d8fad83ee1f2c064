//! The network-boot endpoints, unauthenticated as booting machines cannot log in:
//!
//! - `GET /tftp/` (and `/tftp/<file>`): the original's backend for its TFTP-to-HTTP proxy;
//!   the file is named by the `X-TFTP-File` header (or the path), the client by `X-TFTP-IP`.
//! - `GET|HEAD /boot/<file>`: the same tree over HTTP, for iPXE and UEFI HTTP boot, with
//!   byte ranges.
//! - `GET /preseed/<machine_id>`: the machine's rendered installer config.
//!
//! All three answer from [`Provisioner::boot_file`] and [`Provisioner::installer_config`],
//! so they and the TFTP server always agree.
//!
//! [`Provisioner::boot_file`]: mr_provisioner_core::service::Provisioner::boot_file
//! [`Provisioner::installer_config`]: mr_provisioner_core::service::Provisioner::installer_config

use std::io::SeekFrom;
use std::net::IpAddr;

use mr_provisioner_core::error::Error;
use mr_provisioner_core::id::MachineId;
use mr_provisioner_core::service::BootFile;
use poem::http::{HeaderMap, Method, StatusCode, header};
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, Route, get, handler};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::state::AppState;

/// Adds the routes to `route` (at the root).
pub(super) fn mount(route: Route) -> Route {
    route
        .at("/tftp/", get(tftp_proxy))
        .at("/tftp/*path", get(tftp_proxy))
        .at("/boot/*path", get(http_boot).head(http_boot))
        .at("/preseed/:id", get(preseed))
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(text.into())
}

fn empty(status: StatusCode) -> Response {
    Response::builder().status(status).finish()
}

/// The answer to a failed boot-file lookup: 404 (the proxy turns it into TFTP's "File not
/// found", so the bootloader tries its next name), 403 for refused names, 500 otherwise.
fn failure(e: Error) -> Response {
    match e {
        Error::NotFound { .. } => empty(StatusCode::NOT_FOUND),
        Error::Forbidden { message } => plain(StatusCode::FORBIDDEN, message),
        e => {
            tracing::error!(error = %e, "boot file request failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `GET /tftp/`: what the tftp-http-proxy asks for each TFTP read request.
#[handler]
async fn tftp_proxy(req: &Request, Data(state): Data<&AppState>) -> Response {
    let headers = req.headers();
    let from_path = req
        .uri()
        .path()
        .strip_prefix("/tftp/")
        .filter(|p| !p.is_empty());
    let file = header_str(headers, "x-tftp-file")
        .map(str::to_string)
        .or_else(|| {
            // `-http-append-path`: the file name is URL-joined onto the base.
            from_path.map(percent_decode)
        });
    let (Some(ip), Some(file)) = (header_str(headers, "x-tftp-ip"), file) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "the X-TFTP-IP and X-TFTP-File headers are required",
        );
    };
    let client = ip.trim().parse::<IpAddr>().ok();
    match state.provisioner.boot_file(&file, client).await {
        Ok(found) => respond(found, None, false).await,
        Err(e) => failure(e),
    }
}

/// `GET|HEAD /boot/<file>`: HTTP boot of the TFTP tree.
#[handler]
async fn http_boot(req: &Request, Data(state): Data<&AppState>) -> Response {
    let Some(path) = req.uri().path().strip_prefix("/boot/") else {
        return empty(StatusCode::NOT_FOUND);
    };
    let file = percent_decode(path);
    let client = req.remote_addr().as_socket_addr().map(|a| a.ip());
    let range = header_str(req.headers(), header::RANGE.as_str()).map(str::to_string);
    let mut resp = match state.provisioner.boot_file_via(&file, client, true).await {
        Ok(found) => respond(found, range.as_deref(), req.method() == Method::HEAD).await,
        Err(e) => failure(e),
    };
    // Firmware and bootloader HTTP clients make one request per connection, and GRUB 2.06
    // waits for the server to close it: after a 404 (it probes for files that need not
    // exist) it stalled for a minute on an open connection.
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}

/// Decodes `%XX` escapes (an invalid escape is kept as is). The decoded name goes through
/// the same checks as a TFTP name, so `%2e%2e` is refused like `..`.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A byte range of a file of `size` bytes, from a `Range` header: `Ok(None)` for the whole
/// file (no header, or one this server does not split, such as several ranges), `Err` when
/// the range lies outside the file (416).
fn byte_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        // The last `end` bytes.
        let n: u64 = end.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        let first: u64 = start.parse().map_err(|_| ())?;
        let last = if end.is_empty() {
            size.saturating_sub(1)
        } else {
            end.parse::<u64>()
                .map_err(|_| ())?
                .min(size.saturating_sub(1))
        };
        if first > last {
            return Err(());
        }
        (first, last)
    };
    if size == 0 || range.0 >= size {
        return Err(());
    }
    Ok(Some(range))
}

async fn respond(found: BootFile, range: Option<&str>, head: bool) -> Response {
    match found {
        BootFile::Config { text, .. } => {
            let len = text.len();
            let mut r = plain(StatusCode::OK, if head { String::new() } else { text });
            r.headers_mut().insert(
                header::CONTENT_LENGTH,
                len.to_string().parse().expect("digits"),
            );
            r
        }
        BootFile::File {
            mut file,
            size,
            path,
        } => {
            let (status, first, len) = match byte_range(range, size) {
                Ok(None) => (StatusCode::OK, 0, size),
                Ok(Some((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
                Err(()) => {
                    return Response::builder()
                        .status(StatusCode::RANGE_NOT_SATISFIABLE)
                        .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                        .finish();
                }
            };
            let mut builder = Response::builder()
                .status(status)
                .content_type(mr_provisioner_netboot::path::media_type(path.as_str()))
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CONTENT_LENGTH, len);
            if status == StatusCode::PARTIAL_CONTENT {
                builder = builder.header(
                    header::CONTENT_RANGE,
                    format!("bytes {first}-{}/{size}", first + len - 1),
                );
            }
            if head {
                return builder.finish();
            }
            if first > 0
                && let Err(e) = file.seek(SeekFrom::Start(first)).await
            {
                tracing::error!(file = %path, error = %e, "cannot seek");
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
            let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 * 1024);
            builder.body(Body::from_bytes_stream(stream))
        }
    }
}

/// `GET /preseed/<machine_id>`: the installer config, as `text/plain`.
#[handler]
async fn preseed(req: &Request, Path(id): Path<String>, Data(state): Data<&AppState>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return empty(StatusCode::NOT_FOUND);
    };
    let client = req.remote_addr().as_socket_addr().map(|a| a.ip());
    match state
        .provisioner
        .installer_config(MachineId(id), client)
        .await
    {
        Ok(text) => plain(StatusCode::OK, text),
        Err(Error::NotFound { .. }) => empty(StatusCode::NOT_FOUND),
        Err(Error::InvalidRequest { message, .. }) => plain(StatusCode::BAD_REQUEST, message),
        Err(e) => {
            tracing::error!(machine_id = id, error = %e, "installer config failed");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        type Case = (Option<&'static str>, u64, Result<Option<(u64, u64)>, ()>);
        let cases: &[Case] = &[
            (None, 10, Ok(None)),
            (Some("bytes=0-3"), 10, Ok(Some((0, 3)))),
            (Some("bytes=4-"), 10, Ok(Some((4, 9)))),
            (Some("bytes=-3"), 10, Ok(Some((7, 9)))),
            (Some("bytes=-30"), 10, Ok(Some((0, 9)))),
            (Some("bytes=5-100"), 10, Ok(Some((5, 9)))),
            (Some("bytes=10-"), 10, Err(())),
            (Some("bytes=7-3"), 10, Err(())),
            (Some("bytes=-0"), 10, Err(())),
            (Some("bytes=x-3"), 10, Err(())),
            (Some("bytes=0-0"), 0, Err(())),
            (Some("bytes=0-1,4-5"), 10, Ok(None)),
            (Some("items=0-1"), 10, Ok(None)),
        ];
        for (h, size, want) in cases {
            assert_eq!(byte_range(*h, *size), *want, "{h:?} of {size}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2e%2E/b%20c"), "a../b c");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("plain/name"), "plain/name");
    }
}
