//! `/networks/*`: list, inspect, create, remove, prune, connect and disconnect, in Docker's
//! wire shapes (`docker network …`, docker-py's `client.networks`, compose).

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_engine::container::options::EndpointConfig;
use berth_engine::{Engine, LabelFilter, NetworkCreateRequest, NetworkFilters, NetworkRecord};
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::blocking;
use crate::body::{full, json, Body};
use crate::error::ApiError;
use crate::route::Query;

type Answer = Result<Response<Body>, ApiError>;

/// A network as `GET /networks/{id}` shows it; `members` fills `Containers`.
pub(crate) fn network_json(n: &NetworkRecord, members: &[berth_engine::NetworkMember]) -> Value {
    let config: Vec<Value> = match (n.subnet, n.gateway) {
        (Some(s), Some(g)) => {
            let mut c = json!({"Subnet": s.to_string(), "Gateway": g.to_string()});
            if let Some(r) = n.ip_range {
                c["IPRange"] = json!(r.to_string());
            }
            vec![c]
        }
        _ => Vec::new(),
    };
    let containers: BTreeMap<&str, Value> = members
        .iter()
        .map(|m| {
            let e = &m.endpoint;
            let v = json!({
                "Name": m.name,
                "EndpointID": e.endpoint_id,
                "MacAddress": e.mac,
                "IPv4Address": format!("{}/{}", e.ip, e.prefix),
                "IPv6Address": "",
            });
            (m.id.as_str(), v)
        })
        .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": null, "Config": config},
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": containers,
        "Options": n.options,
        "Labels": n.labels,
    })
}

fn filters(q: &Query) -> Result<NetworkFilters, ApiError> {
    let f = q.filters(&[
        "name", "id", "driver", "label", "label!", "type", "dangling", "until", "scope",
    ])?;
    let one = |k: &str| f.get(k).and_then(|v| v.first()).cloned();
    let dangling = match one("dangling").as_deref() {
        None => None,
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "invalid filter 'dangling={v}': use true or false"
            )))
        }
    };
    let kind = match one("type").as_deref() {
        None => None,
        Some(t @ ("custom" | "builtin")) => Some(t.to_string()),
        Some(t) => {
            return Err(ApiError::BadRequest(format!(
                "invalid filter 'type={t}': use custom or builtin"
            )))
        }
    };
    let until = match one("until") {
        None => None,
        Some(u) => Some(crate::images::parse_until(&u, crate::now())?),
    };
    let mut labels = Vec::new();
    for (key, negate) in [("label", false), ("label!", true)] {
        for l in f.get(key).into_iter().flatten() {
            labels.push(LabelFilter::parse(l, negate));
        }
    }
    Ok(NetworkFilters {
        name: f.get("name").cloned().unwrap_or_default(),
        id: f.get("id").cloned().unwrap_or_default(),
        driver: f.get("driver").cloned().unwrap_or_default(),
        labels,
        kind,
        dangling,
        until,
    })
}

/// `GET /networks?filters=`.
pub async fn list(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = filters(q)?;
    let out = blocking(engine, move |e| {
        let mut out = Vec::new();
        for n in e.networks(&f)? {
            let members = e.network_members(&n.id)?;
            out.push(network_json(&n, &members));
        }
        Ok(out)
    })
    .await?;
    Ok(json(StatusCode::OK, &out))
}

/// `POST /networks/create` (201 `{"Id", "Warning"}`).
pub async fn create(engine: &Arc<Engine>, body: Bytes) -> Answer {
    let req: NetworkCreateRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!("invalid network config in the request body: {e}"))
    })?;
    let n = blocking(engine, move |e| Ok(e.create_network(&req)?)).await?;
    Ok(json(
        StatusCode::CREATED,
        &json!({"Id": n.id, "Warning": ""}),
    ))
}

/// `POST /networks/prune?filters=`.
pub async fn prune(engine: &Arc<Engine>, q: &Query) -> Answer {
    let f = filters(q)?;
    let deleted = blocking(engine, move |e| Ok(e.prune_networks(&f)?)).await?;
    Ok(json(StatusCode::OK, &json!({"NetworksDeleted": deleted})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConnectBody {
    container: String,
    #[serde(default)]
    endpoint_config: Option<EndpointConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DisconnectBody {
    container: String,
    #[serde(default)]
    force: bool,
}

fn no_content() -> Response<Body> {
    let mut r = Response::new(full(""));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// `/networks/{id}` and `/networks/{id}/connect|disconnect`.
pub async fn route(e: &Arc<Engine>, m: &Method, rest: &str, q: &Query, body: Bytes) -> Answer {
    let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return Err(ApiError::NoRoute);
    }
    let id = id.to_string();
    let bad = |what: &str, err: serde_json::Error| {
        ApiError::BadRequest(format!("invalid {what} request body: {err}"))
    };
    match (m, action) {
        (&Method::GET, "") => {
            let _verbose = q.flag("verbose");
            let v = blocking(e, move |e| {
                let n = e.find_network(&id)?;
                let members = e.network_members(&n.id)?;
                Ok(network_json(&n, &members))
            })
            .await?;
            Ok(json(StatusCode::OK, &v))
        }
        (&Method::DELETE, "") => {
            blocking(e, move |e| Ok(e.remove_network(&id)?)).await?;
            Ok(no_content())
        }
        (&Method::POST, "connect") => {
            let b: ConnectBody =
                serde_json::from_slice(&body).map_err(|err| bad("connect", err))?;
            let cfg = b.endpoint_config.unwrap_or_default();
            blocking(e, move |e| {
                Ok(e.connect_network(&id, &b.container, &cfg)?)
            })
            .await?;
            Ok(Response::new(full("")))
        }
        (&Method::POST, "disconnect") => {
            let b: DisconnectBody =
                serde_json::from_slice(&body).map_err(|err| bad("disconnect", err))?;
            blocking(e, move |e| {
                Ok(e.disconnect_network(&id, &b.container, b.force)?)
            })
            .await?;
            Ok(Response::new(full("")))
        }
        _ => Err(ApiError::NoRoute),
    }
}
