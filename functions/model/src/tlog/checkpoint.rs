//! C2SP `tlog-checkpoint`: the note text a log signs, `<origin>\n<size>\n<base64 root>\n`
//! followed by optional extension lines. The origin is the registry's path (e.g. `001.002`):
//! a valid signed-note key name (no spaces, no `+`), unique in the hierarchy.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::Hash;

use super::TlogError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines, without their newlines; none are written today.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    pub fn text(&self) -> String {
        let mut t = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for e in &self.extensions {
            t.push_str(e);
            t.push('\n');
        }
        t
    }

    pub fn parse(text: &str) -> Result<Checkpoint, TlogError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(TlogError::Checkpoint("no final newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(TlogError::Checkpoint("no origin"))?;
        let size_line = lines.next().ok_or(TlogError::Checkpoint("no size"))?;
        let size: u64 = size_line
            .parse()
            .ok()
            .filter(|s: &u64| s.to_string() == size_line)
            .ok_or(TlogError::Checkpoint("size is not a canonical decimal"))?;
        let root_line = lines.next().ok_or(TlogError::Checkpoint("no root hash"))?;
        let root: Hash = STANDARD
            .decode(root_line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(TlogError::Checkpoint("root hash is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(TlogError::Checkpoint("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}
