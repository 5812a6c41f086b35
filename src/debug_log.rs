//! The debug log for bug reports (`--log FILE`, `AMICON_LOG`): what the session did
//! (connect, login, reconnect, actions sent by name, errors), written with `tracing` to a
//! file and never to the terminal the TUI draws on. Off unless asked for: with no
//! subscriber installed, each call below costs one atomic load.
//!
//! Secrets never reach it: sent actions are logged by name and ActionID only (their
//! headers are not written), and the preview of bad bytes from the server by length.

use crate::session::event::{SessionEvent, SessionState};
use std::path::Path;
use std::sync::Mutex;

/// Starts writing the debug log to `path` (appended, so a bug report can span runs).
/// Returns a readable message when the file cannot be opened.
pub fn init(path: &Path) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open the log file {}: {e}", path.display()))?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_max_level(tracing::Level::DEBUG)
        .with_target(true)
        .with_thread_names(true)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| format!("cannot start the log: {e}"))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "amicon started"
    );
    Ok(())
}

/// Logs one entry of the session's stream, the ones that tell its story: state changes,
/// server info, actions sent (by name), failures and protocol errors. Messages received
/// are not logged one by one (a flood would fill the disk); gaps and drops are.
pub fn session_event(event: &SessionEvent) {
    match event {
        SessionEvent::State(state) => match state {
            SessionState::Connecting { attempt } => {
                tracing::info!(target: "amicon::session", attempt, "connecting")
            }
            SessionState::LoggingIn { banner } => {
                tracing::info!(target: "amicon::session", banner = %banner, "logging in")
            }
            SessionState::LoggedIn { user, server, tls } => tracing::info!(
                target: "amicon::session",
                user = %user,
                server = %server,
                tls,
                "logged in"
            ),
            SessionState::Reconnecting {
                delay,
                attempt,
                reason,
            } => tracing::warn!(
                target: "amicon::session",
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason = %reason,
                "connection lost, reconnecting"
            ),
            SessionState::Ended(reason) => tracing::info!(
                target: "amicon::session",
                reason = %reason,
                exit_code = reason.exit_code(),
                "session ended"
            ),
        },
        SessionEvent::ServerInfo(info) => tracing::info!(
            target: "amicon::session",
            banner = %info.banner,
            ami_version = ?info.ami_version,
            asterisk_version = ?info.asterisk_version,
            "server info"
        ),
        SessionEvent::Sent {
            action_id,
            name,
            internal,
            ..
        } => tracing::debug!(
            target: "amicon::session",
            action = %name,
            action_id = %action_id,
            internal,
            "action sent"
        ),
        SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        } => tracing::warn!(
            target: "amicon::session",
            action = %name,
            action_id = %action_id,
            error = %error,
            "action failed"
        ),
        SessionEvent::ProtocolError { what, preview } => tracing::warn!(
            target: "amicon::session",
            what = %what,
            preview_bytes = preview.len(),
            "protocol error"
        ),
        SessionEvent::Gap { reason, .. } => {
            tracing::warn!(target: "amicon::session", reason = %reason, "gap in the event stream")
        }
        SessionEvent::Dropped { count } => {
            tracing::warn!(target: "amicon::session", count, "display fell behind: messages dropped")
        }
        SessionEvent::Received { .. } | SessionEvent::Pong { .. } => {}
    }
}
