//! `berth-runtime`: runc's command line over the berth-runtime library.
//!
//! Speaking runc's flags and output lets containerd (`ctr run --runc-binary`), dockerd
//! (`--add-runtime`) and podman (`--runtime`) drive berth without knowing it. Each subcommand
//! is one file in `commands/`; this file only parses flags and reports errors the way runc does
//! (stderr, and a JSON line in `--log` when `--log-format json`, which containerd reads back).

mod cli;
mod commands;
mod log;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let logger = log::Logger::new(cli.log.clone(), cli.log_format.clone());
    match commands::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            logger.error(&format!("{e:#}"));
            std::process::exit(1);
        }
    }
}
