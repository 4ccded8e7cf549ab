//! The parsed Dockerfile: what the parser produces and the builder will consume.
//!
//! Values are kept as written (after line joining), *before* variable substitution: the
//! values of `ARG` and `ENV` are only known while building, stage by stage, so expansion is a
//! separate step ([`crate::expand::expand_instruction`]). Quotes inside values are therefore
//! still present here (`ENV a="b c"` keeps `"b c"`); expansion removes them, as Docker's does.

/// Where an instruction (or an error) starts: 1-based line and column in the Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

/// Parser directives from the comment lines at the very top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` `` (`# escape=``).
    pub escape: char,
    /// `# syntax=...`: the frontend image Docker would use; recorded, not acted on.
    pub syntax: Option<String>,
    /// `# check=...`: build-check configuration; recorded, not acted on.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// A whole Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The parser directives.
    pub directives: Directives,
    /// `ARG`s before the first `FROM`: usable in `FROM` lines only (unless redeclared).
    pub global_args: Vec<ArgDef>,
    /// The build stages, in order; never empty.
    pub stages: Vec<Stage>,
}

/// One `FROM` and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The `AS` name (lower-cased, as Docker compares them), if any.
    pub name: Option<String>,
    /// The `FROM` line.
    pub from: From,
    /// Where the `FROM` line starts.
    pub location: Location,
    /// The instructions after `FROM`.
    pub instructions: Vec<Instruction>,
}

/// `FROM [--platform=p] image [AS name]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    /// The image reference, a previous stage name or `scratch` (unexpanded).
    pub image: String,
    /// `--platform`, unexpanded.
    pub platform: Option<String>,
    /// The `AS` name as written.
    pub alias: Option<String>,
}

/// One instruction with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Where its keyword is.
    pub location: Location,
    /// What it says.
    pub command: Command,
}

/// Shell form (a string for `SHELL`) or exec form (a JSON array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// `RUN echo hi`: run through the stage's shell.
    Shell(String),
    /// `RUN ["echo", "hi"]`: run directly.
    Exec(Vec<String>),
}

/// A heredoc (`<<EOF` ... `EOF`) attached to `RUN`, `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter without quotes.
    pub name: String,
    /// The body, each line ending in `\n`; leading tabs already removed for `<<-`.
    pub content: String,
    /// `<<-`: leading tabs were stripped.
    pub chomp: bool,
    /// The delimiter was quoted (`<<"EOF"`): the content is not expanded.
    pub quoted: bool,
    /// An fd prefix such as `3<<EOF`, if any.
    pub fd: Option<u32>,
}

/// `key=value` (`ENV`, `LABEL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key as written.
    pub key: String,
    /// The value as written (quotes kept until expansion).
    pub value: String,
}

/// One `ARG` name with its optional default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    /// The name.
    pub name: String,
    /// The default value as written.
    pub default: Option<String>,
}

/// `RUN [--mount=...] [--network=...] [--security=...] command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Each `--mount` value as written, in order.
    pub mounts: Vec<String>,
    /// `--network` (`default`, `none`, `host`).
    pub network: Option<String>,
    /// `--security` (`sandbox`, `insecure`).
    pub security: Option<String>,
    /// The command.
    pub command: CommandLine,
    /// Heredocs referenced from the shell form, in order of appearance.
    pub heredocs: Vec<Heredoc>,
}

/// A `COPY`/`ADD` source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopySource {
    /// A path (or URL for `ADD`) in the context or the `--from` stage, unexpanded.
    Path(String),
    /// An inline file from a heredoc.
    Heredoc(Heredoc),
}

/// `COPY` and `ADD` share their shape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy {
    /// `--from` (COPY only): a stage name, index or image.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--checksum` (ADD only).
    pub checksum: Option<String>,
    /// `--keep-git-dir` (ADD only).
    pub keep_git_dir: bool,
    /// The sources.
    pub sources: Vec<CopySource>,
    /// The destination.
    pub dest: String,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// Disable any inherited check.
    None,
    /// Run a command.
    Check(HealthCheckCmd),
}

/// The options and command of `HEALTHCHECK CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckCmd {
    /// `--interval`.
    pub interval: Option<std::time::Duration>,
    /// `--timeout`.
    pub timeout: Option<std::time::Duration>,
    /// `--start-period`.
    pub start_period: Option<std::time::Duration>,
    /// `--start-interval`.
    pub start_interval: Option<std::time::Duration>,
    /// `--retries`.
    pub retries: Option<u32>,
    /// The probe.
    pub command: CommandLine,
}

/// Every instruction but `FROM` (which starts a [`Stage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `RUN`.
    Run(Run),
    /// `CMD`.
    Cmd(CommandLine),
    /// `ENTRYPOINT`.
    Entrypoint(CommandLine),
    /// `ENV k=v ...` or `ENV k v`.
    Env(Vec<KeyValue>),
    /// `ARG name[=default] ...`.
    Arg(Vec<ArgDef>),
    /// `LABEL k=v ...`.
    Label(Vec<KeyValue>),
    /// `EXPOSE port[/proto] ...`.
    Expose(Vec<String>),
    /// `COPY`.
    Copy(Copy),
    /// `ADD`.
    Add(Copy),
    /// `WORKDIR`.
    Workdir(String),
    /// `USER`.
    User(String),
    /// `VOLUME` (JSON or words).
    Volume(Vec<String>),
    /// `STOPSIGNAL`.
    Stopsignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `SHELL` (JSON form only).
    Shell(Vec<String>),
    /// `ONBUILD` with its trigger (never ONBUILD, FROM or MAINTAINER).
    Onbuild(Box<Instruction>),
    /// `MAINTAINER` (deprecated): Docker records it as the image config's `Author`.
    Maintainer(String),
}

impl Command {
    /// The instruction keyword, upper case.
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::Run(_) => "RUN",
            Command::Cmd(_) => "CMD",
            Command::Entrypoint(_) => "ENTRYPOINT",
            Command::Env(_) => "ENV",
            Command::Arg(_) => "ARG",
            Command::Label(_) => "LABEL",
            Command::Expose(_) => "EXPOSE",
            Command::Copy(_) => "COPY",
            Command::Add(_) => "ADD",
            Command::Workdir(_) => "WORKDIR",
            Command::User(_) => "USER",
            Command::Volume(_) => "VOLUME",
            Command::Stopsignal(_) => "STOPSIGNAL",
            Command::Healthcheck(_) => "HEALTHCHECK",
            Command::Shell(_) => "SHELL",
            Command::Onbuild(_) => "ONBUILD",
            Command::Maintainer(_) => "MAINTAINER",
        }
    }
}
