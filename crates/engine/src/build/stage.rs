//! The walk over one stage's instructions with the cache (which stages and in what order:
//! `waves.rs`).

use std::collections::{BTreeMap, HashMap};

use berth_build::expand::{expand_from, expand_instruction, global_arg_values};
use berth_build::normalize::{cache_text, digest_text, from_text};
use berth_build::{Command, Dockerfile, Instruction};
use berth_image::ContainerConfig;

use super::context::Context;
pub(super) use super::waves::{stage_ref, Plan};
use super::{BuildEvent, BuildRequest, BuildResult};
use crate::{Engine, EngineError, Result};

/// A stage's state as the walk goes: its current image and config and the cache key.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    /// `None` while the stage is still `FROM scratch` with no layer.
    pub(super) id: Option<String>,
    pub(super) config: ContainerConfig,
    pub(super) key: String,
    /// `ARG`s declared in this stage, with their values.
    pub(super) args: BTreeMap<String, String>,
}

impl State {
    /// The variables in effect: the stage's args, then the config's env (which wins).
    pub(super) fn vars(&self) -> BTreeMap<String, String> {
        let mut v = self.args.clone();
        for e in self.config.env.iter().flatten() {
            if let Some((k, val)) = e.split_once('=') {
                v.insert(k.to_string(), val.to_string());
            }
        }
        v
    }
}

/// One build in progress.
pub(super) struct Build<'a> {
    pub(super) engine: &'a Engine,
    pub(super) ctx: &'a Context,
    pub(super) file: &'a Dockerfile,
    pub(super) text: &'a str,
    pub(super) req: &'a BuildRequest,
    pub(super) out: &'a mut dyn FnMut(BuildEvent),
    pub(super) stages: HashMap<usize, State>,
    pub(super) step: usize,
    pub(super) total: usize,
    pub(super) executed: usize,
    pub(super) cached: usize,
    /// `SOURCE_DATE_EPOCH` from the build args: every timestamp is clamped to it.
    pub(super) epoch: Option<i64>,
    /// The stage being built (`COPY --from` may name only earlier ones).
    pub(super) current: usize,
    /// Protects the build's images until it ends; they are then kept as build cache.
    pub(super) lease: Option<std::sync::Arc<berth_image::BuildLease>>,
    /// Intermediate containers go here to be removed beside the next steps (the build
    /// joins the remover before it ends, so none outlives it).
    pub(super) reaper: std::sync::mpsc::Sender<String>,
    /// The COPY source the current step's digest opened, for its copy.
    pub(super) open_source: Option<super::copy::Source>,
}

impl<'a> Build<'a> {
    pub(super) fn new(
        engine: &'a Engine,
        ctx: &'a Context,
        file: &'a Dockerfile,
        text: &'a str,
        req: &'a BuildRequest,
        out: &'a mut dyn FnMut(BuildEvent),
        reaper: std::sync::mpsc::Sender<String>,
    ) -> Build<'a> {
        let epoch = req
            .build_args
            .get("SOURCE_DATE_EPOCH")
            .and_then(|v| v.parse().ok());
        Build {
            engine,
            ctx,
            file,
            text,
            req,
            out,
            stages: HashMap::new(),
            step: 0,
            total: 0,
            executed: 0,
            cached: 0,
            epoch,
            current: 0,
            lease: engine.store.build_lease().ok().map(std::sync::Arc::new),
            reaper,
            open_source: None,
        }
    }

    /// Pulls a stage's base image: missing locally, or `--pull` (Docker's legacy builder
    /// does both). `--platform` of `FROM` is passed on when set.
    fn pull_base(&mut self, image: &str, platform: Option<&str>) -> Result<berth_image::Digest> {
        let req = crate::PullRequest {
            from: image.to_string(),
            tag: None,
            platform: platform.filter(|p| !p.is_empty()).map(str::to_string),
            all_tags: false,
            credential: None,
        };
        self.say(&format!("Pulling {image}\n"));
        let refs = self.engine.pull(&req, &|_| {}).map_err(|e| {
            EngineError::NotFound(format!(
                "pulling the base image {image} failed: {e}: load it (docker load) or make its \
                 registry reachable"
            ))
        })?;
        let name = refs.first().map_or(image.to_string(), |r| r.to_string());
        self.say(&format!("Status: Downloaded newer image for {name}\n"));
        Ok(self.engine.store.resolve(&name)?)
    }

    /// Keeps a step's image from the GC for the rest of the build (then it is cache).
    pub(super) fn protect(&self, id: &str) {
        if let (Some(lease), Ok(d)) = (self.lease.as_ref(), id.parse::<berth_image::Digest>()) {
            let _ = lease.protect(&d);
        }
    }

    pub(super) fn say(&mut self, s: &str) {
        (self.out)(BuildEvent::Stream(s.to_string()));
    }

    /// Seconds since the epoch for history and `created`: the build's epoch when given.
    pub(super) fn now(&self) -> i64 {
        self.epoch.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
        })
    }

    pub(super) fn execute(&mut self, plan: &Plan) -> Result<BuildResult> {
        self.total = plan
            .stages
            .iter()
            .map(|i| 1 + self.file.stages[*i].instructions.len())
            .sum();
        self.run_waves(plan)?;
        let mut last = self.stages.remove(&plan.target).unwrap_or_default();
        self.finish(&mut last)?;
        let id = last
            .id
            .clone()
            .ok_or_else(|| EngineError::InvalidArgument("the build produced no image".into()))?;
        if let Some(lease) = self
            .lease
            .take()
            .and_then(|l| std::sync::Arc::try_unwrap(l).ok())
        {
            let _ = lease.keep_as_cache();
        }
        Ok(BuildResult {
            id,
            executed: self.executed,
            cached: self.cached,
        })
    }

    fn next_step(&mut self, text: &str) {
        self.step += 1;
        let line = format!("Step {}/{} : {text}\n", self.step, self.total);
        self.say(&line);
    }

    pub(super) fn run_stage(&mut self, i: usize) -> Result<()> {
        let file = self.file;
        let stage = &file.stages[i];
        self.current = i;
        let escape = file.directives.escape;
        let globals = global_arg_values(file, &self.req.build_args).map_err(bad)?;
        let from = expand_from(&stage.from, &globals, escape).map_err(bad)?;
        let shown = match &from.alias {
            Some(a) => format!("FROM {} AS {a}", from.image),
            None => format!("FROM {}", from.image),
        };
        self.next_step(&shown);
        let mut state = State::default();
        if from.image.eq_ignore_ascii_case("scratch") {
            state.key = digest_text("", "FROM scratch");
        } else if let Some(j) = stage_ref(file, &from.image, i) {
            state = self.stages.get(&j).cloned().unwrap_or_default();
            state.args.clear();
        } else {
            let local = self.engine.store.resolve(&from.image).ok();
            let id = match local {
                Some(id) if !self.req.pull => id,
                _ => self.pull_base(&from.image, from.platform.as_deref())?,
            };
            let image = self.engine.store.get(&id)?;
            state.config = image.config.config.clone().unwrap_or_default();
            state.id = Some(id.to_string());
            state.key = digest_text(&id.to_string(), &from_text(&from));
        }
        let shown_id = state.id.as_deref().map_or("scratch".to_string(), short);
        self.say(&format!(" ---> {shown_id}\n"));
        // ONBUILD triggers of the base image run first, as Docker runs them.
        let triggers = state.config.on_build.take().unwrap_or_default();
        for t in triggers {
            let parsed = berth_build::parse(&format!("FROM scratch\n{t}\n")).map_err(bad)?;
            if let Some(inst) = parsed.stages[0].instructions.first().cloned() {
                self.total += 1;
                self.step_in_shown(&mut state, &inst, Some(t.clone()))?;
            }
        }
        for inst in &stage.instructions {
            self.step_in(&mut state, inst)?;
        }
        self.stages.insert(i, state);
        Ok(())
    }

    /// The instruction as written (continuations joined), as Docker prints its steps.
    fn written(&self, inst: &Instruction) -> String {
        let escape = self.file.directives.escape;
        let mut out = String::new();
        for line in self.text.lines().skip(inst.location.line.saturating_sub(1)) {
            let t = line.trim_end();
            if !out.is_empty() && t.trim_start().starts_with('#') {
                continue;
            }
            match t.strip_suffix(escape) {
                Some(head) => {
                    out.push_str(head.trim_start());
                    out.push(' ');
                }
                None => {
                    out.push_str(t.trim_start());
                    break;
                }
            }
        }
        let shown = out.split_whitespace().collect::<Vec<_>>().join(" ");
        if shown.is_empty() {
            cache_text(inst)
        } else {
            shown
        }
    }

    fn step_in(&mut self, state: &mut State, inst: &Instruction) -> Result<()> {
        self.step_in_shown(state, inst, None)
    }

    fn step_in_shown(
        &mut self,
        state: &mut State,
        inst: &Instruction,
        shown: Option<String>,
    ) -> Result<()> {
        let r = self.step_body(state, inst, shown);
        self.end_step();
        r
    }

    fn step_body(
        &mut self,
        state: &mut State,
        inst: &Instruction,
        shown: Option<String>,
    ) -> Result<()> {
        let escape = self.file.directives.escape;
        let shown = shown.unwrap_or_else(|| self.written(inst));
        if let Command::Arg(defs) = &inst.command {
            self.next_step(&shown);
            for d in defs {
                let vars = state.vars();
                let value = match (self.req.build_args.get(&d.name), &d.default) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(def)) => {
                        Some(berth_build::expand::expand_word(def, &vars, escape).map_err(bad)?)
                    }
                    (None, None) => None,
                };
                if let Some(v) = value {
                    state.key = digest_text(&state.key, &format!("ARG {}={v}", d.name));
                    state.args.insert(d.name.clone(), v);
                }
            }
            return Ok(());
        }
        let expanded = expand_instruction(inst, &state.vars(), escape).map_err(bad)?;
        let text = cache_text(&expanded);
        self.next_step(&shown);
        let extra = self.step_inputs(state, &expanded)?;
        let key = digest_text(&state.key, &format!("{text}\n{extra}"));
        if !self.req.no_cache {
            if let Some(id) = self.engine.cache_get(&key) {
                let d: berth_image::Digest = id.parse().map_err(|_| {
                    EngineError::Internal(format!("bad image id {id} in the build cache"))
                })?;
                state.config = self.engine.store.get(&d)?.config.config.unwrap_or_default();
                state.id = Some(id.clone());
                state.key = key;
                self.cached += 1;
                self.say(&format!(" ---> Using cache\n ---> {}\n", short(&id)));
                return Ok(());
            }
        }
        let id = self.apply(state, &expanded, &shown)?;
        self.protect(&id);
        self.engine.cache_put(&key, &id);
        state.id = Some(id.clone());
        state.key = key;
        self.executed += 1;
        self.say(&format!(" ---> {}\n", short(&id)));
        Ok(())
    }

    /// What besides the instruction text decides a step's result: for COPY/ADD the digest of
    /// the files it copies, for RUN the build args in effect (they are its environment).
    fn step_inputs(&mut self, state: &State, inst: &Instruction) -> Result<String> {
        Ok(match &inst.command {
            Command::Copy(c) | Command::Add(c) => self.copy_digest(state, c)?,
            Command::Run(_) => state
                .args
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        })
    }
}

/// A parse or expansion failure: the user's input.
pub(super) fn bad(e: berth_build::BuildError) -> EngineError {
    EngineError::InvalidArgument(format!("dockerfile parse error: {e}"))
}

/// The 12 hex digits Docker prints for an image id.
pub(super) fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}
