//! A private registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a free
//! 127.0.0.1 port, storage in its own temp dir, killed on drop. Nothing leaves loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary Debian's docker-registry package installs.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running `docker-registry serve`.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Registry {
    /// An anonymous registry.
    pub fn anonymous() -> Registry {
        Self::serve(tempfile::tempdir().expect("tempdir"), "")
    }

    /// A registry with htpasswd basic auth for one user (bcrypt via `htpasswd -Bbn`, from
    /// apache2-utils).
    pub fn htpasswd(user: &str, pass: &str) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, pass])
            .output()
            .expect("htpasswd (apache2-utils) runs");
        assert!(out.status.success(), "htpasswd failed");
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, out.stdout).expect("write htpasswd");
        let yaml = format!(
            "auth:\n  htpasswd:\n    realm: berth-basic-realm\n    path: {}\n",
            file.display()
        );
        Self::serve(dir, &yaml)
    }

    /// Serves from `dir` with the base config (filesystem storage, deletes enabled, quiet
    /// logs) plus `extra_yaml` (top-level `auth:` sections, or `  tls:` lines that belong
    /// under `http:`, which the base config ends with).
    pub fn serve(dir: tempfile::TempDir, extra_yaml: &str) -> Registry {
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n  secret: berth-test-secret\n{extra_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry starts (install Debian's docker-registry)");
        let mut reg = Registry { child, addr, dir };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "docker-registry exited with {status}: {}",
                    std::fs::read_to_string(self.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
            }
            if let Ok(mut s) = TcpStream::connect(&self.addr) {
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut line = String::new();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("HTTP/") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry on {} not ready after 15s", self.addr);
    }

    /// The registry's directory (config, data, log); tests may keep their files here.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
