//! berth-build's integration tests: one binary, a module per concern.

mod corpus;
mod errors;
mod expand;
mod ignore;
mod normalize;

use std::path::PathBuf;

/// The text of `tests/corpus/<name>`.
pub fn corpus(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses `tests/corpus/<name>`, panicking with the error.
pub fn parse_corpus(name: &str) -> berth_build::Dockerfile {
    berth_build::parse_named(name, &corpus(name)).unwrap_or_else(|e| panic!("{e}"))
}
