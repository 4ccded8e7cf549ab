//! `process`: the entrypoint/cmd merge, the environment, and [`resolve_user`] (the only I/O,
//! through `berth_fs::open_in_root`).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

use nix::libc;

use super::SpecError;
use crate::container::options::CreateOptions;

/// `PATH` when neither the image nor the options set one (Docker's `DefaultPathEnv`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's entrypoint/cmd merge. `Entrypoint`: `None` keeps the image's; a non-empty list
/// replaces it and drops the image's `Cmd` (`[""]`, the CLI's `--entrypoint ""`, is such a
/// list and then means "no entrypoint"); `[]` clears it but keeps the image's `Cmd`. `Cmd`:
/// `None` or `[]` means the image's (when the entrypoint was not replaced).
pub(super) fn command(
    image_ep: Option<&[String]>,
    image_cmd: Option<&[String]>,
    opts: &CreateOptions,
) -> Result<Vec<String>, SpecError> {
    let user_cmd = opts.cmd.as_deref().unwrap_or_default();
    let (entrypoint, cmd): (&[String], &[String]) = match opts.entrypoint.as_deref() {
        Some(ep) if !ep.is_empty() => (ep, user_cmd),
        given => {
            let cmd = if user_cmd.is_empty() {
                image_cmd.unwrap_or_default()
            } else {
                user_cmd
            };
            let ep = match given {
                Some(empty) => empty,
                None => image_ep.unwrap_or_default(),
            };
            (ep, cmd)
        }
    };
    let entrypoint = match entrypoint {
        [only] if only.is_empty() => &[],
        ep => ep,
    };
    let args: Vec<String> = entrypoint.iter().chain(cmd).cloned().collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

/// Docker's environment: `PATH`, `HOSTNAME`, `TERM` (tty), then the merged config env (the
/// options' entries in their order, then the image's not overridden), each replacing an
/// earlier entry of the same key in place; a bare `KEY` removes it.
pub(super) fn environment(
    image_env: &[String],
    opts: &CreateOptions,
    hostname: &str,
) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_owned();
    let mut merged: Vec<String> = opts.env.clone();
    if !merged.is_empty() {
        for ie in image_env {
            if !opts.env.iter().any(|ue| key(ue) == key(ie)) {
                merged.push(ie.clone());
            }
        }
    } else {
        merged = image_env.to_vec();
    }
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if opts.tty {
        env.push("TERM=xterm".into());
    }
    for e in merged {
        let k = key(&e);
        let pos = env.iter().position(|x| key(x) == k);
        match (e.contains('='), pos) {
            (true, Some(i)) => env[i] = e,
            (true, None) => env.push(e),
            (false, Some(i)) => {
                env.remove(i);
            }
            (false, None) => {}
        }
    }
    env
}

/// The largest `/etc/passwd` or `/etc/group` read (a hostile image could ship a huge one).
const USER_DB_MAX: u64 = 16 << 20;

/// Reads `path` (absolute, inside `root`) without leaving the root: symlinks and `..` resolve
/// inside it. Only regular files are read (a FIFO would block the daemon). `None` if absent.
fn read_in_root(root: &File, rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let db_err = |source: io::Error| SpecError::UserDb {
        path: path.to_owned(),
        rootfs: rootfs.to_owned(),
        source,
    };
    let fd = match berth_fs::open_in_root(
        root.as_fd(),
        Path::new(path),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
    ) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(db_err(e)),
    };
    let file = File::from(fd);
    if !file.metadata().map_err(db_err)?.is_file() {
        return Err(db_err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        )));
    }
    let mut text = String::new();
    file.take(USER_DB_MAX)
        .read_to_string(&mut text)
        .map_err(db_err)?;
    Ok(Some(text))
}

/// Resolves `user[:group]` (names or numbers) against the rootfs's `/etc/passwd` and
/// `/etc/group`, as runc's `GetExecUser` does for Docker, and returns the OCI `process.user`
/// ([`ResolvedUser`]).
///
/// - A name must be in `/etc/passwd`; a number need not be (gid 0 then).
/// - Without a group, the gid is the user's primary one and the groups listing the user by
///   name are added as supplementary groups (`docker run alpine id` shows wheel, ...).
/// - `group_add` entries (names or gids) are appended; a name must be in `/etc/group`.
pub fn resolve_user(
    rootfs: &Path,
    spec: &str,
    group_add: &[String],
) -> Result<ResolvedUser, SpecError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_arg = if user_arg.is_empty() { "0" } else { user_arg };
    let root = File::open(rootfs).map_err(|source| SpecError::UserDb {
        path: "/".into(),
        rootfs: rootfs.to_owned(),
        source,
    })?;
    let passwd = read_in_root(&root, rootfs, "/etc/passwd")?.unwrap_or_default();
    let group = read_in_root(&root, rootfs, "/etc/group")?.unwrap_or_default();

    // name:password:uid:gid:gecos:home:shell
    let users: Vec<(&str, u32, u32)> = passwd
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((
                *f.first()?,
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
            ))
        })
        .collect();
    // name:password:gid:member,member
    let groups: Vec<(&str, u32, Vec<&str>)> = group
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let members = f
                .get(3)
                .map(|m| m.split(',').filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            Some((*f.first()?, f.get(2)?.parse().ok()?, members))
        })
        .collect();

    let numeric = user_arg.parse::<u32>().ok();
    let found = users
        .iter()
        .find(|(name, uid, _)| *name == user_arg || Some(*uid) == numeric);
    let (name, uid, mut gid) = match (found, numeric) {
        (Some(&(n, u, g)), _) => (Some(n), u, g),
        (None, Some(u)) => (None, u, 0),
        (None, None) => return Err(SpecError::UnknownUser(user_arg.to_owned())),
    };

    let lookup_group = |arg: &str| -> Result<u32, SpecError> {
        let n = arg.parse::<u32>().ok();
        match groups
            .iter()
            .find(|(gname, g, _)| *gname == arg || Some(*g) == n)
        {
            Some((_, g, _)) => Ok(*g),
            None => n.ok_or_else(|| SpecError::UnknownGroup(arg.to_owned())),
        }
    };
    let mut additional: Vec<u32> = Vec::new();
    match group_arg.filter(|g| !g.is_empty()) {
        Some(g) => gid = lookup_group(g)?,
        None => {
            if let Some(name) = name {
                for (_, g, members) in &groups {
                    if members.contains(&name) && !additional.contains(g) {
                        additional.push(*g);
                    }
                }
            }
        }
    }
    for g in group_add {
        let g = lookup_group(g)?;
        if !additional.contains(&g) {
            additional.push(g);
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: additional,
    })
}

/// A user resolved against the container's `/etc/passwd` and `/etc/group`; serialises as the
/// OCI `process.user`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedUser {
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// Supplementary gids: the groups listing the user (when no group was given), then
    /// `GroupAdd`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
}
