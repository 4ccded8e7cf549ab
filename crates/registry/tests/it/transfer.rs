//! `pull` and `push` between berth's store and a real registry on 127.0.0.1, and with skopeo
//! on the other side.

use std::process::Command;
use std::sync::Mutex;

use berth_image::model::{media_type, Platform};
use berth_image::{ImageStore, NewImage, Reference};
use berth_registry::{pull, push, ProgressEvent, PullOptions};
use berth_testutil::peers::{busybox_tar, need, run};
use berth_testutil::require_root;

use crate::harness::{tools_present, Auth, Registry};

/// A store in `dir` with one image imported from the busybox rootfs, tagged `tag`.
pub fn store_with_busybox(dir: &std::path::Path, tag: &Reference) -> ImageStore {
    let store = ImageStore::open(dir.join("store")).unwrap();
    store.set_policy(&berth_image::GcPolicy::off()).unwrap();
    let tar = busybox_tar(dir);
    let new = NewImage {
        created: 1_700_000_000,
        tag: Some(tag.clone()),
        ..NewImage::default()
    };
    store
        .import(std::fs::File::open(tar).unwrap(), &new)
        .unwrap();
    store
}

/// Records progress as `id: status` / `status` lines.
fn events(lines: &Mutex<Vec<String>>) -> impl Fn(ProgressEvent) + Sync + '_ {
    move |e: ProgressEvent| {
        let line = match &e.id {
            Some(id) => format!("{id}: {}", e.status),
            None => e.status.clone(),
        };
        lines.lock().unwrap().push(line);
    }
}

#[test]
fn push_then_pull_gives_the_same_image_and_skopeo_verifies_it() {
    require_root!();
    if !tools_present() {
        return;
    }
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let tmp = tempfile::tempdir().unwrap();
    let tag = reg.reference("demo/bb:1");
    let a = store_with_busybox(&tmp.path().join("a"), &tag);
    let id = a.resolve(&tag.normalized()).unwrap();

    let lines = Mutex::new(Vec::new());
    let pushed = push(&client, &a, &tag, 3, &events(&lines)).expect("push");
    assert_eq!(
        (pushed.uploaded, pushed.skipped),
        (2, 0),
        "layer + config sent"
    );
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains(&format!(
            "1: digest: {} size: {}",
            pushed.digest, pushed.size
        )),
        "{log}"
    );

    // Pulled into an empty store: same image id, files unpacked, repo digest recorded.
    let b = ImageStore::open(tmp.path().join("b")).unwrap();
    let lines = Mutex::new(Vec::new());
    let report = pull(&client, &b, &tag, &PullOptions::default(), &events(&lines)).expect("pull");
    assert_eq!(report.id, id);
    assert_eq!(report.digest, pushed.digest);
    assert!(!report.up_to_date);
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains("Pull complete") && log.contains("Status: Downloaded newer image"),
        "{log}"
    );
    let img = b.get(&id).unwrap();
    let top = b.snapshots().layer_fs(&img.chain_ids()[0]);
    assert!(top.join("bin/busybox").is_file());
    assert_eq!(img.digests.len(), 1, "{:?}", img.digests);
    assert_eq!(img.digests[0].digest(), Some(&pushed.digest));

    // Again: nothing to fetch; pushing again sends nothing; another repo mounts the layer.
    let report = pull(&client, &b, &tag, &PullOptions::default(), &|_| {}).expect("pull again");
    assert!(report.up_to_date);
    let again = push(&client, &a, &tag, 3, &|_| {}).expect("push again");
    assert_eq!((again.uploaded, again.skipped), (0, 2));
    let other = reg.reference("demo/other:1");
    a.tag(&tag.normalized(), &other).unwrap();
    let moved = push(&client, &a, &other, 3, &|_| {}).expect("push other");
    assert_eq!(
        moved.mounted, 2,
        "both blobs mounted from demo/bb: {moved:?}"
    );

    // skopeo copies what berth pushed into an OCI layout, checking every digest.
    if need("skopeo").is_some() {
        let oci = tmp.path().join("oci");
        let (ok, _, err) = run(Command::new("skopeo").args([
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{}/demo/bb:1", reg.addr),
            &format!("oci:{}:bb", oci.display()),
        ]));
        assert!(ok, "skopeo copy: {err}");
        let index = std::fs::read_to_string(oci.join("index.json")).unwrap();
        assert!(index.contains(&pushed.digest.to_string()), "{index}");
    }
}

#[test]
fn an_image_pushed_by_skopeo_is_pulled_and_unpacked() {
    require_root!();
    if !tools_present() || need("skopeo").is_none() {
        return;
    }
    let reg = Registry::start(Auth::Anonymous);
    let tmp = tempfile::tempdir().unwrap();
    // skopeo pushes a docker-archive berth saved (and compresses its layers with gzip).
    let tag = Reference::parse("local/bb:1").unwrap();
    let a = store_with_busybox(&tmp.path().join("a"), &tag);
    let archive = tmp.path().join("bb.tar");
    a.save(&["local/bb:1"], std::fs::File::create(&archive).unwrap())
        .unwrap();
    let (ok, _, err) = run(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        "--dest-compress",
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{}/sk/bb:1", reg.addr),
    ]));
    assert!(ok, "skopeo copy: {err}");
    let b = ImageStore::open(tmp.path().join("b")).unwrap();
    let r = reg.reference("sk/bb:1");
    let report = pull(&reg.client(), &b, &r, &PullOptions::default(), &|_| {}).expect("pull");
    let img = b.get(&report.id).unwrap();
    assert!(
        img.manifest.layers[0].media_type.contains("gzip"),
        "skopeo compressed the layer: {:?}",
        img.manifest.layers[0]
    );
    // By default the compressed blob is not kept (Docker's model): the snapshot rebuilds the
    // uncompressed layer, and the image is handed out with a rewritten manifest.
    assert!(!b.content().exists(&img.manifest.layers[0].digest));
    let exported = b.export_manifest(&img).unwrap();
    assert!(exported.rewritten);
    assert_eq!(
        exported.manifest.layers[0].digest,
        img.config.rootfs.diff_ids[0]
    );
    // Pushed on to another repository and pulled into a third store: the same image.
    let onward = reg.reference("sk/onward:1");
    b.tag(&r.normalized(), &onward).unwrap();
    push(&reg.client(), &b, &onward, 3, &|_| {}).expect("push a pulled image");
    let c = ImageStore::open(tmp.path().join("c")).unwrap();
    let again = pull(&reg.client(), &c, &onward, &PullOptions::default(), &|_| {}).unwrap();
    assert_eq!(again.id, report.id, "the image id survives the rewrite");
    // Saved and loaded: the same image too.
    let saved = tmp.path().join("pulled.tar");
    b.save(&[&r.normalized()], std::fs::File::create(&saved).unwrap())
        .unwrap();
    let d = ImageStore::open(tmp.path().join("d")).unwrap();
    assert_eq!(
        d.load(std::fs::File::open(&saved).unwrap()).unwrap().images[0].0,
        report.id
    );
    // With keep_compressed, the registry's exact blob stays and goes back unchanged.
    let e = ImageStore::open(tmp.path().join("e")).unwrap();
    let keep = PullOptions {
        keep_compressed: true,
        ..PullOptions::default()
    };
    pull(&reg.client(), &e, &r, &keep, &|_| {}).unwrap();
    assert!(e.content().exists(&img.manifest.layers[0].digest));
    let back = push(&reg.client(), &e, &r, 3, &|_| {}).unwrap();
    assert_eq!((back.uploaded, back.skipped), (0, 2), "{back:?}");
    let fs = b.snapshots().layer_fs(&img.chain_ids()[0]);
    assert!(fs.join("bin/busybox").is_file());
    // Same filesystem content as the original: the diff ids are the same.
    let orig = a.get(&a.resolve("local/bb:1").unwrap()).unwrap();
    assert_eq!(img.config.rootfs.diff_ids, orig.config.rootfs.diff_ids);
}

#[test]
fn an_index_gives_the_platform_asked_for() {
    require_root!();
    if !tools_present() {
        return;
    }
    let reg = Registry::start(Auth::Anonymous);
    let client = reg.client();
    let tmp = tempfile::tempdir().unwrap();
    let amd = reg.reference("multi/img:amd64");
    let a = store_with_busybox(&tmp.path().join("a"), &amd);
    let amd_id = a.resolve(&amd.normalized()).unwrap();
    // The same layer described as an arm64 image.
    let base = a.get(&amd_id).unwrap();
    let mut cfg = base.config.clone();
    cfg.architecture = "arm64".into();
    cfg.variant = Some("v8".into());
    let arm = reg.reference("multi/img:arm64");
    let arm_id = a
        .store_image(&cfg, base.manifest.layers.clone(), Some(&arm))
        .unwrap();
    let p1 = push(&client, &a, &amd, 2, &|_| {}).unwrap();
    let p2 = push(&client, &a, &arm, 2, &|_| {}).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [
            {"mediaType": media_type::OCI_MANIFEST, "digest": p2.digest.to_string(), "size": p2.size,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"mediaType": media_type::OCI_MANIFEST, "digest": p1.digest.to_string(), "size": p1.size,
             "platform": {"architecture": "amd64", "os": "linux"}},
        ]
    });
    let multi = reg.reference("multi/img:1");
    let index_digest = client
        .put_manifest(&multi, media_type::OCI_INDEX, index.to_string().as_bytes())
        .unwrap();

    let b = ImageStore::open(tmp.path().join("b")).unwrap();
    let host = pull(&client, &b, &multi, &PullOptions::default(), &|_| {}).unwrap();
    assert_eq!(host.id, amd_id, "this host is linux/amd64");
    assert_eq!(
        host.digest, index_digest,
        "Docker's Digest: line is the index's"
    );
    let opts = PullOptions {
        platform: Some(Platform::parse("linux/arm64").unwrap()),
        ..PullOptions::default()
    };
    let c = ImageStore::open(tmp.path().join("c")).unwrap();
    assert_eq!(
        pull(&client, &c, &multi, &opts, &|_| {}).unwrap().id,
        arm_id
    );
    let opts = PullOptions {
        platform: Some(Platform::parse("linux/s390x").unwrap()),
        ..PullOptions::default()
    };
    let err = pull(&client, &c, &multi, &opts, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no matching manifest for linux/s390x") && err.contains("linux/arm64/v8"),
        "{err}"
    );
}
