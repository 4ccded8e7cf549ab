//! Service `volumes`: short syntax (`src:dst[:opts]`, `dst`) and long syntax, normalized to
//! [`Mount`]s. A source starting with `.`, `/` or `~` is a bind mount resolved to an absolute
//! path against the project directory; anything else names a volume.

use serde_yaml::Value;

use super::*;
use crate::model::{Mount, MountBind, MountTmpfs, MountType, MountVolume};
use crate::paths::{absolutize, is_path};

const HINT: &str =
    "use \"SOURCE:TARGET[:ro]\", \"TARGET\", or the long syntax with type/source/target";
const PROPAGATION: &[&str] = &[
    "shared", "slave", "private", "rshared", "rslave", "rprivate",
];

/// Converts a `volumes` list.
pub(crate) fn volumes(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Vec<Mount>> {
    let mut out = Vec::new();
    for (i, item) in list(ctx, v, path)?.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let mount = match item {
            Value::String(s) => short(ctx, s, &ip)?,
            Value::Mapping(_) => long(ctx, item, &ip)?,
            other => return Err(ctx.type_err(&ip, "a string or a mapping", other)),
        };
        if !mount.target.starts_with('/') {
            return Err(ctx.err(
                &ip,
                format!(
                    "target {:?} must be an absolute path in the container",
                    mount.target
                ),
            ));
        }
        out.push(mount);
    }
    Ok(out)
}

fn short(ctx: &Ctx, s: &str, path: &str) -> Result<Mount> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = |why: &str| ctx.err(path, format!("invalid volume {s:?}: {why}; {HINT}"));
    let (src, target, opts) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [src, t] => (Some(*src), *t, ""),
        [src, t, o] => (Some(*src), *t, *o),
        _ => return Err(bad("too many \":\"")),
    };
    if target.is_empty() || src == Some("") {
        return Err(bad("empty path"));
    }
    let mut m = Mount {
        kind: MountType::Volume,
        source: None,
        target: target.to_string(),
        read_only: false,
        bind: None,
        volume: None,
        tmpfs: None,
        consistency: None,
    };
    if let Some(src) = src {
        if is_path(src) {
            m.kind = MountType::Bind;
            m.source = Some(absolutize(ctx.dir, src, ctx.home()).display().to_string());
            m.bind = Some(MountBind {
                create_host_path: true,
                ..MountBind::default()
            });
        } else {
            m.source = Some(src.to_string());
        }
    }
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "z" | "Z" | "shared" | "slave" | "private" | "rshared" | "rslave" | "rprivate" => {
                let Some(b) = m.bind.as_mut() else {
                    return Err(bad(&format!("option {o:?} only applies to bind mounts")));
                };
                if PROPAGATION.contains(&o) {
                    b.propagation = Some(o.to_string());
                } else {
                    b.selinux = Some(o.to_string());
                }
            }
            "nocopy" => {
                m.volume.get_or_insert_with(MountVolume::default).nocopy = true;
            }
            "cached" | "delegated" | "consistent" => m.consistency = Some(o.to_string()),
            _ => return Err(bad(&format!("unknown option {o:?}"))),
        }
    }
    Ok(m)
}

fn long(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Mount> {
    let m = mapping(ctx, v, path)?;
    ctx.check_keys(
        m,
        path,
        &[
            "type",
            "source",
            "target",
            "read_only",
            "bind",
            "volume",
            "tmpfs",
            "consistency",
        ],
        &["image"],
    );
    let kind = match opt_string(ctx, m, "type", path)?.as_deref() {
        None | Some("volume") => MountType::Volume,
        Some("bind") => MountType::Bind,
        Some("tmpfs") => MountType::Tmpfs,
        Some(t) => {
            return Err(ctx.err(
                &join(path, "type"),
                format!("unknown mount type {t:?}; use bind, volume or tmpfs"),
            ))
        }
    };
    let target = opt_string(ctx, m, "target", path)?
        .ok_or_else(|| ctx.err(path, "missing \"target\" (the path in the container)"))?;
    let mut source = opt_string(ctx, m, "source", path)?;
    if kind == MountType::Bind {
        let s =
            source.ok_or_else(|| ctx.err(path, "a bind mount needs \"source\" (the host path)"))?;
        source = Some(absolutize(ctx.dir, &s, ctx.home()).display().to_string());
    }
    let mut mount = Mount {
        kind,
        source,
        target,
        read_only: flag(ctx, m, "read_only", path)?,
        bind: None,
        volume: None,
        tmpfs: None,
        consistency: opt_string(ctx, m, "consistency", path)?,
    };
    if let Some(b) = m.get("bind") {
        let bp = join(path, "bind");
        let b = mapping(ctx, b, &bp)?;
        ctx.check_keys(b, &bp, &["create_host_path", "propagation", "selinux"], &[]);
        mount.bind = Some(MountBind {
            create_host_path: flag(ctx, b, "create_host_path", &bp)?,
            propagation: opt_string(ctx, b, "propagation", &bp)?,
            selinux: opt_string(ctx, b, "selinux", &bp)?,
        });
    }
    if let Some(vo) = m.get("volume") {
        let vp = join(path, "volume");
        let vo = mapping(ctx, vo, &vp)?;
        ctx.check_keys(vo, &vp, &["nocopy", "subpath"], &[]);
        mount.volume = Some(MountVolume {
            nocopy: flag(ctx, vo, "nocopy", &vp)?,
            subpath: opt_string(ctx, vo, "subpath", &vp)?,
        });
    }
    if let Some(t) = m.get("tmpfs") {
        let tp = join(path, "tmpfs");
        let t = mapping(ctx, t, &tp)?;
        ctx.check_keys(t, &tp, &["size", "mode"], &[]);
        mount.tmpfs = Some(MountTmpfs {
            size: opt_size(ctx, t, "size", &tp)?,
            mode: opt_octal(ctx, t, "mode", &tp)?,
        });
    }
    Ok(mount)
}
