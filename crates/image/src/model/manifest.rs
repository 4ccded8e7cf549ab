//! Descriptors, manifests and indexes: the JSON documents that name an image's blobs.
//!
//! Why one [`Manifest`] type for OCI and Docker schema 2 (and one [`Index`] for OCI indexes and
//! Docker manifest lists): the two formats have the same fields under the same JSON names and
//! differ only in media types, so one type serves both and the media type says which it was.
//!
//! Why parsing looks at the body and not only at the media type: registries and archives send
//! wrong or generic `Content-Type`s, and OCI layouts may omit `mediaType`; the keys present
//! (`manifests` vs `layers`) decide then. A document that has both is refused, as the OCI spec
//! asks, because it could be read as either.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::media_type;
use super::platform::Platform;
use crate::digest::Digest;
use crate::error::ImageError;

/// A reference to a blob: its media type, digest and size, plus optional hints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the blob is (one of [`media_type`]'s constants, or any other type).
    pub media_type: String,
    /// The digest of the blob's bytes.
    pub digest: Digest,
    /// The blob's size in bytes.
    pub size: u64,
    /// Where else the blob may be fetched from (foreign/non-distributable layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The platform of the manifest this descriptor points to (in indexes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type of the manifest this descriptor points to (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor with only the required fields.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest,
            size,
            urls: None,
            annotations: None,
            platform: None,
            artifact_type: None,
        }
    }
}

/// A single-platform image manifest: an OCI image manifest or a Docker schema 2 manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// [`media_type::OCI_MANIFEST`] or [`media_type::DOCKER_MANIFEST`] (optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1 artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The image config blob.
    pub config: Descriptor,
    /// The layers, base layer first.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs; OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// An OCI image manifest of `config` and `layers`.
    pub fn oci(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Manifest {
            schema_version: 2,
            media_type: Some(media_type::OCI_MANIFEST.to_string()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: None,
        }
    }

    /// The compact JSON of this manifest (the bytes that get a digest).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A multi-platform index: an OCI image index or a Docker manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// [`media_type::OCI_INDEX`] or [`media_type::DOCKER_MANIFEST_LIST`] (optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests, each usually with a platform.
    pub manifests: Vec<Descriptor>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The annotation buildkit puts on attestation manifests inside an index.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

impl Index {
    /// The manifest to pull for `wanted`, chosen as `docker pull` does (containerd's
    /// `platforms.Only`, see [`Platform::matches`]): the entry that matches best, the first
    /// one in the index among equally good ones.
    ///
    /// Skipped: entries whose media type is not an image manifest (nested indexes, artifacts),
    /// entries without a platform, and buildkit attestation manifests (platform
    /// `unknown/unknown`, annotation `vnd.docker.reference.type`), which hold no filesystem.
    pub fn select(&self, wanted: &Platform) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .filter(|d| media_type::is_manifest(&d.media_type))
            .filter(|d| {
                d.annotations
                    .as_ref()
                    .is_none_or(|a| a.get(REFERENCE_TYPE).is_none())
            })
            .filter_map(|d| Some((d.platform.as_ref()?.match_rank(wanted)?, d)))
            .min_by_key(|&(rank, _)| rank)
            .map(|(_, d)| d)
    }
}

/// A parsed manifest-or-index document, as fetched by reference from a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
// Not boxed: one value per parsed document, short-lived, and matching on it stays plain.
#[allow(clippy::large_enum_variant)]
pub enum ManifestOrIndex {
    /// A single-platform manifest.
    Manifest(Manifest),
    /// A multi-platform index.
    Index(Index),
}

impl ManifestOrIndex {
    /// Parses a manifest or index. `media_type_hint` is the `Content-Type` it was served with
    /// or the descriptor's media type, if known.
    ///
    /// The kind is decided by the body's `mediaType`, else by the hint, else by the keys
    /// present (`manifests` → index, `layers`/`config` → manifest). Refused: Docker schema 1
    /// (deprecated; the error says to re-push), any `schemaVersion` other than 2, a body whose
    /// `mediaType` contradicts the hint, and a body with both `manifests` and `layers`.
    pub fn parse(bytes: &[u8], media_type_hint: Option<&str>) -> Result<Self, ImageError> {
        let bad = |reason: String| ImageError::InvalidManifest { reason };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".to_owned()))?;
        let body_mt = match obj.get("mediaType") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(bad(format!("mediaType must be a string, got {other}"))),
        };

        for mt in [body_mt, media_type_hint].into_iter().flatten() {
            if media_type::is_schema1(mt) {
                return Err(ImageError::ManifestSchema1 {
                    media_type: mt.to_owned(),
                });
            }
        }
        let version = obj.get("schemaVersion");
        if version.and_then(serde_json::Value::as_u64) == Some(1) {
            return Err(ImageError::ManifestSchema1 {
                media_type: "schemaVersion 1".to_owned(),
            });
        }
        if version.and_then(serde_json::Value::as_u64) != Some(2) {
            let got = version.map_or("nothing".to_owned(), ToString::to_string);
            return Err(bad(format!(
                "schemaVersion must be 2, got {got}; berth reads OCI and Docker schema 2 \
                 manifests only"
            )));
        }

        let kind = |mt: &str| {
            if media_type::is_index(mt) {
                Some(Kind::Index)
            } else if media_type::is_manifest(mt) {
                Some(Kind::Manifest)
            } else {
                None
            }
        };
        let body_kind = body_mt.and_then(kind);
        let hint_kind = media_type_hint.and_then(kind);
        if let (Some(b), Some(h)) = (body_kind, hint_kind) {
            if b != h {
                return Err(bad(format!(
                    "the document says mediaType {:?} but was served as {:?}; the registry \
                     or archive is inconsistent",
                    body_mt.unwrap_or_default(),
                    media_type_hint.unwrap_or_default()
                )));
            }
        }
        let has_manifests = obj.contains_key("manifests");
        let has_layers = obj.contains_key("layers");
        let kind = match (body_kind.or(hint_kind), has_manifests, has_layers) {
            (_, true, true) => {
                return Err(bad(
                    "the document has both \"manifests\" and \"layers\", so it is ambiguous \
                     between an index and a manifest"
                        .to_owned(),
                ))
            }
            (Some(k), _, _) => k,
            (None, true, false) => Kind::Index,
            (None, false, true) => Kind::Manifest,
            (None, false, false) if obj.contains_key("config") => Kind::Manifest,
            (None, false, false) => {
                return Err(bad(format!(
                    "cannot tell a manifest from an index: no known mediaType (body {:?}, \
                     served as {:?}) and neither \"manifests\" nor \"layers\" present",
                    body_mt.unwrap_or_default(),
                    media_type_hint.unwrap_or_default()
                )))
            }
        };
        match kind {
            Kind::Manifest => serde_json::from_value(value)
                .map(Self::Manifest)
                .map_err(|e| bad(format!("not a valid image manifest: {e}"))),
            Kind::Index => serde_json::from_value(value)
                .map(Self::Index)
                .map_err(|e| bad(format!("not a valid image index: {e}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Index,
}
