//! Errors as Docker reports them, version checks, shutdown.

use berth_testutil::require_root;

use crate::daemon::Daemon;

#[test]
fn rmi_of_a_missing_image_is_docker_error() {
    require_root!();
    let d = Daemon::start();
    let out = d.docker(&["rmi", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error response from daemon: No such image: nope:latest"),
        "{err}"
    );
}

#[test]
fn api_versions_are_checked() {
    require_root!();
    let d = Daemon::start();
    let (status, body) = d.request("GET", "/v9.99/version");
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(body.trim()).expect("JSON error body");
    assert_eq!(
        v["message"],
        "client version 9.99 is too new. Maximum supported API version is 1.43"
    );
    let (status, _) = d.request("GET", "/v1.20/version");
    assert_eq!(status, 400);
    let (status, body) = d.request("GET", "/v1.50/_ping");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, body) = d.request("GET", "/v1.43/nothing/here");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn version_and_info_show_the_server() {
    require_root!();
    let d = Daemon::start();
    let v = d.docker_ok(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ]);
    assert_eq!(v.trim(), format!("{} 1.43", env!("CARGO_PKG_VERSION")));
    let out = d.docker_ok(&["version"]);
    assert!(out.contains("Server: berth"), "{out}");
    let info = d.docker_ok(&[
        "info",
        "--format",
        "{{.Images}} {{.Driver}} {{.OSType}} {{.DockerRootDir}}",
    ]);
    assert_eq!(
        info.trim(),
        format!("0 overlay linux {}", d.data_root().display())
    );
    let cg = d.docker_ok(&["info", "--format", "{{.CgroupVersion}}"]);
    assert!(matches!(cg.trim(), "1" | "2"), "{cg}");
}

#[test]
fn sigterm_removes_socket_and_pidfile() {
    require_root!();
    let mut d = Daemon::start();
    assert!(d.pidfile.exists());
    let st = d.stop();
    assert!(st.success(), "exit {st:?}\n{}", d.log());
    assert!(!d.sock.exists(), "socket left behind");
    assert!(!d.pidfile.exists(), "pidfile left behind");
}
