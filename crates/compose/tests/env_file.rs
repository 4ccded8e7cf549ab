//! `.env` / `env_file` rules as seen by a service.

mod common;

use common::{load, load_mem};

#[test]
fn env_file_rules_and_precedence() {
    let l = load(
        "envfile",
        &[],
        &[("FROM_PROCESS", "proc"), ("PASSTHROUGH", "pt")],
    )
    .unwrap();
    let env = &l.project.services["app"].environment;
    let get = |k: &str| env.get(k).cloned().flatten();
    assert_eq!(get("APP_MODE").as_deref(), Some("production"));
    assert_eq!(
        get("QUOTED_SINGLE").as_deref(),
        Some("no $SHARED expansion")
    );
    assert_eq!(
        get("QUOTED_DOUBLE").as_deref(),
        Some("line1\nline2 \"q\" from-dotenv")
    );
    assert_eq!(get("UNQUOTED").as_deref(), Some("value"));
    assert_eq!(get("HASH_IN_VALUE").as_deref(), Some("a#b"));
    assert_eq!(get("FROM_PROCESS").as_deref(), Some("proc"));
    assert!(
        !env.contains_key("NOT_IN_PROCESS"),
        "KEY alone and unset is skipped"
    );
    assert_eq!(
        get("OVERRIDE_ME").as_deref(),
        Some("from-environment"),
        "environment wins"
    );
    assert_eq!(get("PASSTHROUGH").as_deref(), Some("pt"));
    assert_eq!(env.get("UNSET_PASSTHROUGH"), Some(&None));
    let files = &l.project.services["app"].env_file;
    assert!(files[0].is_absolute() && files[0].ends_with("envfile/app.env"));
}

#[test]
fn env_file_errors_name_file_and_line() {
    let e = load_mem(&[
        (
            "compose.yaml",
            "services: {a: {image: x, env_file: bad.env}}",
        ),
        ("bad.env", "OK=1\n# fine\nBROKEN=\"never closed\n"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/proj/bad.env:3: unterminated"), "{e}");
    let e = load_mem(&[(
        "compose.yaml",
        "services: {a: {image: x, env_file: missing.env}}",
    )])
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("/proj/missing.env:"), "{e}");
}

#[test]
fn dotenv_feeds_interpolation_and_project_name() {
    let l = load_mem(&[
        ("compose.yaml", "services: {a: {image: \"img:${V}\"}}"),
        (".env", "V=7\nCOMPOSE_PROJECT_NAME=fromdotenv\n"),
    ])
    .unwrap();
    assert_eq!(l.project.services["a"].image.as_deref(), Some("img:7"));
    assert_eq!(l.project.name, "fromdotenv");
}
