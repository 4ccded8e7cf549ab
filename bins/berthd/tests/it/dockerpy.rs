//! docker-py, the Python client (PyPI `docker`, installed by `.ci/run`), against berthd: the
//! scenario in `tests/dockerpy/scenario.py` (images, foreground and detached runs, exec,
//! logs, kill/wait/rm, the errors its exceptions are made from, volumes, events, a restart
//! policy, a health check).

use std::process::Command;

use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon};

#[test]
fn docker_py_scenario() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dockerpy/scenario.py");
    let out = Command::new("python3")
        .arg(script)
        .env("DOCKER_HOST", format!("unix://{}", d.sock.display()))
        .env("IMAGE", "bench/load:latest")
        .output()
        .expect("python3 runs (.ci/run installs it with docker-py)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docker-py scenario failed\nstdout:\n{stdout}\nstderr:\n{}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
