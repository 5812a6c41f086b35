//! Which real Asterisk the real-Asterisk tier talks to, so a test whose expectation
//! depends on the version checks the right thing for each. `tests/harness/asterisk.sh env`
//! exports `AMI_TEST_ASTERISK_VERSION` (22 or 16); a runner that does not set it is
//! talking to the default, 22.
#![allow(dead_code)]

/// The Asterisk major versions the real tier runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealAsterisk {
    /// Asterisk 16.28 (Debian bullseye): AMI 5.0.x, chan_sip beside PJSIP.
    V16,
    /// Asterisk 22 (Debian sid): AMI 11.0.x, PJSIP only.
    V22,
}

impl RealAsterisk {
    /// The version named by `AMI_TEST_ASTERISK_VERSION` (22 when unset).
    pub fn from_env() -> RealAsterisk {
        match std::env::var("AMI_TEST_ASTERISK_VERSION").as_deref() {
            Err(_) | Ok("22") => RealAsterisk::V22,
            Ok("16") => RealAsterisk::V16,
            Ok(other) => panic!(
                "AMI_TEST_ASTERISK_VERSION={other}: the real tier knows 22 and 16 (see tests/harness/asterisk.sh env)"
            ),
        }
    }

    /// The major version, as `core show version` starts it (`Asterisk 16.28.0...`).
    pub fn major(self) -> u32 {
        match self {
            RealAsterisk::V16 => 16,
            RealAsterisk::V22 => 22,
        }
    }

    /// How `core show version` begins on this server.
    pub fn version_prefix(self) -> String {
        format!("Asterisk {}.", self.major())
    }
}
