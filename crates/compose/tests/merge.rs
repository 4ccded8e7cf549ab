//! Several `-f` files merged with docker compose's rules.

mod common;

use berth_compose::MountType;
use common::{corpus, load};

#[test]
fn override_file_rules() {
    let l = load("merge", &["compose.yaml", "compose.override.yaml"], &[]).unwrap();
    let web = &l.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:2"), "scalars override");
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["nginx-debug", "-g", "daemon off;"],
        "command is replaced, string form is shell-split"
    );
    let published: Vec<_> = web
        .ports
        .iter()
        .map(|p| p.published.clone().unwrap())
        .collect();
    assert_eq!(
        published,
        ["80", "443"],
        "ports append without exact duplicates"
    );
    let env: Vec<_> = web
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap()))
        .collect();
    assert_eq!(
        env,
        ["A=1", "B=3", "C=4"],
        "environment merges by key, list and map form"
    );
    assert_eq!(web.labels["tier"], "front");
    assert_eq!(web.labels["debug"], "true");
    assert_eq!(web.volumes.len(), 2, "volumes merge by target");
    let html = web
        .volumes
        .iter()
        .find(|m| m.target == "/usr/share/nginx/html")
        .unwrap();
    assert_eq!(html.kind, MountType::Bind);
    assert!(html.read_only);
    let expected = corpus("merge").join("dev-html").display().to_string();
    assert_eq!(html.source.as_deref(), Some(expected.as_str()));
    assert_eq!(
        web.dns,
        ["1.1.1.1", "8.8.8.8"],
        "dns appends, string or list"
    );
    assert_eq!(web.cap_add, ["NET_ADMIN", "SYS_PTRACE"]);
    let hc = web.healthcheck.as_ref().unwrap();
    assert_eq!(
        hc.test,
        ["CMD-SHELL", "curl -f http://localhost/health"],
        "test overrides"
    );
    assert_eq!(hc.retries, Some(3), "the rest of healthcheck merges");
    assert_eq!(hc.interval, Some(std::time::Duration::from_secs(30)));
    assert!(
        l.project.services.contains_key("worker"),
        "new services are added"
    );
    assert_eq!(l.project.name, "merged");
}

#[test]
fn order_of_files_matters() {
    let l = load("merge", &["compose.override.yaml", "compose.yaml"], &[]).unwrap();
    let web = &l.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:1"));
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["nginx", "-g", "daemon off;"]
    );
    let html = web
        .volumes
        .iter()
        .find(|m| m.target == "/usr/share/nginx/html")
        .unwrap();
    assert!(!html.read_only);
}

#[test]
fn errors_name_the_file_that_defined_the_service() {
    let map = [
        ("/proj/a.yaml", "services: {web: {image: x}}"),
        ("/proj/b.yaml", "services: {web: {ports: ['80:abc']}}"),
    ];
    let o = berth_compose::LoadOptions {
        files: vec!["a.yaml".into(), "b.yaml".into()],
        working_dir: "/proj".into(),
        ..Default::default()
    };
    let e = berth_compose::Project::load_with(&o, &|p| {
        map.iter()
            .find(|(k, _)| std::path::Path::new(k) == p)
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("/proj/b.yaml: services.web.ports[0]: invalid port \"80:abc\""),
        "{e}"
    );
}
