//! The container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`, written into its
//! directory and bind-mounted by the spec (see `container::spec::ETC_FILES`).
//!
//! Why files of our own rather than edits in the image: the image's files stay untouched,
//! `docker cp`/`diff`/`commit` do not see berth's addresses, and `network connect` can
//! rewrite them while the container runs. They are rewritten in place (truncate + write, the
//! same inode), because a bind mount pins the inode: a rename would not be seen inside.

use std::fs;

use berth_network::etc;

use crate::container::options::{network_kind, parse_extra_hosts, NetworkKind};
use crate::containers::ContainerRecord;
use crate::{Engine, EngineError, Result};

impl Engine {
    /// Writes the three files for `rec`'s current run.
    pub(crate) fn write_etc_files(&self, rec: &ContainerRecord) -> Result<()> {
        let hc = &rec.options.host_config;
        let dir = self.container_dir(&rec.id);
        let kind = network_kind(&hc.network_mode).map_err(crate::container::SpecError::from)?;
        if matches!(kind, NetworkKind::Container(_)) {
            return Ok(());
        }
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let lives: Vec<_> = rec
            .networks
            .values()
            .filter_map(|e| e.live.as_ref().map(|l| (e, l)))
            .collect();
        let gateway = lives.first().map(|(_, l)| l.gateway);
        let mut extra =
            parse_extra_hosts(&hc.extra_hosts).map_err(crate::container::SpecError::from)?;
        for (_, ip) in extra.iter_mut() {
            if ip == "host-gateway" {
                *ip = gateway.map_or_else(|| "127.0.0.1".to_string(), |g| g.to_string());
            }
        }
        let hosts = if kind == NetworkKind::Host {
            let mut h = fs::read_to_string("/etc/hosts").unwrap_or_default();
            for (name, ip) in &extra {
                h.push_str(&format!("{ip}\t{name}\n"));
            }
            h
        } else {
            let own: Vec<_> = lives
                .iter()
                .map(|(_, l)| (l.ip, vec![rec.hostname.clone()]))
                .collect();
            etc::hosts_file(&rec.hostname, &rec.options.domainname, &own, &extra)
        };
        let state = self.net_state();
        let embedded = lives
            .iter()
            .find(|(e, _)| state.dns.contains_key(&e.network_id))
            .map(|(_, l)| l.gateway);
        drop(state);
        let resolv = etc::resolv_conf(
            &host_resolv,
            embedded,
            &dns_or(&hc.dns, &self.config.network.dns),
            &hc.dns_search,
            &hc.dns_options,
        );
        for (name, text) in [
            ("hostname", etc::hostname_file(&rec.hostname)),
            ("hosts", hosts),
            ("resolv.conf", resolv),
        ] {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|e| EngineError::io("writing", &path, e))?;
        }
        Ok(())
    }
}

/// The container's `--dns`, else the daemon's.
fn dns_or(own: &[String], daemon: &[String]) -> Vec<String> {
    if own.is_empty() {
        daemon.to_vec()
    } else {
        own.to_vec()
    }
}
