//! The builder's front end: a Dockerfile becomes a typed [`Dockerfile`], variables are
//! substituted with Docker's rules ([`expand`]), each instruction gets a cache key by meaning
//! ([`normalize`]), and `.dockerignore` decides what the context holds ([`ignore`]).
//!
//! Why a crate of its own, and why pure: the builder (planner, cache, executor over a backend
//! trait) will stack on this, and the parser is the part most exposed to hostile input, so it
//! is kept free of I/O, easy to test from strings and to fuzz. Nothing here reads files.
//!
//! Pipeline: [`parse`] (directives, comments, continuations and heredocs in `lexer`, stages
//! and errors in `parser`, arguments in `instructions`) → [`expand::expand_instruction`] as
//! the build walks a stage, with the `ARG`/`ENV` values in effect → [`normalize::digest`] for
//! the cache key.
//!
//! Invariants:
//! - Parsed values are *unexpanded* and keep their quotes; expansion is a separate step
//!   because values depend on build args and earlier `ENV`s.
//! - Every error names file, line and column and says how to fix the problem
//!   ([`BuildError::Syntax`]); nothing panics on any input.
//! - `Dockerfile::stages` is never empty and only `ARG` precedes the first `FROM`.

#![warn(missing_docs)]

pub mod ast;
mod error;
pub mod expand;
mod flags;
pub mod ignore;
mod instructions;
mod lexer;
pub mod manifest;
pub mod normalize;
mod parser;

pub use ast::*;
pub use error::BuildError;
pub use ignore::DockerIgnore;
pub use parser::{parse, parse_named};
