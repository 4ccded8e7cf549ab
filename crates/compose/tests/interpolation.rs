//! Interpolation through the whole loader: every operator, `.env`, precedence, errors.

mod common;

use common::{err_of, load};

#[test]
fn every_operator_with_dotenv_and_process_env() {
    let l = load("interp", &[], &[("OVERRIDDEN", "from-process")]).unwrap();
    let web = &l.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("nginx:1.25"));
    assert_eq!(web.ports[0].published.as_deref(), Some("8080"));
    let env = |k: &str| web.environment[k].clone().unwrap();
    assert_eq!(env("PLAIN"), "dotenv");
    assert_eq!(env("BRACED"), "dotenv");
    assert_eq!(
        env("OVERRIDDEN"),
        "from-process",
        "the process environment wins over .env"
    );
    assert_eq!(env("COLON_DASH"), "fallback");
    assert_eq!(env("DASH"), "", "`-` only replaces unset variables");
    assert_eq!(env("DASH_UNSET"), "dflt");
    assert_eq!(env("COLON_PLUS"), "alt");
    assert_eq!(env("COLON_PLUS_EMPTY"), "");
    assert_eq!(env("PLUS"), "set");
    assert_eq!(env("NESTED"), "1.25");
    assert_eq!(env("DOLLARS"), "cost: $5 and ${TAG}");
    assert_eq!(env("BLANK"), "[]");
    assert_eq!(
        env("${KEY_NOT_INTERPOLATED}"),
        "kept",
        "keys are not interpolated"
    );
}

#[test]
fn unset_variable_warns_once() {
    let l = load("interp", &[], &[]).unwrap();
    let w: Vec<_> = l
        .warnings
        .iter()
        .filter(|w| w.contains("MISSING_VAR"))
        .collect();
    assert_eq!(
        w,
        vec!["The \"MISSING_VAR\" variable is not set. Defaulting to a blank string."]
    );
    assert!(
        !l.warnings.iter().any(|w| w.contains("NOT_SET")),
        "defaults were given"
    );
}

#[test]
fn required_variable_error_names_variable_and_key_path() {
    let e =
        err_of("services:\n  web:\n    image: \"nginx:${TAG:?set TAG to the nginx version}\"\n");
    assert_eq!(
        e,
        "/proj/compose.yaml: services.web.image: required variable \"TAG\" is missing a value: \
         set TAG to the nginx version"
    );
    let e = err_of("services:\n  web:\n    image: x\n    environment: [\"A=${B?}\"]\n");
    assert!(
        e.contains("services.web.environment[0]: required variable \"B\""),
        "{e}"
    );
}

#[test]
fn syntax_errors_point_at_the_key() {
    let e = err_of("services:\n  web:\n    image: x\n    command: echo $ 5\n");
    assert!(
        e.starts_with("/proj/compose.yaml: services.web.command: invalid interpolation"),
        "{e}"
    );
    assert!(
        e.contains("$$"),
        "the message says how to write a literal $: {e}"
    );
    let e = err_of("services:\n  web:\n    image: \"${UNCLOSED\"\n");
    assert!(
        e.contains("services.web.image") && e.contains("closing"),
        "{e}"
    );
}
