//! The image config blob: what to run (entrypoint, env, user, ...) and the layers' diff ids.
//!
//! Why Docker's extra keys and a catch-all `extra` map: the config's digest is its image id,
//! and configs written by `docker build`, `docker commit` and older tools carry keys the OCI
//! spec does not name (`container_config`, `docker_version`, `Hostname`, ...). Keeping every
//! unknown key means berth can re-serialise a config it read (for `docker save`-style export or
//! `inspect`) without silently dropping data. Ids are always computed from the original bytes,
//! never from a re-serialisation.
//!
//! Why `null` is accepted everywhere: Go's encoder writes nil slices and maps as `null`, so real
//! Docker configs contain `"Env": null`, `"OnBuild": null` and the like.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::digest::Digest;
use crate::error::ImageError;

/// An image config: the OCI image config plus the top-level keys Docker writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    /// When the image was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Who created the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The CPU architecture (Go's name: `amd64`, `arm64`, ...).
    pub architecture: String,
    /// The operating system (`linux`, `windows`).
    pub os: String,
    /// The OS version (Windows images).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required OS features (Windows images).
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// The CPU variant (`v7`, `v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The defaults for containers run from this image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// The layers' uncompressed digests.
    pub rootfs: RootFs,
    /// How each layer was made, base first.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<History>,
    /// Docker: the id of the container the image was committed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Docker: the config of the container the image was committed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<Value>,
    /// Docker: the version of the daemon that built the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    /// Docker: the commit message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Every other key, kept as read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ImageConfig {
    /// Parses a config blob. Refused: invalid JSON, missing `architecture`/`os`/`rootfs`, and a
    /// `rootfs.type` other than `layers`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ImageError> {
        let config: Self =
            serde_json::from_slice(bytes).map_err(|e| ImageError::InvalidConfig {
                reason: format!(
                    "{e}; is the manifest's config descriptor pointing at the right blob?"
                ),
            })?;
        if config.rootfs.type_ != "layers" {
            return Err(ImageError::InvalidConfig {
                reason: format!(
                    "rootfs.type is {:?}, the OCI image spec allows only \"layers\"; the image \
                     was built by a broken tool and must be rebuilt",
                    config.rootfs.type_
                ),
            });
        }
        Ok(config)
    }

    /// The config as compact JSON (keys of `extra` included).
    pub fn to_json(&self) -> Vec<u8> {
        // Cannot fail: every map is keyed by String and every value is plain data.
        serde_json::to_vec(self).expect("serialising an ImageConfig cannot fail")
    }
}

/// The defaults for a container run from the image, with Docker's capitalised keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// The user (`name`, `uid`, `uid:gid`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The exposed ports (`"80/tcp": {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// The environment, `KEY=value` each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// The entrypoint (a bare string is read as a one-element list, as Docker does).
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// The command, or the arguments to the entrypoint.
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    /// The volumes (`"/data": {}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// The labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal that stops the container (`SIGTERM`, `15`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Windows: the command line is already escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    /// The health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// `ONBUILD` instructions for images built `FROM` this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// The shell for shell-form `RUN`, `CMD` and `ENTRYPOINT`.
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    /// Seconds to wait after the stop signal before killing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Every other key (`Hostname`, `Tty`, `Image`, ...), kept as read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A health check, Docker's `HealthConfig`. Durations are in nanoseconds; 0 or absent means
/// the default (inherit).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`; empty inherits.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    /// Time between checks, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// Time one check may take, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Start-up time during which failures do not count, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    /// Time between checks during the start period, in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    /// Consecutive failures before the container is unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
}

/// The image's layers, by uncompressed digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The digests of the uncompressed layer tars, base first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub diff_ids: Vec<Digest>,
}

/// One step of the image's history.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct History {
    /// When the step ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Who made the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The step made no layer (`ENV`, `CMD`, ...), so it has no entry in `diff_ids`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
}

/// The chain ids of a layer stack, as the OCI image spec defines them:
/// `ChainID(L0) = DiffID(L0)`, `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
/// A chain id names the filesystem after applying layers `0..=n`, so equal prefixes of
/// different images share snapshots.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::of(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// `null` (Go's nil slice or map) reads as the empty value.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `StrSlice`: a list of strings, a bare string (one element) or `null`.
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrSlice {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<StrSlice>::deserialize(d)? {
        None => None,
        Some(StrSlice::One(s)) => Some(vec![s]),
        Some(StrSlice::Many(v)) => Some(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like `docker save` / `docker inspect` output of a classic-builder image.
    const DOCKER_CONFIG: &str = r##"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"nginx","AttachStdin":false,"Tty":false,"ExposedPorts":{"80/tcp":{}},"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NGINX_VERSION=1.25.3"],"Cmd":["nginx","-g","daemon off;"],"Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":30000000000,"Timeout":5000000000,"StartPeriod":10000000000,"Retries":3},"ArgsEscaped":true,"Image":"sha256:5d0da3dc976460b72c77d94c8a1ad043720b0416bfc16c52c45d4847e53fadb6","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>"},"StopSignal":"SIGQUIT","StopTimeout":null},"container":"3b0b8f5d5c0e8a7e1f3c4b2a1d0e9f8c7b6a5d4e3f2a1b0c9d8e7f6a5b4c3d2e","container_config":{"Hostname":"3b0b8f5d5c0e","Cmd":["/bin/sh","-c","#(nop) ","CMD [\"nginx\" \"-g\" \"daemon off;\"]"],"Env":null,"OnBuild":null},"created":"2023-11-21T05:47:38.386355358Z","docker_version":"20.10.23","history":[{"created":"2023-11-21T01:20:37.0Z","created_by":"/bin/sh -c #(nop) ADD file:4b1be1de1a1e5aa608c688cad2824587262081866180d7368feb79d33ca05953 in / "},{"created":"2023-11-21T01:20:37.5Z","created_by":"/bin/sh -c #(nop)  CMD [\"bash\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]},"moby.buildkit.buildinfo.v1":"eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ=="}"##;

    fn d(c: char) -> Digest {
        format!("sha256:{}", std::iter::repeat_n(c, 64).collect::<String>())
            .parse()
            .unwrap()
    }

    #[test]
    fn docker_config_with_nulls_parses() {
        let c = ImageConfig::parse(DOCKER_CONFIG.as_bytes()).unwrap();
        assert_eq!((c.architecture.as_str(), c.os.as_str()), ("amd64", "linux"));
        assert_eq!(c.docker_version.as_deref(), Some("20.10.23"));
        assert!(c.container.as_deref().unwrap().starts_with("3b0b8f5d"));
        assert_eq!(
            c.container_config.as_ref().unwrap()["Hostname"],
            "3b0b8f5d5c0e"
        );
        assert_eq!(c.rootfs.diff_ids, vec![d('a'), d('b')]);
        assert_eq!(c.history.len(), 2);
        assert_eq!(c.history[1].empty_layer, Some(true));
        assert_eq!(c.history[0].empty_layer, None);
        let cc = c.config.as_ref().unwrap();
        assert_eq!(cc.user.as_deref(), Some("nginx"));
        assert_eq!(cc.env.as_ref().unwrap()[1], "NGINX_VERSION=1.25.3");
        assert_eq!(cc.cmd.as_ref().unwrap(), &["nginx", "-g", "daemon off;"]);
        assert_eq!((cc.entrypoint.as_ref(), cc.on_build.as_ref()), (None, None));
        assert_eq!((cc.volumes.as_ref(), cc.stop_timeout), (None, None));
        assert_eq!(cc.working_dir.as_deref(), Some(""));
        assert!(cc.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(cc.stop_signal.as_deref(), Some("SIGQUIT"));
        assert_eq!(cc.args_escaped, Some(true));
        let hc = cc.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test[0], "CMD-SHELL");
        assert_eq!(hc.interval, Some(30_000_000_000));
        assert_eq!(hc.start_period, Some(10_000_000_000));
        assert_eq!((hc.start_interval, hc.retries), (None, Some(3)));
        assert_eq!(cc.extra["Image"].as_str().unwrap().len(), 71);
        assert_eq!(cc.extra["Tty"], false);
        assert!(c.extra.contains_key("moby.buildkit.buildinfo.v1"));
        assert!(!c.extra.contains_key("history") && !cc.extra.contains_key("Env"));
    }

    #[test]
    fn round_trip_keeps_unknown_keys() {
        let c = ImageConfig::parse(DOCKER_CONFIG.as_bytes()).unwrap();
        let out = c.to_json();
        let again = ImageConfig::parse(&out).unwrap();
        assert_eq!(again, c);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["moby.buildkit.buildinfo.v1"],
            "eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ=="
        );
        assert_eq!(v["config"]["Hostname"], "");
        assert_eq!(v["config"]["ExposedPorts"]["80/tcp"], serde_json::json!({}));
        assert_eq!(v["config"]["Healthcheck"]["Retries"], 3);
        assert_eq!(v["container_config"]["Cmd"][0], "/bin/sh");
        assert_eq!(v["rootfs"]["type"], "layers");
        // Absent and null fields are skipped, not written as null.
        assert!(v["config"].get("Entrypoint").is_none());
        assert!(v.get("author").is_none() && v.get("os.version").is_none());
        assert!(!v["config"].to_string().contains("null"), "{}", v["config"]);
        // container_config is opaque and kept verbatim, nulls included.
        assert!(v["container_config"]["Env"].is_null());
        assert!(v["container_config"].get("Env").is_some());
    }

    #[test]
    fn oci_config_minimal_and_string_entrypoint() {
        let json = br#"{"architecture":"arm64","variant":"v8","os":"linux","os.version":"x",
            "config":{"Entrypoint":"/bin/sh","Shell":["/bin/bash","-c"]},
            "rootfs":{"type":"layers","diff_ids":null},"history":null}"#;
        let c = ImageConfig::parse(json).unwrap();
        assert_eq!(c.variant.as_deref(), Some("v8"));
        assert_eq!(c.os_version.as_deref(), Some("x"));
        let cc = c.config.unwrap();
        assert_eq!(cc.entrypoint, Some(vec!["/bin/sh".to_owned()]));
        assert_eq!(cc.shell.unwrap().len(), 2);
        assert!(c.rootfs.diff_ids.is_empty() && c.history.is_empty());
    }

    #[test]
    fn invalid_configs_are_refused() {
        let bad_type =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"tar","diff_ids":[]}}"#;
        let err = ImageConfig::parse(bad_type).unwrap_err();
        assert!(matches!(err, ImageError::InvalidConfig { .. }), "{err:?}");
        assert!(err.to_string().contains(r#"rootfs.type is "tar""#), "{err}");
        let no_rootfs = br#"{"architecture":"amd64","os":"linux"}"#;
        let err = ImageConfig::parse(no_rootfs).unwrap_err();
        assert!(err.to_string().contains("rootfs"), "{err}");
        let bad_digest = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}}"#;
        assert!(ImageConfig::parse(bad_digest).is_err());
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        assert!(chain_ids(&[]).is_empty());
        assert_eq!(chain_ids(&[d('a')]), vec![d('a')]);
        // printf '%s' "sha256:aaa… sha256:bbb…" | sha256sum, then again with ccc….
        let ab: Digest = "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
            .parse()
            .unwrap();
        let abc: Digest = "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588"
            .parse()
            .unwrap();
        assert_eq!(chain_ids(&[d('a'), d('b'), d('c')]), vec![d('a'), ab, abc]);
    }
}
