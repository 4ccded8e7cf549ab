//! Load: 100 clients at once, each on its own connections, create + start + wait + remove a
//! container; every one succeeds with its own exit code and nothing is left behind (no
//! record, mount, shim or container process).

use std::sync::Arc;

use berth_testutil::{mounts_containing, require_root};

use crate::daemon::{bench_archive, Daemon};

const CLIENTS: usize = 100;

#[test]
fn hundred_concurrent_clients_create_start_wait_remove() {
    require_root!();
    let d = Arc::new(Daemon::start());
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let d = d.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let code = n % 7;
                let body = format!(
                    r#"{{"Image":"bench/load:latest","Cmd":["/bin/busybox","sh","-c","echo {n}; exit {code}"],"Labels":{{"load":"{n}"}}}}"#
                );
                let (status, created) =
                    d.request_with_body("POST", &format!("/containers/create?name=load{n}"), &body);
                if status != 201 {
                    return Err(format!("create {n}: {status} {created}"));
                }
                let id = serde_json::from_str::<serde_json::Value>(&created)
                    .ok()
                    .and_then(|v| v["Id"].as_str().map(String::from))
                    .ok_or_else(|| format!("create {n}: no Id in {created}"))?;
                let (status, body) = d.request("POST", &format!("/containers/{id}/start"));
                if status != 204 {
                    return Err(format!("start {n}: {status} {body}"));
                }
                let (status, body) = d.request("POST", &format!("/containers/{id}/wait"));
                if status != 200 || !body.contains(&format!("\"StatusCode\":{code}")) {
                    return Err(format!("wait {n}: {status} {body}"));
                }
                let (status, body) = d.request("GET", &format!("/containers/{id}/logs?stdout=1"));
                if status != 200 || !body.contains(&format!("{n}\n")) {
                    return Err(format!("logs {n}: {status} {body:?}"));
                }
                let (status, body) = d.request("DELETE", &format!("/containers/{id}"));
                if status != 204 {
                    return Err(format!("remove {n}: {status} {body}"));
                }
                Ok(())
            })
        })
        .collect();
    let failures: Vec<String> = workers
        .into_iter()
        .filter_map(|w| w.join().expect("worker thread").err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}\nberthd log:\n{}",
        failures.len(),
        d.log()
    );
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
    let root = d.data_root();
    assert!(mounts_containing(root.to_str().expect("utf-8")).is_empty());
    let shims = std::fs::read_dir(d.dir.path().join("run/shims"))
        .map(|r| r.count())
        .unwrap_or(0);
    assert_eq!(shims, 0, "shim state dirs left");
    // Still answering.
    assert_eq!(d.request("GET", "/_ping"), (200, "OK".to_string()));
}
