//! A scripted server for what a healthy registry never does: wrong bytes for a digest,
//! transient 503s and 429s, ignored ranges, redirects to storage, 403.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use berth_image::{Digest, Reference};
use berth_registry::{ClientConfig, RegistryClient, RegistryError};
use berth_types::ErrorKind;

use crate::harness::{Response, Server};

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig {
        certs_dir: "/nonexistent-berth-certs".into(),
        ..ClientConfig::default()
    })
    .unwrap()
}

fn v2_ok(path: &str) -> Option<Response> {
    (path == "/v2/").then(|| Response::new(200, "{}"))
}

#[test]
fn manifest_by_digest_with_wrong_bytes_is_detected() {
    let served = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let server = Server::start(move |req| {
        v2_ok(req.path()).unwrap_or_else(|| {
            Response::new(200, served.to_vec())
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        })
    });
    let asked = Digest::of(b"the real manifest");
    let r = Reference::parse(&format!("{}/x/y@{asked}", server.addr)).unwrap();
    let err = client().get_manifest(&r, &[]).unwrap_err();
    match &err {
        RegistryError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &asked.to_string());
            assert_eq!(actual, &Digest::of(served).to_string());
        }
        other => panic!("expected a digest mismatch, got {other}"),
    }
    // By tag the same bytes are fine, and the media type falls back to the body's.
    let server2 = Server::start(move |req| {
        v2_ok(req.path()).unwrap_or_else(|| Response::new(200, served.to_vec()))
    });
    let r = Reference::parse(&format!("{}/x/y:t", server2.addr)).unwrap();
    let (_, mt, d) = client().get_manifest(&r, &[]).unwrap();
    assert_eq!(d, Digest::of(served));
    assert_eq!(mt, "application/vnd.oci.image.manifest.v1+json");
}

#[test]
fn transient_503_and_429_are_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = Server::start(move |req| {
        if let Some(r) = v2_ok(req.path()) {
            return r;
        }
        match h.fetch_add(1, Ordering::SeqCst) {
            0 => Response::new(503, "busy"),
            1 => Response::new(429, "").header("Retry-After", "0"),
            _ => Response::new(200, "[]").header("Content-Length", "2"),
        }
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let d = Digest::of(b"whatever");
    let mut s = client().get_blob(&r, &d, 0).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"[]");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[test]
fn persistent_429_says_rate_limited() {
    let server = Server::start(move |req| {
        v2_ok(req.path()).unwrap_or_else(|| {
            Response::new(
                429,
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"pull limit"}]}"#,
            )
            .header("Retry-After", "0")
        })
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let err = client().get_manifest(&r, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let msg = err.to_string();
    assert!(
        msg.starts_with("too many requests: rate limited by the registry"),
        "{msg}"
    );
    assert!(msg.contains("pull limit"), "{msg}");
    // 1 ping + 3 attempts.
    assert_eq!(server.count(), 4);
}

#[test]
fn ignored_range_is_reported_through_offset() {
    let server = Server::start(move |req| {
        v2_ok(req.path()).unwrap_or_else(|| Response::new(200, b"0123456789".to_vec()))
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let mut s = client()
        .get_blob(&r, &Digest::of(b"0123456789"), 4)
        .unwrap();
    assert_eq!(s.offset(), 0);
    assert!(!s.resumed(4));
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"0123456789");
}

#[test]
fn blob_redirect_to_storage_is_followed_with_range() {
    let server = Server::start(move |req| {
        if let Some(r) = v2_ok(req.path()) {
            return r;
        }
        if req.path().starts_with("/storage/") {
            assert_eq!(req.header("range"), Some("bytes=3-"));
            // Credentials must not leak to storage on another... same host here: kept or not,
            // the range must survive the redirect.
            return Response::new(206, b"3456789".to_vec()).header("Content-Range", "bytes 3-9/10");
        }
        Response::new(307, "").header("Location", "/storage/blob-data")
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let mut s = client()
        .get_blob(&r, &Digest::of(b"0123456789"), 3)
        .unwrap();
    assert_eq!(s.offset(), 3);
    assert_eq!(s.total_size(), Some(10));
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"3456789");
}

#[test]
fn forbidden_is_denied_with_registry_detail() {
    let server = Server::start(move |req| {
        v2_ok(req.path()).unwrap_or_else(|| {
            Response::new(
                403,
                r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
            )
        })
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let err = client()
        .put_manifest(&r, "application/vnd.oci.image.manifest.v1+json", b"{}")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let msg = err.to_string();
    assert!(
        msg.starts_with("denied: the registry refused to let you push"),
        "{msg}"
    );
    assert!(
        msg.contains("requested access to the resource is denied"),
        "{msg}"
    );
}

#[test]
fn unreachable_registry_is_a_connect_error() {
    // A port nobody listens on: bind, take the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let r = Reference::parse(&format!("127.0.0.1:{port}/x/y:t")).unwrap();
    let err = client().get_manifest(&r, &[]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach registry 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn tags_follow_link_pagination() {
    let server = Server::start(move |req| {
        if let Some(r) = v2_ok(req.path()) {
            return r;
        }
        assert_eq!(req.path(), "/v2/x/y/tags/list");
        assert_eq!(req.query("n"), ["2"]);
        match req.query("last").first().map(String::as_str) {
            None => Response::new(200, r#"{"name":"x/y","tags":["a","b"]}"#)
                .header("Link", r#"</v2/x/y/tags/list?last=b&n=2>; rel="next""#),
            Some("b") => Response::new(200, r#"{"name":"x/y","tags":["c","d"]}"#)
                .header("Link", r#"</v2/x/y/tags/list?last=d&n=2>; rel="next""#),
            Some("d") => Response::new(200, r#"{"name":"x/y","tags":["e"]}"#),
            Some(other) => panic!("unexpected last={other}"),
        }
    });
    let r = Reference::parse(&format!("{}/x/y:t", server.addr)).unwrap();
    let tags = client().tags_with_page_size(&r, Some(2)).unwrap();
    assert_eq!(tags, ["a", "b", "c", "d", "e"]);
    // 1 ping + 3 pages.
    assert_eq!(server.count(), 4);
}
