//! `amicon watch`: stream the events that match a filter to stdout, as raw AMI text
//! (the exact bytes, lossless), one-line summaries or JSON Lines, until `--count`,
//! `--for`, a closed stdout, or (with `--no-reconnect`) a lost connection.
//!
//! Speed matters here (a busy PBX sends tens of thousands of events a second): the
//! session's queue is drained a batch at a time into one reused `Vec`, output goes
//! through a large `BufWriter` over a locked stdout and is flushed once per batch, and
//! the raw path writes each message's wire bytes without allocating.

use super::{is_closed_pipe, warn, EXIT_CANNOT_CONNECT, EXIT_OK, EXIT_USAGE};
use crate::ami::{Kind, Message};
use crate::cli::{WatchArgs, WatchFormat};
use crate::config::FilterSetting;
use crate::filter::Filter;
use crate::format::{self, Charset};
use crate::session::{self, EndReason, SessionEvent, SessionState, Stamped};
use std::io::{BufWriter, Write};
use std::time::Duration;

const OUTPUT_BUFFER: usize = 1 << 20;
const LOGOFF_GRACE: Duration = Duration::from_secs(2);

/// What printing one batch led to.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    Going,
    /// `--count` reached, or stdout closed: stop with exit 0.
    Done,
    /// The session ended for good.
    Ended(EndReason),
}

/// Prints events and reports the connection's life on stderr.
struct Printer<W: Write> {
    out: W,
    format: WatchFormat,
    filter: Option<Filter>,
    charset: Charset,
    remaining: Option<u64>,
    logged_in_before: bool,
}

impl<W: Write> Printer<W> {
    /// Prints one batch and flushes once. Stops early at `--count`.
    fn print_batch(&mut self, batch: &mut Vec<Stamped>) -> std::io::Result<Progress> {
        let mut progress = Progress::Going;
        for stamped in batch.iter() {
            progress = self.print(stamped)?;
            if progress != Progress::Going {
                break;
            }
        }
        batch.clear();
        self.out.flush()?;
        Ok(progress)
    }

    fn print(&mut self, stamped: &Stamped) -> std::io::Result<Progress> {
        match &stamped.event {
            SessionEvent::Received {
                message,
                internal: false,
                ..
            } if message.kind() == Kind::Event => {
                if self.filter.as_ref().is_some_and(|f| !f.matches(message)) {
                    return Ok(Progress::Going);
                }
                self.write_event(stamped, message)?;
                if let Some(remaining) = &mut self.remaining {
                    *remaining = remaining.saturating_sub(1);
                    if *remaining == 0 {
                        return Ok(Progress::Done);
                    }
                }
            }
            SessionEvent::State(SessionState::LoggedIn { user, server, .. }) => {
                if self.logged_in_before {
                    warn(format!("reconnected to {server} as {user}"));
                }
                self.logged_in_before = true;
            }
            SessionEvent::State(SessionState::Reconnecting {
                delay,
                attempt,
                reason,
            }) => {
                warn(format!(
                    "{reason}; reconnecting in {} (attempt {attempt})",
                    humantime::format_duration(round_to_millis(*delay))
                ));
            }
            SessionEvent::State(SessionState::Ended(reason)) => {
                return Ok(Progress::Ended(reason.clone()))
            }
            SessionEvent::Gap { from, to, reason } => {
                warn(format!(
                    "--- gap: events from {} to {} are missing ({reason}) ---",
                    humantime::format_rfc3339_millis(*from),
                    humantime::format_rfc3339_millis(*to)
                ));
            }
            SessionEvent::Dropped { count } => {
                warn(format!(
                    "--- {count} messages dropped: output could not keep up ---"
                ));
            }
            SessionEvent::ProtocolError { what, .. } => {
                warn(format!("protocol error (skipped): {what}"))
            }
            _ => {}
        }
        Ok(Progress::Going)
    }

    fn write_event(&mut self, stamped: &Stamped, message: &Message) -> std::io::Result<()> {
        match self.format {
            WatchFormat::Raw => self.out.write_all(message.wire()),
            WatchFormat::Line => writeln!(self.out, "{}", format::one_line(stamped, self.charset)),
            WatchFormat::Json => writeln!(self.out, "{}", format::json_line(stamped, self.charset)),
        }
    }
}

/// Compiles a filter; `None` when it has no terms. A bad one is printed with a caret
/// under the bad part and gives the usage exit code.
pub(crate) fn compile(setting: FilterSetting) -> Result<Option<Filter>, i32> {
    let compiled = match &setting {
        FilterSetting::Terms(terms) => Filter::from_terms(terms),
        FilterSetting::Line(line) => Filter::parse(line),
    };
    match compiled {
        Ok(filter) if filter.is_empty() => Ok(None),
        Ok(filter) => Ok(Some(filter)),
        Err(e) => {
            let from = match setting {
                FilterSetting::Terms(_) => "bad filter",
                FilterSetting::Line(_) => "bad filter in the profile",
            };
            warn(format!("{from}:\n{}", e.render()));
            Err(EXIT_USAGE)
        }
    }
}

pub(crate) fn round_to_millis(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().min(u64::MAX as u128) as u64)
}

/// Runs `amicon watch`; returns the exit code.
pub async fn run(args: WatchArgs) -> i32 {
    // A bad filter is reported before anything else (before a secret prompt, say).
    let cli_filter = match compile(FilterSetting::Terms(args.filter.clone())) {
        Ok(filter) => filter,
        Err(code) => return code,
    };
    match super::fleet::split_targets(args.connect.target.as_deref()) {
        Err(e) => {
            warn(e);
            return EXIT_USAGE;
        }
        Ok(Some(targets)) => return super::fleet::watch(args, cli_filter, targets).await,
        Ok(None) => {}
    }
    let resolved = match super::resolve(&args.connect) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    // Terms on the command line replace the profile's default filter.
    let filter = match (cli_filter, resolved.filter.clone()) {
        (Some(filter), _) => Some(filter),
        (None, Some(setting)) => match compile(setting) {
            Ok(filter) => filter,
            Err(code) => return code,
        },
        (None, None) => None,
    };
    if args.count == Some(0) {
        return EXIT_OK;
    }
    let mut config = resolved.session;
    config.retry_first_connect = false;

    let mut recorder = match &args.record {
        None => None,
        Some(path) => match crate::record::Recorder::create(path) {
            Ok(recorder) => Some(recorder),
            Err(e) => {
                warn(format!(
                    "cannot create the recording {}: {e}",
                    path.display()
                ));
                return super::EXIT_USAGE;
            }
        },
    };
    let (handle, mut stream) = session::spawn(config);
    let stdout = std::io::stdout();
    let mut printer = Printer {
        out: BufWriter::with_capacity(OUTPUT_BUFFER, stdout.lock()),
        format: args.output_format(),
        filter,
        charset: resolved.charset,
        remaining: args.count,
        logged_in_before: false,
    };
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let mut batch: Vec<Stamped> = Vec::with_capacity(4096);
    let code = loop {
        let open = match deadline {
            // recv_batch is cancel-safe: what it has not moved stays queued.
            Some(deadline) => tokio::select! {
                open = stream.recv_batch(&mut batch) => open,
                () = tokio::time::sleep_until(deadline) => break EXIT_OK,
            },
            None => stream.recv_batch(&mut batch).await,
        };
        if let Some(rec) = recorder.as_mut() {
            let written = batch.iter().try_for_each(|entry| rec.write(entry));
            if let Err(e) = written.and_then(|()| rec.flush()) {
                warn(format!("recording stopped: {e}"));
                recorder = None;
            }
        }
        match printer.print_batch(&mut batch) {
            Ok(Progress::Going) if open => {}
            Ok(Progress::Going) => {
                warn("the session ended");
                break EXIT_CANNOT_CONNECT;
            }
            Ok(Progress::Done) => break EXIT_OK,
            Ok(Progress::Ended(reason)) => {
                if reason != EndReason::LoggedOff {
                    warn(&reason);
                }
                break reason.exit_code();
            }
            Err(e) if is_closed_pipe(&e) => break EXIT_OK,
            Err(e) => {
                warn(format!("cannot write to stdout: {e}"));
                break EXIT_CANNOT_CONNECT;
            }
        }
    };
    drop(printer);
    let _ = tokio::time::timeout(LOGOFF_GRACE, handle.logoff()).await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Link;
    use std::time::SystemTime;

    fn event(name: &str, extra: &[(&str, &str)]) -> Stamped {
        let mut headers = vec![("Event", name)];
        headers.extend_from_slice(extra);
        Stamped {
            at: SystemTime::UNIX_EPOCH,
            event: SessionEvent::Received {
                message: Message::from_headers(&headers),
                link: Link::Unsolicited,
                internal: false,
            },
        }
    }

    fn printer(filter: Option<Filter>, count: Option<u64>) -> Printer<Vec<u8>> {
        Printer {
            out: Vec::new(),
            format: WatchFormat::Raw,
            filter,
            charset: Charset::UTF8,
            remaining: count,
            logged_in_before: false,
        }
    }

    #[test]
    fn raw_output_is_the_exact_wire_bytes_of_each_event() {
        let mut p = printer(None, None);
        let mut batch = vec![
            event("Newchannel", &[("Channel", "PJSIP/100-1")]),
            event("Hangup", &[]),
        ];
        assert_eq!(p.print_batch(&mut batch).unwrap(), Progress::Going);
        assert_eq!(
            String::from_utf8(p.out).unwrap(),
            "Event: Newchannel\r\nChannel: PJSIP/100-1\r\n\r\nEvent: Hangup\r\n\r\n"
        );
        assert!(batch.is_empty());
    }

    #[test]
    fn responses_and_internal_traffic_are_not_printed() {
        let mut p = printer(None, None);
        let response = Message::from_headers(&[("Response", "Success"), ("Ping", "Pong")]);
        let internal = Message::from_headers(&[("Event", "CoreSettings")]);
        let mut batch = vec![
            Stamped {
                at: SystemTime::UNIX_EPOCH,
                event: SessionEvent::Received {
                    message: response,
                    link: Link::UnknownResponse,
                    internal: false,
                },
            },
            Stamped {
                at: SystemTime::UNIX_EPOCH,
                event: SessionEvent::Received {
                    message: internal,
                    link: Link::Unsolicited,
                    internal: true,
                },
            },
        ];
        p.print_batch(&mut batch).unwrap();
        assert!(p.out.is_empty());
    }

    #[test]
    fn count_stops_after_exactly_n_events() {
        let mut p = printer(None, Some(2));
        let mut batch = vec![event("A", &[]), event("B", &[]), event("C", &[])];
        assert_eq!(p.print_batch(&mut batch).unwrap(), Progress::Done);
        assert_eq!(
            String::from_utf8(p.out).unwrap(),
            "Event: A\r\n\r\nEvent: B\r\n\r\n"
        );
    }

    #[test]
    fn the_end_of_the_session_is_reported_with_its_reason() {
        let mut p = printer(None, None);
        let lost = EndReason::ConnectionLost("reset".into());
        let mut batch = vec![
            event("A", &[]),
            Stamped {
                at: SystemTime::UNIX_EPOCH,
                event: SessionEvent::State(SessionState::Ended(lost.clone())),
            },
        ];
        assert_eq!(p.print_batch(&mut batch).unwrap(), Progress::Ended(lost));
        // What came before the end is printed.
        assert_eq!(String::from_utf8(p.out).unwrap(), "Event: A\r\n\r\n");
    }
}
