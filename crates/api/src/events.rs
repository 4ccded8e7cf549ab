//! `GET /events?since=&until=&filters=`: the engine's event bus as Docker's JSON-lines stream.
//!
//! Why the filters are matched here and not in the engine: they are Docker's wire rules
//! (moby's `daemon/events/filter.go`), kept beside the other wire shapes: `type` and `event`
//! exact (`event=health_status`, `exec_create`, `exec_start` match by prefix, as Docker's
//! do, since those actions carry a suffix), `container`/`volume`/`network`/… match the
//! actor's id or `name` by prefix, `image` exactly with or without the tag, `label` as
//! `key` or `key=value` among the attributes. Keys AND, values of one key OR.
//!
//! `since` replays from the engine's ring of recent events; an `until` in the past ends the
//! stream after the replay, a future one ends it then; without `until` it stays live until
//! the client goes away.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_engine::{Engine, Event};
use http::Response;

use crate::body::{stream_now, Body, ChanWriter};
use crate::error::ApiError;
use crate::route::Query;

/// The filter keys Docker accepts on `/events`.
const KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

/// Docker's timestamps: `secs[.nanos]` (what the CLI sends) or RFC 3339; in nanoseconds.
fn parse_time(key: &str, v: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid value for {key}: {v:?}: give seconds since the epoch (1700000000.5) or \
             an RFC 3339 time"
        ))
    };
    if v.contains('-') && v.len() >= 20 {
        return berth_engine::time::parse_rfc3339(v)
            .map(|s| s.saturating_mul(1_000_000_000))
            .ok_or_else(bad);
    }
    let nanos = berth_engine::time::unix_nanos(v).ok_or_else(bad)?;
    // Seconds must fit an i64; the nanoseconds saturate, as before.
    i64::try_from(nanos.div_euclid(1_000_000_000)).map_err(|_| bad())?;
    Ok(nanos.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn strip_tag(s: &str) -> &str {
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => &s[..i],
        _ => s,
    }
}

/// Whether `ev` passes Docker's event filters.
pub fn matches(f: &BTreeMap<String, Vec<String>>, ev: &Event) -> bool {
    let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
        f.get(key)
            .is_none_or(|vs| vs.is_empty() || vs.iter().any(|v| pred(v)))
    };
    let name = ev.attributes.get("name").map_or("", String::as_str);
    let fuzzy = |v: &str| ev.actor_id.starts_with(v) || (!name.is_empty() && name.starts_with(v));
    let image_name = match ev.kind.as_str() {
        "image" => name,
        _ => ev.attributes.get("image").map_or("", String::as_str),
    };
    let fuzzy_action = f.get("event").is_some_and(|vs| {
        vs.iter()
            .any(|v| matches!(v.as_str(), "health_status" | "exec_create" | "exec_start"))
    });
    any("event", &|v| {
        ev.action == v || (fuzzy_action && ev.action.starts_with(v))
    }) && any("type", &|v| ev.kind == v)
        && any("scope", &|v| v == "local")
        && [
            "container",
            "volume",
            "network",
            "plugin",
            "node",
            "service",
            "secret",
            "config",
        ]
        .iter()
        .all(|k| any(k, &fuzzy))
        && any("daemon", &|_| false)
        && any("image", &|v| {
            [ev.actor_id.as_str(), image_name]
                .iter()
                .any(|s| !s.is_empty() && (*s == v || strip_tag(s) == v))
        })
        && any("label", &|v| match v.split_once('=') {
            Some((k, val)) => ev.attributes.get(k).is_some_and(|a| a == val),
            None => ev.attributes.contains_key(v),
        })
}

/// `GET /events`.
pub async fn events(engine: &Arc<Engine>, q: &Query) -> Result<Response<Body>, ApiError> {
    let filters = q.filters(KEYS)?;
    let time = |k: &str| {
        q.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| parse_time(k, v))
            .transpose()
    };
    let (since, until) = (time("since")?, time("until")?);
    let sub = engine.subscribe_events(match (since, until) {
        (None, None) => None,
        (s, _) => Some(s.unwrap_or(0)),
    });
    Ok(stream_now("application/json", move |w| {
        let too_late = |ev: &Event| until.is_some_and(|u| ev.time_nano > u);
        let send = |w: &mut ChanWriter, ev: &Event| -> std::io::Result<()> {
            if !too_late(ev) && matches(&filters, ev) {
                serde_json::to_writer(&mut *w, &ev.to_json())?;
                w.write_all(b"\n")?;
                w.flush()?;
            }
            Ok(())
        };
        for ev in &sub.replay {
            if send(w, ev).is_err() {
                return Ok(());
            }
        }
        loop {
            if until.is_some_and(|u| now_nanos() > u) || w.is_closed() {
                return Ok(());
            }
            match sub.next(Duration::from_millis(250)) {
                Ok(ev) if too_late(&ev) => return Ok(()),
                Ok(ev) if send(w, &ev).is_err() => return Ok(()),
                Ok(_) | Err(false) => {}
                // Dropped for falling behind: the stream ends, as Docker ends it.
                Err(true) => return Ok(()),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        m
    }

    #[test]
    fn dockers_filters() {
        let ev = Event::new("container", "die", "abcdef")
            .attr("name", "web")
            .attr("image", "busybox:latest")
            .attr("exitCode", "3")
            .attr("tier", "front");
        assert!(matches(&f(&[]), &ev));
        assert!(matches(&f(&[("event", "die"), ("event", "start")]), &ev));
        assert!(!matches(&f(&[("event", "start")]), &ev));
        assert!(matches(&f(&[("container", "web")]), &ev));
        assert!(matches(&f(&[("container", "abc")]), &ev));
        assert!(!matches(&f(&[("container", "db")]), &ev));
        assert!(matches(&f(&[("image", "busybox")]), &ev));
        assert!(matches(&f(&[("label", "tier=front")]), &ev));
        assert!(!matches(&f(&[("label", "tier=back")]), &ev));
        assert!(!matches(&f(&[("type", "volume")]), &ev));
        let h = Event::new("container", "health_status: healthy", "abc");
        assert!(matches(&f(&[("event", "health_status")]), &h));
        let v = Event::new("volume", "create", "data");
        assert!(matches(&f(&[("volume", "data"), ("type", "volume")]), &v));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_time("since", "12").unwrap(), 12_000_000_000);
        assert_eq!(parse_time("since", "12.5").unwrap(), 12_500_000_000);
        assert_eq!(
            parse_time("since", "1970-01-01T00:00:10Z").unwrap(),
            10_000_000_000
        );
        assert!(parse_time("since", "soon").is_err());
    }
}
