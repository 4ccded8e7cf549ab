//! Project-level behaviour: names, default files, order, render round trip, config hash.

mod common;

use berth_compose::{LoadOptions, Project};
use common::{corpus, load, load_mem, opts};

#[test]
fn project_name_rules() {
    // Directory base name, normalized.
    assert_eq!(load("profiles", &[], &[]).unwrap().project.name, "profiles");
    // `name:` key.
    assert_eq!(load("merge", &[], &[]).unwrap().project.name, "merged");
    // -p wins over COMPOSE_PROJECT_NAME, which wins over `name:`.
    let mut o = opts("merge", &[], &[("COMPOSE_PROJECT_NAME", "fromenv")]);
    assert_eq!(Project::load(&o).unwrap().project.name, "fromenv");
    o.project_name = Some("explicit".into());
    assert_eq!(Project::load(&o).unwrap().project.name, "explicit");
    o.project_name = Some("Bad Name".into());
    let e = Project::load(&o).unwrap_err().to_string();
    assert!(
        e.starts_with("invalid project name \"Bad Name\": must contain only lowercase"),
        "{e}"
    );
    let e = load_mem(&[("compose.yaml", "name: _x\nservices: {}")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("must begin with a lowercase letter or digit"),
        "{e}"
    );
    // A directory name is normalized, not rejected.
    let o = LoadOptions {
        files: vec!["/My Proj.D/compose.yaml".into()],
        working_dir: "/".into(),
        ..LoadOptions::default()
    };
    let l = Project::load_with(&o, &|p| match p.ends_with("compose.yaml") {
        true => Ok("services: {a: {image: x}}".into()),
        false => Err(std::io::ErrorKind::NotFound.into()),
    })
    .unwrap();
    assert_eq!(l.project.name, "myprojd");
    assert_eq!(l.project.networks["default"].name, "myprojd_default");
}

#[test]
fn default_file_lookup_order() {
    let l = load("default_file", &[], &[]).unwrap();
    assert_eq!(l.project.services.keys().collect::<Vec<_>>(), ["only"]);
    let e = load("default_file/../profiles/..", &[], &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("no configuration file provided: not found in"),
        "{e}"
    );
}

#[test]
fn start_and_stop_order() {
    let l = load("syntax", &[], &[("API_KEY", "k")]).unwrap();
    let start = l.project.start_order();
    assert_eq!(start, ["cache", "db", "sidecar", "web"]);
    assert_eq!(l.project.stop_order(), ["web", "sidecar", "db", "cache"]);
}

fn round_trip(case: &str) {
    let first = load(case, &[], &[("API_KEY", "k")]).unwrap();
    let yaml = first.project.to_yaml();
    let dir = corpus(case);
    let rendered = dir.join("rendered.yaml");
    // The same environment: `config` never prints an `environment:` secret's value.
    let mut o = opts(case, &[], &[("API_KEY", "k")]);
    o.files = vec![rendered.clone()];
    let second = Project::load_with(&o, &|p| {
        if p == rendered {
            Ok(yaml.clone())
        } else {
            std::fs::read_to_string(p)
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(second.project, first.project, "{yaml}");
    assert!(second.warnings.is_empty(), "{:?}\n{yaml}", second.warnings);
    assert_eq!(second.project.to_yaml(), yaml);
}

#[test]
fn render_round_trip() {
    round_trip("roundtrip");
    round_trip("syntax");
    round_trip("merge");
}

#[test]
fn render_looks_like_docker_compose_config() {
    let l = load("roundtrip", &[], &[]).unwrap();
    let y = l.project.to_yaml();
    let dir = corpus("roundtrip").display().to_string();
    assert!(y.starts_with("name: roundtrip\nservices:\n  api:\n"), "{y}");
    assert!(y.contains(&format!("context: {dir}/api")), "{y}");
    assert!(y.contains("PRICE: $$5"), "dollars are escaped: {y}");
    assert!(y.contains("- ./serve\n    - --port\n    - '8000'"), "{y}");
    assert!(
        y.contains("interval: 15s") && y.contains("start_period: 1.5s"),
        "{y}"
    );
    assert!(
        y.contains("name: roundtrip_default") && y.contains("name: roundtrip_cache"),
        "{y}"
    );
    assert!(y.contains("mode: '0400'"), "{y}");
}

#[test]
fn config_hash_is_stable_and_sensitive() {
    let a = load("roundtrip", &[], &[]).unwrap().project;
    let b = load("roundtrip", &[], &[]).unwrap().project;
    let h = a.services["api"].config_hash();
    assert_eq!(h, b.services["api"].config_hash());
    assert_ne!(h, a.services["db"].config_hash());
    let c = load("roundtrip", &[], &[("PORT", "9000")]).unwrap().project;
    assert_ne!(
        h,
        c.services["api"].config_hash(),
        "an interpolated value changes the hash"
    );
}
