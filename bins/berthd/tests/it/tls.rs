//! `-H tcp://…` with mutual TLS, driven by the docker CLI and curl over 127.0.0.1: certificates
//! made with the `openssl` command line; a client without a certificate, or with one from
//! another CA, is refused; plain TCP is refused at startup. Also `-G/--group` on the socket.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon, DOCKER};

const IMAGE: &str = "bench/load:latest";

/// The extensions each certificate gets (an openssl config of our own, so the host's
/// `openssl.cnf` does not matter).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `{name}.pem` (a self-signed CA) and `{name}-key.pem` in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (cert, key) = (format!("{name}.pem"), format!("{name}-key.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "ca",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            &format!("/CN=berth test {name}"),
        ],
    );
}

/// Writes `{name}.pem` and `{name}-key.pem`, signed by the CA `ca`, with the extensions of
/// the config section `kind` (`server` or `client`).
fn make_leaf(dir: &Path, ca: &str, name: &str, kind: &str, serial: &str) {
    let (cert, key, csr) = (
        format!("{name}.pem"),
        format!("{name}-key.pem"),
        format!("{name}.csr"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}-key.pem"),
            "-set_serial",
            serial,
            "-days",
            "2",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            kind,
            "-out",
            &cert,
        ],
    );
}

/// The test's certificates in `<dir>/tls`: `ca` signs `server` (IP 127.0.0.1) and `client`;
/// `other-ca` signs `stranger`.
fn make_certs(dir: &Path) -> PathBuf {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    std::fs::write(tls.join("openssl.cnf"), OPENSSL_CNF).expect("openssl.cnf");
    make_ca(&tls, "ca");
    make_ca(&tls, "other-ca");
    make_leaf(&tls, "ca", "server", "server", "1001");
    make_leaf(&tls, "ca", "client", "client", "1002");
    make_leaf(&tls, "other-ca", "stranger", "client", "2001");
    tls
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// berthd on its unix socket and `tcp://127.0.0.1:<port>` with the TLS flags.
fn tls_daemon() -> (Daemon, PathBuf, u16) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = make_certs(dir.path());
    let port = free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let (ca, cert, key) = (
        tls.join("ca.pem"),
        tls.join("server.pem"),
        tls.join("server-key.pem"),
    );
    let d = Daemon::start_on_host(
        dir,
        &[
            "-H",
            &host,
            "--tlsverify",
            "--tlscacert",
            s(&ca),
            "--tlscert",
            s(&cert),
            "--tlskey",
            s(&key),
        ],
    );
    // The unix socket answers first; wait for the TCP listener too.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "no TCP listener; log:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (d, tls, port)
}

/// The docker CLI over TCP with `--tlsverify`, presenting `client` (a name in the tls dir).
fn docker_tcp(d: &Daemon, tls: &Path, port: u16, client: &str, args: &[&str]) -> Output {
    docker_tcp_input(d, tls, port, client, args, None)
}

/// [`docker_tcp`] with `input` on stdin (the run is bounded by `timeout 60`, so a stdin
/// half-close lost over TLS fails the test instead of hanging it).
fn docker_tcp_input(
    d: &Daemon,
    tls: &Path,
    port: u16,
    client: &str,
    args: &[&str],
    input: Option<&[u8]>,
) -> Output {
    let mut child = Command::new("timeout")
        .arg("60")
        .arg(DOCKER)
        .arg("--tlsverify")
        .arg("--tlscacert")
        .arg(tls.join("ca.pem"))
        .arg("--tlscert")
        .arg(tls.join(format!("{client}.pem")))
        .arg("--tlskey")
        .arg(tls.join(format!("{client}-key.pem")))
        .arg("-H")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(args)
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_API_VERSION")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker CLI runs");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        std::io::Write::write_all(&mut stdin, bytes).expect("write stdin");
    }
    child.wait_with_output().expect("docker CLI ends")
}

/// `curl` to `/_ping` trusting the test CA, with `client`'s certificate if given.
fn curl_ping(tls: &Path, port: u16, client: Option<&str>) -> Output {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(tls.join("ca.pem"));
    if let Some(name) = client {
        c.arg("--cert")
            .arg(tls.join(format!("{name}.pem")))
            .arg("--key")
            .arg(tls.join(format!("{name}-key.pem")));
    }
    c.arg(format!("https://127.0.0.1:{port}/_ping"))
        .stdin(Stdio::null())
        .output()
        .expect("curl runs")
}

#[test]
fn docker_cli_over_mutual_tls_runs_a_container() {
    require_root!();
    let (d, tls, port) = tls_daemon();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", s(&archive)]);

    let out = docker_tcp(
        &d,
        &tls,
        port,
        "client",
        &["version", "--format", "{{.Server.Version}}"],
    );
    assert!(
        out.status.success(),
        "docker version over TLS: {}\nlog:\n{}",
        text(&out.stderr),
        d.log()
    );
    assert!(!text(&out.stdout).trim().is_empty());

    // A foreground run attaches (a hijacked connection) over TLS. The output waits a little:
    // the API starts following the logs only once the upgraded connection is handed over,
    // and output written before that (a fast `echo` on a loaded machine) is not replayed.
    let out = docker_tcp(
        &d,
        &tls,
        port,
        "client",
        &[
            "run",
            "--rm",
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            "sleep 0.5; echo hi",
        ],
    );
    assert!(
        out.status.success(),
        "docker run over TLS: {}\nlog:\n{}",
        text(&out.stderr),
        d.log()
    );
    assert_eq!(
        text(&out.stdout),
        "hi\n",
        "stderr: {}\nlog:\n{}",
        text(&out.stderr),
        d.log()
    );

    // Both directions: stdin in, then the client's half-close over TLS ends `cat`.
    let out = docker_tcp_input(
        &d,
        &tls,
        port,
        "client",
        &["run", "--rm", "-i", IMAGE, "/bin/busybox", "cat"],
        Some(b"over tls\n"),
    );
    assert!(
        out.status.success(),
        "run -i over TLS: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "over tls\n");

    // exec start is hijacked too.
    let id = docker_tcp(
        &d,
        &tls,
        port,
        "client",
        &["run", "-d", IMAGE, "/bin/busybox", "sleep", "30"],
    );
    assert!(id.status.success(), "run -d over TLS: {}", text(&id.stderr));
    let id = text(&id.stdout).trim().to_string();
    let out = docker_tcp_input(
        &d,
        &tls,
        port,
        "client",
        &[
            "exec",
            "-i",
            &id,
            "/bin/busybox",
            "sh",
            "-c",
            "cat; echo done",
        ],
        Some(b"exec in\n"),
    );
    assert!(
        out.status.success(),
        "exec -i over TLS: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "exec in\ndone\n");
    d.docker_ok(&["rm", "-f", &id]);
    assert!(d
        .log()
        .contains(&format!("API listen on tcp://127.0.0.1:{port}")));
}

#[test]
fn clients_without_a_certificate_from_the_ca_are_refused() {
    require_root!();
    let (d, tls, port) = tls_daemon();

    // curl itself works: with the client certificate it gets the API's answer.
    let ok = curl_ping(&tls, port, Some("client"));
    assert!(
        ok.status.success(),
        "curl with a cert: {}",
        text(&ok.stderr)
    );
    assert_eq!(text(&ok.stdout), "OK");

    let none = curl_ping(&tls, port, None);
    assert!(
        !none.status.success(),
        "a client without a certificate was served: {}",
        text(&none.stdout)
    );
    assert!(!text(&none.stdout).contains("OK"));

    let stranger = curl_ping(&tls, port, Some("stranger"));
    assert!(
        !stranger.status.success(),
        "a certificate from another CA was accepted: {}",
        text(&stranger.stdout)
    );
    let out = docker_tcp(&d, &tls, port, "stranger", &["version"]);
    assert!(
        !out.status.success(),
        "docker with another CA's certificate got in"
    );
    assert!(
        d.log().contains("TLS handshake with 127.0.0.1:"),
        "refusals are logged; log:\n{}",
        d.log()
    );
    // The daemon still serves after the refusals.
    assert!(docker_tcp(&d, &tls, port, "client", &["version"])
        .status
        .success());
}

/// berthd with `args` (plus private roots) expected to refuse to start; returns its stderr.
fn refused_start(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("daemon.json"), "{}").expect("daemon.json");
    let out = Command::new(env!("CARGO_BIN_EXE_berthd"))
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("run"))
        .arg("--config-file")
        .arg(dir.path().join("daemon.json"))
        .args(["--seccomp-profile", "unconfined"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("berthd runs");
    assert_eq!(out.status.code(), Some(1), "stdout: {}", text(&out.stdout));
    assert!(
        !dir.path().join("run/berthd.pid").exists(),
        "refused before writing the pidfile"
    );
    text(&out.stderr)
}

#[test]
fn plain_tcp_and_incomplete_tls_flags_are_refused_at_startup() {
    let host = format!("tcp://127.0.0.1:{}", free_port());
    let e = refused_start(&["-H", &host]);
    assert!(e.contains(&format!("refusing to listen on {host}")), "{e}");
    assert!(e.contains("--tlsverify") && e.contains("by design"), "{e}");

    let e = refused_start(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscert",
        "/c",
        "--tlskey",
        "/k",
    ]);
    assert!(e.contains("--tlscacert"), "{e}");
    let e = refused_start(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        "/nonexistent/ca.pem",
        "--tlscert",
        "/c",
        "--tlskey",
        "/k",
    ]);
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
}

#[test]
fn socket_group_follows_dash_g() {
    require_root!();
    // `daemon` (gid 1) exists on Debian; the socket keeps mode 0660.
    let d = Daemon::start_with(tempfile::tempdir().expect("tempdir"), &["-G", "daemon"]);
    let meta = std::fs::metadata(&d.sock).expect("socket metadata");
    assert_eq!(meta.gid(), 1, "socket group");
    assert_eq!(meta.uid(), 0, "socket owner");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    d.docker_ok(&["version"]);
    drop(d);

    let e = refused_start(&["-G", "no-such-group-berth"]);
    assert!(e.contains("group \"no-such-group-berth\" not found"), "{e}");
}
