//! Parsers for `run`/`create`/`update` flag values, as docker's CLI reads them: memory sizes
//! (`512m`, binary units), `--cpus`, `--restart`, durations (`30s`, `1m30s`), `--mount`,
//! `-v`, `--env-file`. Kept apart from the verbs so each stays small and testable.

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Value};

/// Docker's `RAMInBytes`: a number with an optional b/k/m/g/t/p suffix, 1024-based.
pub fn ram_in_bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix('b')
        .filter(|r| !r.is_empty() && r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        Some('p') => (&t[..t.len() - 1], 1 << 50),
        Some('b') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| anyhow!("invalid size: '{s}'"))?;
    if n < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((n * mult as f64) as i64)
}

/// `--cpus 1.5` → NanoCpus.
pub fn parse_cpus(s: &str) -> Result<i64> {
    let n: f64 = s
        .parse()
        .map_err(|_| anyhow!("invalid argument \"{s}\" for \"--cpus\" flag: failed to parse {s} as a rational number"))?;
    Ok((n * 1e9).round() as i64)
}

/// `--restart no|always|unless-stopped|on-failure[:N]` → RestartPolicy.
pub fn parse_restart(s: &str) -> Result<Value> {
    let (name, count) = s.split_once(':').unwrap_or((s, ""));
    let n: i64 = if count.is_empty() {
        0
    } else {
        count.parse().map_err(|_| {
            anyhow!("invalid restart policy format: maximum retry count must be an integer")
        })?
    };
    match name {
        "no" | "always" | "unless-stopped" | "on-failure" | "" => {}
        _ => bail!("invalid restart policy format: unknown policy {name:?}"),
    }
    Ok(json!({ "Name": name, "MaximumRetryCount": n }))
}

/// A Go duration (`1h2m3s`, `500ms`, `10s`) in nanoseconds.
pub fn duration_ns(s: &str) -> Result<i64> {
    if s == "0" {
        return Ok(0);
    }
    berth_compose::units::go_nanos(s)
        .map(|n| n as i64)
        .ok_or_else(|| anyhow!("time: invalid duration \"{s}\""))
}

/// `--mount type=…,source=…,target=…,readonly,…` → a Docker `Mount`.
pub fn parse_mount(s: &str) -> Result<Value> {
    let mut m = serde_json::Map::new();
    let mut kind = "volume".to_string();
    let (mut bind, mut vol, mut tmpfs) = (
        serde_json::Map::new(),
        serde_json::Map::new(),
        serde_json::Map::new(),
    );
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .map_or((part, None), |(k, v)| (k, Some(v)));
        let truthy = v.is_none_or(|v| matches!(v, "1" | "true"));
        match (k.to_ascii_lowercase().as_str(), v) {
            ("type", Some(v)) => kind = v.to_string(),
            ("source" | "src", Some(v)) => {
                m.insert("Source".into(), json!(v));
            }
            ("target" | "destination" | "dst", Some(v)) => {
                m.insert("Target".into(), json!(v));
            }
            ("readonly" | "ro", _) => {
                m.insert("ReadOnly".into(), json!(truthy));
            }
            ("bind-propagation", Some(v)) => {
                bind.insert("Propagation".into(), json!(v));
            }
            ("volume-nocopy", _) => {
                vol.insert("NoCopy".into(), json!(truthy));
            }
            ("volume-label", Some(v)) => {
                let (lk, lv) = v.split_once('=').unwrap_or((v, ""));
                let labels = vol.entry("Labels").or_insert_with(|| json!({}));
                labels[lk] = json!(lv);
            }
            ("volume-driver", Some(v)) => {
                vol.insert("DriverConfig".into(), json!({ "Name": v }));
            }
            ("tmpfs-size", Some(v)) => {
                tmpfs.insert("SizeBytes".into(), json!(ram_in_bytes(v)?));
            }
            ("tmpfs-mode", Some(v)) => {
                let mode =
                    u32::from_str_radix(v, 8).map_err(|_| anyhow!("invalid tmpfs-mode {v:?}"))?;
                tmpfs.insert("Mode".into(), json!(mode));
            }
            _ => bail!("invalid field '{part}' must be a key=value pair"),
        }
    }
    if !m.contains_key("Target") {
        bail!("target is required");
    }
    m.insert("Type".into(), json!(kind));
    if !bind.is_empty() {
        m.insert("BindOptions".into(), Value::Object(bind));
    }
    if !vol.is_empty() {
        m.insert("VolumeOptions".into(), Value::Object(vol));
    }
    if !tmpfs.is_empty() {
        m.insert("TmpfsOptions".into(), Value::Object(tmpfs));
    }
    Ok(Value::Object(m))
}

/// `-e K=V` as given; `-e K` takes K from this environment (dropped when unset).
pub fn env_entry(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_string());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}

/// The entries of an `--env-file`: `K=V` lines, `#` comments and blank lines skipped.
pub fn env_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("open {path}: {e}"))?;
    Ok(text
        .lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(env_entry)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_flag_values() {
        assert_eq!(ram_in_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("64MB").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("4096").unwrap(), 4096);
        assert!(ram_in_bytes("x").is_err());
        assert_eq!(parse_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(
            parse_restart("on-failure:3").unwrap()["MaximumRetryCount"],
            3
        );
        assert!(parse_restart("sometimes").is_err());
        assert_eq!(duration_ns("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(duration_ns("500ms").unwrap(), 500_000_000);
        assert!(duration_ns("5").is_err());
        let m = parse_mount("type=bind,source=/a,target=/b,readonly").unwrap();
        assert_eq!(
            m,
            json!({"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true})
        );
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m").unwrap();
        assert_eq!(m["TmpfsOptions"]["SizeBytes"], 1 << 20);
    }
}
