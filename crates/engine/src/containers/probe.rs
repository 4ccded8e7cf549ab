//! One health probe: the check's command as an exec, its output collected, killed at the
//! timeout.
//!
//! Why through `create_exec`/`start_exec`: a probe is exactly a `docker exec` with stdout and
//! stderr piped (Docker runs it the same way), so the process set-up, the shim and the exit
//! code stay in one place (`exec.rs`); only the timeout and the output cap are added here.
//! The instance is dropped from the exec table afterwards so probes do not pile up in it.

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::health::{HealthCheck, HealthResult};
use super::record::ContainerRecord;
use super::{ExecConfig, ExecState};
use crate::Engine;

/// Output kept per result (Docker's cap).
const MAX_OUTPUT: usize = 4096;

/// Go's `time.Duration` text for the timeout message (`300ms`, `1.5s`).
fn go_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

impl Engine {
    /// Runs one probe through the exec machinery.
    pub(super) fn probe(&self, rec: &ContainerRecord, check: &HealthCheck) -> HealthResult {
        let start = berth_shim::time::now();
        let failed = |output: String| HealthResult {
            start: start.clone(),
            end: berth_shim::time::now(),
            exit_code: -1,
            output,
        };
        let config = ExecConfig {
            cmd: check.cmd.clone(),
            attach_stdout: true,
            attach_stderr: true,
            ..ExecConfig::default()
        };
        let exec_id = match self.create_exec(&rec.id, config) {
            Ok(id) => id,
            Err(e) => return failed(e.to_string()),
        };
        let io = match self.start_exec(&exec_id, false) {
            Ok(io) => io,
            Err(e) => {
                self.forget_probe(&exec_id);
                return failed(e.to_string());
            }
        };
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let pipes: Vec<Box<dyn Read + Send>> = [
            io.stdout.map(|p| Box::new(p) as Box<dyn Read + Send>),
            io.stderr.map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        let readers = pipes.len();
        for mut p in pipes {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = p.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let deadline = Instant::now() + check.timeout;
        let mut timed_out = false;
        let code = loop {
            match self.exec(&exec_id).map(|v| v.state) {
                Ok(ExecState::Exited { code, .. }) => break i64::from(code),
                Ok(ExecState::Running { pid }) if !timed_out && Instant::now() >= deadline => {
                    if pid > 0 {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                        timed_out = true;
                    }
                }
                Ok(_) => {}
                Err(_) => break -1,
            }
            if Instant::now() > deadline + Duration::from_secs(10) {
                break -1;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut output = Vec::new();
        let drain_until = Instant::now() + Duration::from_secs(1);
        let mut open = readers;
        while open > 0 {
            let left = drain_until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => output.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
        self.forget_probe(&exec_id);
        output.truncate(MAX_OUTPUT);
        if timed_out {
            return HealthResult {
                exit_code: -1,
                output: format!(
                    "Health check exceeded timeout ({})",
                    go_duration(check.timeout)
                ),
                ..failed(String::new())
            };
        }
        HealthResult {
            start,
            end: berth_shim::time::now(),
            exit_code: code,
            output: String::from_utf8_lossy(&output).into_owned(),
        }
    }

    /// Drops a probe's exec instance: probes do not accumulate in the exec table.
    fn forget_probe(&self, exec_id: &str) {
        self.execs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(exec_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    }
}
