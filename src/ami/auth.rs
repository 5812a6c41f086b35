//! Login: plain `Secret`, or the MD5 challenge (`Challenge` then `Key`), PROTOCOL §8.

use super::message::Action;
use crate::secret::Secret;
use md5::{Digest, Md5};

/// How to prove who we are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// `Challenge` then `Key: md5(challenge + secret)`: the secret never crosses the wire.
    #[default]
    Md5,
    /// `Secret:` in clear (use TLS).
    Plain,
}

/// The `Challenge` action that starts an MD5 login.
pub fn challenge_action() -> Action {
    Action::new("Challenge").with("AuthType", "MD5")
}

/// The `Key` for an MD5 login: lowercase hex of MD5(challenge ‖ secret). Asterisk
/// compares it exactly, so uppercase hex fails (vector `challenge-md5-uppercase-key`).
pub fn md5_key(challenge: &[u8], secret: &Secret) -> String {
    let mut hasher = Md5::new();
    hasher.update(challenge);
    hasher.update(secret.expose().as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Login` action. `events` is the initial event mask (`on`, `off`, `call,user`...).
pub fn login_action(
    user: &str,
    secret: &Secret,
    method: AuthMethod,
    challenge: Option<&[u8]>,
    events: &str,
) -> Action {
    let mut a = Action::new("Login");
    match (method, challenge) {
        (AuthMethod::Md5, Some(challenge)) => {
            a.push("AuthType", "MD5");
            a.push("Username", user);
            a.push("Key", md5_key(challenge, secret));
        }
        _ => {
            a.push("Username", user);
            a.push("Secret", secret.expose());
        }
    }
    if !events.is_empty() {
        a.push("Events", events);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_key_matches_the_captured_login() {
        // vector challenge-md5-login: md5("120484237amp111")
        let key = md5_key(b"120484237", &Secret::new("amp111".into()));
        assert_eq!(key, "52e0f6765b7dacc80c05a016ce990aec");
    }
}
