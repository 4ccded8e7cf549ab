//! Docker's credentials file (`~/.docker/config.json`): the `auths` map, read and written so
//! that `docker login` and `berth login` share it.
//!
//! Keys are `host[:port]` (any `https://`/`http://` prefix and `/v1/`, `/v2/` suffix ignored
//! when reading, as Docker's `ConvertToHostname` does), except Docker Hub, whose key is
//! [`DOCKER_HUB_KEY`]. Writes keep every other key of the file (`credsStore`, `proxies`, …),
//! go through a temp file and a rename (a crash leaves the old or the new file, never half of
//! one) and are mode 0600 because they hold passwords. Credential helpers (`credsStore`) are
//! not run.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;

use crate::error::{RegistryError, Result};

/// The `auths` key Docker uses for Docker Hub.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or identity token as password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credential {
    /// The value of a `Basic` `Authorization` header.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// The credentials of a config file, by normalised registry key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auths {
    entries: BTreeMap<String, Credential>,
}

impl Auths {
    /// The credentials for `registry` (`host[:port]` or `docker.io`), if any.
    pub fn get(&self, registry: &str) -> Option<&Credential> {
        self.entries.get(&normalize_key(registry))
    }

    /// The registries (normalised keys) with credentials.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Adds or replaces the credentials of `registry` (in memory only).
    pub fn insert(&mut self, registry: &str, credential: Credential) {
        self.entries.insert(normalize_key(registry), credential);
    }
}

/// The key a registry is stored under: [`DOCKER_HUB_KEY`] for Docker Hub, `host[:port]`
/// otherwise.
pub fn registry_key(registry: &str) -> String {
    let host = normalize_key(registry);
    if host == "docker.io" {
        DOCKER_HUB_KEY.to_owned()
    } else {
        host
    }
}

/// `https://host:port/v1/` → `host:port`; every Docker Hub alias → `docker.io`.
fn normalize_key(key: &str) -> String {
    let mut s = key.trim();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    let host = s.split('/').next().unwrap_or("");
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host.to_owned(),
    }
}

/// Reads the `auths` of a Docker config file. A missing file is no credentials.
///
/// Entries carry `auth` (`base64(user:password)`) or `username`/`password`; entries with
/// neither (credential-helper placeholders) are skipped.
pub fn load(path: &Path) -> Result<Auths> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Auths::default()),
        Err(e) => return Err(cred_err(path, format!("cannot read it: {e}"))),
    };
    let doc: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        cred_err(
            path,
            format!("not valid JSON ({e}); fix it or remove it and log in again"),
        )
    })?;
    let mut auths = Auths::default();
    let Some(map) = doc.get("auths").and_then(|a| a.as_object()) else {
        return Ok(auths);
    };
    for (key, entry) in map {
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let credential = if let Some(auth) = field("auth") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    cred_err(
                        path,
                        format!("the auth of {key} is not base64 of user:password; log in again"),
                    )
                })?;
            let (user, pass) = decoded.split_once(':').ok_or_else(|| {
                cred_err(
                    path,
                    format!("the auth of {key} has no ':' between user and password; log in again"),
                )
            })?;
            Credential {
                username: user.to_owned(),
                password: pass.to_owned(),
            }
        } else if let (Some(user), Some(pass)) = (field("username"), field("password")) {
            Credential {
                username: user.to_owned(),
                password: pass.to_owned(),
            }
        } else {
            continue;
        };
        auths.entries.insert(normalize_key(key), credential);
    }
    Ok(auths)
}

/// Stores `username`/`password` for `registry` in the config file at `path` (created, with its
/// directory, if missing), keeping the file's other content.
pub fn store(path: &Path, registry: &str, username: &str, password: &str) -> Result<()> {
    let mut doc = read_doc(path)?;
    let auths = auths_object(path, &mut doc)?;
    remove_aliases(auths, registry);
    let raw = format!("{username}:{password}");
    let mut entry = serde_json::Map::new();
    entry.insert(
        "auth".into(),
        base64::engine::general_purpose::STANDARD.encode(raw).into(),
    );
    auths.insert(registry_key(registry), serde_json::Value::Object(entry));
    write_doc(path, &doc)
}

/// Removes the credentials of `registry`; returns whether there were any.
pub fn erase(path: &Path, registry: &str) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let mut doc = read_doc(path)?;
    let auths = auths_object(path, &mut doc)?;
    let removed = remove_aliases(auths, registry);
    if removed {
        write_doc(path, &doc)?;
    }
    Ok(removed)
}

fn remove_aliases(auths: &mut serde_json::Map<String, serde_json::Value>, registry: &str) -> bool {
    let wanted = normalize_key(registry);
    let keys: Vec<String> = auths
        .keys()
        .filter(|k| normalize_key(k) == wanted)
        .cloned()
        .collect();
    for k in &keys {
        auths.remove(k);
    }
    !keys.is_empty()
}

fn read_doc(path: &Path) -> Result<serde_json::Value> {
    match fs::read(path) {
        Ok(t) if t.iter().all(u8::is_ascii_whitespace) => Ok(serde_json::json!({})),
        Ok(t) => serde_json::from_slice(&t).map_err(|e| {
            cred_err(
                path,
                format!("not valid JSON ({e}); fix it or remove it and log in again"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(e) => Err(cred_err(path, format!("cannot read it: {e}"))),
    }
}

fn auths_object<'a>(
    path: &Path,
    doc: &'a mut serde_json::Value,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| cred_err(path, "the top level is not a JSON object; fix it".into()))?;
    let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
    if auths.is_null() {
        *auths = serde_json::json!({});
    }
    auths
        .as_object_mut()
        .ok_or_else(|| cred_err(path, "\"auths\" is not a JSON object; fix it".into()))
}

fn write_doc(path: &Path, doc: &serde_json::Value) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)
        .map_err(|e| cred_err(path, format!("cannot create {}: {e}", dir.display())))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.json".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut text = serde_json::to_vec_pretty(doc)
        .map_err(|e| cred_err(path, format!("cannot serialise: {e}")))?;
    text.push(b'\n');
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(cred_err(path, format!("cannot write it: {e}")));
    }
    Ok(())
}

fn cred_err(path: &Path, reason: String) -> RegistryError {
    RegistryError::Credentials {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn keys_normalise_like_docker() {
        assert_eq!(registry_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(registry_key("index.docker.io"), DOCKER_HUB_KEY);
        assert_eq!(registry_key("https://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(registry_key("quay.io"), "quay.io");
    }

    #[test]
    fn store_load_erase_keep_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.json");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            r#"{"credsStore":"desktop","auths":{"https://quay.io":{"auth":"dTpw"}},"proxies":{"default":{}}}"#,
        )
        .unwrap();
        store(&path, "127.0.0.1:5000", "user", "p:ss").unwrap();
        store(&path, "docker.io", "hub", "secret").unwrap();
        let auths = load(&path).unwrap();
        assert_eq!(
            auths.get("127.0.0.1:5000"),
            Some(&Credential {
                username: "user".into(),
                password: "p:ss".into()
            })
        );
        assert_eq!(auths.get("index.docker.io").unwrap().username, "hub");
        assert_eq!(auths.get("quay.io").unwrap().username, "u");
        let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["credsStore"], "desktop");
        assert!(doc["proxies"]["default"].is_object());
        assert!(doc["auths"][DOCKER_HUB_KEY]["auth"].is_string());
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        assert!(erase(&path, "127.0.0.1:5000").unwrap());
        assert!(!erase(&path, "127.0.0.1:5000").unwrap());
        let auths = load(&path).unwrap();
        assert!(auths.get("127.0.0.1:5000").is_none());
        assert!(auths.get("docker.io").is_some());
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn missing_file_is_empty_and_bad_json_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        assert_eq!(load(&path).unwrap(), Auths::default());
        fs::write(&path, "{nope").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(store(&path, "r", "u", "p").is_err());
    }
}
