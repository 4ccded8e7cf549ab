//! Archives exchanged with real peers: a private dockerd (docker save / docker load) and skopeo
//! (docker-archive:, oci:, oci-archive:). A missing peer skips locally and fails under CI=true.

use std::path::Path;
use std::process::Command;

use berth_image::{Digest, ImageStore};
use berth_testutil::peers::{busybox_tar, need, run, Dockerd};
use berth_testutil::require_root;

use crate::common::{load_file, make_archive, temp_store};

fn have_docker() -> bool {
    need("dockerd").is_some() && need("containerd").is_some() && need("docker").is_some()
}

/// `docker …` against the private daemon; panics with stderr on failure.
fn docker(d: &Dockerd, args: &[&str]) -> String {
    let (ok, out, err) = run(d.docker().args(args));
    assert!(ok, "docker {args:?}: {err}");
    out
}

fn skopeo(args: &[&str]) -> String {
    let (ok, out, err) = run(Command::new("skopeo").arg("--insecure-policy").args(args));
    assert!(ok, "skopeo {args:?}: {err}");
    out
}

/// berth's save of the bench image (3 layers) in `dir`; returns (store, id, tar path).
fn saved_bench_image(dir: &Path) -> (ImageStore, Digest, std::path::PathBuf) {
    let store = ImageStore::open(dir.join("store")).expect("open");
    let archive = make_archive(dir, "bench.tar", 8, 2);
    load_file(&store, &archive);
    let id = store.resolve("bench/load:latest").expect("resolve");
    let saved = dir.join("saved.tar");
    store
        .save(
            &["bench/load:latest"],
            std::fs::File::create(&saved).expect("create"),
        )
        .expect("save");
    (store, id, saved)
}

#[test]
fn docker_save_loads_into_berth_with_the_same_id() {
    require_root!();
    if !have_docker() {
        return;
    }
    let d = Dockerd::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_tar(tmp.path());
    docker(
        &d,
        &["import", rootfs.to_str().expect("utf-8"), "x/imported:1"],
    );
    let docker_id = docker(&d, &["inspect", "--format", "{{.Id}}", "x/imported:1"]);
    let docker_id: Digest = docker_id.trim().parse().expect("docker id");
    let saved = tmp.path().join("docker-saved.tar");
    docker(
        &d,
        &["save", "-o", saved.to_str().expect("utf-8"), "x/imported:1"],
    );

    let (_t, store) = temp_store();
    let report = load_file(&store, &saved);
    assert_eq!(report.lines(), ["Loaded image: x/imported:1"]);
    assert_eq!(report.images[0].0, docker_id, "berth's id equals docker's");
    let img = store.get(&docker_id).expect("get");
    let merged_bb = store
        .snapshots()
        .layer_fs(&img.chain_ids()[0])
        .join("bin/busybox");
    assert!(merged_bb.is_file(), "the imported rootfs is unpacked");
    assert_eq!(
        store.content().verify_all().expect("verify"),
        Vec::<Digest>::new()
    );
}

#[test]
fn berth_save_loads_into_docker_with_the_same_id() {
    require_root!();
    if !have_docker() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_store, id, saved) = saved_bench_image(tmp.path());
    let d = Dockerd::start(&[]);
    let out = docker(&d, &["load", "-i", saved.to_str().expect("utf-8")]);
    assert!(out.contains("Loaded image: bench/load:latest"), "{out}");
    let got = docker(
        &d,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{len .RootFS.Layers}}",
            "bench/load:latest",
        ],
    );
    assert_eq!(
        got.trim(),
        format!("{id} 3"),
        "docker sees the same id and 3 layers"
    );
}

#[test]
fn skopeo_reads_berth_save_as_docker_archive_and_oci_archive() {
    require_root!();
    if need("skopeo").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, id, saved) = saved_bench_image(tmp.path());
    let saved_s = saved.to_str().expect("utf-8");

    // The save tar is an OCI layout archive too.
    let raw = skopeo(&["inspect", "--raw", &format!("oci-archive:{saved_s}")]);
    let manifest_digest = store.get(&id).expect("get").record.target.digest;
    assert_eq!(
        Digest::of(raw.as_bytes()),
        manifest_digest,
        "the same manifest"
    );
    let info: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &format!("oci-archive:{saved_s}")]))
            .expect("inspect json");
    assert_eq!(info["Layers"].as_array().map(Vec::len), Some(3), "{info}");

    // docker-archive: → oci: dir → berth. With --preserve-digests skopeo keeps the Docker
    // manifest and config bytes, so the id is the same.
    let oci = tmp.path().join("oci");
    skopeo(&[
        "copy",
        "--preserve-digests",
        &format!("docker-archive:{saved_s}"),
        &format!("oci:{}:v1", oci.display()),
    ]);
    let (_t, second) = temp_store();
    let report = second
        .load_oci_dir(&oci, Some("x/from-skopeo"))
        .expect("load_oci_dir");
    assert_eq!(report.images.len(), 1);
    assert_eq!(
        report.images[0].0, id,
        "same id through skopeo's oci: layout"
    );
    assert_eq!(report.lines(), ["Loaded image: x/from-skopeo:v1"]);
    let original = store.get(&id).expect("get");
    let img = second.get(&id).expect("get");
    assert_eq!(img.chain_ids(), original.chain_ids());
    for c in img.chain_ids() {
        assert!(second.snapshots().exists(&c));
    }

    // Without it skopeo converts to an OCI manifest and rewrites the config (dropping
    // docker_version and container_config), so the id is skopeo's config digest; the layers
    // (chain ids) are the same.
    let converted = tmp.path().join("oci-converted");
    skopeo(&[
        "copy",
        &format!("docker-archive:{saved_s}"),
        &format!("oci:{}:v1", converted.display()),
    ]);
    let (_t3, third) = temp_store();
    let report = third
        .load_oci_dir(&converted, Some("x/converted"))
        .expect("load_oci_dir");
    let skopeo_config: Digest = {
        let v: serde_json::Value = serde_json::from_str(&skopeo(&[
            "inspect",
            "--raw",
            &format!("oci:{}:v1", converted.display()),
        ]))
        .expect("manifest json");
        v["config"]["digest"]
            .as_str()
            .expect("config digest")
            .parse()
            .expect("digest")
    };
    assert_eq!(report.images[0].0, skopeo_config);
    let img = third.get(&skopeo_config).expect("get");
    assert_eq!(img.chain_ids(), original.chain_ids(), "the same layers");
}

#[test]
fn skopeo_copies_berth_oci_dir_to_a_docker_archive() {
    require_root!();
    if need("skopeo").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, id, _saved) = saved_bench_image(tmp.path());
    let dir = tmp.path().join("layout");
    store
        .save_oci_dir(&["bench/load:latest"], &dir)
        .expect("save_oci_dir");
    assert!(dir.join("index.json").is_file() && dir.join("oci-layout").is_file());
    let out = tmp.path().join("from-skopeo.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:latest", dir.display()),
        &format!("docker-archive:{}:x/y:z", out.display()),
    ]);
    let (_t, fresh) = temp_store();
    let report = load_file(&fresh, &out);
    assert_eq!(
        report.images[0].0, id,
        "same id after berth → skopeo → berth"
    );
    assert_eq!(report.lines(), ["Loaded image: x/y:z"]);
    let img = fresh.get(&id).expect("get");
    assert_eq!(img.chain_ids().len(), 3);
    for c in img.chain_ids() {
        assert!(fresh.snapshots().exists(&c));
    }

    // An OCI-only archive (skopeo's oci-archive:, no manifest.json) loads by its index; its
    // ref.name is a bare tag, so the image has no name (as docker load does).
    let oci_tar = tmp.path().join("oci-only.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:latest", dir.display()),
        &format!("oci-archive:{}:latest", oci_tar.display()),
    ]);
    let (_t2, third) = temp_store();
    let report = load_file(&third, &oci_tar);
    assert_eq!(report.lines(), [format!("Loaded image ID: {id}")]);
    assert!(third.get(&id).expect("get").is_dangling());
}
