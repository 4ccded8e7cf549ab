//! Merging Compose trees (several `-f` files, and `extends`) with docker compose's rules.
//!
//! Works on raw YAML trees, after interpolation and before conversion:
//! - mappings merge recursively, scalars and other sequences are overridden;
//! - in a service, [`APPEND`] sequences are concatenated (exact duplicates dropped);
//! - [`BY_KEY`] fields (list `K=V` or map form) merge by key;
//! - `volumes` merge by container path, `secrets`/`configs` by target (or source);
//! - `depends_on` and `networks` (list or map) merge by name; `build: "dir"` is `{context: dir}`;
//! - `command`, `entrypoint`, `healthcheck.test` are replaced as a whole;
//! - the `!reset` tag removes a key, `!override` replaces without merging.

use serde_yaml::{Mapping, Value};

/// Service sequences that are appended to.
pub const APPEND: &[&str] = &[
    "ports",
    "expose",
    "dns",
    "dns_search",
    "dns_opt",
    "cap_add",
    "cap_drop",
    "external_links",
    "links",
    "security_opt",
    "devices",
    "group_add",
    "env_file",
    "tmpfs",
    "profiles",
    "volumes_from",
];

/// Service fields (list `K=V` or mapping) merged by key.
pub const BY_KEY: &[&str] = &[
    "environment",
    "labels",
    "extra_hosts",
    "annotations",
    "sysctls",
];

/// Merges one whole file tree `over` into `base`.
pub fn merge_files(base: &mut Mapping, over: Mapping) {
    for (k, v) in over {
        if k.as_str() == Some("services") {
            let services = base
                .entry(k)
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            match (services, v) {
                (Value::Mapping(b), Value::Mapping(o)) => {
                    for (name, svc) in o {
                        let merged = match b.get(&name) {
                            Some(old) => merge_service(old, &svc),
                            None => svc,
                        };
                        b.insert(name, merged);
                    }
                }
                (slot, v) => *slot = v,
            }
        } else {
            set(base, k, v, deep);
        }
    }
}

/// Merges service `over` onto service `base` and returns the result.
pub fn merge_service(base: &Value, over: &Value) -> Value {
    let (Value::Mapping(b), Value::Mapping(o)) = (base, over) else {
        return over.clone();
    };
    let mut out = b.clone();
    for (k, v) in o {
        let key = k.as_str().unwrap_or_default();
        let rule: fn(Value, Value) -> Value = match key {
            _ if APPEND.contains(&key) => append,
            "extra_hosts" => |a, b| deep(to_map(a, host_entry), to_map(b, host_entry)),
            _ if BY_KEY.contains(&key) => |a, b| deep(to_map(a, key_value), to_map(b, key_value)),
            "volumes" => |a, b| by_key(a, b, volume_target),
            "secrets" | "configs" => |a, b| by_key(a, b, secret_target),
            "depends_on" | "networks" => |a, b| deep(to_map(a, name_only), to_map(b, name_only)),
            "build" => |a, b| deep(build_map(a), build_map(b)),
            "command" | "entrypoint" => |_, b| b,
            _ => deep,
        };
        set(&mut out, k.clone(), v.clone(), rule);
    }
    Value::Mapping(out)
}

/// Inserts `v` at `k`, combining with an existing value through `rule` and honouring the
/// `!reset` / `!override` tags.
fn set(map: &mut Mapping, k: Value, v: Value, rule: fn(Value, Value) -> Value) {
    if let Value::Tagged(t) = &v {
        match t.tag.to_string().as_str() {
            "!reset" => {
                map.remove(&k);
                return;
            }
            "!override" => {
                map.insert(k, t.value.clone());
                return;
            }
            _ => {}
        }
    }
    let merged = match map.remove(&k) {
        Some(old) if !old.is_null() => rule(old, v),
        _ => v,
    };
    map.insert(k, merged);
}

/// Recursive mapping merge; anything else is overridden.
pub fn deep(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                set(&mut b, k, v, deep);
            }
            Value::Mapping(b)
        }
        (_, o) => o,
    }
}

fn seq(v: Value) -> Vec<Value> {
    match v {
        Value::Sequence(s) => s,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn append(a: Value, b: Value) -> Value {
    let mut out = seq(a);
    for v in seq(b) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Value::Sequence(out)
}

fn key_value(item: &Value) -> Option<(Value, Value)> {
    let s = crate::convert::scalar_string(item)?;
    Some(match s.split_once('=') {
        Some((k, v)) => (Value::from(k), Value::from(v)),
        None => (Value::from(s), Value::Null),
    })
}

/// `host=ip` or `host:ip` (the first separator wins, so `host=::1` and `host:::1` work).
fn host_entry(item: &Value) -> Option<(Value, Value)> {
    let s = crate::convert::scalar_string(item)?;
    let (k, v) = s.split_once(['=', ':'])?;
    Some((Value::from(k), Value::from(v)))
}

fn name_only(item: &Value) -> Option<(Value, Value)> {
    Some((item.clone(), Value::Null))
}

/// A list (through `f`) or a mapping as a mapping; other values are returned unchanged.
fn to_map(v: Value, f: fn(&Value) -> Option<(Value, Value)>) -> Value {
    match v {
        Value::Sequence(items) => {
            let mut m = Mapping::new();
            for item in &items {
                match f(item) {
                    Some((k, v)) => {
                        m.insert(k, v);
                    }
                    None => return Value::Sequence(items),
                }
            }
            Value::Mapping(m)
        }
        other => other,
    }
}

fn build_map(v: Value) -> Value {
    match v {
        Value::String(s) => {
            let mut m = Mapping::new();
            m.insert("context".into(), Value::String(s));
            Value::Mapping(m)
        }
        other => other,
    }
}

/// The container path of a short (`src:dst[:mode]`, `dst`) or long volume.
fn volume_target(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(parts.get(1).unwrap_or(&parts[0]).to_string())
        }
        Value::Mapping(m) => m.get("target").and_then(crate::convert::scalar_string),
        _ => None,
    }
}

fn secret_target(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Mapping(m) => m
            .get("target")
            .or_else(|| m.get("source"))
            .and_then(crate::convert::scalar_string),
        _ => None,
    }
}

/// Merges two lists by a key; an item of `b` replaces the item of `a` with the same key.
fn by_key(a: Value, b: Value, key: fn(&Value) -> Option<String>) -> Value {
    let mut out = seq(a);
    for item in seq(b) {
        let k = key(&item);
        match out.iter().position(|x| k.is_some() && key(x) == k) {
            Some(i) => out[i] = item,
            None => out.push(item),
        }
    }
    Value::Sequence(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn service_rules() {
        let base = y("image: a\nports: ['80:80']\nenvironment: [A=1, B=2]\n\
                      volumes: ['./x:/data', 'logs:/logs']\ncommand: [a, b]\n\
                      healthcheck: {test: [CMD, a], retries: 3}\nbuild: .\n");
        let over = y(
            "image: b\nports: ['80:80', '443:443']\nenvironment: {B: 3, C: 4}\n\
                      volumes: ['./y:/data']\ncommand: c\nhealthcheck: {test: [CMD, b]}\n\
                      build: {target: t}\nlabels: !reset null\n",
        );
        let m = merge_service(&base, &over);
        assert_eq!(m["image"], y("b"));
        assert_eq!(m["ports"], y("['80:80', '443:443']"));
        assert_eq!(m["environment"], y("{A: '1', B: 3, C: 4}"));
        assert_eq!(m["volumes"], y("['./y:/data', 'logs:/logs']"));
        assert_eq!(m["command"], y("c"));
        assert_eq!(m["healthcheck"], y("{test: [CMD, b], retries: 3}"));
        assert_eq!(m["build"], y("{context: ., target: t}"));
        assert!(m.get("labels").is_none());
        let base = y("extra_hosts: ['a:1.1.1.1', 'b=::1']");
        let over = y("extra_hosts: {a: 2.2.2.2}");
        let m = merge_service(&base, &over);
        assert_eq!(m["extra_hosts"], y("{a: 2.2.2.2, b: '::1'}"));
    }

    #[test]
    fn files_and_reset() {
        let mut base = y("services: {a: {image: x, dns: 1.1.1.1}}\nvolumes: {v: {driver: d}}")
            .as_mapping()
            .unwrap()
            .clone();
        let over = y(
            "services: {a: {dns: 8.8.8.8, cap_add: !reset []}, b: {image: y}}\n\
                      volumes: {v: {labels: {l: '1'}}}",
        );
        merge_files(&mut base, over.as_mapping().unwrap().clone());
        let v = Value::Mapping(base);
        assert_eq!(v["services"]["a"]["dns"], y("[1.1.1.1, 8.8.8.8]"));
        assert_eq!(v["services"]["b"]["image"], y("y"));
        assert_eq!(v["volumes"]["v"], y("{driver: d, labels: {l: '1'}}"));
    }
}
