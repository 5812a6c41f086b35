//! Who may log in to the demo server: `--user NAME:SECRET` flags and a users file.
//!
//! The file holds one `name = secret` per line; `#` starts a comment line, and the secret
//! may be wrapped in double quotes (so a simple TOML table of strings is read as well).
//! Secrets stay inside [`Secret`], whose `Debug`/`Display` print `***`.

use crate::secret::Secret;
use std::path::Path;

/// The user accepted when none is configured.
pub const DEFAULT_USER: &str = "demo";
pub const DEFAULT_SECRET: &str = "demo";

#[derive(Clone, Debug, Default)]
pub struct Users {
    entries: Vec<(String, Secret)>,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read users file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: expected `name = secret`")]
    Syntax { path: String, line: usize },
    #[error("--user {0:?}: expected NAME:SECRET")]
    Flag(String),
}

impl Users {
    /// Only the default `demo`/`demo` user.
    pub fn default_demo() -> Self {
        let mut users = Users::default();
        users.add(DEFAULT_USER, Secret::new(DEFAULT_SECRET.into()));
        users
    }

    /// Adds (or replaces) a user. Names match case-insensitively, as in Asterisk.
    pub fn add(&mut self, name: &str, secret: Secret) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.entries.push((name.to_string(), secret));
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    /// The secret of `name`, matched case-insensitively.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, s)| s)
    }

    /// Parses one `--user NAME:SECRET` flag value.
    pub fn add_flag(&mut self, flag: &str) -> Result<(), UsersError> {
        match flag.split_once(':') {
            Some((name, secret)) if !name.trim().is_empty() => {
                self.add(name.trim(), Secret::new(secret.to_string()));
                Ok(())
            }
            _ => Err(UsersError::Flag(mask_flag(flag))),
        }
    }

    /// Reads a users file (see the module docs for its format).
    pub fn add_file(&mut self, path: &Path) -> Result<(), UsersError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: shown.clone(),
            source,
        })?;
        self.add_text(&text, &shown)
    }

    fn add_text(&mut self, text: &str, path: &str) -> Result<(), UsersError> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty()
                || line.starts_with('#')
                || (line.starts_with('[') && line.ends_with(']'))
            {
                continue;
            }
            let syntax = || UsersError::Syntax {
                path: path.to_string(),
                line: n + 1,
            };
            let (name, secret) = line.split_once('=').ok_or_else(syntax)?;
            let name = unquote(name.trim());
            let secret = unquote(secret.trim());
            if name.is_empty() {
                return Err(syntax());
            }
            self.add(name, Secret::new(secret.to_string()));
        }
        Ok(())
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// A malformed flag is shown without what might be a secret in it.
fn mask_flag(flag: &str) -> String {
    if flag.contains(':') {
        "<name>:***".into()
    } else {
        flag.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_lines_and_toml_strings_are_both_read() {
        let mut users = Users::default();
        users
            .add_text(
                "# users\n[users]\nalice = wonder\n\"bob\" = \"b=c d\"\n",
                "users.toml",
            )
            .unwrap();
        assert_eq!(users.secret("ALICE").unwrap().expose(), "wonder");
        assert_eq!(users.secret("bob").unwrap().expose(), "b=c d");
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let err = Users::default()
            .add_text("alice = a\nbroken\n", "u")
            .unwrap_err();
        assert_eq!(err.to_string(), "u, line 2: expected `name = secret`");
    }

    #[test]
    fn flags_split_at_the_first_colon_and_never_echo_the_secret() {
        let mut users = Users::default();
        users.add_flag("carol:pa:ss").unwrap();
        assert_eq!(users.secret("carol").unwrap().expose(), "pa:ss");
        let err = users.add_flag(":hunter2").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
