//! Differential checks against the real docker CLI on a private dockerd: the same archive,
//! compared line by line where Docker's format does not depend on the daemon.

use berth_testutil::peers::{need, run, Dockerd};

use crate::{cells, collapse, Store};

#[test]
fn load_images_and_history_match_docker() {
    berth_testutil::require_root!();
    if need("dockerd").is_none() {
        return;
    }
    let s = Store::new();
    let archive = s.archive("same.tar");
    let a = archive.to_str().unwrap_or_default();
    let d = Dockerd::start(&[]);

    let (ok, docker_load, err) = run(d.docker().args(["load", "-i", a]));
    assert!(ok, "docker load: {err}");
    let berth_load = s.ok(&["load", "-i", a]);
    assert_eq!(berth_load, docker_load, "the Loaded image: line");
    assert_eq!(berth_load, "Loaded image: bench/load:latest\n");

    // The same image id: both hash the same config.
    let (ok, docker_id, err) =
        run(d
            .docker()
            .args(["image", "inspect", "-f", "{{.Id}}", "bench/load"]));
    assert!(ok, "docker inspect: {err}");
    assert_eq!(s.ok(&["inspect", "-f", "{{.Id}}", "bench/load"]), docker_id);

    let (ok, docker_images, err) = run(d.docker().args(["images"]));
    assert!(ok, "docker images: {err}");
    let berth_images = s.ok(&["images"]);
    let dh = docker_images.lines().next().unwrap_or_default();
    let bh = berth_images.lines().next().unwrap_or_default();
    assert_eq!(collapse(bh), collapse(dh), "images header");
    // The cells Docker does not compute differently: name, tag, id, age.
    let drow = cells(docker_images.lines().nth(1).unwrap_or_default());
    let brow = cells(berth_images.lines().nth(1).unwrap_or_default());
    assert_eq!(
        brow[..4],
        drow[..4],
        "docker:\n{docker_images}berth:\n{berth_images}"
    );
    // Same cells in the padded columns, so the same widths: the exact header.
    assert_eq!(bh, dh.trim_end(), "exact images header");

    let (ok, docker_quiet, _) = run(d.docker().args(["images", "-q"]));
    assert!(ok);
    assert_eq!(s.ok(&["images", "-q"]), docker_quiet);

    let (ok, docker_history, err) = run(d.docker().args(["history", "bench/load"]));
    assert!(ok, "docker history: {err}");
    let berth_history = s.ok(&["history", "bench/load"]);
    assert_eq!(
        cells(berth_history.lines().next().unwrap_or_default()),
        cells(docker_history.lines().next().unwrap_or_default()),
        "history header words"
    );
    assert_eq!(
        berth_history.lines().count(),
        docker_history.lines().count(),
        "docker:\n{docker_history}berth:\n{berth_history}"
    );
    let (ok, docker_hq, _) = run(d.docker().args(["history", "-q", "bench/load"]));
    assert!(ok);
    assert_eq!(s.ok(&["history", "-q", "bench/load"]), docker_hq);

    let (ok, docker_hq, _) = run(d
        .docker()
        .args(["history", "-q", "--no-trunc", "bench/load"]));
    assert!(ok);
    assert_eq!(
        s.ok(&["history", "-q", "--no-trunc", "bench/load"]),
        docker_hq
    );
    // Same image, same moment: the whole table, sizes included, is Docker's.
    assert_eq!(berth_images, docker_images, "whole `images` output");

    let (ok, docker_rmi, err) = run(d.docker().args(["rmi", "nope"]));
    assert!(!ok, "{docker_rmi}");
    let r = s.fail(&["rmi", "nope"]);
    assert_eq!(
        r.stderr.trim_end(),
        err.trim_end(),
        "rmi of an unknown name"
    );
}
