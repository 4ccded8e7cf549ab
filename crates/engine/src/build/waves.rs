//! Which stages a build needs (the target and what it starts from or copies from), and the
//! order: waves of stages whose dependencies are built, each wave's stages on threads of
//! their own.

use std::collections::{BTreeSet, HashMap};

use berth_build::{Command, Dockerfile};

use super::stage::Build;
use super::{BuildEvent, BuildRequest};
use crate::{EngineError, Result};

/// The stages to build, in file order, and the target.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) stages: Vec<usize>,
    pub(super) target: usize,
}

/// A stage index named by `name` (an `AS` name or a number), if it is one before `before`.
pub(super) fn stage_ref(file: &Dockerfile, name: &str, before: usize) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = file.stages[..before]
        .iter()
        .rposition(|s| s.name.as_deref() == Some(lower.as_str()))
    {
        return Some(i);
    }
    name.parse::<usize>().ok().filter(|i| *i < before)
}

/// The earlier stages stage `i` starts from (`FROM stage`) or copies from (`COPY --from`).
fn stage_deps(file: &Dockerfile, i: usize) -> Vec<usize> {
    let s = &file.stages[i];
    let mut refs = vec![s.from.image.clone()];
    for inst in &s.instructions {
        if let Command::Copy(c) = &inst.command {
            refs.extend(c.from.clone());
        }
    }
    refs.iter().filter_map(|r| stage_ref(file, r, i)).collect()
}

impl Plan {
    pub(super) fn new(file: &Dockerfile, req: &BuildRequest) -> Result<Plan> {
        let target = match req.target.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => stage_ref(file, t, file.stages.len()).ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "failed to reach build target {t} in Dockerfile: name a stage declared \
                     with FROM … AS {t}"
                ))
            })?,
            None => file.stages.len() - 1,
        };
        let mut need = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if !need.insert(i) {
                continue;
            }
            todo.extend(stage_deps(file, i));
        }
        Ok(Plan {
            stages: need.into_iter().collect(),
            target,
        })
    }
}

impl Build<'_> {
    /// Builds the planned stages in waves: every stage whose dependencies are built runs in
    /// the next wave, the stages of one wave on threads of their own (their output is
    /// buffered and printed stage by stage, in file order, so the log reads as Docker's).
    pub(super) fn run_waves(&mut self, plan: &Plan) -> Result<()> {
        let file = self.file;
        let mut first_step = HashMap::new();
        let mut acc = 0;
        for &i in &plan.stages {
            first_step.insert(i, acc);
            acc += 1 + file.stages[i].instructions.len();
        }
        let deps = |i: usize| stage_deps(file, i);
        let mut pending: Vec<usize> = plan.stages.clone();
        while !pending.is_empty() {
            let mut wave: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&i| deps(i).iter().all(|d| self.stages.contains_key(d)))
                .collect();
            if wave.is_empty() {
                wave.push(pending[0]);
            }
            pending.retain(|i| !wave.contains(i));
            if wave.len() == 1 {
                self.step = first_step[&wave[0]];
                self.run_stage(wave[0])?;
                continue;
            }
            let (engine, ctx, text, req) = (self.engine, self.ctx, self.text, self.req);
            let (total, epoch, lease) = (self.total, self.epoch, self.lease.clone());
            let reaper = self.reaper.clone();
            let done = &self.stages;
            let results: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = wave
                    .iter()
                    .map(|&i| {
                        let (lease, step, reaper) = (lease.clone(), first_step[&i], reaper.clone());
                        s.spawn(move || {
                            let mut events = Vec::new();
                            let mut push = |e: BuildEvent| events.push(e);
                            let mut sub = Build {
                                engine,
                                ctx,
                                file,
                                text,
                                req,
                                out: &mut push,
                                stages: done.clone(),
                                step,
                                total,
                                executed: 0,
                                cached: 0,
                                epoch,
                                current: i,
                                lease,
                                reaper,
                                open_source: None,
                            };
                            let r = sub.run_stage(i);
                            let state = sub.stages.remove(&i);
                            let (x, c) = (sub.executed, sub.cached);
                            drop(sub);
                            (i, r, state, x, c, events)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let mut failure = None;
            for (i, r, state, x, c, events) in results {
                for e in events {
                    (self.out)(e);
                }
                self.executed += x;
                self.cached += c;
                match (r, state) {
                    (Ok(()), Some(st)) => {
                        self.stages.insert(i, st);
                    }
                    (Err(e), _) => failure = failure.or(Some(e)),
                    (Ok(()), None) => {}
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(())
    }
}
