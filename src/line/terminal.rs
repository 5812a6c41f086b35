//! Leaving the terminal usable when line mode is killed. rustyline keeps the terminal
//! raw (no echo, no line editing) while it waits for a line, and it runs on a thread
//! that cannot be interrupted; a `kill` (SIGTERM) or a closed terminal (SIGHUP) would
//! otherwise leave the shell behind it without echo. The mode seen before the editor
//! started is put back before exiting.

/// The terminal mode before the editor started.
pub(super) struct SavedTerminal {
    #[cfg(unix)]
    termios: Option<nix::sys::termios::Termios>,
}

impl SavedTerminal {
    pub(super) fn capture() -> Self {
        SavedTerminal {
            #[cfg(unix)]
            termios: nix::sys::termios::tcgetattr(std::io::stdin()).ok(),
        }
    }

    /// Puts the saved mode back, turns bracketed paste off again and ends the line.
    pub(super) fn restore(&self) {
        #[cfg(unix)]
        if let Some(termios) = &self.termios {
            use nix::sys::termios::{tcsetattr, SetArg};
            let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, termios);
        }
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(b"\x1b[?2004l\r\n");
        let _ = out.flush();
    }
}

/// Resolves when SIGTERM or SIGHUP arrives, with the conventional exit code (128 + the
/// signal number). Never resolves where signals cannot be watched.
pub(super) async fn termination() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            return tokio::select! {
                _ = term.recv() => 128 + 15,
                _ = hup.recv() => 128 + 1,
            };
        }
    }
    std::future::pending().await
}
