//! Which parts of which instruction Docker expands (see the parent module for why).

use std::collections::BTreeMap;

use super::{expand_heredoc, expand_word, expand_words, Vars};
use crate::ast::{Command, Copy, CopySource, Dockerfile, From, Instruction, KeyValue, Run};
use crate::BuildError;

type Result<T> = std::result::Result<T, BuildError>;

/// The instruction with variables substituted where Docker substitutes them; `RUN`'s command,
/// `CMD`, `ENTRYPOINT`, `SHELL`, `HEALTHCHECK`, `ONBUILD` and `MAINTAINER` come back as they are.
pub fn expand_instruction(
    inst: &Instruction,
    vars: &(impl Vars + ?Sized),
    escape: char,
) -> Result<Instruction> {
    let word = |w: &String| expand_word(w, vars, escape);
    let opt = |w: &Option<String>| w.as_ref().map(word).transpose();
    let pairs = |kvs: &Vec<KeyValue>| {
        kvs.iter()
            .map(|kv| {
                Ok(KeyValue {
                    key: word(&kv.key)?,
                    value: word(&kv.value)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
    let command = match &inst.command {
        Command::Env(kvs) => Command::Env(pairs(kvs)?),
        Command::Label(kvs) => Command::Label(pairs(kvs)?),
        Command::Arg(defs) => Command::Arg(
            defs.iter()
                .map(|d| {
                    Ok(crate::ast::ArgDef {
                        name: d.name.clone(),
                        default: opt(&d.default)?,
                    })
                })
                .collect::<Result<_>>()?,
        ),
        Command::Expose(ports) => {
            let mut out = Vec::new();
            for p in ports {
                out.extend(expand_words(p, vars, escape)?);
            }
            Command::Expose(out)
        }
        Command::Copy(c) | Command::Add(c) => {
            let sources = c
                .sources
                .iter()
                .map(|s| match s {
                    CopySource::Path(p) => Ok(CopySource::Path(word(p)?)),
                    CopySource::Heredoc(h) if !h.quoted => {
                        let mut h = h.clone();
                        h.content = expand_heredoc(&h.content, vars, escape)?;
                        Ok(CopySource::Heredoc(h))
                    }
                    CopySource::Heredoc(h) => Ok(CopySource::Heredoc(h.clone())),
                })
                .collect::<Result<_>>()?;
            let expanded = Copy {
                from: opt(&c.from)?,
                chown: opt(&c.chown)?,
                chmod: opt(&c.chmod)?,
                checksum: opt(&c.checksum)?,
                sources,
                dest: word(&c.dest)?,
                ..c.clone()
            };
            match &inst.command {
                Command::Add(_) => Command::Add(expanded),
                _ => Command::Copy(expanded),
            }
        }
        Command::Workdir(w) => Command::Workdir(word(w)?),
        Command::User(u) => Command::User(word(u)?),
        Command::Stopsignal(s) => Command::Stopsignal(word(s)?),
        Command::Volume(v) => Command::Volume(v.iter().map(word).collect::<Result<_>>()?),
        Command::Run(r) => Command::Run(Run {
            mounts: r.mounts.iter().map(word).collect::<Result<_>>()?,
            ..r.clone()
        }),
        other => other.clone(),
    };
    Ok(Instruction {
        location: inst.location,
        command,
    })
}

/// `FROM` with its image and platform expanded (from the global args).
pub fn expand_from(from: &From, vars: &(impl Vars + ?Sized), escape: char) -> Result<From> {
    Ok(From {
        image: expand_word(&from.image, vars, escape)?,
        platform: from
            .platform
            .as_ref()
            .map(|p| expand_word(p, vars, escape))
            .transpose()?,
        alias: from.alias.clone(),
    })
}

/// The values of the global `ARG`s (those before the first `FROM`): a `--build-arg` wins over
/// the default, a default may use earlier global args, an ARG without either is left unset.
/// Build args for names not declared are ignored here, as Docker ignores them in `FROM`.
pub fn global_arg_values(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for def in &dockerfile.global_args {
        let value = match (build_args.get(&def.name), &def.default) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => Some(expand_word(d, &values, dockerfile.directives.escape)?),
            (None, None) => None,
        };
        if let Some(v) = value {
            values.insert(def.name.clone(), v);
        }
    }
    Ok(values)
}
