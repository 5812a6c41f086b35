//! Output formats shared by every front end: raw AMI text, one-line summaries, JSON Lines.
//!
//! It exists so `watch`, line mode and the TUI show a message the same way, and so the
//! choice of what matters in each event class is made once. All of it is display only:
//! message bytes are never changed; text is decoded here, as UTF-8 or with a charset set
//! per profile, and anything that does not decode is shown as `\xNN` (lines) or kept as
//! base64 (JSON), never silently replaced by U+FFFD.
//!
//! Times: JSON carries UTC ISO-8601 with microseconds (`2026-11-28T20:01:02.123456Z`);
//! one-line output shows UTC `HH:MM:SS.mmm` (no time-zone database is consulted).
//!
//! One file per job: [`charset`] decoding, [`summary`] rules, one-[`line`] output, the
//! [`json`] writer and [`timestamp`]s; the public items are re-exported here.

pub mod charset;
pub mod json;
pub mod line;
pub mod summary;
#[cfg(test)]
mod test_support;
pub mod timestamp;

pub use charset::{Charset, CharsetError};
pub use json::json_line;
pub use line::one_line;
pub use summary::{summary, Summary, SummaryField};
pub use timestamp::iso8601;

use crate::ami::Message;

/// A message as its exact AMI wire bytes (terminating blank line and any legacy
/// `Command` body included): lossless.
pub fn raw(msg: &Message) -> &[u8] {
    msg.wire()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_support::*;

    #[test]
    fn raw_is_the_exact_wire_bytes() {
        let bytes =
            std::fs::read("tests/fixtures/vectors/originate-local-call-events.txt").unwrap();
        let messages = capture("originate-local-call-events.txt");
        let joined: Vec<u8> = messages.iter().flat_map(|m| raw(m).to_vec()).collect();
        let banner_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        assert_eq!(joined, bytes[banner_end..]);
    }
}
