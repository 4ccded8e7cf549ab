//! The vocabulary every berth crate shares, and nothing else.
//!
//! Why a crate of its own: the runtime, the image store and (later) the API all need to agree
//! on what kind of failure happened (so the API maps it to an HTTP status in exactly one place)
//! and on what a valid container id is. Putting those in any one of them would make the others
//! depend on it. This crate depends on nothing of berth's.
//!
//! `oci-spec` is re-exported so that a single version of the OCI types flows through the
//! workspace.

#![warn(missing_docs)]

pub use oci_spec;

pub mod compose;
mod id;
pub mod time;

/// Percent-encodes `s` for a URL path segment or query value (RFC 3986: letters, digits and
/// `-_.~` stay, every other byte becomes `%XX`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use id::{random_id, valid_object_name, validate_container_id, IdError};

/// The class of a failure, independent of which library produced it.
///
/// Every library error type implements `kind()` returning one of these; the API layer turns a
/// kind into an HTTP status in one function, and the CLIs turn it into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The named object does not exist.
    NotFound,
    /// An object with that name or id already exists, or the request conflicts with its state.
    Conflict,
    /// The caller's input is malformed or out of range.
    InvalidArgument,
    /// The object is not in a state that allows the operation (e.g. start of a running container).
    FailedPrecondition,
    /// Credentials are missing or wrong.
    Unauthorized,
    /// The operation is not allowed on this object (Docker's 403: a predefined network, a
    /// network with active endpoints).
    Forbidden,
    /// A resource the operation needs (kernel feature, peer) is not available right now.
    Unavailable,
    /// The operation or option is not implemented on this host or by berth.
    NotImplemented,
    /// Anything else: a bug or an unexpected system error.
    Internal,
}
