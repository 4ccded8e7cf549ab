//! Image archives: `load` and `save` in the docker-archive format (`docker save`/`docker load`)
//! and the OCI image layout (skopeo's `oci:` and `oci-archive:`).
//!
//! Why one writer for both: since Docker 25, `docker save` writes a tar that is both — OCI
//! `blobs/`, `index.json` and `oci-layout`, plus the legacy `manifest.json` and `repositories`
//! pointing into `blobs/`. berth writes the same, so the result loads into docker 20.10 and
//! newer, podman, and skopeo as either `docker-archive:` or `oci-archive:`. Reading accepts the
//! old layout too (`<id>/layer.tar`, `<config>.json`) and follows its symlinks and hard links.
//!
//! Hostile archives: entry names are cleaned and may not climb out (`../`), layer content is
//! only ever unpacked by `berth-fs` (which refuses escapes), every blob whose path claims a
//! digest is verified against it, and nothing half-written becomes visible (blobs and layers go
//! through the store's temp-then-rename paths).

mod build;
mod import;
mod ingest;
mod load;
mod save;

pub use build::BuildHistory;
pub use import::NewImage;
pub use load::LoadReport;
