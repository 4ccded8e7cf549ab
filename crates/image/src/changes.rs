//! Docker's `--change` instructions of `import` and `commit`: the Dockerfile instructions that
//! only change the config (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `ONBUILD`, `USER`,
//! `VOLUME`, `WORKDIR`, `STOPSIGNAL`), applied to a [`ContainerConfig`].
//!
//! JSON (exec) and shell forms are accepted as a Dockerfile reads them; the shell form of `CMD`
//! and `ENTRYPOINT` becomes `["/bin/sh", "-c", "<text>"]`. The full Dockerfile parser belongs
//! to the builder; this is the subset Docker allows here.

use std::collections::BTreeMap;

use crate::error::ImageError;
use crate::model::ContainerConfig;

/// Applies one `--change` line to `config`.
pub fn apply_change(config: &mut ContainerConfig, line: &str) -> Result<(), ImageError> {
    let line = line.trim();
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let bad = |reason: String| ImageError::InvalidChange {
        line: line.to_string(),
        reason,
    };
    let need_arg = || {
        if rest.is_empty() {
            Err(bad(format!("{} needs an argument", word.to_uppercase())))
        } else {
            Ok(())
        }
    };
    match word.to_ascii_uppercase().as_str() {
        "CMD" => config.cmd = Some(exec_or_shell(rest)),
        "ENTRYPOINT" => config.entrypoint = Some(exec_or_shell(rest)),
        "ENV" => {
            need_arg()?;
            let env = config.env.get_or_insert_with(Vec::new);
            for (k, v) in pairs(rest).map_err(bad)? {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != k);
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            need_arg()?;
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in pairs(rest).map_err(bad)? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            need_arg()?;
            let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
                    return Err(bad(format!("{p:?} is not a port (e.g. 80, 53/udp)")));
                }
                ports.insert(format!("{num}/{proto}"), serde_json::json!({}));
            }
        }
        "USER" => {
            need_arg()?;
            config.user = Some(rest.to_string());
        }
        "WORKDIR" => {
            need_arg()?;
            let cur = config.working_dir.clone().unwrap_or_else(|| "/".into());
            config.working_dir = Some(if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("{}/{rest}", cur.trim_end_matches('/'))
            });
        }
        "VOLUME" => {
            need_arg()?;
            let vols = config.volumes.get_or_insert_with(BTreeMap::new);
            let list = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest).map_err(|e| bad(e.to_string()))?
            } else {
                rest.split_whitespace().map(str::to_string).collect()
            };
            for v in list {
                vols.insert(v, serde_json::json!({}));
            }
        }
        "STOPSIGNAL" => {
            need_arg()?;
            config.stop_signal = Some(rest.to_string());
        }
        "ONBUILD" => {
            need_arg()?;
            config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_string());
        }
        other => {
            return Err(bad(format!(
                "{other} cannot be used here; allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, \
                 ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR"
            )))
        }
    }
    Ok(())
}

fn exec_or_shell(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return v;
        }
    }
    vec!["/bin/sh".into(), "-c".into(), rest.to_string()]
}

/// `k=v k2="v 2"` (or the legacy `k v` form) into pairs, with double-quote and backslash
/// handling as a Dockerfile reads them.
fn pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    if !text.contains('=') {
        let (k, v) = text
            .split_once(char::is_whitespace)
            .ok_or("expected key=value")?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => word.push(chars.next().unwrap_or('\\')),
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                (c, None) if c.is_whitespace() => break,
                (c, _) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err("unterminated quote".into());
        }
        let (k, v) = word
            .split_once('=')
            .ok_or_else(|| format!("{word:?} is not key=value"))?;
        if k.is_empty() {
            return Err(format!("{word:?} has an empty key"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_docker_change_lines() {
        let mut c = ContainerConfig::default();
        for l in [
            r#"CMD ["/bin/sh", "-c", "echo hi"]"#,
            "ENTRYPOINT top -b",
            r#"ENV A=1 B="two words""#,
            "ENV A=3",
            "LABEL org.x=y",
            "EXPOSE 80 53/udp",
            "WORKDIR /app",
            "WORKDIR sub",
            "USER 1000:1000",
            "VOLUME /data",
        ] {
            apply_change(&mut c, l).unwrap();
        }
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "top -b"]);
        assert_eq!(c.env.unwrap(), ["B=two words", "A=3"]);
        assert_eq!(c.labels.unwrap()["org.x"], "y");
        let ports: Vec<_> = c.exposed_ports.unwrap().into_keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert_eq!(c.working_dir.unwrap(), "/app/sub");
        assert_eq!(c.user.unwrap(), "1000:1000");
        assert!(c.volumes.unwrap().contains_key("/data"));
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let mut c = ContainerConfig::default();
        for l in ["RUN echo", "EXPOSE http", "ENV", r#"LABEL a="b"#, "ADD x y"] {
            let e = apply_change(&mut c, l).unwrap_err().to_string();
            assert!(
                e.contains(l.split(' ').next().unwrap()) || e.contains("quote"),
                "{e}"
            );
        }
    }
}
