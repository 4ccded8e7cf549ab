//! `inspect`: containers, images (and volumes) by name, the JSON array docker prints, or
//! `-f TEMPLATE` per object. Without `--type`, a name is looked up as a container first,
//! then as an image, then as a volume — docker's order.

use anyhow::Result;
use berth_client::Client;
use clap::Args;
use serde_json::Value;

use super::{daemon, Exit};
use crate::gotemplate;

#[derive(Debug, Args)]
pub struct Inspect {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub(crate) format: Option<String>,
    /// Return JSON for specified type (container, image, volume).
    #[arg(long = "type")]
    kind: Option<String>,
    /// Display total file sizes if the type is container (accepted).
    #[arg(short, long)]
    size: bool,
    #[arg(required = true)]
    pub(crate) names: Vec<String>,
}

fn lookup(c: &Client, kind: Option<&str>, name: &str) -> berth_client::Result<Value> {
    let mut last = None;
    for k in ["container", "image", "volume"] {
        if kind.is_some_and(|want| want != k) {
            continue;
        }
        let r = match k {
            "container" => c.inspect_container_raw(name),
            "image" => c.inspect_image_raw(name),
            _ => c.inspect_volume_raw(name),
        };
        match r {
            Err(e) if e.is_not_found() => last = Some(e),
            r => return r,
        }
    }
    Err(match (kind, last) {
        (None, _) | (Some(_), None) => berth_client::Error::Api {
            status: 404,
            message: format!("No such object: {name}"),
        },
        (Some(_), Some(e)) => e,
    })
}

pub fn inspect(c: &Client, a: &Inspect) -> Result<()> {
    let mut found = Vec::new();
    let mut failed = false;
    for n in &a.names {
        match lookup(c, a.kind.as_deref(), n) {
            Ok(v) => found.push(v),
            Err(e) => {
                eprintln!(
                    "{}",
                    daemon(e)
                        .to_string()
                        .replace("Error response from daemon: ", "Error: ")
                );
                failed = true;
            }
        }
    }
    print_found(found, a.format.as_deref(), failed)
}

/// Prints what an inspect found, one template per object or Docker's JSON array; fails
/// with exit code 1 when some name was not found (its error is already printed), as
/// `docker inspect` does.
pub(super) fn print_found(found: Vec<Value>, format: Option<&str>, failed: bool) -> Result<()> {
    match format {
        Some(f) => {
            for v in &found {
                println!("{}", gotemplate::render(f, v)?);
            }
        }
        None => println!("{}", pretty(&Value::Array(found))?),
    }
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}

/// JSON indented by four spaces, as docker prints inspect output.
pub fn pretty(v: &Value) -> Result<String> {
    use serde::Serialize;
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(out)?)
}
