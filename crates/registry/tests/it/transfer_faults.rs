//! Pulls from a scripted registry that drops connections or serves corrupt bytes: a pull that
//! failed mid-layer resumes where it stopped (HTTP Range) and ends with the same image; a blob
//! that does not match its digest is refused by name and leaves nothing in the store.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_image::model::media_type;
use berth_image::{Digest, ImageStore, Reference};
use berth_registry::{pull, PullOptions};
use berth_testutil::require_root;

use crate::harness::{Response, Server};

/// A gzip layer of ~2 MiB of incompressible data, its config and manifest.
struct FakeImage {
    layer: Vec<u8>,
    config: Vec<u8>,
    manifest: Vec<u8>,
    layer_digest: Digest,
    config_digest: Digest,
}

fn fake_image() -> FakeImage {
    use std::io::Write;
    let mut b = tar::Builder::new(Vec::new());
    let data = crate::content(7, 2 << 20);
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    b.append_data(&mut h, "data.bin", data.as_slice()).unwrap();
    let tar = b.into_inner().unwrap();
    let diff = Digest::of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let layer = gz.finish().unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff.to_string()]}
    })
    .to_string()
    .into_bytes();
    let (layer_digest, config_digest) = (Digest::of(&layer), Digest::of(&config));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": media_type::OCI_LAYER_GZIP, "digest": layer_digest.to_string(), "size": layer.len()}]
    }))
    .unwrap();
    FakeImage {
        layer,
        config,
        manifest,
        layer_digest,
        config_digest,
    }
}

/// How the fake registry serves the layer.
#[derive(Default)]
struct Script {
    /// Cut every layer response after this many bytes of body (the connection drops).
    cut_after: AtomicU64,
    cutting: AtomicBool,
    /// Flip a byte of the layer.
    corrupt: AtomicBool,
    /// Range headers seen on layer requests.
    ranges: Mutex<Vec<String>>,
}

fn serve(img: Arc<FakeImage>, script: Arc<Script>) -> Server {
    Server::start(move |req| {
        let path = req.path();
        if path == "/v2/" {
            return Response::new(200, "{}");
        }
        if path.ends_with("/manifests/1") {
            return Response::new(200, img.manifest.clone())
                .header("Content-Type", media_type::OCI_MANIFEST);
        }
        if path.ends_with(&format!("/blobs/{}", img.config_digest)) {
            return Response::new(200, img.config.clone());
        }
        if path.ends_with(&format!("/blobs/{}", img.layer_digest)) {
            let mut body = img.layer.clone();
            if script.corrupt.load(Ordering::SeqCst) {
                let mid = body.len() / 2;
                body[mid] ^= 0xff;
            }
            let total = body.len();
            let start = match req.header("range") {
                Some(r) => {
                    script.ranges.lock().unwrap().push(r.to_string());
                    r.trim_start_matches("bytes=")
                        .trim_end_matches('-')
                        .parse()
                        .unwrap_or(0)
                }
                None => 0,
            };
            let rest = body[start..].to_vec();
            let announced = rest.len().to_string();
            let mut resp = if start > 0 {
                Response::new(206, rest).header(
                    "Content-Range",
                    &format!("bytes {start}-{}/{total}", total - 1),
                )
            } else {
                Response::new(200, rest)
            };
            if script.cutting.load(Ordering::SeqCst) {
                let cut = (script.cut_after.load(Ordering::SeqCst) as usize).min(resp.body.len());
                resp.body.truncate(cut);
            }
            return resp.header("Content-Length", &announced);
        }
        Response::new(
            404,
            r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#,
        )
    })
}

fn client() -> berth_registry::RegistryClient {
    berth_registry::RegistryClient::new(berth_registry::ClientConfig {
        user_agent: "berth-transfer-faults".into(),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_pull_cut_mid_layer_resumes_and_gives_the_same_image() {
    require_root!();
    let img = Arc::new(fake_image());
    let script = Arc::new(Script::default());
    script.cut_after.store(300_000, Ordering::SeqCst);
    script.cutting.store(true, Ordering::SeqCst);
    let server = serve(img.clone(), script.clone());
    let r = Reference::parse(&format!("{}/fault/img:1", server.addr)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path().join("s")).unwrap();

    // Every response is cut: the in-process retries each get 300 KB further, then give up.
    let err = pull(&client(), &store, &r, &PullOptions::default(), &|_| {}).unwrap_err();
    assert!(store.list().unwrap().is_empty(), "no half image: {err}");
    let partial = store.content().partial_path(&img.layer_digest);
    let kept = std::fs::metadata(&partial)
        .expect("the partial download is kept")
        .len();
    assert!(kept >= 300_000 && kept < img.layer.len() as u64, "{kept}");
    let on_disk = std::fs::read(&partial).unwrap();
    assert!(
        on_disk == img.layer[..on_disk.len()],
        "the partial file holds the blob's prefix"
    );
    let ranges_before = script.ranges.lock().unwrap().len();
    assert!(ranges_before >= 1, "retries resumed with Range");

    // The registry is back: a new pull (a new store handle, as after a restart) resumes.
    script.cutting.store(false, Ordering::SeqCst);
    let store = ImageStore::open(tmp.path().join("s")).unwrap();
    let report =
        pull(&client(), &store, &r, &PullOptions::default(), &|_| {}).expect("resumed pull");
    let ranges = script.ranges.lock().unwrap().clone();
    assert_eq!(
        ranges[ranges_before],
        format!("bytes={kept}-"),
        "resumed at the partial's end"
    );
    assert_eq!(report.id, img.config_digest);
    assert!(!partial.exists());
    assert_eq!(store.content().verify_all().unwrap(), Vec::<Digest>::new());
    let fs = store
        .snapshots()
        .layer_fs(&store.get(&report.id).unwrap().chain_ids()[0]);
    assert_eq!(
        std::fs::read(fs.join("data.bin")).unwrap(),
        crate::content(7, 2 << 20)
    );
}

#[test]
fn a_corrupt_blob_is_refused_by_name_and_leaves_nothing() {
    require_root!();
    let img = Arc::new(fake_image());
    let script = Arc::new(Script::default());
    script.corrupt.store(true, Ordering::SeqCst);
    let server = serve(img.clone(), script);
    let r = Reference::parse(&format!("{}/fault/img:1", server.addr)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(tmp.path().join("s")).unwrap();
    let err = pull(&client(), &store, &r, &PullOptions::default(), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&img.layer_digest.to_string()),
        "the error names the blob: {err}"
    );
    assert!(store.list().unwrap().is_empty());
    assert!(!store.content().exists(&img.layer_digest));
    assert!(!store.content().partial_path(&img.layer_digest).exists());
    assert!(store.snapshots().list().unwrap().is_empty());
    let tmpdir = tmp.path().join("s/snapshots/tmp");
    assert_eq!(
        std::fs::read_dir(tmpdir).unwrap().count(),
        0,
        "no unpack left behind"
    );
}
