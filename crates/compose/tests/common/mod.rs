//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_compose::{ComposeError, LoadOptions, Loaded, Project};

/// `tests/corpus/<case>`.
pub fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(case)
}

/// Options for a corpus case with a fixed environment.
pub fn opts(case: &str, files: &[&str], env: &[(&str, &str)]) -> LoadOptions {
    let mut e: BTreeMap<String, String> = [("HOME".to_string(), "/home/tester".to_string())].into();
    e.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    LoadOptions {
        files: files.iter().map(PathBuf::from).collect(),
        working_dir: corpus(case),
        env: e,
        ..LoadOptions::default()
    }
}

/// Loads a corpus case from the file system.
pub fn load(case: &str, files: &[&str], env: &[(&str, &str)]) -> Result<Loaded, ComposeError> {
    Project::load(&opts(case, files, env))
}

/// Loads in-memory files (paths relative to `/proj`); the first is the compose file.
pub fn load_mem(files: &[(&str, &str)]) -> Result<Loaded, ComposeError> {
    let map: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|(p, t)| (Path::new("/proj").join(p), t.to_string()))
        .collect();
    let o = LoadOptions {
        files: vec![PathBuf::from(files[0].0)],
        working_dir: PathBuf::from("/proj"),
        env: [("HOME".to_string(), "/home/tester".to_string())].into(),
        ..LoadOptions::default()
    };
    Project::load_with(&o, &|p| {
        map.get(p)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    })
}

/// Loads one in-memory compose file and returns the error's text (panics on success).
pub fn err_of(yaml: &str) -> String {
    match load_mem(&[("compose.yaml", yaml)]) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}
