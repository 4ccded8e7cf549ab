//! One module per verb group. `images`, `registry` and `gc` run in-process on `--data-root`;
//! the others (and `api_images` for the image verbs) are clients of berthd's Docker API
//! through `berth-client`, used whenever `--data-root` is not given.

pub mod api_images;
pub mod build;
pub mod build_context;
pub mod build_manifest;
pub mod compose;
pub mod containers;
pub mod digest_cache;
pub mod exec;
pub mod gc;
pub mod images;
pub mod inspect;
pub mod netcreate;
pub mod netopts;
pub mod networks;
pub mod opts;
pub mod ports;
pub mod registry;
pub mod run;
pub mod system;
pub mod volumes;

use std::fmt;

/// An exit status to end with, and what to print first (to stderr).
#[derive(Debug)]
pub struct Exit {
    /// The process's exit code.
    pub code: u8,
    /// Printed to stderr when set.
    pub msg: Option<String>,
}

impl Exit {
    /// Exit with `code`, printing nothing more.
    pub fn code(code: i64) -> anyhow::Error {
        Exit {
            code: u8::try_from(code & 0xff).unwrap_or(1),
            msg: None,
        }
        .into()
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

/// A client error as docker words it: `Error response from daemon: …` for the daemon's own
/// messages, the client's text otherwise.
pub fn daemon(e: berth_client::Error) -> anyhow::Error {
    match e {
        berth_client::Error::Api { message, .. } => {
            anyhow::anyhow!("Error response from daemon: {message}")
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs `f` on each name, printing the name on success (`docker stop a b`), the error on
/// failure; fails with exit 1 if any failed.
pub fn each(
    names: &[String],
    print: bool,
    f: impl Fn(&str) -> berth_client::Result<()>,
) -> anyhow::Result<()> {
    let mut failed = false;
    for n in names {
        match f(n) {
            Ok(()) if print => println!("{n}"),
            Ok(()) => {}
            Err(e) => {
                eprintln!("{}", daemon(e));
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}

/// docker's `prompt.Confirm`: `y`/`Y` is yes, anything else no.
pub(crate) fn confirm(msg: &str) -> bool {
    print!("{msg} [y/N] ");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut line = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line);
    line.trim().eq_ignore_ascii_case("y")
}
