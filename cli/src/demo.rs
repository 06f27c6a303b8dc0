//! Demo material for local runs.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;
use trustreg_device::{DeviceError, ManufacturerCa};

use crate::{CliError, emit};

#[derive(Subcommand)]
pub enum DemoCommand {
    /// Create a demo manufacturer CA (P-256) in a directory; refuses to replace one.
    Ca {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "Demo Devices Manufacturer CA")]
        name: String,
    },
}

pub fn run(command: DemoCommand, json_out: bool) -> Result<(), CliError> {
    match command {
        DemoCommand::Ca { dir, name } => {
            let ca = ManufacturerCa::create(&dir, &name).map_err(DeviceError::from)?;
            let id = trustreg_model::rot::root_id_for(ca.cert_der());
            emit(
                json_out,
                &json!({"dir": dir, "name": ca.name(), "root_id": id}),
                &[format!(
                    "created CA {:?} in {} (root id {id})",
                    ca.name(),
                    dir.display()
                )],
            );
            Ok(())
        }
    }
}
