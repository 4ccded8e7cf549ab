//! Manifests by tag and digest, HEAD, tags with pagination, 404 wording.

use berth_image::model::media_type;
use berth_image::{Digest, Reference};
use berth_types::ErrorKind;

use crate::harness::{Auth, Registry};
use crate::{push_image, require_registry};

#[test]
fn put_and_get_by_tag_and_by_digest() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/app:v1");
    let manifest = push_image(&client, &r, 1);
    let d = client
        .put_manifest(&r, media_type::OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(d, Digest::of(&manifest));

    let (bytes, mt, got) = client.get_manifest(&r, &[]).unwrap();
    assert_eq!(bytes, manifest);
    assert_eq!(mt, media_type::OCI_MANIFEST);
    assert_eq!(got, d);

    let by_digest = Reference::parse(&format!("{}/berth/app@{d}", reg.addr)).unwrap();
    let (bytes, mt, got) = client.get_manifest(&by_digest, &[]).unwrap();
    assert_eq!(bytes, manifest);
    assert_eq!(mt, media_type::OCI_MANIFEST);
    assert_eq!(got, d);

    let (hd, hmt, size) = client.head_manifest(&r).unwrap().unwrap();
    assert_eq!(hd, d);
    assert_eq!(hmt, media_type::OCI_MANIFEST);
    assert_eq!(size, manifest.len() as u64);
    assert!(client
        .head_manifest(&reg.reference("berth/app:nope"))
        .unwrap()
        .is_none());

    // Pushing by digest alone works and must match the bytes.
    let r2 = Reference::parse(&format!("{}/berth/app@{d}", reg.addr)).unwrap();
    assert_eq!(
        client
            .put_manifest(&r2, media_type::OCI_MANIFEST, &manifest)
            .unwrap(),
        d
    );
    let other = Reference::parse(&format!("{}/berth/app@{}", reg.addr, Digest::of(b"x"))).unwrap();
    let err = client
        .put_manifest(&other, media_type::OCI_MANIFEST, &manifest)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[test]
fn manifest_referencing_missing_blobs_is_refused() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/broken:v1");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG,
                   "digest": Digest::of(b"absent").to_string(), "size": 6},
        "layers": []
    }))
    .unwrap();
    let err = client
        .put_manifest(&r, media_type::OCI_MANIFEST, &manifest)
        .unwrap_err();
    assert!(err.to_string().contains("blob unknown"), "{err}");
}

#[test]
fn missing_manifest_message_names_the_reference() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("x/y:tag");
    let err = client.get_manifest(&r, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("manifest for {}/x/y:tag not found", reg.addr)),
        "{msg}"
    );
    assert!(msg.contains("unknown"), "registry detail missing: {msg}");
}

#[test]
fn tags_list_with_and_without_pagination() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let base = reg.reference("berth/tags:a");
    let manifest = push_image(&client, &base, 2);
    for t in ["a", "b", "c", "d", "e"] {
        client
            .put_manifest(
                &reg.reference(&format!("berth/tags:{t}")),
                media_type::OCI_MANIFEST,
                &manifest,
            )
            .unwrap();
    }
    // Without `n` the registry lists in storage order.
    let mut all = client.tags(&base).unwrap();
    all.sort();
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    // distribution 2.8 ignores `n` (pagination is tested against the fake server).
    let mut paged = client.tags_with_page_size(&base, Some(2)).unwrap();
    paged.sort();
    assert_eq!(paged, all);

    let err = client.tags(&reg.reference("berth/nothing:x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
