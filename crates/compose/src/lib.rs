//! Loads Compose files the way `docker compose` does (the Compose Specification).
//!
//! Why a crate of its own, and pure: the compose front end (`up`, `down`, `config`, ...) needs
//! a fully resolved, validated model before it talks to any engine, and the rules to get there
//! (interpolation, `.env`, multi-file merge, `extends`, profiles, short/long syntaxes) are
//! numerous and subtle. Keeping them free of I/O — everything works on strings, YAML trees and
//! maps, files being read through a caller-given function ([`Project::load_with`]) — makes
//! them testable and fuzzable; only [`load`] touches the file system ([`Project::load`]).
//!
//! Pipeline (see [`project`]): files → `.env` → parse + [`interpolate`] → [`extends`] →
//! [`merge`] → name ([`name`]) → typed [`model`] → `env_file` → profiles → `default` network
//! → validation → [`order`]. [`render`] writes the result back (`docker compose config`).
//!
//! Errors ([`ComposeError`]) always say where: file and key path (or line), and how to fix it.
//! Non-fatal problems (unset variables, unknown keys) are returned as warnings in [`Loaded`].

#![warn(missing_docs)]

pub(crate) mod convert;
pub mod env;
pub mod error;
pub mod extends;
pub mod interpolate;
pub mod load;
pub mod merge;
pub mod model;
pub mod name;
pub mod order;
pub mod paths;
pub mod project;
pub mod render;
mod select;
pub mod shell;
pub mod units;
mod validate;

pub use error::{ComposeError, Result};
pub use model::*;
pub use project::{LoadOptions, Loaded, ReadFile, DEFAULT_FILES};
