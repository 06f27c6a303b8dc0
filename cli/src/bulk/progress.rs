//! The progress file of a bulk registration: the chunks the registry answered and what it
//! answered for each, rewritten after every chunk, so a run that stops (the registry gave no
//! answer in time, the operator pressed Ctrl-C, the machine went down) resumes where it was
//! with `--resume` instead of sending the whole file again.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CliError;

const VERSION: u32 = 1;

/// One answered chunk: its lines (1-based, inclusive) and the registry's counts for them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkDone {
    pub index: usize,
    pub first_line: usize,
    pub last_line: usize,
    pub created: u64,
    pub existing: u64,
    pub failed: u64,
    /// `{line, problem}` for each line the registry refused.
    pub failures: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    /// The bulk file as given, and the digest of its bytes: a resume of an edited file would
    /// skip lines that were never sent.
    pub file: PathBuf,
    pub sha256: String,
    pub lines: usize,
    pub chunk: usize,
    pub done: Vec<ChunkDone>,
}

impl Progress {
    pub fn new(file: &Path, bytes: &[u8], lines: usize, chunk: usize) -> Self {
        Progress {
            version: VERSION,
            file: file.to_owned(),
            sha256: digest(bytes),
            lines,
            chunk,
            done: Vec::new(),
        }
    }

    /// The progress of an earlier run of this same file, checked against it.
    pub fn resume(
        path: &Path,
        bytes: &[u8],
        lines: usize,
        chunk: Option<usize>,
    ) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::File {
            path: path.display().to_string(),
            source,
        })?;
        let progress: Progress = serde_json::from_str(&text).map_err(|e| {
            CliError::Usage(format!("{}: not a progress file: {e}", path.display()))
        })?;
        if progress.version != VERSION {
            return Err(CliError::Usage(format!(
                "{}: progress file version {} (this trustreg writes {VERSION})",
                path.display(),
                progress.version
            )));
        }
        if progress.sha256 != digest(bytes) || progress.lines != lines {
            return Err(CliError::Usage(format!(
                "{}: the bulk file changed since that run; send it without --resume",
                path.display()
            )));
        }
        if chunk.is_some_and(|c| c != progress.chunk) {
            return Err(CliError::Usage(format!(
                "--chunk differs from the resumed run's ({}): leave it out",
                progress.chunk
            )));
        }
        Ok(progress)
    }

    pub fn is_done(&self, index: usize) -> bool {
        self.done.iter().any(|c| c.index == index)
    }

    /// Writes the progress atomically: to a temporary file beside it, flushed to disk, then
    /// renamed over the old one, so a run killed while writing leaves the previous progress
    /// whole rather than a torn file.
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let file_error = |source| CliError::File {
            path: path.display().to_string(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_vec_pretty(self).map_err(|e| CliError::Usage(e.to_string()))?;
        let mut file = std::fs::File::create(&tmp).map_err(file_error)?;
        file.write_all(&text).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        std::fs::rename(&tmp, path).map_err(file_error)
    }
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("trustreg-progress-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        dir.join("devices.ndjson.progress")
    }

    #[test]
    fn progress_is_read_back_and_refused_for_another_file_or_chunk() {
        let path = scratch("roundtrip");
        let mut progress = Progress::new(Path::new("devices.ndjson"), b"a\nb\n", 2, 1);
        progress.done.push(ChunkDone {
            index: 0,
            first_line: 1,
            last_line: 1,
            created: 1,
            existing: 0,
            failed: 0,
            failures: vec![],
        });
        assert!(progress.save(&path).is_ok());
        let back = Progress::resume(&path, b"a\nb\n", 2, None);
        assert!(back.as_ref().is_ok_and(|p| p.is_done(0) && !p.is_done(1)));
        assert!(Progress::resume(&path, b"a\nc\n", 2, None).is_err());
        assert!(Progress::resume(&path, b"a\nb\n", 2, Some(2)).is_err());
        assert!(Progress::resume(&path, b"a\nb\n", 2, Some(1)).is_ok());
    }
}
