//! `extends` in the same file, across files, and cycles.

mod common;

use common::{corpus, load, load_mem};

#[test]
fn same_file_chain() {
    let l = load("extends", &[], &[]).unwrap();
    let s = &l.project.services;
    let child = &s["child"];
    assert_eq!(child.image.as_deref(), Some("alpine"));
    assert_eq!(child.environment["LEVEL"].as_deref(), Some("child"));
    assert_eq!(child.environment["KEEP"].as_deref(), Some("yes-kept"));
    let ports: Vec<u16> = child.ports.iter().map(|p| p.target).collect();
    assert_eq!(ports, [1000, 2000], "ports append through extends");
    let gc = &s["grandchild"];
    assert_eq!(gc.environment["LEVEL"].as_deref(), Some("child"));
    assert_eq!(gc.command.as_deref().unwrap(), ["echo", "grandchild"]);
    assert_eq!(gc.ports.len(), 2);
    assert!(s["base"].command.is_none(), "the base is not changed");
}

#[test]
fn across_files_with_paths_relative_to_the_other_file() {
    let l = load("extends", &[], &[]).unwrap();
    let r = &l.project.services["remote"];
    let common = corpus("extends").join("common");
    assert_eq!(r.image.as_deref(), Some("alpine:override"));
    assert_eq!(r.labels["origin"], "common");
    assert_eq!(
        r.build.as_ref().unwrap().context,
        common.join("ctx").display().to_string()
    );
    assert_eq!(r.env_file, [common.join("vars.env")]);
    assert_eq!(r.environment["FROM_COMMON"].as_deref(), Some("1"));
    assert_eq!(
        r.volumes[0].source.as_deref(),
        Some(common.join("data").to_str().unwrap())
    );
}

#[test]
fn cycle_is_an_error_naming_the_chain() {
    let e = load("extends", &["cycle.yaml"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("extends cycle: a -> b -> c -> a"), "{e}");
    assert!(e.contains("cycle.yaml: services.a.extends"), "{e}");
}

#[test]
fn missing_base_service() {
    let e = load_mem(&[("compose.yaml", "services: {a: {extends: nope, image: x}}")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "/proj/compose.yaml: services.a.extends: cannot extend service \"nope\": not found in \
         /proj/compose.yaml"
    );
    let e = load_mem(&[(
        "compose.yaml",
        "services: {a: {extends: {file: other.yaml, service: b}}}",
    )])
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/proj/other.yaml: "), "{e}");
}
