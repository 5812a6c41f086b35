//! Typed views over messages: the [`Action`] a client sends (with the limits Asterisk
//! enforces on it), and the secret masking every front end relies on.

use super::frame::Message;
use std::fmt;

/// Asterisk's input buffer holds 1024 bytes per line, CRLF included (`get_input()`).
pub const MAX_LINE: usize = 1024;
/// `AST_MAX_MANHEADERS`: more lines than this and the action is refused.
pub const MAX_HEADERS: usize = 128;
/// Handlers copy `ActionID: %s\r\n` into 150-byte buffers (`CoreSettings`); longer IDs
/// get cut and lose their CRLF (vector `actionid-long-truncated`).
pub const MAX_ACTION_ID: usize = 100;

/// An action to send: ordered headers, `Action` first. Values are bytes so a user can
/// send exactly what they mean (a Latin-1 caller name, say).
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    headers: Vec<(String, Vec<u8>)>,
}

/// Why an action cannot be sent. Each names the header at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("the block has no `Action:` header")]
    MissingAction,
    #[error("empty header name")]
    EmptyKey,
    #[error("header name {0:?} contains a space, colon or control character (Asterisk would not see it)")]
    InvalidKey(String),
    #[error("value of {0} contains a line break; AMI cannot carry CR or LF inside a value")]
    LineBreakInValue(String),
    #[error("line {key}: is {len} bytes; Asterisk drops lines over {MAX_LINE} bytes")]
    LineTooLong { key: String, len: usize },
    #[error("{0} header lines; Asterisk refuses more than {MAX_HEADERS}")]
    TooManyHeaders(usize),
    #[error("ActionID is {0} bytes; keep it under {MAX_ACTION_ID} (Asterisk cuts long ones)")]
    ActionIdTooLong(usize),
    #[error("write failed: {0}")]
    Io(String),
}

impl From<std::io::Error> for EncodeError {
    fn from(e: std::io::Error) -> Self {
        EncodeError::Io(e.to_string())
    }
}

impl Action {
    /// A new action named `name` (`Action: name`).
    pub fn new(name: &str) -> Self {
        Action {
            headers: vec![("Action".to_string(), name.as_bytes().to_vec())],
        }
    }

    /// An action from headers in order; the caller is responsible for `Action` being
    /// among them ([`Action::validate`] checks).
    pub fn from_headers(headers: Vec<(String, Vec<u8>)>) -> Self {
        Action { headers }
    }

    /// Parses a typed block of `Key: Value` lines (the composer, `send` on stdin).
    /// Blank lines are ignored; a line without a colon is an error naming the line.
    pub fn parse_block(text: &str) -> Result<Action, String> {
        let mut headers = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!("line {}: `{line}` is not `Key: Value`", n + 1));
            };
            let value = value.strip_prefix(' ').unwrap_or(value);
            headers.push((key.to_string(), value.as_bytes().to_vec()));
        }
        if headers.is_empty() {
            return Err("empty block".into());
        }
        Ok(Action { headers })
    }

    /// Adds a header (repeats allowed, order kept).
    pub fn with(mut self, key: &str, value: impl AsRef<[u8]>) -> Self {
        self.push(key, value);
        self
    }

    pub fn push(&mut self, key: &str, value: impl AsRef<[u8]>) {
        self.headers
            .push((key.to_string(), value.as_ref().to_vec()));
    }

    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }

    /// The action name: the first non-empty `Action` value, as Asterisk picks it.
    pub fn name(&self) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case("Action") && !v.trim_ascii().is_empty())
            .map(|(_, v)| String::from_utf8_lossy(v.trim_ascii()).into_owned())
    }

    pub fn action_id(&self) -> Option<&[u8]> {
        self.get("ActionID")
    }

    /// Sets the ActionID unless the caller gave one (theirs is kept). Returns the one in use.
    pub fn ensure_action_id(&mut self, make: impl FnOnce() -> String) -> Vec<u8> {
        if let Some(id) = self.action_id() {
            return id.to_vec();
        }
        let id = make();
        // Right after `Action`, where a reader of the log expects it.
        let at = self
            .headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case("Action"))
            .map_or(0, |i| i + 1);
        self.headers
            .insert(at, ("ActionID".to_string(), id.clone().into_bytes()));
        id.into_bytes()
    }

    /// Checks every limit Asterisk enforces, so nothing it would reject leaves the client.
    pub fn validate(&self) -> Result<(), EncodeError> {
        if self.name().is_none() {
            return Err(EncodeError::MissingAction);
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(EncodeError::TooManyHeaders(self.headers.len()));
        }
        for (key, value) in &self.headers {
            if key.is_empty() {
                return Err(EncodeError::EmptyKey);
            }
            if key
                .bytes()
                .any(|b| b == b':' || b.is_ascii_whitespace() || b.is_ascii_control())
            {
                return Err(EncodeError::InvalidKey(key.clone()));
            }
            if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(EncodeError::LineBreakInValue(key.clone()));
            }
            let len = key.len() + 2 + value.len() + 2;
            if len > MAX_LINE {
                return Err(EncodeError::LineTooLong {
                    key: key.clone(),
                    len,
                });
            }
        }
        if let Some(id) = self.action_id() {
            if id.len() > MAX_ACTION_ID {
                return Err(EncodeError::ActionIdTooLong(id.len()));
            }
        }
        Ok(())
    }

    pub(crate) fn encoded_len(&self) -> usize {
        self.headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>()
            + 2
    }

    /// The action as a message for the log, recordings and JSON, with every secret
    /// replaced by `***`. This is the only form of an action that leaves the session.
    pub fn to_masked_message(&self) -> Message {
        let is_login = self.is_login();
        let masked: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if is_secret_key(k, is_login) {
                    (k.as_str(), &b"***"[..])
                } else {
                    (k.as_str(), v.as_slice())
                }
            })
            .collect();
        Message::from_headers(&masked)
    }

    fn is_login(&self) -> bool {
        self.name().is_some_and(|n| n.eq_ignore_ascii_case("Login"))
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_masked_message(), f)
    }
}

/// Whether a header carries a secret that must never be shown, logged or stored.
/// `Key` is the MD5 digest of a challenge login; elsewhere (`DBGet`) it is a plain key.
pub fn is_secret_key(key: &str, is_login: bool) -> bool {
    key.eq_ignore_ascii_case("Secret")
        || key.eq_ignore_ascii_case("Password")
        || (is_login && key.eq_ignore_ascii_case("Key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_action_id_is_kept() {
        let mut a = Action::new("Ping").with("ActionID", "mine");
        assert_eq!(a.ensure_action_id(|| "auto-1".into()), b"mine");
        let mut b = Action::new("Ping");
        assert_eq!(b.ensure_action_id(|| "auto-1".into()), b"auto-1");
        assert_eq!(b.headers().nth(1).unwrap().0, "ActionID");
    }

    #[test]
    fn limits_are_checked_before_sending() {
        assert_eq!(
            Action::from_headers(vec![]).validate(),
            Err(EncodeError::MissingAction)
        );
        let spaced = Action::new("Ping").with("Bad Key", "x");
        assert!(matches!(spaced.validate(), Err(EncodeError::InvalidKey(_))));
        let long = Action::new("Ping").with("X-Pad", "x".repeat(1100));
        assert!(matches!(
            long.validate(),
            Err(EncodeError::LineTooLong { .. })
        ));
        let mut many = Action::new("Ping");
        for i in 0..MAX_HEADERS {
            many.push(&format!("H{i}"), "v");
        }
        assert!(matches!(
            many.validate(),
            Err(EncodeError::TooManyHeaders(_))
        ));
    }

    #[test]
    fn masked_message_hides_login_secrets() {
        let a = Action::new("Login")
            .with("Username", "admin")
            .with("Secret", "amp111")
            .with("Key", "abc");
        let wire = a.to_masked_message().wire().clone();
        let text = String::from_utf8_lossy(&wire);
        assert!(!text.contains("amp111") && !text.contains("abc"), "{text}");
        let db = Action::new("DBGet").with("Family", "f").with("Key", "k");
        assert!(String::from_utf8_lossy(db.to_masked_message().wire()).contains("Key: k"));
    }

    #[test]
    fn parse_block_reads_typed_lines() {
        let a = Action::parse_block(
            "Action: Originate\nChannel: Local/echo@test\nVariable: A=1\nVariable: B=2\n",
        )
        .unwrap();
        assert_eq!(a.name().as_deref(), Some("Originate"));
        assert_eq!(a.headers().filter(|(k, _)| *k == "Variable").count(), 2);
        assert!(Action::parse_block("nonsense").is_err());
    }
}
