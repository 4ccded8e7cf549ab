//! Bad input over the raw API: malformed JSON, wrong types, unknown fields, oversized bodies,
//! unknown ids and hostile names get Docker-style `{"message": …}` answers with the right
//! status, and the daemon is unharmed (it still answers and nothing was created).

use berth_testutil::require_root;

use crate::daemon::Daemon;

/// The `message` of a Docker error body.
fn message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(String::from))
        .unwrap_or_else(|| panic!("not a Docker error body: {body:?}"))
}

#[test]
fn malformed_requests_get_docker_errors_and_leave_the_daemon_unharmed() {
    require_root!();
    let d = Daemon::start();
    let cases: &[(&str, &str, &str, u16, &str)] = &[
        // method, path, body, status, words the message must hold
        (
            "POST",
            "/containers/create",
            "{not json",
            400,
            "invalid container config",
        ),
        (
            "POST",
            "/containers/create",
            r#"{"Image": 5}"#,
            400,
            "invalid container config",
        ),
        // Cmd may be a string or a list (Docker's strslice); a number is a wrong type.
        (
            "POST",
            "/containers/create",
            r#"{"Image":"x","Cmd":5}"#,
            400,
            "invalid container config",
        ),
        (
            "POST",
            "/containers/create",
            r#"{"Cmd":["true"]}"#,
            400,
            "no image",
        ),
        (
            "POST",
            "/containers/create",
            r#"{"Image":"nope:1"}"#,
            404,
            "No such image: nope:1",
        ),
        // As moby: the image is looked up before the name is checked.
        (
            "POST",
            "/containers/create?name=a/b",
            r#"{"Image":"nope:1"}"#,
            404,
            "No such image",
        ),
        (
            "POST",
            "/containers/nope/start",
            "",
            404,
            "No such container: nope",
        ),
        (
            "GET",
            "/containers/nope/json",
            "",
            404,
            "No such container: nope",
        ),
        (
            "POST",
            "/containers/nope/exec",
            r#"{"Cmd":["true"]}"#,
            404,
            "No such container: nope",
        ),
        (
            "GET",
            "/exec/nope/json",
            "",
            404,
            "No such exec instance: nope",
        ),
        ("GET", "/volumes/nope", "", 404, "no such volume"),
        (
            "POST",
            "/volumes/create",
            r#"{"Name":"../etc"}"#,
            400,
            "../etc",
        ),
        ("POST", "/volumes/create", "[1,2", 400, ""),
        ("GET", "/containers/json?filters=%7Bbroken", "", 400, ""),
        (
            "GET",
            "/containers/json?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D",
            "",
            400,
            "colour",
        ),
        // As moby's router: the signal is parsed before the container is looked up.
        (
            "POST",
            "/containers/nope/kill?signal=SIGNOPE",
            "",
            400,
            "Invalid signal: SIGNOPE",
        ),
    ];
    for (method, path, body, status, words) in cases {
        let (got, answer) = d.request_with_body(method, path, body);
        assert_eq!(got, *status, "{method} {path} {body}: {answer}");
        let m = message(&answer);
        assert!(m.contains(words), "{method} {path}: {m:?} lacks {words:?}");
    }
    // Unknown fields are ignored, as Docker does: the request fails only on the missing image.
    let (got, answer) = d.request_with_body(
        "POST",
        "/containers/create",
        r#"{"Image":"nope:1","NoSuchField":{"deep":[1,2,3]}}"#,
    );
    assert_eq!(got, 404, "{answer}");
    // An oversized JSON body is refused, not buffered without end: a 400 naming the body, or
    // (when the client is still sending as the server closes) a cut connection.
    let big = format!(
        r#"{{"Image":"x","Labels":{{"k":"{}"}}}}"#,
        "a".repeat(2 << 20)
    );
    let (got, answer) = d.request_with_body("POST", "/containers/create", &big);
    if got != 0 {
        assert_eq!(got, 400, "{}", &answer[..answer.len().min(200)]);
        assert!(message(&answer).contains("body"), "{answer}");
    }
    // Unharmed: still answering, nothing created.
    assert_eq!(d.request("GET", "/_ping"), (200, "OK".to_string()));
    let (got, list) = d.request("GET", "/containers/json?all=1");
    assert_eq!((got, list.trim()), (200, "[]"));
    let (got, vols) = d.request("GET", "/volumes");
    assert_eq!(got, 200);
    assert!(vols.contains(r#""Volumes":[]"#), "{vols}");
}
