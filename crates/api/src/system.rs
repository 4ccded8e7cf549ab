//! `/_ping`, `/version`, `/info`, `/system/df`, `/auth`.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api_types::{
    AuthConfig, AuthResponse, ComponentVersion, DiskUsageResponse, Info, Version, API_VERSION,
    MIN_API_VERSION,
};
use berth_engine::{Engine, HostInfo};
use bytes::Bytes;
use http::{header, Response, StatusCode};
use serde_json::json;

use crate::blocking;
use crate::body::{full, json, Body};
use crate::error::ApiError;
use crate::images::summary;

type Answer = Result<Response<Body>, ApiError>;

/// berthd's version, as `/version` and `Server` report it.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET|HEAD /_ping`: `OK`, with the headers every answer carries (added by the caller).
pub fn ping(head: bool) -> Response<Body> {
    let mut r = Response::new(full(if head { "" } else { "OK" }));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    r
}

async fn host(engine: &Arc<Engine>) -> Result<HostInfo, ApiError> {
    blocking(engine, |e| Ok(e.host_info()?)).await
}

/// `GET /version`.
pub async fn version(engine: &Arc<Engine>) -> Answer {
    let h = host(engine).await?;
    let details: BTreeMap<String, String> = [
        ("ApiVersion", API_VERSION),
        ("MinAPIVersion", MIN_API_VERSION),
        ("Os", "linux"),
        ("Arch", h.architecture.as_str()),
        ("KernelVersion", h.kernel_version.as_str()),
        ("Experimental", "false"),
        ("GitCommit", ""),
        ("GoVersion", "n/a (Rust)"),
        ("BuildTime", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let out = Version {
        platform: json!({"Name": "berth"}),
        components: vec![ComponentVersion {
            name: "Engine".into(),
            version: SERVER_VERSION.into(),
            details,
        }],
        version: SERVER_VERSION.into(),
        api_version: API_VERSION.into(),
        min_api_version: MIN_API_VERSION.into(),
        git_commit: String::new(),
        go_version: "n/a (Rust)".into(),
        os: "linux".into(),
        arch: h.architecture,
        kernel_version: h.kernel_version,
        build_time: String::new(),
    };
    Ok(json(StatusCode::OK, &out))
}

/// `GET /info`.
pub async fn info(engine: &Arc<Engine>) -> Answer {
    let h = host(engine).await?;
    let cfg = engine.config();
    let mut index = serde_json::Map::new();
    index.insert(
        "docker.io".into(),
        json!({"Name": "docker.io", "Mirrors": cfg.registry_mirrors, "Secure": true, "Official": true}),
    );
    let mut cidrs = vec!["127.0.0.0/8".to_string()];
    for r in &cfg.insecure_registries {
        if r.contains('/') {
            cidrs.push(r.clone());
        } else {
            index.insert(
                r.clone(),
                json!({"Name": r, "Mirrors": [], "Secure": false, "Official": false}),
            );
        }
    }
    let out = Info {
        id: h.id,
        containers: 0,
        containers_running: 0,
        containers_paused: 0,
        containers_stopped: 0,
        images: h.images,
        driver: "overlay".into(),
        driver_status: Vec::new(),
        operating_system: h.operating_system,
        os_type: "linux".into(),
        architecture: h.machine,
        ncpu: h.ncpu,
        mem_total: h.mem_total,
        docker_root_dir: h.data_root,
        server_version: SERVER_VERSION.into(),
        kernel_version: h.kernel_version,
        cgroup_version: h.cgroup_version,
        cgroup_driver: "cgroupfs".into(),
        name: h.hostname,
        swarm: json!({"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null}),
        registry_config: json!({
            "InsecureRegistryCIDRs": cidrs,
            "IndexConfigs": index,
            "Mirrors": cfg.registry_mirrors,
        }),
        index_server_address: "https://index.docker.io/v1/".into(),
        experimental_build: false,
        warnings: Vec::new(),
    };
    Ok(json(StatusCode::OK, &out))
}

/// `GET /system/df`: images; containers, volumes and build cache are empty for now.
pub async fn df(engine: &Arc<Engine>) -> Answer {
    let (u, vols) = blocking(engine, |e| {
        let vols: Vec<_> = e
            .volumes(&Default::default())?
            .into_iter()
            .map(|v| {
                let size = e.volume_size(&v.volume.name);
                (v, size)
            })
            .collect();
        Ok((e.disk_usage()?, vols))
    })
    .await?;
    let images = u
        .images
        .iter()
        .map(|v| {
            let mut s = summary(v);
            if let Some(m) = u.usage.images.iter().find(|i| i.id == *v.image.id()) {
                s.shared_size = i64::try_from(m.shared_size).unwrap_or(i64::MAX);
                s.containers = i64::try_from(m.containers).unwrap_or(i64::MAX);
            }
            s
        })
        .collect();
    let out = DiskUsageResponse {
        layers_size: u.usage.images_bytes,
        images,
        containers: Vec::new(),
        volumes: vols
            .iter()
            .map(|(v, size)| {
                serde_json::to_value(crate::volumes::volume_body(v, Some(*size)))
                    .unwrap_or_default()
            })
            .collect(),
        build_cache: Vec::new(),
    };
    Ok(json(StatusCode::OK, &out))
}

/// `POST /auth`: checks the credentials with the registry; stores nothing.
pub async fn auth(engine: &Arc<Engine>, body: Bytes) -> Answer {
    let a: AuthConfig = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("invalid auth body: {e}")))?;
    blocking(engine, move |e| {
        Ok(e.login(&a.server_address, &a.username, &a.password)?)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &AuthResponse {
            status: "Login Succeeded".into(),
            identity_token: String::new(),
        },
    ))
}
