//! Top-level keys: `networks`, `volumes`, `secrets`, `configs`, and the key check.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use super::*;
use crate::model::{FileObject, Ipam, IpamPool, Network, Volume};

/// Warns about unknown top-level keys (and the obsolete `version`).
pub(crate) fn check_top_keys(ctx: &mut Ctx, doc: &Mapping) {
    if doc.contains_key("version") {
        ctx.warnings.push(format!(
            "{}: version: the attribute `version` is obsolete, it will be ignored; remove it",
            ctx.file.display()
        ));
    }
    let known = [
        "name", "services", "networks", "volumes", "secrets", "configs", "version",
    ];
    ctx.check_keys(doc, "", &known, &["include", "models"]);
}

/// `external: true`, or the legacy `external: {name: X}` (returns the name).
fn external(ctx: &Ctx, m: &Mapping, path: &str) -> Result<(bool, Option<String>)> {
    match m.get("external") {
        None | Some(Value::Null) => Ok((false, None)),
        Some(Value::Mapping(e)) => Ok((true, opt_string(ctx, e, "name", &join(path, "external"))?)),
        Some(v) => Ok((boolean(ctx, v, &join(path, "external"))?, None)),
    }
}

fn entries<'v>(ctx: &Ctx, v: &'v Value, path: &str) -> Result<Vec<(String, &'v Mapping, String)>> {
    static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
    let empty = EMPTY.get_or_init(Mapping::new);
    let mut out = Vec::new();
    if v.is_null() {
        return Ok(out);
    }
    for (k, e) in mapping(ctx, v, path)? {
        let key = key_str(k);
        let p = join(path, &key);
        let m = match e {
            Value::Null => empty,
            e => mapping(ctx, e, &p)?,
        };
        out.push((key, m, p));
    }
    Ok(out)
}

/// Engine-side name: `name:` as given, else the key for external objects, else `PROJECT_KEY`.
fn resource_name(explicit: Option<String>, external: bool, project: &str, key: &str) -> String {
    explicit.unwrap_or_else(|| {
        if external {
            key.to_string()
        } else {
            format!("{project}_{key}")
        }
    })
}

/// Top-level `networks`.
pub(crate) fn convert_networks(
    ctx: &mut Ctx,
    v: &Value,
    project: &str,
) -> Result<BTreeMap<String, Network>> {
    let mut out = BTreeMap::new();
    for (key, m, p) in entries(ctx, v, "networks")? {
        let known = [
            "name",
            "driver",
            "driver_opts",
            "internal",
            "attachable",
            "enable_ipv6",
            "labels",
            "external",
            "ipam",
        ];
        ctx.check_keys(m, &p, &known, &["enable_ipv4"]);
        let (ext, ext_name) = external(ctx, m, &p)?;
        let explicit = opt_string(ctx, m, "name", &p)?.or(ext_name);
        let mut n = Network {
            name: resource_name(explicit, ext, project, &key),
            driver: opt_string(ctx, m, "driver", &p)?,
            driver_opts: string_dict(ctx, m, "driver_opts", &p, &['='])?,
            internal: flag(ctx, m, "internal", &p)?,
            attachable: flag(ctx, m, "attachable", &p)?,
            enable_ipv6: flag(ctx, m, "enable_ipv6", &p)?,
            labels: string_dict(ctx, m, "labels", &p, &['='])?,
            external: ext,
            ipam: None,
        };
        if let Some(i) = m.get("ipam") {
            let ip = join(&p, "ipam");
            let im = mapping(ctx, i, &ip)?;
            ctx.check_keys(im, &ip, &["driver", "config"], &["options"]);
            let mut ipam = Ipam {
                driver: opt_string(ctx, im, "driver", &ip)?,
                config: Vec::new(),
            };
            if let Some(c) = im.get("config") {
                let cp = join(&ip, "config");
                for (j, pool) in list(ctx, c, &cp)?.iter().enumerate() {
                    let pp = format!("{cp}[{j}]");
                    let pm = mapping(ctx, pool, &pp)?;
                    ctx.check_keys(
                        pm,
                        &pp,
                        &["subnet", "gateway", "ip_range"],
                        &["aux_addresses"],
                    );
                    ipam.config.push(IpamPool {
                        subnet: opt_string(ctx, pm, "subnet", &pp)?,
                        gateway: opt_string(ctx, pm, "gateway", &pp)?,
                        ip_range: opt_string(ctx, pm, "ip_range", &pp)?,
                    });
                }
            }
            n.ipam = Some(ipam);
        }
        out.insert(key, n);
    }
    Ok(out)
}

/// Top-level `volumes`.
pub(crate) fn convert_volumes(
    ctx: &mut Ctx,
    v: &Value,
    project: &str,
) -> Result<BTreeMap<String, Volume>> {
    let mut out = BTreeMap::new();
    for (key, m, p) in entries(ctx, v, "volumes")? {
        ctx.check_keys(
            m,
            &p,
            &["name", "driver", "driver_opts", "labels", "external"],
            &[],
        );
        let (ext, ext_name) = external(ctx, m, &p)?;
        let explicit = opt_string(ctx, m, "name", &p)?.or(ext_name);
        out.insert(
            key.clone(),
            Volume {
                name: resource_name(explicit, ext, project, &key),
                driver: opt_string(ctx, m, "driver", &p)?,
                driver_opts: string_dict(ctx, m, "driver_opts", &p, &['='])?,
                labels: string_dict(ctx, m, "labels", &p, &['='])?,
                external: ext,
            },
        );
    }
    Ok(out)
}

/// Top-level `secrets` or `configs` (`what`): exactly one of file, environment, content,
/// external.
pub(crate) fn convert_file_objects(
    ctx: &mut Ctx,
    v: &Value,
    what: &str,
) -> Result<BTreeMap<String, FileObject>> {
    let mut out = BTreeMap::new();
    for (key, m, p) in entries(ctx, v, what)? {
        ctx.check_keys(
            m,
            &p,
            &["name", "file", "environment", "content", "external"],
            &["labels", "driver", "driver_opts", "template_driver"],
        );
        let (ext, ext_name) = external(ctx, m, &p)?;
        let environment = opt_string(ctx, m, "environment", &p)?;
        let o = FileObject {
            name: opt_string(ctx, m, "name", &p)?.or(ext_name),
            file: opt_string(ctx, m, "file", &p)?
                .map(|f| crate::paths::absolutize(ctx.dir, &f, ctx.home())),
            environment_value: environment.as_ref().and_then(|v| ctx.env.get(v).cloned()),
            environment,
            content: opt_string(ctx, m, "content", &p)?,
            external: ext,
        };
        let sources = [
            o.file.is_some(),
            o.environment.is_some(),
            o.content.is_some(),
            o.external,
        ];
        if sources.iter().filter(|b| **b).count() != 1 {
            return Err(ctx.err(
                &p,
                "needs exactly one of file, environment, content or external: true",
            ));
        }
        out.insert(key, o);
    }
    Ok(out)
}
