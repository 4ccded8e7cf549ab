//! `docker compose config`: the resolved model as YAML, and the per-service config hash.
//!
//! The output is valid Compose that this crate loads back to an equal project: long syntax
//! everywhere, absolute paths, and every `$` in a value written as `$$` so that interpolation
//! of the output gives the values back unchanged.

use serde_yaml::Value;
use sha2::{Digest, Sha256};

use crate::model::{Project, Service};

impl Project {
    /// The resolved project as Compose YAML (services sorted by name).
    pub fn to_yaml(&self) -> String {
        let mut v = serde_yaml::to_value(self).expect("the model serializes");
        escape_dollars(&mut v);
        serde_yaml::to_string(&v).expect("a YAML value serializes")
    }
}

fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        _ => {}
    }
}

impl Service {
    /// SHA-256 (hex) of the canonical JSON of the resolved service, without `deploy.replicas`
    /// and `scale` (scaling must not recreate containers). Stored as the
    /// `com.docker.compose.config-hash` label to make `up` idempotent.
    pub fn config_hash(&self) -> String {
        let mut s = self.clone();
        s.scale = None;
        if let Some(d) = &mut s.deploy {
            d.replicas = None;
            d.update_config = None;
        }
        let json = serde_json::to_value(&s).expect("the model serializes");
        let text = canonical(&json);
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// JSON with object keys sorted, whatever serde_json's map ordering feature.
fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::Value::from(k.as_str()),
                        canonical(&m[k])
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(a) => {
            format!(
                "[{}]",
                a.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Deploy;

    #[test]
    fn hash_ignores_replicas_only() {
        let mut a = Service {
            image: Some("nginx".into()),
            ..Service::default()
        };
        let h = a.config_hash();
        assert_eq!(h.len(), 64);
        a.scale = Some(3);
        a.deploy = Some(Deploy {
            replicas: Some(2),
            ..Deploy::default()
        });
        let with_deploy = Service {
            deploy: Some(Deploy::default()),
            ..a.clone()
        };
        assert_eq!(a.config_hash(), with_deploy.config_hash());
        a.image = Some("nginx:2".into());
        assert_ne!(a.config_hash(), h);
    }

    #[test]
    fn escapes() {
        let mut v: Value = serde_yaml::from_str("{a: 'x$y', b: [$z]}").unwrap();
        escape_dollars(&mut v);
        assert_eq!(v["a"], Value::from("x$$y"));
        assert_eq!(v["b"][0], Value::from("$$z"));
    }
}
