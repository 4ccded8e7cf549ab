//! The media types of OCI and Docker image content, and the predicates the puller needs.
//!
//! Why exact string constants and not an enum: media types travel through descriptors and HTTP
//! headers as opaque strings, registries invent new ones (attestations, signatures, artifacts),
//! and a descriptor must round-trip byte for byte. The predicates below classify the ones berth
//! acts on; everything else is carried along untouched.

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (multi-platform).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, uncompressed tar (deprecated by the spec, still found).
pub const OCI_LAYER_NONDIST: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, gzip-compressed tar (deprecated by the spec, still found).
pub const OCI_LAYER_NONDIST_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, zstd-compressed tar (deprecated by the spec, still found).
pub const OCI_LAYER_NONDIST_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-platform), schema 2.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, uncompressed tar.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker layer, gzip-compressed tar.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker layer, zstd-compressed tar (written by some buildkit versions).
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/// Docker foreign layer (e.g. Windows base layers), uncompressed tar.
pub const DOCKER_LAYER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
/// Docker foreign layer (e.g. Windows base layers), gzip-compressed tar.
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker manifest, schema 1 (deprecated, refused by berth).
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker manifest, schema 1 with a JWS signature (deprecated, refused by berth).
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Whether `mt` is a single-platform image manifest berth understands (OCI or Docker schema 2).
pub fn is_manifest(mt: &str) -> bool {
    matches!(mt, OCI_MANIFEST | DOCKER_MANIFEST)
}

/// Whether `mt` is a multi-platform index (OCI index or Docker manifest list).
pub fn is_index(mt: &str) -> bool {
    matches!(mt, OCI_INDEX | DOCKER_MANIFEST_LIST)
}

/// Whether `mt` is a Docker schema 1 manifest, signed or not.
pub fn is_schema1(mt: &str) -> bool {
    matches!(mt, DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED)
}

/// Whether `mt` is a filesystem layer (distributable or not, any compression berth knows).
pub fn is_layer(mt: &str) -> bool {
    matches!(
        mt,
        OCI_LAYER
            | OCI_LAYER_GZIP
            | OCI_LAYER_ZSTD
            | DOCKER_LAYER
            | DOCKER_LAYER_GZIP
            | DOCKER_LAYER_ZSTD
    ) || is_foreign_layer(mt)
}

/// Whether `mt` is a non-distributable (OCI) or foreign (Docker) layer: one a registry may not
/// serve and that is fetched from the descriptor's `urls` instead.
pub fn is_foreign_layer(mt: &str) -> bool {
    matches!(
        mt,
        OCI_LAYER_NONDIST
            | OCI_LAYER_NONDIST_GZIP
            | OCI_LAYER_NONDIST_ZSTD
            | DOCKER_LAYER_FOREIGN
            | DOCKER_LAYER_FOREIGN_GZIP
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(is_manifest(OCI_MANIFEST) && is_manifest(DOCKER_MANIFEST));
        assert!(!is_manifest(OCI_INDEX) && !is_manifest(DOCKER_SCHEMA1));
        assert!(is_index(OCI_INDEX) && is_index(DOCKER_MANIFEST_LIST));
        assert!(!is_index(OCI_MANIFEST));
        assert!(is_schema1(DOCKER_SCHEMA1_SIGNED) && !is_schema1(DOCKER_MANIFEST));
        for mt in [OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER_GZIP] {
            assert!(is_layer(mt) && !is_foreign_layer(mt), "{mt}");
        }
        for mt in [OCI_LAYER_NONDIST_GZIP, DOCKER_LAYER_FOREIGN_GZIP] {
            assert!(is_layer(mt) && is_foreign_layer(mt), "{mt}");
        }
        assert!(!is_layer(OCI_CONFIG) && !is_layer(DOCKER_CONFIG));
        assert!(!is_layer("application/vnd.in-toto+json"));
    }
}
