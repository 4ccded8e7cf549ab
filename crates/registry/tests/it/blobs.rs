//! Blob upload (monolithic, chunked), HEAD, GET whole and ranged, cross-repo mount.

use std::io::Read;

use berth_image::Digest;
use berth_registry::RegistryError;
use berth_types::ErrorKind;

use crate::harness::{Auth, Registry};
use crate::{content, push_blob, require_registry};

#[test]
fn monolithic_upload_then_head_and_get() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/blobs:latest");
    let bytes = content(1, 100_000);
    let d = push_blob(&client, &r, &bytes);
    assert_eq!(client.blob_exists(&r, &d).unwrap(), Some(100_000));

    let mut stream = client.get_blob(&r, &d, 0).unwrap();
    assert_eq!(stream.offset(), 0);
    assert_eq!(stream.total_size(), Some(100_000));
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    assert_eq!(got, bytes);

    // Another repository of the same registry does not have it.
    let other = reg.reference("berth/other:latest");
    assert_eq!(client.blob_exists(&other, &d).unwrap(), None);
}

#[test]
fn ranged_get_resumes_at_offset() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/range:latest");
    let bytes = content(2, 50_000);
    let d = push_blob(&client, &r, &bytes);
    let mut stream = client.get_blob(&r, &d, 12_345).unwrap();
    assert!(stream.resumed(12_345));
    assert_eq!(stream.offset(), 12_345);
    assert_eq!(stream.total_size(), Some(50_000));
    assert_eq!(stream.remaining(), Some(50_000 - 12_345));
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    assert_eq!(got, &bytes[12_345..]);
}

#[test]
fn chunked_upload_including_a_short_last_chunk() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/chunked:v1");
    let bytes = content(3, 70_001);
    let d = Digest::of(&bytes);
    client
        .upload_blob(&r, &d, bytes.len() as u64, &bytes[..], Some(16_384))
        .unwrap();
    assert_eq!(client.blob_exists(&r, &d).unwrap(), Some(70_001));
    let mut got = Vec::new();
    client
        .get_blob(&r, &d, 0)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, bytes);
}

#[test]
fn upload_with_wrong_digest_is_refused_by_the_registry() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/bad:latest");
    let bytes = content(4, 1000);
    let wrong = Digest::of(b"something else");
    for chunk in [None, Some(300)] {
        let err = client
            .upload_blob(&r, &wrong, 1000, &bytes[..], chunk)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("digest invalid"), "{chunk:?}: {msg}");
    }
    assert_eq!(client.blob_exists(&r, &wrong).unwrap(), None);
}

#[test]
fn reader_shorter_than_size_is_the_callers_error() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/short:latest");
    let bytes = content(5, 1000);
    let d = Digest::of(&bytes);
    for chunk in [None, Some(256)] {
        let err = client
            .upload_blob(&r, &d, 2000, &bytes[..], chunk)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{chunk:?}: {err}");
        assert!(
            err.to_string().contains("ended after 1000 bytes"),
            "{chunk:?}: {err}"
        );
    }
    // Longer than declared is refused too.
    let err = client
        .upload_blob(&r, &Digest::of(&bytes[..500]), 500, &bytes[..], None)
        .unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[test]
fn mount_across_repositories() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let src = reg.reference("berth/src:latest");
    let dst = reg.reference("berth/dst:latest");
    let bytes = content(6, 4096);
    let d = push_blob(&client, &src, &bytes);
    assert_eq!(client.blob_exists(&dst, &d).unwrap(), None);
    assert!(client.mount_blob(&dst, &d, &src).unwrap());
    assert_eq!(client.blob_exists(&dst, &d).unwrap(), Some(4096));

    // A digest the source does not have: the registry opens an upload instead.
    let missing = Digest::of(b"not pushed");
    assert!(!client.mount_blob(&dst, &missing, &src).unwrap());
    assert_eq!(client.blob_exists(&dst, &missing).unwrap(), None);
}

#[test]
fn missing_blob_is_not_found_with_a_clear_message() {
    require_registry!();
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let r = reg.reference("berth/none:latest");
    let d = Digest::of(b"nothing");
    let err = client.get_blob(&r, &d, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let want = format!("blob {d} in {}/berth/none not found", reg.addr);
    assert!(err.to_string().starts_with(&want), "{err}");
    assert!(matches!(err, RegistryError::NotFound { .. }));
}

#[test]
fn loopback_registry_over_https_with_self_signed_cert() {
    require_registry!();
    // HTTPS only: a fallback to plain HTTP would get 400s, so passing means TLS was used
    // (unverified, as Docker does for loopback registries).
    let reg = Registry::start_with(Auth::Htpasswd, true);
    let client = reg.client();
    client
        .login(&reg.addr, crate::harness::USER, crate::harness::PASS)
        .unwrap();
    let auth_file = reg.dir().join("config.json");
    berth_registry::credentials::store(
        &auth_file,
        &reg.addr,
        crate::harness::USER,
        crate::harness::PASS,
    )
    .unwrap();
    let client = reg.client_with(Some(auth_file));
    let r = reg.reference("tls/blob:latest");
    let bytes = content(7, 20_000);
    let d = push_blob(&client, &r, &bytes);
    let mut got = Vec::new();
    client
        .get_blob(&r, &d, 100)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, &bytes[100..]);
}
