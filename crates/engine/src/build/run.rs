//! `RUN`: a container of the engine from the step's parent image, its command through the
//! stage's shell (or exec form), the build args as its environment, the build's network;
//! its upper directory committed as the next layer with the *build's* config.
//!
//! Why a real engine container and not a bare runtime call: the step gets exactly what a
//! `docker run` gets (seccomp, dropped capabilities, cgroups, networking, /etc files), and the
//! engine already cleans up everything a container holds.

use berth_build::Run;
use berth_image::BuildHistory;

use super::stage::{Build, State};
use super::steps::parse_id;
use crate::container::{CreateOptions, HostConfig};
use crate::{EngineError, LogOptions, Result};

/// Build args every Dockerfile accepts without declaring them (Docker's list).
pub(super) const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Build<'_> {
    pub(super) fn run_step(&mut self, state: &mut State, run: &Run, text: &str) -> Result<String> {
        let Some(parent) = state.id.clone() else {
            return Err(EngineError::InvalidArgument(
                "RUN in a stage FROM scratch: there is no shell to run it (COPY a binary in \
                 first, or start FROM an image)"
                    .into(),
            ));
        };
        let mut argv = Self::argv(&state.config, &run.command);
        if argv.is_empty() {
            argv.push("true".into());
        }
        let mut env: Vec<String> = state.config.env.clone().unwrap_or_default();
        // Docker's predefined proxy args reach RUN without an ARG line; they are kept out of
        // the image, its history and the cache key.
        let proxies = self
            .req
            .build_args
            .iter()
            .filter(|(k, _)| PROXY_ARGS.contains(&k.as_str()) && !state.args.contains_key(*k));
        for (k, v) in state.args.iter().chain(proxies) {
            if !env
                .iter()
                .any(|e| e.split_once('=').map(|(n, _)| n) == Some(k.as_str()))
            {
                env.push(format!("{k}={v}"));
            }
        }
        let network = run
            .network
            .clone()
            .filter(|n| n != "default")
            .unwrap_or_else(|| self.req.network_mode.clone());
        let opts = CreateOptions {
            image: parent.clone(),
            cmd: Some(argv.clone()),
            entrypoint: Some(Vec::new()),
            env,
            user: state.config.user.clone().unwrap_or_default(),
            working_dir: state.config.working_dir.clone().unwrap_or_default(),
            host_config: HostConfig {
                network_mode: network,
                ..Default::default()
            },
            ..Default::default()
        };
        let engine = self.engine;
        let rec = engine.create_container(None, opts)?;
        self.say(&format!(" ---> Running in {}\n", &rec.id[..12]));
        let outcome = (|| {
            engine.start_container(&rec.id)?;
            let code = engine.wait_container(&rec.id)?;
            let lines = engine.container_logs(
                &rec.id,
                LogOptions {
                    stdout: true,
                    stderr: true,
                    tail: None,
                    since: None,
                },
            )?;
            for l in lines {
                self.say(&l.text);
            }
            if code != 0 {
                return Err(EngineError::InvalidArgument(format!(
                    "The command '{}' returned a non-zero code: {code}",
                    argv.join(" ")
                )));
            }
            let history = BuildHistory {
                created_by: format!("/bin/sh -c {}", text.trim_start_matches("RUN ")),
                created: self.now(),
                comment: None,
            };
            let id = engine.store.commit_rootfs_with(
                &rec.id,
                &parse_id(&parent)?,
                state.config.clone(),
                history,
                self.epoch,
            )?;
            Ok(id.to_string())
        })();
        if let Err(std::sync::mpsc::SendError(id)) = self.reaper.send(rec.id.clone()) {
            let _ = engine.remove_container(&id, true);
        }
        self.say(&format!(
            "Removing intermediate container {}\n",
            &rec.id[..12]
        ));
        outcome
    }
}
