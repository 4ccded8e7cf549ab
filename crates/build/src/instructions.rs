//! The arguments of each instruction, the way BuildKit's Dockerfile parser reads them.
//!
//! Which shape each instruction takes (Docker's, not ours): `ENV`/`LABEL` take `k=v` words
//! (quotes and escapes keep blanks in a word) or the legacy `k rest-of-line`; `COPY`, `ADD` and
//! `VOLUME` take a JSON array or blank-separated words (not quote-aware, as in Docker);
//! `RUN`/`CMD`/`ENTRYPOINT`/`HEALTHCHECK CMD` take a JSON array (exec form) or a string
//! (shell form); `SHELL` takes only JSON. Docker runs `CMD ['a']` as the shell command
//! `['a']`, which always fails later; berth rejects it here and says to use double quotes.

use std::time::Duration;

use crate::ast::*;
use crate::flags::{bool_flag, check_flags, parse_duration, string_flag, value_of};
use crate::lexer::raw_words;
use crate::parser::{parse_at, Ctx, Flag, Parsed};
use crate::BuildError;

type Result<T> = std::result::Result<T, BuildError>;

/// `FROM [--platform=p] image [AS name]`.
pub(crate) fn from(ctx: &Ctx<'_>, flags: &[Flag], at: usize) -> Result<From> {
    check_flags(ctx, "FROM", flags, &["platform"])?;
    let platform = string_flag(ctx, flags, "platform")?;
    let words: Vec<&str> = ctx.line.text[at..].split_whitespace().collect();
    match words.as_slice() {
        [image] => Ok(From {
            image: image.to_string(),
            platform,
            alias: None,
        }),
        [image, as_, alias] if as_.eq_ignore_ascii_case("as") => Ok(From {
            image: image.to_string(),
            platform,
            alias: Some(alias.to_string()),
        }),
        _ => Err(ctx.err(
            at,
            "FROM requires either one or three arguments: `FROM <image> [AS <name>]`",
        )),
    }
}

/// Every instruction but `FROM`.
pub(crate) fn command(
    ctx: &Ctx<'_>,
    keyword: &str,
    start: usize,
    flags: &[Flag],
    at: usize,
) -> Result<Command> {
    let args = ctx.line.text[at..].trim_end();
    if args.is_empty() {
        return Err(ctx.err(start, format!("{keyword} requires at least one argument")));
    }
    let no_flags = |ctx: &Ctx<'_>| check_flags(ctx, keyword, flags, &[]);
    Ok(match keyword {
        "RUN" => {
            check_flags(ctx, keyword, flags, &["mount", "network", "security"])?;
            let mounts = flags
                .iter()
                .filter(|f| f.name == "mount")
                .map(|f| value_of(ctx, f))
                .collect::<Result<_>>()?;
            let command = command_line(ctx, at)?;
            let heredocs = match command {
                CommandLine::Shell(_) => ctx.line.heredocs.iter().map(|h| h.0.clone()).collect(),
                CommandLine::Exec(_) => Vec::new(),
            };
            Command::Run(Run {
                mounts,
                network: string_flag(ctx, flags, "network")?,
                security: string_flag(ctx, flags, "security")?,
                command,
                heredocs,
            })
        }
        "CMD" => no_flags(ctx)
            .and_then(|_| command_line(ctx, at))
            .map(Command::Cmd)?,
        "ENTRYPOINT" => no_flags(ctx)
            .and_then(|_| command_line(ctx, at))
            .map(Command::Entrypoint)?,
        "ENV" => no_flags(ctx)
            .and_then(|_| name_values(ctx, keyword, at))
            .map(Command::Env)?,
        "LABEL" => no_flags(ctx)
            .and_then(|_| name_values(ctx, keyword, at))
            .map(Command::Label)?,
        "ARG" => {
            no_flags(ctx)?;
            let mut defs = Vec::new();
            for (off, word) in raw_words(args, ctx.escape) {
                let (name, default) = match word.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (word, None),
                };
                if name.is_empty() {
                    return Err(ctx.err(
                        at + off,
                        "ARG names can not be blank: write ARG name[=default]",
                    ));
                }
                defs.push(ArgDef {
                    name: name.to_string(),
                    default,
                });
            }
            Command::Arg(defs)
        }
        "EXPOSE" => {
            no_flags(ctx)?;
            Command::Expose(args.split_whitespace().map(str::to_string).collect())
        }
        "COPY" | "ADD" => copy(ctx, keyword, flags, at)?,
        "WORKDIR" => no_flags(ctx).map(|_| Command::Workdir(args.to_string()))?,
        "USER" => no_flags(ctx).map(|_| Command::User(args.to_string()))?,
        "STOPSIGNAL" => no_flags(ctx).map(|_| Command::Stopsignal(args.to_string()))?,
        "MAINTAINER" => no_flags(ctx).map(|_| Command::Maintainer(args.to_string()))?,
        "VOLUME" => {
            no_flags(ctx)?;
            match json_array(ctx, at)? {
                Some(list) => Command::Volume(list),
                None => Command::Volume(args.split_whitespace().map(str::to_string).collect()),
            }
        }
        "SHELL" => {
            no_flags(ctx)?;
            match json_array(ctx, at)? {
                Some(list) if !list.is_empty() => Command::Shell(list),
                _ => return Err(ctx.err(at, "SHELL requires the arguments to be in JSON form: SHELL [\"executable\", \"parameters\"]")),
            }
        }
        "HEALTHCHECK" => healthcheck(ctx, flags, at)?,
        "ONBUILD" => {
            no_flags(ctx)?;
            let inner = args
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            if matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                let msg = match inner.as_str() {
                    "ONBUILD" => "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string(),
                    _ => format!("{inner} isn't allowed as an ONBUILD trigger"),
                };
                return Err(ctx.err(at, msg));
            }
            match parse_at(ctx, at)? {
                Parsed::Instruction(inst) => Command::Onbuild(Box::new(inst)),
                Parsed::From(..) => unreachable!("FROM rejected above"),
            }
        }
        other => unreachable!("keyword {other} not dispatched"),
    })
}

fn copy(ctx: &Ctx<'_>, keyword: &str, flags: &[Flag], at: usize) -> Result<Command> {
    let add = keyword == "ADD";
    let allowed: &[&str] = if add {
        &["chown", "chmod", "link", "checksum", "keep-git-dir"]
    } else {
        &["from", "chown", "chmod", "link"]
    };
    check_flags(ctx, keyword, flags, allowed)?;
    let words: Vec<CopySource> = match json_array(ctx, at)? {
        Some(list) => list.into_iter().map(CopySource::Path).collect(),
        None => raw_words_plain(&ctx.line.text[at..])
            .map(|(off, w)| {
                let doc = ctx.line.heredocs.iter().find(|h| {
                    let fd = h.0.fd.map_or(0, |fd| fd.to_string().len());
                    h.1 == at + off + fd || h.1 == at + off
                });
                match doc {
                    Some((doc, _)) => CopySource::Heredoc(doc.clone()),
                    None => CopySource::Path(w.to_string()),
                }
            })
            .collect(),
    };
    let mut sources = words;
    let dest = match sources.pop() {
        Some(CopySource::Path(dest)) if !sources.is_empty() => dest,
        _ => {
            let msg = format!(
                "{keyword} requires at least two arguments, but only one was provided: \
                 write {keyword} <source>... <destination>"
            );
            return Err(ctx.err(at, msg));
        }
    };
    Ok((if add { Command::Add } else { Command::Copy })(Copy {
        from: string_flag(ctx, flags, "from")?,
        chown: string_flag(ctx, flags, "chown")?,
        chmod: string_flag(ctx, flags, "chmod")?,
        link: bool_flag(ctx, flags, "link")?,
        checksum: string_flag(ctx, flags, "checksum")?,
        keep_git_dir: bool_flag(ctx, flags, "keep-git-dir")?,
        sources,
        dest,
    }))
}

fn healthcheck(ctx: &Ctx<'_>, flags: &[Flag], at: usize) -> Result<Command> {
    let opts = [
        "interval",
        "timeout",
        "start-period",
        "start-interval",
        "retries",
    ];
    check_flags(ctx, "HEALTHCHECK", flags, &opts)?;
    let text = &ctx.line.text[at..];
    let first = text.split_whitespace().next().unwrap_or("");
    if first.eq_ignore_ascii_case("NONE") {
        if text.split_whitespace().nth(1).is_some() || !flags.is_empty() {
            return Err(ctx.err(at, "HEALTHCHECK NONE takes no other arguments or flags"));
        }
        return Ok(Command::Healthcheck(Healthcheck::None));
    }
    if !first.eq_ignore_ascii_case("CMD") {
        return Err(ctx.err(
            at,
            format!("unknown type {first:?} in HEALTHCHECK (try CMD)"),
        ));
    }
    let cmd_at =
        at + first.len() + (text[first.len()..].len() - text[first.len()..].trim_start().len());
    if ctx.line.text[cmd_at..].trim().is_empty() {
        return Err(ctx.err(
            at,
            "HEALTHCHECK CMD requires a command: HEALTHCHECK CMD <command>",
        ));
    }
    let duration = |name: &str| -> Result<Option<Duration>> {
        let Some(flag) = flags.iter().find(|f| f.name == name) else {
            return Ok(None);
        };
        let value = value_of(ctx, flag)?;
        parse_duration(&value).map(Some).ok_or_else(|| {
            ctx.err(
                flag.at,
                format!("invalid duration {value:?} for --{name}: write e.g. 30s, 1m30s or 500ms"),
            )
        })
    };
    let retries = match flags.iter().find(|f| f.name == "retries") {
        None => None,
        Some(flag) => Some(
            value_of(ctx, flag)?
                .parse::<u32>()
                .map_err(|_| ctx.err(flag.at, "--retries must be a whole number of at least 0"))?,
        ),
    };
    Ok(Command::Healthcheck(Healthcheck::Check(HealthCheckCmd {
        interval: duration("interval")?,
        timeout: duration("timeout")?,
        start_period: duration("start-period")?,
        start_interval: duration("start-interval")?,
        retries,
        command: command_line(ctx, cmd_at)?,
    })))
}

/// `ENV`/`LABEL` arguments: `k=v ...` or legacy `k value with blanks`.
fn name_values(ctx: &Ctx<'_>, keyword: &str, at: usize) -> Result<Vec<KeyValue>> {
    let text = ctx.line.text[at..].trim_end();
    let words = raw_words(text, ctx.escape);
    let Some(&(_, first)) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let value = text[first.len()..].trim();
        if value.is_empty() {
            let msg = format!("{keyword} {first} has no value: write {keyword} {first}=<value>");
            return Err(ctx.err(at, msg));
        }
        return Ok(vec![KeyValue {
            key: first.to_string(),
            value: value.to_string(),
        }]);
    }
    words
        .into_iter()
        .map(|(off, word)| match word.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(KeyValue {
                key: key.to_string(),
                value: value.to_string(),
            }),
            Some(_) => Err(ctx.err(at + off, format!("{keyword} names can not be blank"))),
            None => Err(ctx.err(
                at + off,
                format!("syntax error - can't find = in {word:?}: write {keyword} name=value ..."),
            )),
        })
        .collect()
}

/// Exec form if the text is a JSON array of strings, shell form otherwise.
fn command_line(ctx: &Ctx<'_>, at: usize) -> Result<CommandLine> {
    Ok(match json_array(ctx, at)? {
        Some(list) => CommandLine::Exec(list),
        None => CommandLine::Shell(ctx.line.text[at..].trim().to_string()),
    })
}

/// `Some` for a JSON array of strings; an error for an array in single quotes.
fn json_array(ctx: &Ctx<'_>, at: usize) -> Result<Option<Vec<String>>> {
    let text = ctx.line.text[at..].trim();
    if !text.starts_with('[') || !text.ends_with(']') {
        return Ok(None);
    }
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return Ok(Some(list));
    }
    let inner = text[1..text.len() - 1].trim_start();
    if inner.starts_with('\'') && !text.contains('"') {
        let msg = "JSON arrays must use double quotes: write [\"a\", \"b\"], not ['a', 'b']";
        return Err(ctx.err(at, msg));
    }
    Ok(None)
}

/// Blank-separated words with offsets, quotes not special (Docker's COPY/ADD split).
fn raw_words_plain(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace()
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}
