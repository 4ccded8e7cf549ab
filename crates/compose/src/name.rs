//! Project names, as docker compose accepts and derives them.
//!
//! An explicit name (`-p`, `COMPOSE_PROJECT_NAME`, the `name:` key) must already be valid;
//! a name derived from the directory is normalized first (lowercased, other characters
//! dropped), like docker compose does.

use crate::error::{ComposeError, Result};

fn allowed(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

/// Checks an explicit project name.
pub fn validate_project_name(name: &str) -> Result<()> {
    let err = |reason: &str| ComposeError::ProjectName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(err("must not be empty"));
    }
    if !name.chars().all(allowed) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(err(
            "must contain only lowercase letters, digits, dashes and underscores, \
             and must begin with a lowercase letter or digit",
        ));
    }
    Ok(())
}

/// Normalizes a name derived from a directory: lowercase, keep `[a-z0-9_-]`, drop leading
/// `_`/`-`. Errors when nothing is left.
pub fn normalize_project_name(raw: &str) -> Result<String> {
    let lower = raw.to_lowercase();
    let kept: String = lower.chars().filter(|c| allowed(*c)).collect();
    let name = kept.trim_start_matches(['_', '-']).to_string();
    if name.is_empty() {
        return Err(ComposeError::ProjectName {
            name: raw.to_string(),
            reason: "nothing is left after normalizing the directory name; \
                     give one with -p NAME or the top-level name: key"
                .to_string(),
        });
    }
    Ok(name)
}

/// Checks a service name (`[a-zA-Z0-9._-]+`).
pub fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(validate_project_name("my_app-2").is_ok());
        assert!(validate_project_name("MyApp").is_err());
        assert!(validate_project_name("-x").is_err());
        assert!(validate_project_name("").is_err());
        assert_eq!(normalize_project_name("My App.v2").unwrap(), "myappv2");
        assert_eq!(normalize_project_name("_Foo").unwrap(), "foo");
        assert!(normalize_project_name("...").is_err());
        assert!(valid_service_name("web.1_a-b"));
        assert!(!valid_service_name("web app"));
    }
}
