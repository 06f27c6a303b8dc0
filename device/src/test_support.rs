//! A scratch directory per test, removed when dropped.

use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore as _};

pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
        let name = format!(
            "trustreg-device-test-{}-{:016x}",
            std::process::id(),
            OsRng.next_u64()
        );
        TempDir(std::env::temp_dir().join(name))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
