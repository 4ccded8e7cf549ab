//! The engine: what berthd can do, as a synchronous Rust API that knows nothing of HTTP.
//!
//! Why: the Docker Engine API is one adapter over this (`berth-api`); tests and, later, other
//! front ends call the same methods. The engine owns the long-lived state: one [`ImageStore`]
//! on the data root and one [`RegistryClient`] (connections and bearer tokens are cached in
//! it). It is `Send + Sync`: the API shares it behind an `Arc` and calls it from blocking
//! threads. There is no async runtime here.
//!
//! It covers images (list, inspect, history, tag, remove, prune, load, save, import, pull,
//! push, login), the host facts `/info` needs, containers' lifecycle ([`containers`], with
//! health checks in `containers::health`) and the event bus behind `docker events`
//! ([`events`]).
//!
//! Invariant: every path (data root, auth file) comes from [`EngineConfig`]; nothing is read
//! from the environment and nothing is printed.

#![warn(missing_docs)]

pub mod build;
pub mod container;
pub mod containers;
mod error;
pub mod events;
mod expiry;
mod images;
pub mod log;
pub mod networks;
mod registry;
mod system;
mod volumes;

use std::path::PathBuf;

pub use berth_image::{
    time, Digest, Image, LabelFilter, LoadReport, PruneOptions, PruneReport, RemoveEvent,
};
pub use berth_registry::{Credential, ProgressEvent};
pub use berth_volume::{CreateRequest as VolumeCreateRequest, Volume, VolumeError};
pub use containers::{ContainerFilters, ContainerPruneReport, StatsSample, TopView, UpdateOptions};
pub use containers::{
    ContainerRecord, ContainerStatus, ContainerView, ExecConfig, ExecIo, ExecState, ExecView,
    LogLine, LogOptions, LogStream, StopOutcome,
};
pub use error::EngineError;
pub use events::{Event, EventBus, Subscription};
pub use images::{HistoryEntry, ImageFilters, ImageView, ImportRequest};
pub use networks::{
    Endpoint, LiveEndpoint, NetworkConfig, NetworkCreateRequest, NetworkFilters, NetworkMember,
    NetworkRecord, PublishedPort,
};
pub use registry::PullRequest;
pub use system::{HostInfo, UsageView};
pub use volumes::{MountPoint, VolumeFilters, VolumePruneOptions, VolumePruneReport, VolumeView};

use berth_image::ImageStore;
use berth_registry::{ClientConfig, RegistryClient};

/// `Result` with [`EngineError`].
pub type Result<T> = std::result::Result<T, EngineError>;

/// What the engine is opened with; the daemon fills it from flags and `daemon.json`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where images (and later containers) live (`/var/lib/berth`).
    pub data_root: PathBuf,
    /// Registries reached over plain HTTP (`host:port` or CIDR); loopback always is.
    pub insecure_registries: Vec<String>,
    /// Docker Hub mirrors (`https://mirror.example`).
    pub registry_mirrors: Vec<String>,
    /// A Docker `config.json` with default credentials; `None` for anonymous access.
    pub auth_file: Option<PathBuf>,
    /// The `User-Agent` sent to registries.
    pub user_agent: String,
    /// Runtime state (shim state dirs, the runtime's root): `/run/berth`.
    pub exec_root: PathBuf,
    /// The `berth-shim` executable started for each container.
    pub shim_binary: PathBuf,
    /// The default seccomp profile (Docker's JSON format); `None` runs containers unconfined.
    pub seccomp_profile: Option<Vec<u8>>,
    /// `--default-ulimit`s: given to every container that does not set the same name.
    pub default_ulimits: Vec<container::Ulimit>,
    /// The static init bind-mounted as `/sbin/docker-init` for `--init` containers.
    pub init_binary: Option<PathBuf>,
    /// Networks: the default bridge, the firewall table, DNS.
    pub network: networks::NetworkConfig,
}

impl EngineConfig {
    /// A configuration with only the data root set.
    /// The exec root defaults to `<data_root>/run`, the shim to `berth-shim` on `PATH`.
    pub fn new(data_root: impl Into<PathBuf>) -> Self {
        let data_root: PathBuf = data_root.into();
        EngineConfig {
            network: networks::NetworkConfig::new(&data_root.join("run")),
            exec_root: data_root.join("run"),
            data_root,
            shim_binary: PathBuf::from("berth-shim"),
            seccomp_profile: None,
            default_ulimits: Vec::new(),
            init_binary: None,
            insecure_registries: Vec::new(),
            registry_mirrors: Vec::new(),
            auth_file: None,
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The daemon's core. Share it with `Arc<Engine>`.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    store: ImageStore,
    registry: RegistryClient,
    /// The volumes, `<data-root>/volumes`.
    volumes: berth_volume::VolumeStore,
    /// Held by container create and remove: the name table is the records on disk.
    containers_lock: std::sync::Mutex<()>,
    /// `docker exec` instances (in memory, as Docker keeps them).
    execs: containers::ExecTable,
    /// Restart policies' waiters and backoff (active once [`Engine::supervise`] ran).
    supervisor: containers::Supervisor,
    /// The event bus (`docker events`).
    events: events::EventBus,
    /// Exit codes of auto-removed containers, for late `wait --condition removed` callers.
    removed_exits: containers::RemovedExits,
    /// Log followers per container (attach, `logs -f`): an `AutoRemove` waits for them.
    followers: containers::Followers,
    /// Failed starts per container, which end attaches waiting for them.
    failed_starts: containers::FailedStarts,
    nets: std::sync::Mutex<networks::NetState>,
    names: std::sync::Arc<networks::Names>,
}

impl Engine {
    /// Opens the image store on the data root and builds the registry client.
    ///
    /// The store's directories (`content/`, `snapshots/`, `images/`) sit directly under the
    /// data root, as DESIGN.md's on-disk layout has them and as `berth --data-root` opens them
    /// today: berthd and the in-process CLI see the same images on the same root.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let store = ImageStore::open(&config.data_root)?;
        let registry = RegistryClient::new(ClientConfig {
            auth_file: config.auth_file.clone(),
            insecure_registries: config.insecure_registries.clone(),
            mirrors: config.registry_mirrors.clone(),
            user_agent: config.user_agent.clone(),
            ..ClientConfig::default()
        })?;
        let volumes = berth_volume::VolumeStore::open(config.data_root.join("volumes"))?;
        Ok(Engine {
            config,
            store,
            registry,
            volumes,
            containers_lock: std::sync::Mutex::new(()),
            execs: Default::default(),
            supervisor: Default::default(),
            events: Default::default(),
            removed_exits: Default::default(),
            followers: Default::default(),
            failed_starts: Default::default(),
            nets: Default::default(),
            names: Default::default(),
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The image store (for callers that need what the engine does not wrap yet).
    pub fn store(&self) -> &ImageStore {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Engine>();
    }

    #[test]
    fn opens_an_empty_root() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(EngineConfig::new(dir.path())).unwrap();
        assert!(e.images(&ImageFilters::default()).unwrap().is_empty());
        let err = e.image("nope").unwrap_err();
        assert_eq!(err.to_string(), "No such image: nope:latest");
        assert_eq!(err.kind(), berth_types::ErrorKind::NotFound);
    }
}
