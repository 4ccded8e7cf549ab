//! Errors: every variant says where (file, key path or line) and, where it can, how to fix it.

use std::path::PathBuf;

/// An error while loading a Compose project.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No Compose file was given and none of the default names exists.
    #[error(
        "no configuration file provided: not found in {}; create compose.yaml or pass -f FILE",
        dir.display()
    )]
    NoComposeFile {
        /// The directory searched.
        dir: PathBuf,
    },
    /// YAML syntax error.
    #[error("{}:{line}:{column}: YAML syntax error: {message}", file.display())]
    Yaml {
        /// The file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A value is invalid: wrong type, bad syntax, dangling reference, ...
    #[error("{}: {path}: {message}", file.display())]
    Invalid {
        /// The file the value comes from (the last one defining it after a merge).
        file: PathBuf,
        /// The key path, like `services.web.ports[1]`.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// `${VAR:?msg}` / `${VAR?msg}` with the variable unset (or empty).
    #[error("{}: {path}: required variable \"{var}\" is missing a value: {message}", file.display())]
    RequiredVariable {
        /// The file.
        file: PathBuf,
        /// The key path of the string being interpolated.
        path: String,
        /// The variable.
        var: String,
        /// The message given after `?`.
        message: String,
    },
    /// A `.env` or `env_file` file is malformed.
    #[error("{}:{line}: {message}", file.display())]
    EnvFile {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `extends` forms a cycle.
    #[error("{}: services.{service}.extends: extends cycle: {chain}; remove one of the extends", file.display())]
    ExtendsCycle {
        /// The file.
        file: PathBuf,
        /// The service where the cycle was found.
        service: String,
        /// The chain, like `a -> b -> a`.
        chain: String,
    },
    /// `depends_on` forms a cycle.
    #[error("dependency cycle between services: {chain}; remove one of the depends_on")]
    DependencyCycle {
        /// The cycle, like `a -> b -> a`.
        chain: String,
    },
    /// The project name is invalid.
    #[error("invalid project name {name:?}: {reason}")]
    ProjectName {
        /// The name as given.
        name: String,
        /// Why, and what is allowed.
        reason: String,
    },
    /// A service named on the command line does not exist.
    #[error("no such service: {0:?}")]
    NoSuchService(String),
}

impl ComposeError {
    /// Shorthand for [`ComposeError::Invalid`].
    pub fn invalid(
        file: impl Into<PathBuf>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ComposeError::Invalid {
            file: file.into(),
            path: path.into(),
            message: message.into(),
        }
    }

    /// The key path of the problem, when the error has one.
    pub fn key_path(&self) -> Option<&str> {
        match self {
            ComposeError::Invalid { path, .. } | ComposeError::RequiredVariable { path, .. } => {
                Some(path)
            }
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ComposeError> = std::result::Result<T, E>;
