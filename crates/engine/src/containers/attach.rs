//! The container's input side of `attach`: its stdin and its terminal's size.
//!
//! Output is read from the json-file log (see `logs.rs`); input goes through the shim, which
//! holds the write end of the container's stdin (or the pty master) for as long as the
//! container runs, so a client can attach, detach and attach again.

use std::os::unix::net::UnixStream;

use berth_shim::ShimClient;

use super::ContainerStatus;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// A connection to the running container's stdin, or `None` while it is not running (an
    /// attach before `start` asks again). An error when it was created without `-i`.
    pub fn open_container_stdin(&self, name_or_id: &str) -> Result<Option<UnixStream>> {
        let rec = self.find_container(name_or_id)?;
        if !rec.options.open_stdin {
            return Err(EngineError::FailedPrecondition(format!(
                "container {} was created without an open stdin: create it with -i",
                rec.id
            )));
        }
        if !matches!(self.container_status(&rec), ContainerStatus::Running { .. }) {
            return Ok(None);
        }
        let client = ShimClient::connect(self.shim_dir(&rec.id))
            .map_err(|e| EngineError::Shim(format!("attaching to container {}: {e}", rec.id)))?;
        client
            .open_stdin()
            .map(Some)
            .map_err(|e| EngineError::Shim(format!("attaching to container {}: {e}", rec.id)))
    }

    /// Sets the running container's terminal size (`docker run -t`, `docker attach`).
    pub fn resize_container(&self, name_or_id: &str, rows: u16, cols: u16) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        if !self.container_status(&rec).is_running() {
            return Err(EngineError::FailedPrecondition(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        if !rec.options.tty {
            // Docker answers 200 for a container without a terminal too.
            return Ok(());
        }
        ShimClient::connect(self.shim_dir(&rec.id))
            .and_then(|c| c.resize(rows, cols))
            .map_err(|e| EngineError::Shim(format!("resizing container {}: {e}", rec.id)))
    }
}
