//! Profiles and explicitly named services.

mod common;

use berth_compose::Project;
use common::{load, opts};

fn names(p: &Project) -> Vec<&str> {
    p.services.keys().map(String::as_str).collect()
}

#[test]
fn no_profile_only_unprofiled_services() {
    let l = load("profiles", &[], &[]).unwrap();
    assert_eq!(names(&l.project), ["app"]);
    assert!(l.project.disabled_services.contains_key("debug"));
}

#[test]
fn active_profiles() {
    let mut o = opts("profiles", &[], &[]);
    o.profiles = vec!["debug".into(), "setup".into()];
    let p = Project::load(&o).unwrap().project;
    assert_eq!(names(&p), ["app", "debug", "seed"]);
    let p = load("profiles", &[], &[("COMPOSE_PROFILES", "tools")])
        .unwrap()
        .project;
    assert_eq!(names(&p), ["app", "seed"], "COMPOSE_PROFILES is honoured");
    let p = load("profiles", &[], &[("COMPOSE_PROFILES", "*")])
        .unwrap()
        .project;
    assert_eq!(p.services.len(), 5);
}

#[test]
fn dependency_on_a_disabled_service() {
    let mut o = opts("profiles", &[], &[]);
    o.profiles = vec!["strict".into()];
    let e = Project::load(&o).unwrap_err().to_string();
    assert!(e.contains("services.needs-seed.depends_on"), "{e}");
    assert!(
        e.contains("\"needs-seed\" depends on service \"seed\""),
        "{e}"
    );
    o.profiles = vec!["optional".into()];
    let l = Project::load(&o).unwrap();
    assert!(l.project.services["optional-seed"].depends_on.is_empty());
    assert!(l.warnings.iter().any(|w| w.contains("required: false")));
}

#[test]
fn named_services_are_enabled() {
    let mut o = opts("profiles", &[], &[]);
    o.services = vec!["debug".into()];
    let p = Project::load(&o).unwrap().project;
    assert_eq!(names(&p), ["app", "debug"]);
    let base = load("profiles", &[], &[]).unwrap().project;
    let sel = base.with_services(&["needs-seed"]).unwrap();
    assert_eq!(
        names(&sel),
        ["needs-seed", "seed"],
        "dependencies come along"
    );
    assert!(sel.disabled_services.contains_key("app"));
    assert!(base.with_services(&["ghost"]).is_err());
    o.services = vec!["ghost".into()];
    assert_eq!(
        Project::load(&o).unwrap_err().to_string(),
        "no such service: \"ghost\""
    );
}

#[test]
fn default_network_exists_for_disabled_services() {
    let l = common::load_mem(&[(
        "compose.yaml",
        "services: {a: {image: x, network_mode: host}, b: {image: y, profiles: [p]}}",
    )])
    .unwrap();
    assert!(l.project.networks.contains_key("default"));
    let b = l.project.with_services(&["b"]).unwrap();
    assert_eq!(
        b.services["b"].networks.keys().collect::<Vec<_>>(),
        ["default"]
    );
}
