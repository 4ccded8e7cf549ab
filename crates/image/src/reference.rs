//! Image references (`busybox`, `user/app:v1`, `localhost:5000/a/b@sha256:…`), parsed and
//! normalised the way Docker's `distribution/reference` does.
//!
//! Why Docker's rules exactly: users type short names and expect `docker pull busybox` and
//! `berth pull busybox` to mean the same image, and the API must echo names back in Docker's
//! "familiar" form. The rules, in order:
//!
//! - `name[:tag][@digest]`; the tag is the part after the last `:` that follows the last `/`.
//! - The first `/`-separated component is a registry domain if it contains `.` or `:`, is
//!   `localhost`, or has an uppercase letter (host names may); otherwise the domain is
//!   `docker.io` and a single-component path gets `library/`. `index.docker.io` is `docker.io`.
//! - Path components match `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`; the name as written is at
//!   most 255 characters; tags match `[\w][\w.-]{0,127}`; digests are `sha256:`/`sha512:` hex.
//! - The tag defaults to `latest` only when neither a tag nor a digest is given; given both,
//!   both are kept.
//!
//! The parser is hand-written: the grammar is small and a regex engine would be the largest
//! dependency of this crate.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::ImageError;

/// The registry that names without a domain refer to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy name of [`DEFAULT_DOMAIN`], normalised to it.
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace single-component names on [`DEFAULT_DOMAIN`] live in.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag used when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest name (domain and path, as written) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A normalised image reference: domain, repository path, and an optional tag and digest.
///
/// Invariant: `tag` or `digest` (or both) is set; `domain` is never `index.docker.io`; on
/// `docker.io` the path has at least two components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference as typed by a user or sent by a Docker client.
    pub fn parse(s: &str) -> Result<Reference, ImageError> {
        let bad = |reason: String| ImageError::InvalidReference {
            input: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(bad(
                "the reference is empty; give a name such as busybox or docker.io/library/busybox:latest"
                    .to_owned(),
            ));
        }
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad(
                "a 64-character hex string is an image id, not a repository name; \
                 use the id where an id is expected or add a name"
                    .to_owned(),
            ));
        }

        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = d.parse::<Digest>().map_err(|e| {
                    let why = match e {
                        ImageError::InvalidDigest { reason, .. } => reason,
                        other => other.to_string(),
                    };
                    bad(format!(
                        "bad digest {d:?}: {why}; expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
                    ))
                })?;
                (rest, Some(digest))
            }
            None => (s, None),
        };

        let last_slash = rest.rfind('/');
        let (name, tag) = match rest.rfind(':') {
            Some(i) if last_slash.is_none_or(|j| i > j) => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(|why| bad(format!("bad tag {tag:?}: {why}")))?;
        }
        if name.is_empty() {
            return Err(bad(
                "the repository name is empty; put a name before the tag or digest".to_owned(),
            ));
        }
        if name.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(bad(format!(
                "the repository name is {} characters long, the limit is {NAME_TOTAL_LENGTH_MAX}",
                name.len()
            )));
        }

        let (domain, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                check_domain(first).map_err(|why| bad(format!("bad registry {first:?}: {why}")))?;
                (first, path)
            }
            _ => (DEFAULT_DOMAIN, name),
        };

        if let Err(why) = check_path(path) {
            let lower = path.to_ascii_lowercase();
            if lower != path && check_path(&lower).is_ok() {
                let prefix = &s[..name.len() - path.len()];
                let suffix = &s[name.len()..];
                return Err(bad(format!(
                    "repository name must be lowercase; use \"{prefix}{lower}{suffix}\""
                )));
            }
            return Err(bad(why));
        }

        let domain = if domain == LEGACY_DEFAULT_DOMAIN {
            DEFAULT_DOMAIN
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_REPO_PREFIX}{path}")
        } else {
            path.to_owned()
        };
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain: domain.to_owned(),
            path,
            tag,
            digest,
        })
    }

    /// The registry domain, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any (`latest` when the input named neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the input named one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name, `domain/path`, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name in Docker's short form, e.g. `busybox` or `user/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The full form, e.g. `docker.io/library/busybox:latest`.
    pub fn normalized(&self) -> String {
        self.with_suffix(self.name())
    }

    /// Docker's short form, e.g. `busybox:latest` or `localhost:5000/a/b:v1`.
    pub fn familiar(&self) -> String {
        self.with_suffix(self.familiar_name())
    }

    fn with_suffix(&self, mut s: String) -> String {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
        s
    }
}

/// How Docker's daemon names an image it cannot find (`No such image: …`): a reference gets
/// its default tag (`nope` → `nope:latest`); a full id or digest stays as given.
pub fn not_found_name(name: &str) -> String {
    if name.contains('@') || name.starts_with("sha256:") {
        return name.to_string();
    }
    match Reference::parse(name) {
        Ok(r) if r.tag().is_none() => format!("{}:latest", r.familiar()),
        Ok(r) => r.familiar(),
        Err(_) => name.to_string(),
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized())
    }
}

impl FromStr for Reference {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `[\w][\w.-]{0,127}`
fn check_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    match b.first() {
        None => return Err("the tag is empty; drop the ':' or give a tag".to_owned()),
        Some(&c) if !is_word(c) => {
            return Err("a tag must start with a letter, digit or '_'".to_owned())
        }
        _ => {}
    }
    if b.len() > TAG_MAX {
        return Err(format!(
            "a tag is at most {TAG_MAX} characters, this one has {}",
            b.len()
        ));
    }
    if !b.iter().all(|&c| is_word(c) || c == b'.' || c == b'-') {
        return Err("a tag may contain only letters, digits, '_', '.' and '-'".to_owned());
    }
    Ok(())
}

/// Path components joined by `/`, each `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
fn check_path(path: &str) -> Result<(), String> {
    for component in path.split('/') {
        check_component(component).map_err(|why| {
            format!(
                "bad repository path component {component:?}: {why}; components are lowercase \
                 letters and digits, separated by '.', '_', '__' or dashes"
            )
        })?;
    }
    Ok(())
}

fn check_component(c: &str) -> Result<(), &'static str> {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() {
        return Err("it is empty");
    }
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return Err("it must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|s| s == b'-');
        if !ok {
            return Err("it has an invalid character or separator");
        }
    }
    Ok(())
}

/// A host name, IPv4 address or bracketed IPv6 address, with an optional `:port`.
fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return Err("an IPv6 address needs a closing ']'".to_owned());
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err("bad IPv6 address".to_owned());
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return Err("only ':port' may follow an IPv6 address".to_owned()),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("port {port:?} must be a number"));
        }
    }
    if let Some(host) = host {
        for label in host.split('.') {
            let b = label.as_bytes();
            let ok = !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-');
            if !ok {
                return Err(format!(
                    "host label {label:?} must be letters, digits and inner dashes"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_read_as_dockers() {
        assert_eq!(not_found_name("nope"), "nope:latest");
        assert_eq!(not_found_name("a/b:1"), "a/b:1");
        assert_eq!(
            not_found_name("docker.io/library/busybox"),
            "busybox:latest"
        );
        assert_eq!(not_found_name("sha256:abc"), "sha256:abc");
        assert_eq!(not_found_name("x@sha256:abc"), "x@sha256:abc");
    }

    const H: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// Ok((normalized, familiar)) or Err(a substring of the error message).
    type Want = Result<(String, String), &'static str>;

    fn table() -> Vec<(String, Want)> {
        let ok = |i: &str, n: &str, f: &str| (i.to_owned(), Ok((n.to_owned(), f.to_owned())));
        let err = |i: &str, e: &'static str| (i.to_owned(), Err(e));
        vec![
            ok(
                "busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            ok(
                "busybox:1.36",
                "docker.io/library/busybox:1.36",
                "busybox:1.36",
            ),
            ok(
                "library/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            ok(
                "docker.io/busybox",
                "docker.io/library/busybox:latest",
                "busybox:latest",
            ),
            ok(
                "index.docker.io/busybox:1",
                "docker.io/library/busybox:1",
                "busybox:1",
            ),
            ok(
                "index.docker.io/user/app",
                "docker.io/user/app:latest",
                "user/app:latest",
            ),
            ok("user/app", "docker.io/user/app:latest", "user/app:latest"),
            ok(
                "user/app:v2.0-rc_1",
                "docker.io/user/app:v2.0-rc_1",
                "user/app:v2.0-rc_1",
            ),
            ok(
                "docker.io/library/a/b",
                "docker.io/library/a/b:latest",
                "library/a/b:latest",
            ),
            ok(
                "localhost/app",
                "localhost/app:latest",
                "localhost/app:latest",
            ),
            ok(
                "localhost:5000/a/b:v1",
                "localhost:5000/a/b:v1",
                "localhost:5000/a/b:v1",
            ),
            ok(
                "localhost:5000",
                "docker.io/library/localhost:5000",
                "localhost:5000",
            ),
            ok(
                &format!("127.0.0.1:5000/x@sha256:{H}"),
                &format!("127.0.0.1:5000/x@sha256:{H}"),
                &format!("127.0.0.1:5000/x@sha256:{H}"),
            ),
            ok(
                &format!("host.example/a:tag@sha256:{H}"),
                &format!("host.example/a:tag@sha256:{H}"),
                &format!("host.example/a:tag@sha256:{H}"),
            ),
            ok(
                &format!("busybox@sha256:{H}"),
                &format!("docker.io/library/busybox@sha256:{H}"),
                &format!("busybox@sha256:{H}"),
            ),
            ok("ghcr.io/o/r/s:t", "ghcr.io/o/r/s:t", "ghcr.io/o/r/s:t"),
            ok("Registry/app", "Registry/app:latest", "Registry/app:latest"),
            ok(
                "[::1]:5000/app",
                "[::1]:5000/app:latest",
                "[::1]:5000/app:latest",
            ),
            ok(
                "u/a.b_c__d---e",
                "docker.io/u/a.b_c__d---e:latest",
                "u/a.b_c__d---e:latest",
            ),
            ok(
                "busybox:_Tag",
                "docker.io/library/busybox:_Tag",
                "busybox:_Tag",
            ),
            err("", "empty"),
            err("Busybox", "must be lowercase; use \"busybox\""),
            err("user/App:v1", "must be lowercase; use \"user/app:v1\""),
            err(
                "localhost:5000/Foo",
                "must be lowercase; use \"localhost:5000/foo\"",
            ),
            err("busybox:", "tag is empty"),
            err("busybox:-x", "must start with"),
            err("busybox:a/b", "must be a number"),
            err("user/a:b/c", "component"),
            err(&format!("busybox:{}", "t".repeat(129)), "at most 128"),
            err("busybox@sha256:abc", "bad digest"),
            err(
                &format!("busybox@sha256:{}", H.to_uppercase()),
                "lowercase hex",
            ),
            err(&format!("busybox@md5:{H}"), "unsupported algorithm"),
            err("busybox@", "bad digest"),
            err(&"a".repeat(256), "limit is 255"),
            err(H, "image id"),
            err("a//b", "is empty"),
            err("a/", "is empty"),
            err(":tag", "name is empty"),
            err("-a", "start and end"),
            err("a..b", "separator"),
            err("a___b", "separator"),
            err("a b", "separator"),
            err("host:port/a", "must be a number"),
            err("-bad.host/a", "host label"),
        ]
    }

    #[test]
    fn reference_table() {
        let t = table();
        assert!(t.len() >= 25);
        for (input, want) in t {
            let got = Reference::parse(&input);
            match (got, want) {
                (Ok(r), Ok((n, f))) => {
                    assert_eq!(r.normalized(), n, "normalized({input:?})");
                    assert_eq!(r.familiar(), f, "familiar({input:?})");
                    // The normalised form is a fixed point.
                    assert_eq!(Reference::parse(&n).unwrap(), r, "reparse({n:?})");
                    assert_eq!(Reference::parse(&f).unwrap(), r, "reparse({f:?})");
                }
                (Err(e), Err(sub)) => {
                    let msg = e.to_string();
                    assert!(msg.contains(sub), "{input:?}: {msg:?} lacks {sub:?}");
                    assert_eq!(e.kind(), berth_types::ErrorKind::InvalidArgument);
                }
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn accessors() {
        let r = Reference::parse(&format!("localhost:5000/a/b:v1@sha256:{H}")).unwrap();
        assert_eq!(r.domain(), "localhost:5000");
        assert_eq!(r.path(), "a/b");
        assert_eq!(r.tag(), Some("v1"));
        assert_eq!(r.digest().unwrap().hex(), H);
        assert_eq!(r.name(), "localhost:5000/a/b");
        let r: Reference = "busybox".parse().unwrap();
        assert_eq!(r.domain(), "docker.io");
        assert_eq!(r.path(), "library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.digest(), None);
    }

    #[test]
    fn name_length_limit_is_inclusive() {
        let name = "a".repeat(NAME_TOTAL_LENGTH_MAX);
        assert!(Reference::parse(&name).is_ok());
        let tag = "t".repeat(TAG_MAX);
        assert!(Reference::parse(&format!("a:{tag}")).is_ok());
    }

    #[test]
    fn serde_as_string() {
        let r: Reference = "user/app:v1".parse().unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"docker.io/user/app:v1\"");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
        assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
    }
}
