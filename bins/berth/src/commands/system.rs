//! `info` and `version` over the API, in docker's layout (the client part is berth's own).

use anyhow::Result;
use berth_client::Client;
use clap::Args;

use super::daemon;
use crate::gotemplate;

#[derive(Debug, Args)]
pub struct FormatArg {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn info(c: &Client, a: &FormatArg) -> Result<()> {
    let v = c.info_raw().map_err(daemon)?;
    if let Some(f) = &a.format {
        println!("{}", gotemplate::render(f, &v)?);
        return Ok(());
    }
    let s = |k: &str| gotemplate::show(v.get(k));
    println!(
        "Client:\n Version:    {}\n Context:    default\n",
        env!("CARGO_PKG_VERSION")
    );
    println!("Server:");
    println!(" Containers: {}", s("Containers"));
    println!("  Running: {}", s("ContainersRunning"));
    println!("  Paused: {}", s("ContainersPaused"));
    println!("  Stopped: {}", s("ContainersStopped"));
    println!(" Images: {}", s("Images"));
    println!(" Server Version: {}", s("ServerVersion"));
    println!(" Storage Driver: {}", s("Driver"));
    println!(" Cgroup Driver: {}", s("CgroupDriver"));
    println!(" Cgroup Version: {}", s("CgroupVersion"));
    println!(" Kernel Version: {}", s("KernelVersion"));
    println!(" Operating System: {}", s("OperatingSystem"));
    println!(" OSType: {}", s("OSType"));
    println!(" Architecture: {}", s("Architecture"));
    println!(" CPUs: {}", s("NCPU"));
    println!(
        " Total Memory: {}",
        crate::format::human_size(v["MemTotal"].as_u64().unwrap_or(0))
    );
    println!(" Name: {}", s("Name"));
    println!(" ID: {}", s("ID"));
    println!(" Docker Root Dir: {}", s("DockerRootDir"));
    for w in v["Warnings"].as_array().into_iter().flatten() {
        eprintln!("{}", w.as_str().unwrap_or_default());
    }
    Ok(())
}

pub fn version(c: &Client, a: &FormatArg) -> Result<()> {
    let client = serde_json::json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": berth_api_types::API_VERSION,
        "Os": std::env::consts::OS,
        "Arch": std::env::consts::ARCH,
    });
    let server = c.version().map_err(daemon);
    if let Some(f) = &a.format {
        let mut v = serde_json::json!({ "Client": client });
        if let Ok(s) = &server {
            v["Server"] = serde_json::to_value(s)?;
        }
        println!("{}", gotemplate::render(f, &v)?);
        return server.map(drop);
    }
    println!("Client:");
    println!(" Version:           {}", env!("CARGO_PKG_VERSION"));
    println!(" API version:       {}", berth_api_types::API_VERSION);
    println!(
        " OS/Arch:           {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let s = server?;
    println!("\nServer: berth");
    println!(" Engine:");
    println!("  Version:          {}", s.version);
    println!(
        "  API version:      {} (minimum version {})",
        s.api_version, s.min_api_version
    );
    println!("  OS/Arch:          {}/{}", s.os, s.arch);
    println!("  Kernel Version:   {}", s.kernel_version);
    Ok(())
}
