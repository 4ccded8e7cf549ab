//! The API's one error type and the one place an [`ErrorKind`] becomes an HTTP status.
//!
//! Status choices follow moby's `errdefs` mapping. `FailedPrecondition` has no errdefs class of
//! its own: Docker answers an operation the object's state forbids ("You cannot remove a
//! running container", "image is being used") with 409 Conflict, so berth does too, rather
//! than 412 (which Docker never sends) or moby's gRPC-derived 400.

use berth_api_types::ErrorResponse;
use berth_engine::EngineError;
use berth_types::ErrorKind;
use http::StatusCode;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The request itself is malformed (query, header, body, API version).
    #[error("{0}")]
    BadRequest(String),
    /// No route for the method and path.
    #[error("page not found")]
    NoRoute,
    /// The request asks for something berthd does not do yet.
    #[error("{0}")]
    NotImplemented(String),
    /// Reading the request body or a background task failed.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Engine(e) => e.kind(),
            Self::BadRequest(_) => ErrorKind::InvalidArgument,
            Self::NoRoute => ErrorKind::NotFound,
            Self::NotImplemented(_) => ErrorKind::NotImplemented,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// `{"message": …}`.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            message: self.to_string(),
        }
    }
}

/// The HTTP status for a kind of failure. The only such mapping in berth.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict | ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status_of(ErrorKind::NotFound), 404);
        assert_eq!(status_of(ErrorKind::FailedPrecondition), 409);
        assert_eq!(status_of(ApiError::NoRoute.kind()), 404);
        assert_eq!(ApiError::NoRoute.body().message, "page not found");
    }
}
