//! Small file helpers: private files (mode 0600), PEM blocks.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Writes a file only its owner can read. `create_new` refuses to replace an existing file,
/// which is how keys are protected against being overwritten by a second `create`.
pub(crate) fn write_private(path: &Path, contents: &[u8], create_new: bool) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Replaces `path` atomically, so a crash mid-write never leaves a truncated file behind.
pub(crate) fn replace_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    write_private(&temporary, contents, false)?;
    fs::rename(&temporary, path)
}

/// Creates the directory (owner-only on unix) if it does not exist yet.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

pub(crate) fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    // Base64 output is ASCII, so chunking bytes never splits a character.
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The DER of every `label` block in `pem`, in order; None if a block is broken.
pub(crate) fn pem_decode_all(label: &str, pem: &str) -> Option<Vec<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == begin {
            if current.is_some() {
                return None;
            }
            current = Some(String::new());
        } else if line == end {
            blocks.push(STANDARD.decode(current.take()?).ok()?);
        } else if let Some(body) = current.as_mut() {
            body.push_str(line);
        }
    }
    current.is_none().then_some(blocks)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_several_blocks() {
        let blocks = vec![vec![1u8; 100], vec![0x30, 0x00], vec![0xff; 48]];
        let pem: String = blocks
            .iter()
            .map(|b| pem_encode("CERTIFICATE", b))
            .collect();
        assert!(pem.lines().all(|line| line.len() <= 64));
        assert_eq!(pem_decode_all("CERTIFICATE", &pem).unwrap(), blocks);
        assert_eq!(
            pem_decode_all("CERTIFICATE", "").unwrap(),
            Vec::<Vec<u8>>::new()
        );
        let unterminated = "-----BEGIN CERTIFICATE-----\nMAA=\n";
        assert_eq!(pem_decode_all("CERTIFICATE", unterminated), None);
        let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_decode_all("CERTIFICATE", bad_base64), None);
    }
}
