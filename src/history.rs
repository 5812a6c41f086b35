//! Blocks the user sent, kept across runs so yesterday's `Originate` is one search away.
//!
//! The file lives in the XDG state directory (`$XDG_STATE_HOME/amicon/history`, falling
//! back to the local data directory where there is no state directory, as on macOS),
//! is created with mode 0600, and never holds a secret: `Secret:`/`Password:` values and
//! the MD5 `Key:` of a `Login` are replaced by `***` before anything is written.
//!
//! Format: a first line `# amicon history v1`, then one block per line written as a
//! JSON string (so line breaks, colons and odd bytes inside a block survive). The newest
//! block is last. Lines that do not parse are skipped, never fatal. The file is
//! appended to, and rewritten (through a temporary file and a rename) when it holds
//! twice the entry limit.

use crate::ami::message::is_secret_key;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

const HEADER: &str = "# amicon history v1";
/// Blocks kept; older ones fall off.
pub const DEFAULT_MAX_ENTRIES: usize = 1000;
/// A block larger than this is not kept (it was pasted, not typed).
pub const MAX_BLOCK_BYTES: usize = 16 * 1024;

/// The history of sent blocks, newest last.
#[derive(Debug)]
pub struct History {
    path: Option<PathBuf>,
    entries: VecDeque<String>,
    max_entries: usize,
    /// Lines in the file, to know when to compact it.
    lines_in_file: usize,
}

/// `<state dir>/amicon/history`, or `<local data dir>/amicon/history`.
pub fn default_path() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("amicon").join("history"))
}

/// The block with every secret value replaced by `***`.
pub fn mask_block(block: &str) -> String {
    let is_login = block.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("Action") && v.trim().eq_ignore_ascii_case("Login")
        })
    });
    let mut out = String::with_capacity(block.len());
    for (i, line) in block.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.split_once(':') {
            Some((key, _)) if is_secret_key(key.trim(), is_login) => {
                out.push_str(key);
                out.push_str(": ***");
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Whether one typed line carries a secret (for line-by-line histories).
pub fn line_has_secret(line: &str, block_is_login: bool) -> bool {
    line.split_once(':')
        .is_some_and(|(key, _)| is_secret_key(key.trim(), block_is_login))
}

fn normalize(block: &str) -> String {
    let lines: Vec<&str> = block
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let start = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end].join("\n")
}

impl History {
    /// A history that is not saved anywhere.
    pub fn in_memory() -> Self {
        History {
            path: None,
            entries: VecDeque::new(),
            max_entries: DEFAULT_MAX_ENTRIES,
            lines_in_file: 0,
        }
    }

    /// Loads the history at `path` (a missing file is an empty history; the file and its
    /// directory are created on the first [`History::add`]).
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        Self::open_with_limit(path, DEFAULT_MAX_ENTRIES)
    }

    pub fn open_with_limit(path: impl Into<PathBuf>, max_entries: usize) -> io::Result<Self> {
        let path = path.into();
        let mut history = History {
            path: Some(path.clone()),
            entries: VecDeque::new(),
            max_entries: max_entries.max(1),
            lines_in_file: 0,
        };
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(history),
            Err(e) => return Err(e),
        };
        restrict_permissions(&path)?;
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else { continue };
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            history.lines_in_file += 1;
            if let Ok(block) = serde_json::from_str::<String>(&line) {
                // Masked again on load: a file written by hand or by an old version must
                // not bring a secret back on screen.
                history.remember(mask_block(&block));
            }
        }
        Ok(history)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The blocks, oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.entries.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Blocks containing `text` (case-insensitive), newest first. Empty text matches all.
    pub fn search(&self, text: &str) -> Vec<&str> {
        let needle = text.to_lowercase();
        self.entries
            .iter()
            .rev()
            .filter(|e| e.to_lowercase().contains(&needle))
            .map(String::as_str)
            .collect()
    }

    /// Adds a sent block (masked first) and appends it to the file. Blank blocks and
    /// oversized ones are not kept; a repeat moves the earlier copy to the end.
    pub fn add(&mut self, block: &str) -> io::Result<()> {
        let block = mask_block(&normalize(block));
        if block.is_empty() || block.len() > MAX_BLOCK_BYTES {
            return Ok(());
        }
        if self.entries.back() == Some(&block) {
            return Ok(());
        }
        self.remember(block.clone());
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        if self.lines_in_file + 1 >= self.max_entries * 2 {
            return self.rewrite(&path);
        }
        let fresh = !path.exists();
        let mut file = open_private(&path, false)?;
        if fresh {
            writeln!(file, "{HEADER}")?;
        }
        writeln!(file, "{}", encode(&block))?;
        self.lines_in_file += 1;
        Ok(())
    }

    fn remember(&mut self, block: String) {
        self.entries.retain(|e| *e != block);
        self.entries.push_back(block);
        while self.entries.len() > self.max_entries {
            self.entries.pop_front();
        }
    }

    /// Writes the kept entries to a fresh file and renames it over the old one.
    fn rewrite(&mut self, path: &Path) -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut file = open_private(&tmp, true)?;
            writeln!(file, "{HEADER}")?;
            for e in &self.entries {
                writeln!(file, "{}", encode(e))?;
            }
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        self.lines_in_file = self.entries.len();
        Ok(())
    }
}

fn encode(block: &str) -> String {
    serde_json::to_string(block).unwrap_or_else(|_| "\"\"".into())
}

fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let mut options = OpenOptions::new();
    options.create(true);
    if truncate {
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    restrict_permissions(path)?;
    Ok(file)
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A history file made readable by others (by hand, or an old umask) is put back to 0600.
fn restrict_permissions(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_secret_and_md5_key_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("history");
        let mut h = History::open(&path).unwrap();
        h.add("Action: Login\nUsername: admin\nSecret: amp111\n")
            .unwrap();
        h.add("action: login\nusername: admin\nAuthType: MD5\nkey: 0123456789abcdef\n")
            .unwrap();
        h.add("Action: DBGet\nFamily: f\nKey: visible-key\n")
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("amp111") && !text.contains("0123456789abcdef"),
            "{text}"
        );
        assert!(
            text.contains("visible-key"),
            "a DBGet Key is not a secret: {text}"
        );
        assert!(h.entries().all(|e| !e.contains("amp111")));
        assert!(h.search("login").iter().any(|e| e.contains("Secret: ***")));
    }

    #[cfg(unix)]
    #[test]
    fn history_file_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        History::open(&path).unwrap().add("Action: Ping").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        History::open(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn multi_line_blocks_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        let block = "Action: Originate\nChannel: Local/echo@test\nVariable: A=1,B=\"x: y\"\\n\nCallerID: Zoë <100>";
        History::open(&path)
            .unwrap()
            .add(&format!("\n{block}\n\n"))
            .unwrap();
        let h = History::open(&path).unwrap();
        assert_eq!(h.entries().collect::<Vec<_>>(), vec![block]);
    }

    #[test]
    fn size_is_bounded_and_repeats_move_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        let mut h = History::open_with_limit(&path, 3).unwrap();
        for i in 0..10 {
            h.add(&format!("Action: Ping\nActionID: {i}")).unwrap();
        }
        h.add("Action: Ping\nActionID: 8").unwrap();
        let kept: Vec<_> = h
            .entries()
            .map(|e| e.rsplit(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(kept, vec!["7", "9", "8"]);
        let reloaded = History::open_with_limit(&path, 3).unwrap();
        assert_eq!(
            reloaded.entries().collect::<Vec<_>>(),
            h.entries().collect::<Vec<_>>()
        );
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(lines <= 7, "file is compacted: {lines} lines");
    }

    #[test]
    fn search_is_case_insensitive_and_newest_first() {
        let mut h = History::in_memory();
        h.add("Action: Originate\nChannel: PJSIP/100").unwrap();
        h.add("Action: Hangup\nChannel: PJSIP/100-01").unwrap();
        h.add("Action: Ping").unwrap();
        let found = h.search("pjsip/100");
        assert_eq!(found.len(), 2);
        assert!(found[0].starts_with("Action: Hangup"));
        assert_eq!(h.search("").len(), 3);
    }

    #[test]
    fn garbage_lines_in_the_file_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history");
        std::fs::write(
            &path,
            "# amicon history v1\nnot json\n\"Action: Ping\"\n\"Action: Login\\nSecret: leaked\"\n",
        )
        .unwrap();
        let h = History::open(&path).unwrap();
        assert_eq!(h.len(), 2);
        assert!(h.entries().all(|e| !e.contains("leaked")));
    }
}
