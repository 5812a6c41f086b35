//! The scriptable modes, `send`, `watch` and `show`: one session each, output on stdout,
//! diagnostics on stderr, and the documented exit codes.

pub mod send;
pub mod show;
pub mod watch;

use crate::cli::ConnectArgs;
use crate::config::{self, Resolved};
use crate::session::{EndReason, EventStream, SessionEvent, SessionState, Stamped};
use std::io::Write;

/// Every action succeeded / the watch reached its end.
pub const EXIT_OK: i32 = 0;
/// An action answered `Response: Error`.
pub const EXIT_ACTION_ERROR: i32 = 1;
/// Bad flags, target, filter, config file or missing secret.
pub const EXIT_USAGE: i32 = 2;
/// Could not connect (or lost the connection).
pub const EXIT_CANNOT_CONNECT: i32 = 3;
/// Login refused.
pub const EXIT_AUTH_FAILED: i32 = 4;
/// No answer in time.
pub const EXIT_TIMEOUT: i32 = 5;

/// Prints a diagnostic on stderr. A closed stderr is ignored: there is nobody to tell.
pub(crate) fn warn(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "amicon: {text}");
}

/// Resolves the connection options and prints the warnings that come with them.
/// On error the message is printed and the exit code returned.
pub(crate) fn resolve(args: &ConnectArgs) -> Result<Resolved, i32> {
    match config::resolve(args) {
        Ok(resolved) => {
            for warning in &resolved.warnings {
                let _ = writeln!(std::io::stderr().lock(), "{warning}");
            }
            Ok(resolved)
        }
        Err(e) => {
            warn(&e);
            Err(e.exit_code())
        }
    }
}

/// Waits until the session has logged in. On the way, everything the stream carries is
/// discarded; if the session ends first, its reason is returned.
pub(crate) async fn wait_for_login(stream: &mut EventStream) -> Result<(), EndReason> {
    let mut batch = Vec::new();
    loop {
        if !stream.recv_batch(&mut batch).await {
            return Err(EndReason::ConnectionLost(
                "the session ended before logging in".into(),
            ));
        }
        for Stamped { event, .. } in batch.drain(..) {
            match event {
                SessionEvent::State(SessionState::LoggedIn { .. }) => return Ok(()),
                SessionEvent::State(SessionState::Ended(reason)) => return Err(reason),
                _ => {}
            }
        }
    }
}

/// Whether a write failed because the reader went away (`| head`): the end of output,
/// not an error.
pub(crate) fn is_closed_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}
