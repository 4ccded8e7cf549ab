//! The body of `POST /networks/create`, with Docker's JSON names (`null` reads as empty, as Go
//! encodes nil maps and slices).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::container::options::null_default;

/// The body of `POST /networks/create` (Docker's `NetworkCreateRequest`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkCreateRequest {
    /// The network's name.
    pub name: String,
    /// `bridge` (or empty).
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// No traffic in or out of the bridge.
    pub internal: bool,
    /// Kept and shown.
    pub attachable: bool,
    /// Refused when true: berth's networks are IPv4.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: Option<bool>,
    /// Address management.
    #[serde(rename = "IPAM")]
    pub ipam: Option<NetworkIpam>,
    /// Driver options (`com.docker.network.bridge.name`, `…driver.mtu`).
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    /// Labels.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
}

/// Docker's `IPAM`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkIpam {
    /// `default` (or empty).
    #[serde(deserialize_with = "null_default")]
    pub driver: String,
    /// One entry per subnet.
    #[serde(deserialize_with = "null_default")]
    pub config: Vec<NetworkIpamConfig>,
}

/// Docker's `IPAMConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkIpamConfig {
    /// `172.30.0.0/16`.
    #[serde(deserialize_with = "null_default")]
    pub subnet: String,
    /// `--ip-range`.
    #[serde(rename = "IPRange", deserialize_with = "null_default")]
    pub ip_range: String,
    /// `--gateway`.
    #[serde(deserialize_with = "null_default")]
    pub gateway: String,
}
