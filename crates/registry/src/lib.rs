//! `berth-registry`: a synchronous client for the OCI distribution API (Docker registries).
//!
//! **Why synchronous.** The engine pulls and pushes from worker threads and parallelises
//! layers with plain `std::thread`s; a blob is a `Read` that the caller streams into its
//! content store. An async runtime would add a second scheduler for no gain, so the client is
//! built on `ureq` (blocking, rustls). It knows nothing about the image store: it moves bytes
//! and names, and checks manifest digests; blob digests are checked by whoever stores them.
//!
//! **Endpoints.** A reference's domain is the registry (`docker.io` is served by
//! `registry-1.docker.io`; configured mirrors are tried first for Docker Hub pulls). The
//! first request to a host pings `GET /v2/`, which fixes the scheme and the auth challenge
//! for the life of the client.
//!
//! **Insecure registries** (Docker's rules, see [`ClientConfig::insecure_registries`]):
//! loopback (127.0.0.0/8, ::1, `localhost`) and the listed `host[:port]`s and CIDRs are tried
//! over HTTPS without certificate verification, then over plain HTTP. Everything else is
//! HTTPS verified against the system roots plus `<certs_dir>/<host[:port]>/*.crt`.
//!
//! **Auth.** On 401 the ping's `WWW-Authenticate` says `Basic` (credentials are sent with each
//! request) or `Bearer realm=…,service=…`: the client asks the realm for a token for
//! `scope=repository:<path>:pull[,push]` — with Basic credentials when the auth file has some,
//! anonymously otherwise — and caches it per (registry, scopes) until it expires. A 401 on a
//! request drops the cached tokens and retries once. Credentials come from a Docker
//! `config.json` ([`credentials`]) or [`RegistryClient::set_credential`].
//!
//! **Retries.** Idempotent requests with replayable bodies (GET, HEAD, manifest PUT) are tried
//! 3 times, 200 ms then 400 ms apart, on connection errors, 5xx and 429 (`Retry-After` is
//! honoured up to 10 s). Uploads from a reader are not replayed: the caller restarts them.
//!
//! **Errors** ([`RegistryError`]) name what failed and what to do, carry the registry's own
//! error text, and map to [`berth_types::ErrorKind`].

#![warn(missing_docs)]

mod auth;
mod blob;
mod client;
pub mod credentials;
mod error;
mod tls;
pub mod transfer;

pub use blob::BlobStream;
pub use client::{ClientConfig, RegistryClient, DEFAULT_ACCEPT, MAX_MANIFEST_SIZE};
pub use credentials::{Auths, Credential};
pub use error::{RegistryError, Result};
pub use transfer::{pull, push, ProgressEvent, PullOptions, PullReport, PushReport};
