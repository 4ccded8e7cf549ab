//! Cache keys by meaning: a canonical text for each instruction, and a digest chaining it to
//! its parent.
//!
//! Docker keys its cache on the instruction as written, so reformatting a Dockerfile busts the
//! cache. Here the key is built from the parsed instruction, which has already lost comments,
//! line continuations, keyword case and the blanks between arguments; this module also
//! forgets the difference between `ENV a b` and `ENV a=b`, between `VOLUME /a` and
//! `VOLUME ["/a"]`, between JSON arrays spaced differently, and between runs of blanks
//! outside quotes in a shell-form command (blanks there only separate words for sh).
//! Everything else is kept verbatim and in order, so a change in meaning changes the text.
//!
//! Every string is written JSON-quoted, so no value can imitate a separator.
//!
//! What the builder must add itself: call [`cache_text`] on the instruction *after*
//! [`crate::expand::expand_instruction`] (then `ENV a="b"` and `ENV a=b` agree too, and a
//! changed build arg changes the key), and fold into the parent key what the instruction
//! reads besides its text: the build args in effect for `RUN`, the content digest of
//! `COPY`/`ADD` sources.

use sha2::{Digest, Sha256};

use crate::ast::*;

/// The canonical text of an instruction: equal for equivalent spellings, different otherwise.
pub fn cache_text(inst: &Instruction) -> String {
    command_text(&inst.command)
}

/// The canonical text of a `FROM` line (after expansion, for a base image key).
pub fn from_text(from: &From) -> String {
    let mut s = format!("FROM image={}", q(&from.image));
    if let Some(p) = &from.platform {
        s.push_str(&format!(" platform={}", q(p)));
    }
    s
}

/// sha256 (lower-case hex) of the parent key and the instruction's canonical text.
pub fn digest(parent: &str, inst: &Instruction) -> String {
    digest_text(parent, &cache_text(inst))
}

/// sha256 (lower-case hex) of a parent key and any canonical text.
pub fn digest_text(parent: &str, text: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(q(parent).as_bytes());
    hasher.update(b"\n");
    hasher.update(text.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

fn command_text(cmd: &Command) -> String {
    let kw = cmd.keyword();
    match cmd {
        Command::Run(r) => {
            let mut s = kw.to_string();
            for m in &r.mounts {
                s.push_str(&format!(" mount={}", q(m)));
            }
            opt(&mut s, "network", &r.network);
            opt(&mut s, "security", &r.security);
            s.push(' ');
            s.push_str(&command_line(&r.command));
            for h in &r.heredocs {
                s.push(' ');
                s.push_str(&heredoc(h));
            }
            s
        }
        Command::Cmd(c) | Command::Entrypoint(c) => format!("{kw} {}", command_line(c)),
        Command::Env(kvs) | Command::Label(kvs) => {
            let pairs: Vec<String> = kvs
                .iter()
                .map(|kv| format!("{}={}", q(&kv.key), q(&kv.value)))
                .collect();
            format!("{kw} {}", pairs.join(" "))
        }
        Command::Arg(defs) => {
            let defs: Vec<String> = defs
                .iter()
                .map(|d| match &d.default {
                    Some(v) => format!("{}={}", q(&d.name), q(v)),
                    None => q(&d.name),
                })
                .collect();
            format!("{kw} {}", defs.join(" "))
        }
        Command::Expose(v) | Command::Volume(v) | Command::Shell(v) => format!("{kw} {}", list(v)),
        Command::Copy(c) | Command::Add(c) => {
            let mut s = kw.to_string();
            opt(&mut s, "from", &c.from);
            opt(&mut s, "chown", &c.chown);
            opt(&mut s, "chmod", &c.chmod);
            opt(&mut s, "checksum", &c.checksum);
            if c.link {
                s.push_str(" link");
            }
            if c.keep_git_dir {
                s.push_str(" keep-git-dir");
            }
            for src in &c.sources {
                match src {
                    CopySource::Path(p) => s.push_str(&format!(" src={}", q(p))),
                    CopySource::Heredoc(h) => s.push_str(&format!(" src={}", heredoc(h))),
                }
            }
            s.push_str(&format!(" dest={}", q(&c.dest)));
            s
        }
        Command::Workdir(v)
        | Command::User(v)
        | Command::Stopsignal(v)
        | Command::Maintainer(v) => {
            format!("{kw} {}", q(v))
        }
        Command::Healthcheck(Healthcheck::None) => "HEALTHCHECK NONE".to_string(),
        Command::Healthcheck(Healthcheck::Check(h)) => {
            let d = |d: Option<std::time::Duration>| {
                d.map_or("-".to_string(), |d| d.as_nanos().to_string())
            };
            format!(
                "HEALTHCHECK interval={} timeout={} start-period={} start-interval={} retries={} {}",
                d(h.interval),
                d(h.timeout),
                d(h.start_period),
                d(h.start_interval),
                h.retries.map_or("-".to_string(), |r| r.to_string()),
                command_line(&h.command)
            )
        }
        Command::Onbuild(inner) => format!("ONBUILD {}", cache_text(inner)),
    }
}

fn opt(s: &mut String, name: &str, value: &Option<String>) {
    if let Some(v) = value {
        s.push_str(&format!(" {name}={}", q(v)));
    }
}

fn heredoc(h: &Heredoc) -> String {
    format!(
        "heredoc(name={} quoted={} fd={} content={})",
        q(&h.name),
        h.quoted,
        h.fd.map_or("-".to_string(), |fd| fd.to_string()),
        q(&h.content)
    )
}

fn command_line(c: &CommandLine) -> String {
    match c {
        CommandLine::Exec(v) => format!("exec={}", list(v)),
        CommandLine::Shell(s) => format!("shell={}", q(&squeeze_shell(s))),
    }
}

/// Collapses runs of blanks outside quotes to one space and trims the ends. Backslash is
/// sh's escape whatever the Dockerfile's escape directive says: the shell reads this text.
pub fn squeeze_shell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut pending_blank = false;
    let mut chars = s.trim_matches([' ', '\t']).chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && (c == ' ' || c == '\t') {
            pending_blank = true;
            continue;
        }
        if pending_blank {
            out.push(' ');
            pending_blank = false;
        }
        out.push(c);
        match (quote, c) {
            (Some('\''), '\'') => quote = None,
            (Some('\''), _) => {}
            (_, '\\') => out.extend(chars.next()),
            (Some('"'), '"') => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
    }
    out
}
