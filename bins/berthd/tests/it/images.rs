//! Image verbs through berthd with the docker CLI.

use berth_engine::{Engine, EngineConfig, ImageFilters};
use berth_testutil::require_root;

use crate::daemon::{bench_archive, human_size, Daemon};

/// `docker images` rows as `repo tag id size`, expected from the store itself.
fn expected_rows(d: &Daemon) -> Vec<String> {
    let engine = Engine::open(EngineConfig::new(d.data_root())).expect("open the store");
    let mut rows = Vec::new();
    for v in engine.images(&ImageFilters::default()).expect("list") {
        let id: String = v.image.id().hex().chars().take(12).collect();
        for t in &v.image.tags {
            rows.push(format!(
                "{} {} {id} {}",
                t.familiar_name(),
                t.tag().unwrap_or("latest"),
                human_size(v.size)
            ));
        }
    }
    rows.sort();
    rows
}

fn docker_rows(d: &Daemon) -> Vec<String> {
    let out = d.docker_ok(&[
        "images",
        "--format",
        "{{.Repository}} {{.Tag}} {{.ID}} {{.Size}}",
    ]);
    let mut rows: Vec<String> = out.lines().map(str::to_string).collect();
    rows.sort();
    rows
}

#[test]
fn load_list_tag_inspect_history_rmi() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    let out = d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    assert_eq!(out.trim(), "Loaded image: bench/load:latest");

    let rows = docker_rows(&d);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows, expected_rows(&d));

    d.docker_ok(&["tag", "bench/load:latest", "bench/other:2"]);
    let rows = docker_rows(&d);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows, expected_rows(&d));

    let q = |filter: &str| d.docker_ok(&["images", "-q", "--filter", filter]);
    assert_eq!(q("reference=bench/o*").lines().count(), 1);
    assert_eq!(q("reference=nothing*").lines().count(), 0);
    assert_eq!(q("dangling=true").lines().count(), 0);
    assert_eq!(q("dangling=false").lines().count(), 2);
    let table = d.docker_ok(&["images"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"],
        "{table}"
    );
    assert_eq!(table.lines().count(), 3, "{table}");

    let id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "bench/other:2"]);
    let id = id.trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let full: serde_json::Value =
        serde_json::from_str(&d.docker_ok(&["image", "inspect", "bench/load"])).expect("JSON");
    assert_eq!(full[0]["Id"], id.as_str());
    assert_eq!(full[0]["RootFS"]["Type"], "layers");

    let hist = d.docker_ok(&[
        "history",
        "--format",
        "{{.ID}}|{{.CreatedBy}}",
        "bench/load",
    ]);
    let lines: Vec<&str> = hist.lines().collect();
    assert_eq!(lines.len(), 2, "{hist}");
    assert!(lines[0].starts_with(&id[7..19]), "{hist}");
    assert!(lines[1].starts_with("<missing>|"), "{hist}");

    let out = d.docker_ok(&["rmi", "bench/other:2"]);
    assert_eq!(out.trim(), "Untagged: bench/other:2");
    let out = d.docker_ok(&["rmi", "bench/load"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: bench/load:latest", "{out}");
    assert!(lines.contains(&format!("Deleted: {id}").as_str()), "{out}");
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
}

#[test]
fn save_load_round_trip_and_prune() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "bench/load"]);

    let saved = d.dir.path().join("saved.tar");
    d.docker_ok(&["save", "-o", saved.to_str().expect("utf-8"), "bench/load"]);
    d.docker_ok(&["rmi", "bench/load"]);
    // `docker load` from stdin: the saved archive streams back through the API.
    let out = d.docker_with_stdin(&["load"], Some(&saved));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Loaded image: bench/load:latest"
    );
    let again = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "bench/load"]);
    assert_eq!(id, again);

    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.lines().any(|l| l == "Images 1"), "{df}");

    let out = d.docker_ok(&["image", "prune", "-af"]);
    assert!(out.contains("untagged: bench/load:latest"), "{out}");
    assert!(out.contains(&format!("deleted: {}", id.trim())), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());
}

#[test]
fn import_from_stdin_with_changes() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    let out = d.docker_with_stdin(
        &["import", "--change", "CMD [\"sh\"]", "-", "imported:1"],
        Some(&archive),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let cmd = d.docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Cmd}}",
        "imported:1",
    ]);
    assert_eq!(cmd.trim(), r#"["sh"]"#);
}
