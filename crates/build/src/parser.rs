//! Logical lines to a [`Dockerfile`]: stages, global `ARG`s, and the errors Docker gives for a
//! file of the wrong shape (no `FROM`, an instruction before `FROM`, an unknown keyword).
//!
//! Each instruction's arguments are parsed in [`crate::instructions`]; this module only splits
//! keywords, parses `--flags` and assembles stages.

use crate::ast::{Dockerfile, From, Instruction, Location, Stage};
use crate::instructions;
use crate::lexer::{self, err, LogicalLine};
use crate::BuildError;

/// Every keyword the parser knows, for "did you mean" suggestions.
pub(crate) const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Parses a Dockerfile named `Dockerfile` (the name only appears in error messages).
pub fn parse(text: &str) -> Result<Dockerfile, BuildError> {
    parse_named("Dockerfile", text)
}

/// Parses a Dockerfile; `file` is the name used in error messages.
pub fn parse_named(file: &str, text: &str) -> Result<Dockerfile, BuildError> {
    let lexed = lexer::lex(file, text)?;
    let escape = lexed.directives.escape;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in &lexed.lines {
        let ctx = Ctx { file, line, escape };
        match parse_at(&ctx, 0)? {
            Parsed::From(from, location) => {
                let name = match &from.alias {
                    Some(alias) => Some(check_stage_name(&ctx, alias, &stages)?),
                    None => None,
                };
                stages.push(Stage {
                    name,
                    from,
                    location,
                    instructions: Vec::new(),
                });
            }
            Parsed::Instruction(inst) => match (stages.last_mut(), &inst.command) {
                (Some(stage), _) => stage.instructions.push(inst),
                (None, crate::ast::Command::Arg(args)) => global_args.extend(args.iter().cloned()),
                (None, cmd) => {
                    let msg = format!(
                        "{} instruction before FROM: a Dockerfile must start with FROM \
                         (only ARG may come before it)",
                        cmd.keyword()
                    );
                    return Err(err(file, inst.location, msg));
                }
            },
        }
    }
    if stages.is_empty() {
        let at = lexed
            .lines
            .first()
            .map_or(Location { line: 1, column: 1 }, |l| l.pos(0));
        let msg = "no FROM instruction: a Dockerfile needs at least one `FROM <image>` \
                   (use `FROM scratch` for an empty base)";
        return Err(err(file, at, msg));
    }
    Ok(Dockerfile {
        directives: lexed.directives,
        global_args,
        stages,
    })
}

fn check_stage_name(ctx: &Ctx<'_>, alias: &str, stages: &[Stage]) -> Result<String, BuildError> {
    let name = alias.to_ascii_lowercase();
    let alias_at = ctx.line.text.rfind(alias).unwrap_or(0);
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid {
        let msg = format!(
            "invalid stage name {alias:?}: a name starts with a letter and holds only \
             letters, digits, '-', '_' and '.'"
        );
        return Err(ctx.err(alias_at, msg));
    }
    if stages
        .iter()
        .any(|s| s.name.as_deref() == Some(name.as_str()))
    {
        let msg = format!("duplicate stage name {name:?}: give each stage its own name");
        return Err(ctx.err(alias_at, msg));
    }
    Ok(name)
}

/// One parsed logical line.
pub(crate) enum Parsed {
    From(From, Location),
    Instruction(Instruction),
}

/// What instruction parsers need: the line (for positions), the file name, the escape char.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub line: &'a LogicalLine,
    pub escape: char,
}

impl Ctx<'_> {
    /// A syntax error at byte `offset` of the logical line.
    pub fn err(&self, offset: usize, message: impl Into<String>) -> BuildError {
        err(self.file, self.line.pos(offset), message)
    }
}

/// A `--name[=value]` flag with the byte offset of its `--`.
#[derive(Debug)]
pub(crate) struct Flag {
    pub name: String,
    pub value: Option<String>,
    pub at: usize,
}

/// Parses the instruction whose keyword starts at byte `start` of the line.
pub(crate) fn parse_at(ctx: &Ctx<'_>, start: usize) -> Result<Parsed, BuildError> {
    let text = &ctx.line.text;
    let kw_end = text[start..]
        .find(char::is_whitespace)
        .map_or(text.len(), |e| start + e);
    let keyword = text[start..kw_end].to_ascii_uppercase();
    if !KEYWORDS.contains(&keyword.as_str()) {
        let mut msg = format!("unknown instruction: {}", &text[start..kw_end]);
        if let Some(best) = suggest(&keyword) {
            msg.push_str(&format!(" (did you mean {best}?)"));
        }
        return Err(ctx.err(start, msg));
    }
    let (flags, args_at) = parse_flags(ctx, kw_end);
    let location = ctx.line.pos(start);
    if keyword == "FROM" {
        let from = instructions::from(ctx, &flags, args_at)?;
        return Ok(Parsed::From(from, location));
    }
    let command = instructions::command(ctx, &keyword, start, &flags, args_at)?;
    Ok(Parsed::Instruction(Instruction { location, command }))
}

/// Reads leading `--flags` from byte `from`; returns them and where the arguments start.
fn parse_flags(ctx: &Ctx<'_>, from: usize) -> (Vec<Flag>, usize) {
    let rest = &ctx.line.text[from..];
    let mut flags = Vec::new();
    for (off, word) in lexer::raw_words(rest, ctx.escape) {
        let at = from + off;
        if word == "--" {
            let after = at + 2;
            let skip = ctx.line.text[after..].len() - ctx.line.text[after..].trim_start().len();
            return (flags, after + skip);
        }
        let Some(flag) = word.strip_prefix("--") else {
            return (flags, at);
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        flags.push(Flag {
            name: name.to_ascii_lowercase(),
            value,
            at,
        });
    }
    (flags, ctx.line.text.len())
}

/// The closest keyword within two edits, if any.
fn suggest(word: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
