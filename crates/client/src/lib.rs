//! A small client of the Docker Engine API, as berthd (or dockerd) serves it.
//!
//! Why a crate of its own: the CLI (`berth`), and later compose, talk to the daemon through
//! it, and the design keeps the client side free of the server side so the same code can be
//! pointed at dockerd as a reference. It depends on `berth-api-types` for the wire shapes and
//! on hyper 1's client for HTTP: no hand-written HTTP parsing.
//!
//! Why synchronous on the outside: the CLI is a sequence of blocking steps. The [`Client`]
//! owns a current-thread tokio runtime and drives one request at a time with `block_on`;
//! every request opens its own connection (a unix socket connect costs microseconds), whose
//! hyper connection task is spawned on that runtime and so progresses whenever the client
//! blocks on anything. Streaming bodies ([`BodyStream`], [`JsonLines`]) are read chunk by
//! chunk the same way, and hijacked connections ([`Hijacked`]) for attach and exec are
//! pumped inside one `block_on` until the daemon closes its side.
//!
//! Errors: a daemon's `{"message": …}` is surfaced verbatim ([`Error::Api`]); a socket that
//! is missing or refuses becomes [`Error::NotRunning`], whose text says how to start berthd.

#![warn(missing_docs)]

mod api;
mod host;
mod stream;

use std::io;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

pub use api::{ContainerListOptions, LogsOptions};
pub use host::{Host, DEFAULT_HOST};
pub use stream::{BodyStream, Demux, Hijacked, JsonLines, StreamKind};

/// The API version every request is prefixed with.
pub const API_PREFIX: &str = "/v1.43";

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket is missing or nobody listens on it.
    #[error(
        "cannot connect to berthd at {host}: {source}. Is berthd running?\n\
         Start it with `sudo berthd` (socket unix:///run/berth/berth.sock), or a private one with \
         `berthd --data-root DIR -H unix:///path/berth.sock`; `-H` or BERTH_HOST (DOCKER_HOST) \
         picks another daemon."
    )]
    NotRunning {
        /// The endpoint tried.
        host: String,
        /// Why the connect failed.
        source: io::Error,
    },
    /// The daemon answered with an error status; `message` is its `{"message"}` verbatim.
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The daemon's words.
        message: String,
    },
    /// A `-H`/`BERTH_HOST` value that is not `unix://…` or `tcp://host:port`.
    #[error("invalid daemon address {0:?}: use unix:///path/to.sock or tcp://host:port")]
    BadHost(String),
    /// HTTP went wrong on the connection.
    #[error("talking to the daemon: {0}")]
    Http(#[from] hyper::Error),
    /// Reading or writing local data or the connection.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The daemon's answer did not parse.
    #[error("unexpected answer from the daemon: {0}")]
    Json(#[from] serde_json::Error),
    /// A stream line reported an error (`{"error": …}` in a progress stream).
    #[error("{0}")]
    Stream(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is a 404 from the daemon.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// A result of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A request body: whole, or streamed from a blocking reader.
pub type ReqBody = UnsyncBoxBody<Bytes, io::Error>;

/// A synchronous Docker API client bound to one daemon address.
#[derive(Debug)]
pub struct Client {
    rt: tokio::runtime::Runtime,
    host: Host,
}

trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Conn for T {}

impl Client {
    /// A client of the daemon at `host`. Nothing is connected yet.
    pub fn new(host: Host) -> Result<Client> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        Ok(Client { rt, host })
    }

    /// The daemon's address.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// A whole body from bytes.
    pub fn body(bytes: impl Into<Bytes>) -> ReqBody {
        Full::new(bytes.into())
            .map_err(|never| match never {})
            .boxed_unsync()
    }

    /// A JSON body.
    pub fn json_body<T: serde::Serialize + ?Sized>(v: &T) -> Result<ReqBody> {
        Ok(Self::body(serde_json::to_vec(v)?))
    }

    async fn connect(host: &Host) -> Result<Box<dyn Conn>> {
        let res: io::Result<Box<dyn Conn>> = match host {
            Host::Unix(p) => tokio::net::UnixStream::connect(p)
                .await
                .map(|s| Box::new(s) as Box<dyn Conn>),
            Host::Tcp(a) => tokio::net::TcpStream::connect(a.as_str())
                .await
                .map(|s| Box::new(s) as Box<dyn Conn>),
        };
        res.map_err(|source| Error::NotRunning {
            host: host.to_string(),
            source,
        })
    }

    fn request(method: Method, path: &str, body: ReqBody, json: bool) -> Request<ReqBody> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("{API_PREFIX}{path}"))
            .header(header::HOST, "berth")
            .header(header::USER_AGENT, "berth-cli");
        if json {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        b.body(body).expect("a request of valid parts")
    }

    async fn send_async(host: &Host, req: Request<ReqBody>) -> Result<Response<Incoming>> {
        let io = Self::connect(host).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let resp = sender.send_request(req).await?;
        if resp.status().is_client_error() || resp.status().is_server_error() {
            let status = resp.status();
            let bytes = resp.into_body().collect().await?.to_bytes();
            return Err(api_error(status, &bytes));
        }
        Ok(resp)
    }

    /// Sends a request; an error status becomes [`Error::Api`]. The body is left unread.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<ReqBody>,
        headers: &[(&str, String)],
    ) -> Result<Response<Incoming>> {
        let json = body.is_some();
        let mut req = Self::request(method, path, body.unwrap_or_else(|| Self::body("")), json);
        for (k, v) in headers {
            if let (Ok(k), Ok(v)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                header::HeaderValue::from_str(v),
            ) {
                req.headers_mut().insert(k, v);
            }
        }
        let _guard = self.rt.enter();
        self.rt.block_on(Self::send_async(&self.host, req))
    }

    /// Sends a request and reads the whole answer.
    pub fn call(&self, method: Method, path: &str, body: Option<ReqBody>) -> Result<Bytes> {
        let resp = self.send(method, path, body, &[])?;
        Ok(self.rt.block_on(resp.into_body().collect())?.to_bytes())
    }

    /// `GET path`, decoded.
    pub fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let b = self.call(Method::GET, path, None)?;
        Ok(serde_json::from_slice(&b)?)
    }

    /// `POST path` with an optional JSON body, answer decoded.
    pub fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let body = body.map(Self::json_body).transpose()?;
        let b = self.call(Method::POST, path, body)?;
        Ok(serde_json::from_slice(&b)?)
    }

    /// `POST path`, answer ignored.
    pub fn post_empty(&self, path: &str, body: Option<&serde_json::Value>) -> Result<()> {
        let body = body.map(Self::json_body).transpose()?;
        self.call(Method::POST, path, body).map(drop)
    }

    /// A streamed answer to `method path`.
    pub fn stream(
        &self,
        method: Method,
        path: &str,
        body: Option<ReqBody>,
        headers: &[(&str, String)],
    ) -> Result<BodyStream<'_>> {
        let resp = self.send(method, path, body, headers)?;
        Ok(BodyStream::new(self, resp))
    }

    /// Upgrades `POST path` to a raw connection (attach, exec start): sends
    /// `Connection: Upgrade` and `Upgrade: tcp`, expects `101`.
    pub fn hijack(
        &self,
        path: &str,
        body: Option<&serde_json::Value>,
        tty: bool,
    ) -> Result<Hijacked<'_>> {
        let json = body.is_some();
        let body = match body {
            Some(v) => Self::json_body(v)?,
            None => Self::body(""),
        };
        let mut req = Self::request(Method::POST, path, body, json);
        let h = req.headers_mut();
        h.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("Upgrade"),
        );
        h.insert(header::UPGRADE, header::HeaderValue::from_static("tcp"));
        let _guard = self.rt.enter();
        let up = self.rt.block_on(async {
            let resp = Self::send_async(&self.host, req).await?;
            if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
                return Err(Error::Api {
                    status: resp.status().as_u16(),
                    message: format!(
                        "the daemon did not upgrade the connection (status {})",
                        resp.status()
                    ),
                });
            }
            Ok(hyper::upgrade::on(resp).await?)
        })?;
        Ok(Hijacked::new(self, TokioIo::new(up), tty))
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        let _guard = self.rt.enter();
        self.rt.block_on(f)
    }
}

/// The daemon's `{"message"}` verbatim, or the body as text.
fn api_error(status: StatusCode, body: &[u8]) -> Error {
    let message = serde_json::from_slice::<berth_api_types::ErrorResponse>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| {
            let t = String::from_utf8_lossy(body).trim().to_string();
            if t.is_empty() {
                status.to_string()
            } else {
                t
            }
        });
    Error::Api {
        status: status.as_u16(),
        message,
    }
}

/// Percent-encodes a query value.
pub fn encode(v: &str) -> String {
    berth_types::percent_encode(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_verbatim() {
        let e = api_error(
            StatusCode::NOT_FOUND,
            br#"{"message":"No such container: x"}"#,
        );
        assert_eq!(e.to_string(), "No such container: x");
        assert!(e.is_not_found());
        let e = api_error(StatusCode::BAD_GATEWAY, b"");
        assert_eq!(e.to_string(), "502 Bad Gateway");
        assert_eq!(encode("a b/{\"x\"}"), "a%20b%2F%7B%22x%22%7D");
    }

    #[test]
    fn missing_socket_says_not_running() {
        let c = Client::new(Host::Unix("/nonexistent/berth.sock".into())).unwrap();
        let e = c.get::<serde_json::Value>("/_ping").unwrap_err();
        assert!(matches!(e, Error::NotRunning { .. }), "{e:?}");
        let t = e.to_string();
        assert!(
            t.contains("Is berthd running?") && t.contains("sudo berthd"),
            "{t}"
        );
    }
}
