//! Executing one (expanded) instruction: the config-only ones here, RUN and COPY/ADD in
//! their own modules; and the build's last step, the labels (`--label`, provenance).

use std::collections::BTreeMap;

use berth_build::{Command, CommandLine, Healthcheck, Instruction};
use berth_image::{BuildHistory, ContainerConfig, HealthConfig};
use sha2::{Digest as _, Sha256};

use super::stage::{Build, State};
use crate::{EngineError, Result};

/// Docker's default shell for the shell form.
pub(super) const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Build args never recorded in the image (Docker's predefined proxy args), and names that
/// look like secrets.
fn recordable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !super::run::PROXY_ARGS.contains(&name)
        && !["secret", "password", "passwd", "token", "key", "credential"]
            .iter()
            .any(|s| lower.contains(s))
}

impl Build<'_> {
    /// The stage's shell (`SHELL`, else `/bin/sh -c`).
    pub(super) fn shell(config: &ContainerConfig) -> Vec<String> {
        config
            .shell
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect())
    }

    /// The command line of `line`: exec form as is, shell form through the stage's shell.
    pub(super) fn argv(config: &ContainerConfig, line: &CommandLine) -> Vec<String> {
        match line {
            CommandLine::Exec(v) => v.clone(),
            CommandLine::Shell(s) => {
                let mut v = Self::shell(config);
                v.push(s.clone());
                v
            }
        }
    }

    /// Runs `inst` on `state` and returns the new image id.
    pub(super) fn apply(
        &mut self,
        state: &mut State,
        inst: &Instruction,
        text: &str,
    ) -> Result<String> {
        let mut config = state.config.clone();
        match &inst.command {
            Command::Run(run) => return self.run_step(state, run, text),
            Command::Copy(c) => return self.copy_step(state, c, text, false),
            Command::Add(c) => return self.copy_step(state, c, text, true),
            Command::Env(kvs) => {
                let env = config.env.get_or_insert_with(Vec::new);
                for kv in kvs {
                    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != kv.key);
                    env.push(format!("{}={}", kv.key, kv.value));
                }
            }
            Command::Label(kvs) => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                for kv in kvs {
                    labels.insert(kv.key.clone(), kv.value.clone());
                }
            }
            Command::Expose(ports) => {
                let map = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in ports {
                    let key = if p.contains('/') {
                        p.to_ascii_lowercase()
                    } else {
                        format!("{p}/tcp")
                    };
                    map.insert(key, serde_json::json!({}));
                }
            }
            Command::Volume(v) => {
                let map = config.volumes.get_or_insert_with(BTreeMap::new);
                for p in v {
                    map.insert(p.clone(), serde_json::json!({}));
                }
            }
            Command::Workdir(w) => {
                let base = config.working_dir.clone().unwrap_or_else(|| "/".into());
                let path = if w.starts_with('/') {
                    w.clone()
                } else {
                    format!("{}/{w}", base.trim_end_matches('/'))
                };
                config.working_dir = Some(path);
            }
            Command::User(u) => config.user = Some(u.clone()),
            Command::Stopsignal(s) => config.stop_signal = Some(s.clone()),
            Command::Shell(s) => config.shell = Some(s.clone()),
            Command::Cmd(line) => config.cmd = Some(Self::argv(&config, line)),
            Command::Entrypoint(line) => {
                config.entrypoint = Some(Self::argv(&config, line));
                // Docker: an ENTRYPOINT resets a CMD inherited from the base image.
                config.cmd = None;
            }
            Command::Healthcheck(h) => {
                config.healthcheck = Some(match h {
                    Healthcheck::None => HealthConfig {
                        test: vec!["NONE".into()],
                        ..Default::default()
                    },
                    Healthcheck::Check(c) => {
                        let ns = |d: Option<std::time::Duration>| {
                            d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                        };
                        let test = match &c.command {
                            CommandLine::Exec(v) => std::iter::once("CMD".to_string())
                                .chain(v.iter().cloned())
                                .collect(),
                            CommandLine::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                        };
                        HealthConfig {
                            test,
                            interval: ns(c.interval),
                            timeout: ns(c.timeout),
                            start_period: ns(c.start_period),
                            retries: c.retries.map(i64::from),
                            ..Default::default()
                        }
                    }
                })
            }
            Command::Onbuild(trigger) => {
                let t = berth_build::normalize::cache_text(trigger);
                config.on_build.get_or_insert_with(Vec::new).push(t);
            }
            Command::Maintainer(_) | Command::Arg(_) => {}
        }
        let id = self.derive(state, &config, format!("/bin/sh -c #(nop)  {text}"))?;
        state.config = config;
        Ok(id)
    }

    /// A config-only image on top of `state`'s, with one history entry.
    fn derive(
        &self,
        state: &State,
        config: &ContainerConfig,
        created_by: String,
    ) -> Result<String> {
        let history = BuildHistory {
            created_by,
            created: self.now(),
            comment: None,
        };
        let parent = state.id.as_deref().map(parse_id).transpose()?;
        let id = self
            .engine
            .store
            .derive_config(parent.as_ref(), config.clone(), history)?;
        Ok(id.to_string())
    }

    /// The target's last step: `--label`s and provenance (the Dockerfile's digest and text,
    /// recordable build args, the context's git revision when it holds one).
    pub(super) fn finish(&mut self, state: &mut State) -> Result<()> {
        let mut config = state.config.clone();
        let labels = config.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(self.req.labels.clone());
        let digest = format!("{:x}", Sha256::digest(self.text.as_bytes()));
        labels.insert("org.berth.build.dockerfile.sha256".into(), digest);
        labels.insert("org.berth.build.dockerfile".into(), self.text.to_string());
        let args: BTreeMap<&String, &String> = self
            .req
            .build_args
            .iter()
            .filter(|(k, _)| recordable(k))
            .collect();
        if !args.is_empty() {
            labels.insert(
                "org.berth.build.args".into(),
                serde_json::to_string(&args).unwrap_or_default(),
            );
        }
        if let Some(rev) = self.git_revision() {
            labels.insert("org.opencontainers.image.revision".into(), rev);
        }
        let key_text = serde_json::to_string(&config.labels).unwrap_or_default();
        let key = berth_build::normalize::digest_text(&state.key, &format!("LABELS {key_text}"));
        if !self.req.no_cache {
            if let Some(id) = self.engine.cache_get(&key) {
                state.id = Some(id);
                return Ok(());
            }
        }
        let created_by = "/bin/sh -c #(nop)  LABEL org.berth.build provenance".to_string();
        let id = self.derive(state, &config, created_by)?;
        self.protect(&id);
        self.engine.cache_put(&key, &id);
        state.config = config;
        state.id = Some(id);
        Ok(())
    }

    /// `HEAD`'s commit when the context holds a `.git` directory.
    fn git_revision(&self) -> Option<String> {
        let read = |p: &str| -> Option<String> {
            let mut f = self
                .ctx
                .open(std::path::Path::new(p), libc::O_RDONLY)
                .ok()?;
            let mut s = String::new();
            std::io::Read::read_to_string(&mut f, &mut s).ok()?;
            Some(s.trim().to_string())
        };
        let head = read(".git/HEAD")?;
        match head.strip_prefix("ref: ") {
            Some(r) if !r.contains("..") => read(&format!(".git/{r}")),
            Some(_) => None,
            None => Some(head),
        }
        .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    }
}

/// `sha256:…` as the store's digest.
pub(super) fn parse_id(id: &str) -> Result<berth_image::Digest> {
    id.parse()
        .map_err(|_| EngineError::Internal(format!("bad image id {id} in the build")))
}
