//! Container ids: what a runtime accepts as `<container-id>`; and Docker's object names and
//! random ids (containers, volumes, exec instances), one implementation for all of them.
//!
//! runc accepts `^[\w+-\.]+$`; we accept the same set so that every caller of runc (containerd,
//! dockerd, podman) works with us, and we refuse anything that could act as a path component
//! (`.`, `..`, `/`), because the id names a directory under the state root.

/// Why a container id was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// The id is empty.
    #[error("container id is empty: give a name made of letters, digits, '_', '+', '-' or '.'")]
    Empty,
    /// The id is `.` or `..`.
    #[error("container id {0:?} is reserved: it would name a directory outside the state root")]
    Reserved(String),
    /// The id is too long to be a file name.
    #[error("container id is {0} bytes long; the limit is 1024")]
    TooLong(usize),
    /// The id contains a character outside runc's set.
    #[error("container id {id:?} contains {ch:?}: only letters, digits, '_', '+', '-' and '.' are allowed")]
    BadChar {
        /// The refused id.
        id: String,
        /// The first offending character.
        ch: char,
    },
}

/// Checks a container id against runc's rules (`^[\w+\-.]+$`, not `.` or `..`).
pub fn validate_container_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id == "." || id == ".." {
        return Err(IdError::Reserved(id.to_string()));
    }
    if id.len() > 1024 {
        return Err(IdError::TooLong(id.len()));
    }
    if let Some(ch) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        return Err(IdError::BadChar {
            id: id.to_string(),
            ch,
        });
    }
    Ok(())
}

/// Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+` for container and volume names (a leading `/` is
/// the caller's to strip).
pub fn valid_object_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A new random id: 32 bytes from `/dev/urandom` as 64 lower-case hex digits (Docker's
/// format for containers, exec instances and anonymous volumes).
pub fn random_id() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_ids() {
        for id in ["abc", "a.b-c_d+e", "0123456789abcdef", "x"] {
            assert_eq!(validate_container_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn refuses_path_like_and_odd_ids() {
        assert_eq!(validate_container_id(""), Err(IdError::Empty));
        assert_eq!(
            validate_container_id(".."),
            Err(IdError::Reserved("..".into()))
        );
        assert!(matches!(
            validate_container_id("a/b"),
            Err(IdError::BadChar { ch: '/', .. })
        ));
        assert!(matches!(
            validate_container_id("a b"),
            Err(IdError::BadChar { ch: ' ', .. })
        ));
        assert!(matches!(
            validate_container_id(&"a".repeat(2000)),
            Err(IdError::TooLong(2000))
        ));
    }
}
