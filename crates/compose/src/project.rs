//! The loading pipeline, pure: every file is read through a caller-given function.
//!
//! Steps: find the files → read `.env` → parse and interpolate each file → resolve `extends`
//! → merge the files → name the project → convert to the typed model → merge `env_file`s
//! under `environment` → apply profiles → add the implicit `default` network → validate.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::convert::{self, key_str, Ctx};
use crate::error::{ComposeError, Result};
use crate::model::{Network, Project, ServiceNetwork};
use crate::name::{normalize_project_name, validate_project_name};
use crate::paths::absolutize;

/// File names tried, in order, when no file is given.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Reads a file (the file system in [`Project::load`], a map in tests).
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> std::io::Result<String>;

/// What to load, like the `docker compose` global flags.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files, merged in order; empty = the first of [`DEFAULT_FILES`] in `working_dir`.
    pub files: Vec<PathBuf>,
    /// Where relative `files` and the default files are looked for (absolute).
    pub working_dir: PathBuf,
    /// `--project-directory`; default: the directory of the first file.
    pub project_directory: Option<PathBuf>,
    /// `-p`; else `COMPOSE_PROJECT_NAME`, the `name:` key, the directory's base name.
    pub project_name: Option<String>,
    /// The process environment; it wins over `.env`.
    pub env: BTreeMap<String, String>,
    /// `--env-file`s; default: `.env` in the project directory, if present.
    pub env_files: Option<Vec<PathBuf>>,
    /// `--profile`s; empty = `COMPOSE_PROFILES` (comma-separated) if set.
    pub profiles: Vec<String>,
    /// Services named on the command line: enabled whatever their profiles.
    pub services: Vec<String>,
}

/// A loaded project and the warnings met on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The project.
    pub project: Project,
    /// Warnings (unset variables, unknown keys, ...), deduplicated, in order.
    pub warnings: Vec<String>,
}

fn read_to(read: ReadFile<'_>, path: &Path) -> Result<String> {
    read(path).map_err(|source| ComposeError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses YAML, mapping syntax errors to file/line/column.
pub(crate) fn parse_yaml(text: &str, file: &Path) -> Result<Value> {
    let err = |e: serde_yaml::Error| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        ComposeError::Yaml {
            file: file.to_path_buf(),
            line,
            column,
            message: e.to_string(),
        }
    };
    let mut v: Value = serde_yaml::from_str(text).map_err(err)?;
    // `<<: *anchor` merge keys, as docker compose supports them.
    v.apply_merge().map_err(err)?;
    Ok(v)
}

impl Project {
    /// Loads a project, reading every file through `read`. See [`LoadOptions`].
    pub fn load_with(opts: &LoadOptions, read: ReadFile<'_>) -> Result<Loaded> {
        let mut warnings = Vec::new();
        let wd = &opts.working_dir;
        let mut sources: Vec<(PathBuf, String)> = Vec::new();
        if opts.files.is_empty() {
            for name in DEFAULT_FILES {
                let p = wd.join(name);
                match read(&p) {
                    Ok(text) => {
                        sources.push((p, text));
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(source) => return Err(ComposeError::Io { path: p, source }),
                }
            }
            if sources.is_empty() {
                return Err(ComposeError::NoComposeFile { dir: wd.clone() });
            }
        } else {
            for f in &opts.files {
                let p = absolutize(wd, &f.display().to_string(), None);
                let text = read_to(read, &p)?;
                sources.push((p, text));
            }
        }
        let first = sources[0].0.clone();
        let dir = match &opts.project_directory {
            Some(d) => absolutize(wd, &d.display().to_string(), None),
            None => first.parent().unwrap_or(Path::new("/")).to_path_buf(),
        };
        let env = environment(opts, &dir, read)?;
        let lookup = |k: &str| env.get(k).cloned();

        // Parse, interpolate and resolve extends file by file, then merge.
        let mut cache: HashMap<PathBuf, Value> = HashMap::new();
        let mut merged = Mapping::new();
        let mut origins: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (path, text) in &sources {
            let mut doc = load_tree(text, path, &lookup, &mut warnings)?;
            let mut load_other = |p: &Path| -> Result<Value> {
                if let Some(v) = cache.get(p) {
                    return Ok(v.clone());
                }
                let text = read_to(read, p)?;
                let v = load_tree(&text, p, &lookup, &mut warnings)?;
                cache.insert(p.to_path_buf(), v.clone());
                Ok(v)
            };
            crate::extends::resolve_extends(&mut doc, path, &mut load_other)?;
            if let Some(Value::Mapping(s)) = doc.get("services") {
                for k in s.keys() {
                    origins.insert(key_str(k), path.clone());
                }
            }
            if let Value::Mapping(m) = doc {
                crate::merge::merge_files(&mut merged, m);
            }
        }

        let name = project_name(opts, &env, &merged, &first, &dir)?;
        let mut ctx = Ctx {
            file: &first,
            dir: &dir,
            env: &env,
            warnings: &mut warnings,
        };
        convert::check_top_keys(&mut ctx, &merged);
        let null = Value::Null;
        let get = |k: &str| merged.get(k).unwrap_or(&null);
        let mut project = Project {
            name: name.clone(),
            working_dir: dir.clone(),
            services: BTreeMap::new(),
            disabled_services: BTreeMap::new(),
            networks: convert::convert_networks(&mut ctx, get("networks"), &name)?,
            volumes: convert::convert_volumes(&mut ctx, get("volumes"), &name)?,
            secrets: convert::convert_file_objects(&mut ctx, get("secrets"), "secrets")?,
            configs: convert::convert_file_objects(&mut ctx, get("configs"), "configs")?,
        };
        let services = match get("services") {
            Value::Null => Mapping::new(),
            Value::Mapping(m) => m.clone(),
            other => return Err(ctx.type_err("services", "a mapping", other)),
        };
        for (k, v) in &services {
            let sname = key_str(k);
            let file = origins.get(&sname).unwrap_or(&first);
            let mut sctx = Ctx {
                file,
                dir: &dir,
                env: &env,
                warnings: &mut *ctx.warnings,
            };
            if !crate::name::valid_service_name(&sname) {
                return Err(sctx.err(
                    &format!("services.{sname}"),
                    "invalid service name; use only letters, digits, \".\", \"_\" and \"-\"",
                ));
            }
            let mut svc = convert::convert_service(&mut sctx, &sname, v)?;
            for f in svc.env_file.clone() {
                let text = read_to(read, &f)?;
                for (k, v) in crate::env::parse_env(&text, &f, &lookup)? {
                    svc.environment.entry(k).or_insert(Some(v));
                }
            }
            project.services.insert(sname, svc);
        }
        crate::validate::check_references(&project, &origins, &first)?;
        crate::order::imply_dependencies(&mut project);
        apply_profiles(&mut project, opts, &env, &origins, &first, &mut warnings)?;
        add_default_network(&mut project);
        crate::validate::check_networks(&project, &origins, &first)?;
        crate::order::start_order(&project.services)?;
        let mut seen = std::collections::HashSet::new();
        warnings.retain(|w| seen.insert(w.clone()));
        Ok(Loaded { project, warnings })
    }
}

fn load_tree(
    text: &str,
    path: &Path,
    lookup: crate::interpolate::Lookup<'_>,
    warnings: &mut Vec<String>,
) -> Result<Value> {
    let mut doc = parse_yaml(text, path)?;
    match &doc {
        Value::Mapping(_) => {}
        Value::Null => doc = Value::Mapping(Mapping::new()),
        other => {
            return Err(ComposeError::invalid(
                path,
                "(top level)",
                format!("must be a mapping, got {}", convert::kind(other)),
            ))
        }
    }
    crate::interpolate::interpolate_value(&mut doc, path, lookup, warnings)?;
    Ok(doc)
}

/// `.env` (or `--env-file`s) under the process environment.
fn environment(
    opts: &LoadOptions,
    dir: &Path,
    read: ReadFile<'_>,
) -> Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    let explicit = opts.env_files.is_some();
    let files = opts
        .env_files
        .clone()
        .unwrap_or_else(|| vec![dir.join(".env")]);
    for f in files {
        let f = absolutize(&opts.working_dir, &f.display().to_string(), None);
        let text = match read(&f) {
            Ok(t) => t,
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(ComposeError::Io { path: f, source }),
        };
        let lookup = |k: &str| opts.env.get(k).or_else(|| env.get(k)).cloned();
        let pairs = crate::env::parse_env(&text, &f, &lookup)?;
        env.extend(pairs);
    }
    env.extend(opts.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(env)
}

fn project_name(
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    doc: &Mapping,
    first: &Path,
    dir: &Path,
) -> Result<String> {
    let from_key = match doc.get("name") {
        None | Some(Value::Null) => None,
        Some(v) => Some(convert::scalar_string(v).ok_or_else(|| {
            ComposeError::invalid(
                first,
                "name",
                format!("must be a string, got {}", convert::kind(v)),
            )
        })?),
    };
    let explicit = opts
        .project_name
        .clone()
        .or_else(|| {
            env.get("COMPOSE_PROJECT_NAME")
                .filter(|s| !s.is_empty())
                .cloned()
        })
        .or(from_key);
    if let Some(n) = explicit {
        validate_project_name(&n)?;
        return Ok(n);
    }
    let base = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    normalize_project_name(&base)
}

/// Moves services whose profiles are all inactive to `disabled_services`.
fn apply_profiles(
    p: &mut Project,
    opts: &LoadOptions,
    env: &BTreeMap<String, String>,
    origins: &BTreeMap<String, PathBuf>,
    first: &Path,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut active: Vec<String> = opts.profiles.clone();
    if active.is_empty() {
        if let Some(s) = env.get("COMPOSE_PROFILES") {
            active = s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
        }
    }
    let all = active.iter().any(|a| a == "*");
    let names: Vec<String> = p.services.keys().cloned().collect();
    for name in names {
        let s = &p.services[&name];
        let on = s.profiles.is_empty()
            || all
            || s.profiles.iter().any(|x| active.contains(x))
            || opts.services.contains(&name);
        if !on {
            let s = p.services.remove(&name).expect("listed");
            p.disabled_services.insert(name, s);
        }
    }
    for n in &opts.services {
        if !p.services.contains_key(n) {
            return Err(ComposeError::NoSuchService(n.clone()));
        }
    }
    crate::validate::check_disabled_dependencies(p, origins, first, warnings)
}

/// Services without networks nor `network_mode` join `default`, declared when used.
fn add_default_network(p: &mut Project) {
    for s in p
        .services
        .values_mut()
        .chain(p.disabled_services.values_mut())
    {
        if s.networks.is_empty() && s.network_mode.is_none() {
            s.networks
                .insert("default".into(), ServiceNetwork::default());
        }
    }
    // Disabled services count too: they may be named explicitly later (`with_services`).
    let used = p
        .all_services()
        .any(|(_, s)| s.networks.contains_key("default"));
    if used && !p.networks.contains_key("default") {
        let name = format!("{}_default", p.name);
        p.networks.insert(
            "default".into(),
            Network {
                name,
                ..Network::default()
            },
        );
    }
}
