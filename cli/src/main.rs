//! `trustreg`: device simulation and operators' tasks against a registry.

mod admin;
mod audit;
mod bulk;
mod demo;
mod device;
mod enquirer;
mod registry_client;
mod retry_args;
mod status;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "trustreg",
    version,
    about = "Trust registry for connected devices (ITU-T Y.3059)"
)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A simulated device: its secure element, registration and acknowledgement (9.2 ii).
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Demo material for local runs (a manufacturer CA).
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Bulk registration files: make them, register them.
    #[command(subcommand)]
    Bulk(bulk::BulkCommand),
    /// Operator tasks on a deployed registry stack.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Enquirers: sign up, log in, look devices up and search them (9.3).
    #[command(subcommand)]
    Enquirer(enquirer::EnquirerCommand),
    /// The audit log: verify it (7 i c).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Status lists: check devices offline against a registry's signed list (7 iv d).
    #[command(subcommand)]
    Status(status::StatusCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Device(#[from] trustreg_device::DeviceError),
    #[error(transparent)]
    Registry(#[from] trustreg_model::error::RegistryError),
    #[error(transparent)]
    StatusList(#[from] trustreg_model::status_list::StatusListError),
    #[error("{0}")]
    Usage(String),
    /// The audit log failed verification; the findings were printed.
    #[error("{0}")]
    Verification(String),
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Device(c) => device::run(c, cli.json).await,
        Command::Demo(c) => demo::run(c, cli.json),
        Command::Admin(c) => admin::run(c, cli.json).await,
        Command::Bulk(c) => bulk::run(c, cli.json).await,
        Command::Enquirer(c) => enquirer::run(c, cli.json).await,
        Command::Audit(c) => audit::run(c, cli.json).await,
        Command::Status(c) => status::run(c, cli.json).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Prints `value` as JSON, or the text lines.
pub fn emit(json: bool, value: &serde_json::Value, lines: &[String]) {
    if json {
        println!("{value}");
    } else {
        for line in lines {
            println!("{line}");
        }
    }
}
