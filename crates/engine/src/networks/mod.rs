//! Networks: Docker's `bridge`, `host` and `none`, and user-defined bridge networks.
//!
//! Why this shape: a network is a record on disk (`<data-root>/networks/<id>.json`, replaced
//! atomically) plus kernel state that can always be rebuilt from it — a bridge with the
//! gateway address, berth's nftables table, a DNS responder on the gateway. What a container
//! holds on a network (its address, its veth, its published ports) is written in the
//! container's record at start and cleared when it stops; the in-memory [`NetState`] (address
//! spaces, port reservations, DNS names) is rebuilt from those records when berthd starts, so
//! a `kill -9` of berthd loses nothing and leaks nothing (`recover`).
//!
//! - `store`: records, the predefined networks, create/list/inspect/remove/prune (`request`:
//!   the create body).
//! - `attach`: a container's namespace, veths, addresses and routes at start; teardown.
//! - `connect`: `network connect/disconnect`, live or on a stopped container.
//! - `files`: the container's `/etc/hosts`, `/etc/resolv.conf` and `/etc/hostname`.
//! - `firewall`: berth's nftables table from the networks and published ports, the watch that
//!   restores it after a flush, and the accept rules beside a foreign drop policy.
//! - `names`: the DNS table each network's responder answers from.
//! - `groups`: port groups, the engine's half of a zero-downtime update.

mod attach;
mod connect;
mod files;
mod firewall;
mod groups;
mod names;
mod plan;
mod ports;
mod recover;
mod request;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use berth_network::ipam::{AddressSpace, Cidr};
use serde::{Deserialize, Serialize};

pub use attach::dns_names;
pub(crate) use groups::probe_readiness;
pub use groups::{PORT_GROUP_LABEL, PORT_GROUP_REVISION_LABEL};
pub(crate) use names::Names;
pub use request::{NetworkCreateRequest, NetworkIpam, NetworkIpamConfig};
pub use store::{NetworkFilters, NetworkMember};

/// The default bridge network's interface when the daemon config names none.
pub const DEFAULT_BRIDGE: &str = "berth0";

/// The daemon's network settings (dockerd's `-b`, `--bip`, `--dns`, `--iptables`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The default bridge's interface; `None` (`-b none`) disables the default network:
    /// containers in the default mode then get loopback only.
    pub bridge: Option<String>,
    /// `--bip`: the default bridge's gateway address and prefix; picked from Docker's pools
    /// (clear of other networks and the host's routes) when unset.
    pub bip: Option<(Ipv4Addr, u8)>,
    /// berth's nftables table.
    pub firewall_table: String,
    /// Manage the firewall at all (`--iptables=false` turns it off: no NAT, no ports).
    pub firewall: bool,
    /// Upstream DNS servers for the embedded DNS and the default bridge's resolv.conf;
    /// empty means the host's `/etc/resolv.conf`.
    pub dns: Vec<String>,
    /// Where the network namespaces of containers are bind-mounted.
    pub netns_dir: std::path::PathBuf,
}

impl NetworkConfig {
    /// Docker's defaults with namespaces under `exec_root/netns`.
    pub fn new(exec_root: &std::path::Path) -> NetworkConfig {
        NetworkConfig {
            bridge: Some(DEFAULT_BRIDGE.into()),
            bip: None,
            firewall_table: berth_network::firewall::DEFAULT_TABLE.into(),
            firewall: true,
            dns: Vec::new(),
            netns_dir: exec_root.join("netns"),
        }
    }
}

/// One network as berthd keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// 64 hex digits.
    pub id: String,
    /// Unique among networks.
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// No traffic in or out of the bridge (`--internal`).
    #[serde(default)]
    pub internal: bool,
    /// `--attachable` (kept and shown).
    #[serde(default)]
    pub attachable: bool,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options as given (`-o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The IPv4 subnet (bridge networks).
    #[serde(default)]
    pub subnet: Option<Cidr>,
    /// The bridge's address.
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    /// `--ip-range`.
    #[serde(default)]
    pub ip_range: Option<Cidr>,
    /// Whether the subnet was given by the user (inspect shows the IPAM config either way).
    #[serde(default)]
    pub ipam_given: bool,
    /// The bridge interface (bridge networks).
    #[serde(default)]
    pub bridge: String,
    /// The predefined `bridge` network (no DNS, no aliases, as Docker's).
    #[serde(default)]
    pub default_bridge: bool,
}

impl NetworkRecord {
    /// Whether containers on it get a veth and an address.
    pub fn is_bridge(&self) -> bool {
        self.driver == "bridge"
    }

    /// `host`, `none` and `bridge` cannot be created or removed by users.
    pub fn predefined(&self) -> bool {
        self.default_bridge || self.driver == "host" || self.driver == "null"
    }
}

/// A container on a network: inspect's `NetworkSettings.Networks.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's id.
    pub network_id: String,
    /// DNS names on this network besides the container's name and short id.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The address asked for (`--ip`).
    #[serde(default)]
    pub requested_ip: Option<Ipv4Addr>,
    /// What the current run holds; `None` while the container is not running.
    #[serde(default)]
    pub live: Option<LiveEndpoint>,
}

/// The part of an endpoint that exists only while the container runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEndpoint {
    /// 64 hex digits, new for every run.
    pub endpoint_id: String,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// The subnet's prefix.
    pub prefix: u8,
    /// The bridge's address.
    pub gateway: Ipv4Addr,
    /// `02:42:` and the address's four bytes, as Docker makes it.
    pub mac: String,
    /// The interface in the container (`eth0`, `eth1`…).
    pub ifname: String,
    /// The host end of the veth pair.
    pub host_ifname: String,
}

/// One published port of a running container: inspect's `NetworkSettings.Ports` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `80/tcp`.
    pub container_port: String,
    /// `0.0.0.0` or the address given.
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
}

/// What berthd holds in memory for the networks; rebuilt from the records at start.
#[derive(Debug, Default)]
pub(crate) struct NetState {
    /// Network id → its allocated addresses.
    spaces: HashMap<String, AddressSpace>,
    /// Container id → its host ports (sockets held so nobody else binds them) and mappings.
    ports: HashMap<String, berth_network::ports::Reservation>,
    /// Container id → its port group membership (running members only).
    members: HashMap<String, groups::Member>,
    /// The last port-group join's number.
    seq: u64,
    /// Network id → its DNS responder.
    dns: HashMap<String, berth_network::dns::DnsServer>,
    /// The firewall table's generation.
    generation: u32,
    /// Bridges currently given accept rules in foreign drop chains.
    foreign_bridges: Vec<String>,
    /// The foreign chains and bridges the accept rules were last written for, and when.
    foreign_key: Vec<String>,
    foreign_applied: Option<std::time::Instant>,
}

/// A kernel-side failure as the engine reports it: `what` and the errno's text.
fn net_err(what: String) -> impl FnOnce(std::io::Error) -> crate::EngineError {
    move |e| crate::EngineError::Internal(format!("{what}: {e}"))
}
