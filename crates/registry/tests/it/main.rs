//! Integration tests of `berth-registry` against real registries on 127.0.0.1 (Debian's
//! `docker-registry`) and a scripted fake server for hostile cases. One binary (habit 11).

mod harness;

mod auth;
mod blobs;
mod faults;
mod manifests;
mod transfer;
mod transfer_faults;

/// Deterministic test content of `len` bytes, different per `seed`.
pub fn content(seed: u8, len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Pushes `bytes` as a blob (monolithic) and returns its digest.
pub fn push_blob(
    client: &berth_registry::RegistryClient,
    r: &berth_image::Reference,
    bytes: &[u8],
) -> berth_image::Digest {
    let d = berth_image::Digest::of(bytes);
    client
        .upload_blob(r, &d, bytes.len() as u64, bytes, None)
        .unwrap();
    d
}

/// Pushes a config and one layer and returns an OCI manifest referencing them.
pub fn push_image(
    client: &berth_registry::RegistryClient,
    r: &berth_image::Reference,
    seed: u8,
) -> Vec<u8> {
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []}, "seed": seed
    })
    .to_string()
    .into_bytes();
    let layer = content(seed, 3000);
    let cd = push_blob(client, r, &config);
    let ld = push_blob(client, r, &layer);
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_image::model::media_type::OCI_MANIFEST,
        "config": {"mediaType": berth_image::model::media_type::OCI_CONFIG,
                   "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": berth_image::model::media_type::OCI_LAYER,
                    "digest": ld.to_string(), "size": layer.len()}]
    }))
    .unwrap()
}
