//! Who may log in to the demo server and what each may do: `--user NAME:SECRET` flags
//! and a users file give full rights; `--manager-conf` reads Asterisk's own `manager.conf`
//! (see [`super::manager_conf`]) with `read`/`write` classes and `permit`/`deny` lists.
//!
//! The file holds one `name = secret` per line; `#` starts a comment line, and the secret
//! may be wrapped in double quotes (so a simple TOML table of strings is read as well).
//! Secrets stay inside [`Secret`], whose `Debug`/`Display` print `***`.

use super::wire::class;
use crate::secret::Secret;
use std::net::IpAddr;
use std::path::Path;

/// The user accepted when none is configured.
pub const DEFAULT_USER: &str = "demo";
pub const DEFAULT_SECRET: &str = "demo";

/// One manager user: its secret, the classes it may read (events) and write (actions),
/// and the address rules it must pass, as `manager.conf` gives them.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub secret: Secret,
    /// `read =`: event classes this user receives (`readperm`).
    pub read: u32,
    /// `write =`: the classes of actions it may run (`writeperm`).
    pub write: u32,
    pub acl: Acl,
}

/// `permit`/`deny` rules in file order, as `ast_apply_acl()` applies them: every rule
/// that matches the address decides anew, the last one wins; no rule means allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    rules: Vec<(bool, IpAddr, u8)>,
}

impl Acl {
    /// Adds `permit = addr[/mask]` (`permit` true) or `deny = ...`; the mask is a prefix
    /// length or a dotted netmask. Err with the value when it is not an address.
    pub fn push(&mut self, permit: bool, value: &str) -> Result<(), String> {
        let value = value.trim();
        let bad = || value.to_string();
        let (addr, mask) = value.split_once('/').unwrap_or((value, ""));
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let full = if addr.is_ipv4() { 32 } else { 128 };
        let bits = if mask.is_empty() {
            full
        } else if let Ok(n) = mask.trim().parse::<u8>() {
            if n > full {
                return Err(bad());
            }
            n
        } else {
            let m: std::net::Ipv4Addr = mask.trim().parse().map_err(|_| bad())?;
            let m = u32::from(m);
            if m.leading_ones() + m.trailing_zeros() != 32 && m != 0 {
                return Err(bad());
            }
            m.leading_ones() as u8
        };
        self.rules.push((permit, addr, bits));
        Ok(())
    }

    /// Whether a client at `from` passes.
    pub fn allows(&self, from: IpAddr) -> bool {
        let from = match from {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(from, IpAddr::V4),
            v4 => v4,
        };
        let mut allowed = true;
        for (permit, net, bits) in &self.rules {
            let inside = match (from, net) {
                (IpAddr::V4(a), IpAddr::V4(n)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                    u32::from(a) & mask == u32::from(*n) & mask
                }
                (IpAddr::V6(a), IpAddr::V6(n)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                    u128::from(a) & mask == u128::from(*n) & mask
                }
                _ => false,
            };
            if inside {
                allowed = *permit;
            }
        }
        allowed
    }
}

/// `get_perm()`: a comma list of class names (`all` for every class) as a bit mask.
pub fn parse_perm(value: &str) -> u32 {
    value
        .split(',')
        .map(str::trim)
        .filter_map(|word| {
            class::NAMES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))
                .map(|(_, bit)| *bit)
        })
        .fold(0, |mask, bit| mask | bit)
}

#[derive(Clone, Debug, Default)]
pub struct Users {
    entries: Vec<User>,
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
    #[error("{path}, line {line}: {message}")]
    ManagerConf {
        path: String,
        line: usize,
        message: String,
    },
}

impl Users {
    /// Only the default `demo`/`demo` user.
    pub fn default_demo() -> Self {
        let mut users = Users::default();
        users.add(DEFAULT_USER, Secret::new(DEFAULT_SECRET.into()));
        users
    }

    /// Adds (or replaces) a user with every right (`read = all`, `write = all`), from any
    /// address. Names match case-insensitively, as in Asterisk.
    pub fn add(&mut self, name: &str, secret: Secret) {
        self.add_user(User {
            name: name.to_string(),
            secret,
            read: class::ALL,
            write: class::ALL,
            acl: Acl::default(),
        });
    }

    /// Adds (or replaces) a user with the rights given.
    pub fn add_user(&mut self, user: User) {
        self.entries
            .retain(|u| !u.name.eq_ignore_ascii_case(&user.name));
        self.entries.push(user);
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|u| u.name.as_str())
    }

    /// The user called `name`, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&User> {
        self.entries
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }

    /// The secret of `name`, matched case-insensitively.
    pub fn secret(&self, name: &str) -> Option<&Secret> {
        self.get(name).map(|u| &u.secret)
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

    /// Reads the users of an Asterisk `manager.conf`, with their rights and address rules.
    pub fn add_manager_conf(&mut self, path: &Path) -> Result<(), UsersError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: shown.clone(),
            source,
        })?;
        for user in super::manager_conf::parse(&text, &shown)?.entries {
            self.add_user(user);
        }
        Ok(())
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
    fn acl_rules_apply_in_order_and_the_last_match_wins() {
        let mut acl = Acl::default();
        assert!(acl.allows("192.0.2.1".parse().unwrap()), "no rule allows");
        acl.push(false, "0.0.0.0/0.0.0.0").unwrap();
        acl.push(true, "127.0.0.0/255.0.0.0").unwrap();
        assert!(acl.allows("127.0.0.1".parse().unwrap()));
        assert!(acl.allows("::ffff:127.0.0.2".parse().unwrap()));
        assert!(!acl.allows("192.0.2.1".parse().unwrap()));
        acl.push(false, "127.0.0.5").unwrap();
        assert!(!acl.allows("127.0.0.5".parse().unwrap()));
        acl.push(true, "10.0.0.0/8").unwrap();
        assert!(acl.allows("10.1.2.3".parse().unwrap()));
        assert!(acl.push(true, "10.0.0.0/255.0.255.0").is_err());
        assert!(acl.push(true, "nonsense").is_err());
    }

    #[test]
    fn permissions_are_class_lists() {
        assert_eq!(parse_perm("call,reporting"), class::CALL | class::REPORTING);
        assert_eq!(parse_perm("all"), class::ALL);
        assert_eq!(parse_perm(" System , nosuch"), class::SYSTEM);
        assert_eq!(parse_perm(""), 0);
    }

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
