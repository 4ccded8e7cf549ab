//! Lexical path helpers (no file system access).

use std::path::{Component, Path, PathBuf};

/// Joins `rel` onto `base` unless it is absolute, expands a leading `~` with `home`, and
/// removes `.` and `..` components lexically.
pub fn absolutize(base: &Path, rel: &str, home: Option<&str>) -> PathBuf {
    let joined = if rel == "~" || rel.starts_with("~/") {
        Path::new(home.unwrap_or("/")).join(rel.trim_start_matches('~').trim_start_matches('/'))
    } else {
        base.join(rel)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether a short volume source is a path (bind mount) rather than a volume name.
pub fn is_path(src: &str) -> bool {
    src.starts_with('.') || src.starts_with('/') || src.starts_with('~')
}

/// Whether a build context is remote (git or http), and so not a path.
pub fn is_remote(ctx: &str) -> bool {
    [
        "http://",
        "https://",
        "git://",
        "git@",
        "github.com/",
        "ssh://",
    ]
    .iter()
    .any(|p| ctx.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolutize_rules() {
        let b = Path::new("/p/q");
        assert_eq!(absolutize(b, "./x/../y", None), Path::new("/p/q/y"));
        assert_eq!(absolutize(b, "/abs", None), Path::new("/abs"));
        assert_eq!(
            absolutize(b, "~/d", Some("/home/u")),
            Path::new("/home/u/d")
        );
        assert_eq!(absolutize(b, "..", None), Path::new("/p"));
    }
}
