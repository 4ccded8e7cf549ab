//! [`RegistryError`]: every failure of the client, with a message that names what failed and
//! what to do about it, and the registry's own error text (`{"errors":[{"code","message"}]}`)
//! appended when it sent one.

use std::path::PathBuf;

use berth_types::ErrorKind;

/// Result alias for this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// An error talking to a registry or handling credentials.
///
/// `detail` fields hold the registry's error body rendered as `": code: message"` (Docker's
/// wording, e.g. `": manifest unknown: manifest unknown"`), or are empty.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// 401: no credentials, or the registry or its token service refused them.
    #[error(
        "unauthorized: authentication required for {name}; run `berth login {registry}`{detail}"
    )]
    Unauthorized {
        /// The registry as typed by users (`host[:port]`, `docker.io`).
        registry: String,
        /// The repository (or registry) the request was for.
        name: String,
        /// The registry's error text.
        detail: String,
    },
    /// [`crate::RegistryClient::login`] was refused.
    #[error("login to {registry} failed: incorrect username or password{detail}")]
    LoginFailed {
        /// The registry.
        registry: String,
        /// The registry's error text.
        detail: String,
    },
    /// 403: authenticated, but not allowed.
    #[error(
        "denied: the registry refused to let you {action} {name}{detail}; check that the account \
         you logged in with has access to it"
    )]
    Denied {
        /// `pull` or `push`.
        action: &'static str,
        /// The repository.
        name: String,
        /// The registry's error text.
        detail: String,
    },
    /// 404: the manifest, blob, tag list or upload does not exist.
    #[error("{what} not found{detail}")]
    NotFound {
        /// What was asked for, e.g. `manifest for 127.0.0.1:5000/x/y:v1`.
        what: String,
        /// The registry's error text.
        detail: String,
    },
    /// 429.
    #[error("too many requests: rate limited by the registry {registry}, retry later{detail}")]
    TooManyRequests {
        /// The registry.
        registry: String,
        /// The registry's error text.
        detail: String,
    },
    /// 5xx after the retries.
    #[error(
        "registry {registry} failed with HTTP {status} on {method} {url}{detail}; retry later"
    )]
    Server {
        /// The registry.
        registry: String,
        /// The HTTP status.
        status: u16,
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// The registry's error text.
        detail: String,
    },
    /// Any other status the protocol does not allow here.
    #[error("unexpected HTTP {status} from registry {registry} on {method} {url}{detail}")]
    UnexpectedStatus {
        /// The registry.
        registry: String,
        /// The HTTP status.
        status: u16,
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// The registry's error text.
        detail: String,
    },
    /// The connection failed (DNS, refused, TLS, timeout) after the retries.
    #[error(
        "cannot reach registry {registry} at {url}: {reason}; check the address and the network \
         (a registry without TLS must be listed in the insecure registries)"
    )]
    Connect {
        /// The registry.
        registry: String,
        /// The URL tried last.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// Content did not hash to the digest it was asked for by.
    #[error(
        "{what} from {registry} does not match its digest: expected {expected}, got {actual}; \
         the registry or a proxy served wrong content"
    )]
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The registry.
        registry: String,
        /// The digest asked for.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The registry answered something the protocol does not allow (missing header, bad JSON).
    #[error("invalid response from registry {registry}: {reason}")]
    BadResponse {
        /// The registry.
        registry: String,
        /// What was wrong.
        reason: String,
    },
    /// A body could not be read or sent.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or sent.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The caller's input cannot be used (a reference without tag or digest, a size mismatch).
    #[error("{0}")]
    InvalidArgument(String),
    /// The credentials file could not be read or written.
    #[error("credentials file {path}: {reason}")]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What went wrong and what to do.
        reason: String,
    },
    /// The image store refused or failed (a pulled blob that does not verify, a layer that
    /// does not unpack, a full disk).
    #[error(transparent)]
    Store(#[from] berth_image::ImageError),
    /// TLS could not be set up (bad CA file under the certs directory).
    #[error("TLS setup for registry {registry}: {reason}")]
    Tls {
        /// The registry.
        registry: String,
        /// What went wrong.
        reason: String,
    },
}

impl RegistryError {
    /// The error's class, for mapping to API statuses.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unauthorized { .. } | Self::LoginFailed { .. } | Self::Denied { .. } => {
                ErrorKind::Unauthorized
            }
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::TooManyRequests { .. } | Self::Server { .. } | Self::Connect { .. } => {
                ErrorKind::Unavailable
            }
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Credentials { .. } | Self::Tls { .. } => ErrorKind::FailedPrecondition,
            Self::Store(e) => e.kind(),
            Self::DigestMismatch { .. }
            | Self::BadResponse { .. }
            | Self::UnexpectedStatus { .. }
            | Self::Io { .. } => ErrorKind::Internal,
        }
    }
}

/// Renders a registry error body (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"…"}]}`)
/// as `": manifest unknown: …"`, or a short plain-text body as `": <text>"`; empty otherwise.
pub(crate) fn render_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<Errors>(body) {
        let parts: Vec<String> = parsed
            .errors
            .iter()
            .map(|e| {
                let code = e.code.to_ascii_lowercase().replace('_', " ");
                match (code.is_empty(), e.message.is_empty()) {
                    (false, false) => format!("{code}: {}", e.message),
                    (false, true) => code,
                    (true, _) => e.message.clone(),
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            return String::new();
        }
        return format!(": {}", parts.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.len() > 200 || text.starts_with('<') {
        String::new()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_renders_registry_errors_like_docker() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(render_detail(body), ": manifest unknown: manifest unknown");
        let two = br#"{"errors":[{"code":"DENIED","message":"no"},{"code":"UNAUTHORIZED","message":"auth"}]}"#;
        assert_eq!(render_detail(two), ": denied: no; unauthorized: auth");
        assert_eq!(render_detail(b""), "");
        assert_eq!(render_detail(b"<html>oops</html>"), "");
        assert_eq!(render_detail(b"slow down\n"), ": slow down");
    }

    #[test]
    fn kinds() {
        let e = RegistryError::NotFound {
            what: "manifest for a/b:c".into(),
            detail: String::new(),
        };
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "manifest for a/b:c not found");
        let e = RegistryError::TooManyRequests {
            registry: "r".into(),
            detail: String::new(),
        };
        assert_eq!(e.kind(), ErrorKind::Unavailable);
    }
}
