//! Image endpoints' bodies: `/images/json`, `/images/{name}/json`, `/history`, `DELETE`,
//! `/images/prune`, and the JSON message stream of pull, push and load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One entry of `GET /images/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// `sha256:…`, the config digest.
    pub id: String,
    /// Always `""` (no parent chain for pulled or loaded images).
    pub parent_id: String,
    /// `name:tag` in familiar form.
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` in familiar form.
    pub repo_digests: Vec<String>,
    /// Seconds since the epoch.
    pub created: i64,
    /// Bytes of unpacked layers.
    pub size: i64,
    /// `-1`: not computed (Docker computes it only for `system df`).
    pub shared_size: i64,
    /// The config's labels.
    pub labels: BTreeMap<String, String>,
    /// `-1`: not computed.
    pub containers: i64,
}

/// `GET /images/{name}/json`. `Config` and friends are passed through as JSON values: they are
/// the image config's own Docker-shaped objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// `sha256:…`.
    pub id: String,
    /// Familiar `name:tag`s.
    pub repo_tags: Vec<String>,
    /// Familiar `name@sha256:…`s.
    pub repo_digests: Vec<String>,
    /// Always `""`.
    pub parent: String,
    /// The last history entry's comment.
    pub comment: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The id of the container the image was committed from (`""` when not recorded).
    /// Deprecated by Docker, still answered up to API 1.44: docker-compose 1.29 reads it.
    pub container: String,
    /// That container's config: Docker's `container.Config`, every field present (zero values
    /// when the image does not record one). docker-compose 1.29 reads its `Volumes` when it
    /// recreates a container.
    pub container_config: serde_json::Value,
    /// The builder's Docker version, if recorded.
    pub docker_version: String,
    /// The author.
    pub author: String,
    /// The container config (`Cmd`, `Env`, …).
    pub config: serde_json::Value,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v8`, … (omitted when empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `linux`.
    pub os: String,
    /// Bytes of unpacked layers.
    pub size: i64,
    /// `{"Name":"overlay","Data":{"LowerDir":…}}`.
    pub graph_driver: serde_json::Value,
    /// `{"Type":"layers","Layers":[diff ids]}`.
    #[serde(rename = "RootFS")]
    pub root_fs: serde_json::Value,
    /// `{"LastTagTime": …}`.
    pub metadata: serde_json::Value,
}

/// One entry of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryResponseItem {
    /// The image id for the top entry, `<missing>` below it (Docker's answer for layers
    /// that are not images of their own).
    pub id: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The instruction that made the entry.
    pub created_by: String,
    /// Tags of the image, on the top entry only.
    pub tags: Vec<String>,
    /// Bytes the entry's layer adds (0 for empty layers).
    pub size: i64,
    /// The entry's comment.
    pub comment: String,
}

/// One line of `DELETE /images/{name}` and of a prune report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageDeleteResponseItem {
    /// A reference was removed.
    Untagged(String),
    /// An image or layer was deleted.
    Deleted(String),
}

/// `POST /images/prune`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesPruneResponse {
    /// What was removed (`null` when nothing was, as Docker sends).
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    /// Bytes freed.
    pub space_reclaimed: u64,
}

/// Bytes done of a layer transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressDetail {
    /// Bytes done.
    pub current: u64,
    /// Bytes in all.
    pub total: u64,
}

/// One line of a JSON message stream (pull, push, load, import), Docker's `jsonmessage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonMessage {
    /// `Pulling fs layer`, `Downloading`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The layer or tag the status is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Byte progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// A pre-rendered progress bar (`[==>   ] 1MB/2MB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Free text printed as is (`Loaded image: x:y\n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// A failure that ends the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same failure, structured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<crate::ErrorDetail>,
    /// Out-of-band data (`{"ID": "sha256:…"}` at the end of a build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_items_are_docker_shaped() {
        let v = serde_json::to_string(&ImageDeleteResponseItem::Untagged("a:b".into())).unwrap();
        assert_eq!(v, r#"{"Untagged":"a:b"}"#);
    }

    #[test]
    fn progress_line_is_docker_shaped() {
        let m = JsonMessage {
            status: Some("Downloading".into()),
            id: Some("abc".into()),
            progress_detail: Some(ProgressDetail {
                current: 1,
                total: 2,
            }),
            ..JsonMessage::default()
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"status":"Downloading","id":"abc","progressDetail":{"current":1,"total":2}}"#
        );
    }
}
