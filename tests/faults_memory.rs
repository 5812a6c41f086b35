//! Faults that would eat memory if the session held what it was sent: a single 100 MB
//! message and a line that never ends. One test in its own process, so the peak resident
//! memory (`VmHWM`) it measures belongs to this scenario alone.

mod support;

use amicon::session::{self, SessionEvent};
use std::time::Duration;
use support::fake_server::{event, plain_login, FakeServer, Step};
use support::*;

const MIB: usize = 1024 * 1024;

/// Peak resident memory of this process so far, in bytes (Linux).
fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[tokio::test]
async fn a_100_mb_message_and_an_endless_line_keep_memory_bounded_and_the_session_goes_on() {
    let before = peak_rss();
    // 100 MB of `Output:` lines in one message, then a normal event.
    let line = format!("Output: {}\r\n", "x".repeat(1014));
    assert_eq!(line.len(), 1024);
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    script.push(Step::Send(
        b"Response: Success\r\nMessage: Command output follows\r\n".to_vec(),
    ));
    script.push(Step::Repeat {
        bytes: line.into_bytes(),
        times: 100 * 1024,
    });
    script.push(Step::Send(b"\r\n".to_vec()));
    script.push(Step::Send(event("Newchannel", &[("Channel", "between")])));
    // Then 100 MB with no line end at all, then the server goes quiet: the session must
    // neither buffer it nor give up.
    script.push(Step::Send(b"Event: Endless\r\nData: ".to_vec()));
    script.push(Step::Repeat {
        bytes: vec![b'y'; 64 * 1024],
        times: 1600,
    });
    script.push(Step::Send(b"\r\n\r\n".to_vec()));
    script.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![script]).await;
    let mut config = config(server.endpoint());
    config.max_message = 4 * MIB;
    let (handle, mut stream) = session::spawn(config);
    let seen = collect_until(&mut stream, Duration::from_secs(120), |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Channel", "after"))
    })
    .await;
    let channels: Vec<String> = seen
        .iter()
        .filter_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.is("Event", "Newchannel") => {
                message.get_str("Channel").map(|c| c.into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(channels, ["before", "between", "after"]);
    assert!(seen.iter().all(|s| ended(s).is_none()));
    let errors = protocol_errors(&seen);
    let oversized = errors
        .iter()
        .filter(|(what, _)| what.contains("larger than the 4194304-byte cap"))
        .count();
    assert_eq!(oversized, 2, "{errors:?}");
    let skipped: Vec<u64> = errors
        .iter()
        .filter_map(|(what, _)| {
            what.strip_prefix("skipped ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{errors:?}");
    assert!(skipped.iter().all(|&n| n > 100 * MIB as u64), "{skipped:?}");
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before);
        println!(
            "peak RSS grew {} MiB while 200 MiB of oversized input passed",
            grown / MIB
        );
        assert!(
            grown < 64 * MIB,
            "peak memory grew {} MiB: the session held what it should have skipped",
            grown / MIB
        );
    }
    handle.logoff().await;
}
