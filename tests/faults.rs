//! The fault battery (issue 7): broken and hostile servers on loopback. For each fault:
//! no panic, no hang (every wait is bounded), a clear message naming what went wrong,
//! and everything received before the fault kept. Memory-heavy faults (a 100 MB message,
//! a line that never ends) live in `faults_memory.rs`, alone in their process so peak
//! memory can be measured.

mod support;

use amicon::ami::Action;
use amicon::session::{self, ActionError, EndReason, Link, SessionEvent};
use std::time::Duration;
use support::fake_server::{event, expect, plain_login, response, FakeServer, Step, BANNER};
use support::*;

const WITHIN: Duration = Duration::from_secs(20);

async fn end_reason_against(script: Vec<Step>) -> EndReason {
    let server = FakeServer::start(vec![script]).await;
    end_reason(&run_to_end(config(server.endpoint()), WITHIN).await)
}

#[tokio::test(start_paused = true)]
async fn an_http_server_is_named_as_one() {
    let reason = end_reason_against(vec![
        Step::Send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Step::Close,
    ])
    .await;
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("HTTP server")),
        "{reason}"
    );
    assert_eq!(reason.exit_code(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_http_server_that_waits_for_a_request_is_named_by_its_silence() {
    let reason = end_reason_against(vec![Step::Hang]).await;
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("no banner") && m.contains("HTTP")),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_ssh_server_is_named_as_one() {
    let reason = end_reason_against(vec![
        Step::Send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n".to_vec()),
        Step::Hang,
    ])
    .await;
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("SSH server")),
        "{reason}"
    );
}

/// Deterministic junk: every byte value, NULs and line ends included.
fn garbage(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn binary_garbage_instead_of_a_banner_is_named_not_ami() {
    let mut junk = vec![0x00, 0x9f, 0x03];
    junk.extend(garbage(200));
    junk.push(b'\n');
    let reason = end_reason_against(vec![Step::Send(junk), Step::Hang]).await;
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("binary")),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn garbage_bytes_mid_session_do_not_stop_the_session() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    script.push(Step::Send(garbage(64 * 1024)));
    // Whatever state the junk left, a blank line ends it and the stream resumes.
    script.push(Step::Send(b"\r\n\r\n".to_vec()));
    script.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Channel", "after"))
    })
    .await;
    let channels: Vec<_> = seen
        .iter()
        .filter_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.is("Event", "Newchannel") => {
                message.get_str("Channel").map(|c| c.into_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(channels, ["before", "after"], "{seen:#?}");
    assert!(seen.iter().all(|s| ended(s).is_none()));
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn nul_and_non_utf8_bytes_in_keys_and_values_are_kept_byte_exact() {
    let raw: &[u8] = b"Event: Newchannel\r\nCallerIDName: M\xfcller \xe5\xbc\xa0\xff\r\nX\x00Key: va\x00lue\r\n\xfe\xff: binary key\r\n\r\n";
    let mut script = plain_login();
    script.push(Step::Send(raw.to_vec()));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    let message = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.is("Event", "Newchannel") => {
                Some(message.clone())
            }
            _ => None,
        })
        .expect("the event arrived");
    assert_eq!(&message.wire()[..], raw);
    assert_eq!(
        message.get("CallerIDName"),
        Some(&b"M\xfcller \xe5\xbc\xa0\xff"[..])
    );
    assert_eq!(message.get("X\0Key"), Some(&b"va\x00lue"[..]));
    assert_eq!(message.len(), 4);
    handle.logoff().await;
}

// Real clock: the reset must come after the session read the bytes before it (Linux
// discards unread data on a reset), so the pause before it has to be real.
#[tokio::test]
async fn a_reset_mid_message_keeps_what_came_before_and_names_the_reset() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "whole")])));
    script.push(Step::Send(b"Event: Hangup\r\nChannel: PJSIP/1".to_vec()));
    script.push(Step::Wait(Duration::from_millis(100)));
    script.push(Step::Reset);
    let server = FakeServer::start(vec![script]).await;
    let seen = run_to_end(config(server.endpoint()), WITHIN).await;
    assert_eq!(event_names(&seen), ["Newchannel"]);
    let errors = protocol_errors(&seen);
    assert_eq!(errors.len(), 1, "{seen:#?}");
    assert_eq!(errors[0].1, b"Event: Hangup\r\nChannel: PJSIP/1");
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::ConnectionLost(ref m) if m.contains("reset")),
        "{reason}"
    );
}

/// A list answer that stops after its second item.
fn half_a_list() -> Vec<u8> {
    b"Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
      Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/100-00000001\r\n\r\n\
      Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/101-00000002\r\n\r\n"
        .to_vec()
}

fn list_items(seen: &[amicon::session::Stamped]) -> Vec<String> {
    seen.iter()
        .filter_map(|s| match &s.event {
            SessionEvent::Received {
                message,
                link: Link::ListItem { .. },
                ..
            } => message.get_str("Channel").map(|c| c.into_owned()),
            _ => None,
        })
        .collect()
}

// Real clock: the reset must come after the session read the bytes before it (Linux
// discards unread data on a reset), so the pause before it has to be real.
#[tokio::test]
async fn a_reset_mid_list_fails_the_action_and_keeps_the_items_received() {
    let mut script = plain_login();
    script.push(expect(
        "CoreShowChannels",
        std::str::from_utf8(&half_a_list()).unwrap(),
    ));
    script.push(Step::Wait(Duration::from_millis(100)));
    script.push(Step::Reset);
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let err = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .expect_err("the list never completed");
    assert_eq!(err, ActionError::ConnectionLost);
    let seen = until_ended(&mut stream, WITHIN).await;
    assert_eq!(
        list_items(&seen),
        ["PJSIP/100-00000001", "PJSIP/101-00000002"]
    );
    assert!(seen.iter().any(|s| matches!(
        &s.event,
        SessionEvent::ActionFailed { name, error: ActionError::ConnectionLost, .. } if name == "CoreShowChannels"
    )));
    assert!(matches!(end_reason(&seen), EndReason::ConnectionLost(_)));
}

#[tokio::test(start_paused = true)]
async fn a_list_that_never_completes_times_out_and_keeps_its_items() {
    let mut script = plain_login();
    script.push(expect(
        "CoreShowChannels",
        std::str::from_utf8(&half_a_list()).unwrap(),
    ));
    script.push(expect(
        "Ping",
        "Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n",
    ));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let err = handle
        .request(Action::new("CoreShowChannels"))
        .await
        .expect_err("the list never completed");
    assert_eq!(err, ActionError::Timeout(Duration::from_secs(5)));
    assert!(handle.request(Action::new("Ping")).await.is_ok());
    let seen = drain(&mut stream);
    assert_eq!(
        list_items(&seen),
        ["PJSIP/100-00000001", "PJSIP/101-00000002"]
    );
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_sending_one_byte_every_50_ms_is_read_whole() {
    let gap = Duration::from_millis(50);
    let raw = event(
        "Newchannel",
        &[("Channel", "PJSIP/100-00000001"), ("Uniqueid", "1.1")],
    );
    let script = vec![
        Step::SendSlowly {
            bytes: BANNER.to_vec(),
            gap,
        },
        Step::ExpectSlowly {
            action: "Login".into(),
            reply: response("Success", "Authentication accepted"),
            gap,
        },
        Step::SendSlowly {
            bytes: raw.clone(),
            gap,
        },
    ];
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let started = tokio::time::Instant::now();
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    assert!(seen.iter().any(logged_in), "{seen:#?}");
    let message = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.is("Event", "Newchannel") => {
                Some(message.clone())
            }
            _ => None,
        })
        .expect("the event arrived");
    assert_eq!(&message.wire()[..], &raw[..]);
    assert!(protocol_errors(&seen).is_empty());
    // It really came one byte at a time: the event alone took len × 50 ms.
    assert!(started.elapsed() >= gap * raw.len() as u32);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_message_with_100000_headers_is_delivered_whole_and_the_session_goes_on() {
    let mut big = b"Event: UserEvent\r\nUserEvent: Big\r\n".to_vec();
    for n in 0..100_000 {
        big.extend_from_slice(format!("Variable: v{n}=x\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let mut script = plain_login();
    script.push(Step::Send(big.clone()));
    script.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![script]).await;
    let (handle, mut stream) = session::spawn(config(server.endpoint()));
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Event", "Newchannel"))
    })
    .await;
    let received = seen
        .iter()
        .find_map(|s| match &s.event {
            SessionEvent::Received { message, .. } if message.is("UserEvent", "Big") => {
                Some(message.clone())
            }
            _ => None,
        })
        .expect("the big event arrived");
    assert_eq!(received.len(), 100_002);
    assert_eq!(received.get_all("Variable").count(), 100_000);
    assert_eq!(&received.wire()[..], &big[..]);
    assert_eq!(event_names(&seen), ["UserEvent", "Newchannel"]);
    handle.logoff().await;
}

#[tokio::test(start_paused = true)]
async fn a_line_with_no_end_over_the_cap_is_reported_and_skipped_and_the_session_goes_on() {
    let mut script = plain_login();
    script.push(Step::Send(event("Newchannel", &[("Channel", "before")])));
    script.push(Step::Send(b"Event: Broken\r\nData: ".to_vec()));
    script.push(Step::Repeat {
        bytes: vec![b'x'; 64 * 1024],
        times: 16,
    });
    script.push(Step::Send(b"\r\n\r\n".to_vec()));
    script.push(Step::Send(event("Newchannel", &[("Channel", "after")])));
    let server = FakeServer::start(vec![script]).await;
    let mut c = config(server.endpoint());
    c.max_message = 256 * 1024;
    let (handle, mut stream) = session::spawn(c);
    let seen = collect_until(&mut stream, WITHIN, |s| {
        matches!(&s.event, SessionEvent::Received { message, .. } if message.is("Channel", "after"))
    })
    .await;
    assert_eq!(
        event_names(&seen),
        ["Newchannel", "Newchannel"],
        "{seen:#?}"
    );
    let errors = protocol_errors(&seen);
    assert!(
        errors[0].0.contains("larger than the 262144-byte cap"),
        "{errors:?}"
    );
    assert!(errors[0].1.starts_with(b"Event: Broken\r\nData: xxx"));
    assert!(errors[0].1.len() <= 64 * 1024, "the preview is bounded");
    let skipped: u64 = (16 * 64 * 1024 + "Event: Broken\r\nData: \r\n\r\n".len()) as u64;
    assert_eq!(
        errors.last().unwrap().0,
        format!("skipped {skipped} bytes of an oversized message")
    );
    handle.logoff().await;
}

/// A session over TLS to `server`, trusting `ca_file`.
fn tls_config(server: &FakeServer, host: &str, ca_file: &str) -> amicon::session::SessionConfig {
    let mut endpoint = server.endpoint();
    endpoint.host = host.into();
    endpoint.tls = true;
    let mut c = config(endpoint);
    c.tls.ca_file = Some(tls_fixture(ca_file));
    c
}

async fn tls_end_reason(certificate: &str, host: &str, ca_file: &str) -> EndReason {
    let server = FakeServer::start_tls(vec![plain_login()], tls_acceptor(certificate)).await;
    let seen = run_to_end(tls_config(&server, host, ca_file), WITHIN).await;
    assert!(!seen.iter().any(logged_in), "{seen:#?}");
    end_reason(&seen)
}

#[tokio::test]
async fn tls_with_a_certificate_from_the_trusted_ca_logs_in() {
    for host in ["localhost", "127.0.0.1"] {
        let server = FakeServer::start_tls(vec![plain_login()], tls_acceptor("localhost")).await;
        let (handle, mut stream) = session::spawn(tls_config(&server, host, "ca.pem"));
        let seen = collect_until(&mut stream, WITHIN, logged_in).await;
        assert!(
            seen.iter().any(|s| matches!(
                &s.event,
                SessionEvent::State(amicon::session::SessionState::LoggedIn { tls: true, .. })
            )),
            "{host}: {seen:#?}"
        );
        handle.logoff().await;
    }
}

#[tokio::test]
async fn tls_with_a_certificate_for_another_name_is_refused_naming_the_name() {
    let reason = tls_end_reason("wrong-name", "127.0.0.1", "ca.pem").await;
    assert!(
        matches!(reason, EndReason::Tls(ref m) if m.contains("not valid for the name \"127.0.0.1\"")),
        "{reason}"
    );
    assert_eq!(reason.exit_code(), 3);
}

#[tokio::test]
async fn tls_with_an_expired_certificate_is_refused_as_expired() {
    let reason = tls_end_reason("expired", "localhost", "ca.pem").await;
    assert!(
        matches!(reason, EndReason::Tls(ref m) if m.contains("expired")),
        "{reason}"
    );
}

#[tokio::test]
async fn tls_with_an_untrusted_self_signed_certificate_is_refused_naming_the_cause() {
    let reason = tls_end_reason("self-signed", "localhost", "ca.pem").await;
    assert!(
        matches!(reason, EndReason::Tls(ref m) if m.contains("unknown authority") && m.contains("--ca-file")),
        "{reason}"
    );
}

#[tokio::test]
async fn tls_with_a_self_signed_certificate_passed_as_ca_file_logs_in() {
    let server = FakeServer::start_tls(vec![plain_login()], tls_acceptor("self-signed")).await;
    let (handle, mut stream) = session::spawn(tls_config(&server, "localhost", "self-signed.pem"));
    let seen = collect_until(&mut stream, WITHIN, logged_in).await;
    assert!(seen.iter().any(logged_in), "{seen:#?}");
    handle.logoff().await;
}

#[tokio::test]
async fn tls_to_a_plain_ami_port_is_named_as_plain() {
    let server = FakeServer::start(vec![plain_login()]).await;
    let seen = run_to_end(tls_config(&server, "127.0.0.1", "ca.pem"), WITHIN).await;
    let reason = end_reason(&seen);
    assert!(
        matches!(reason, EndReason::Tls(ref m) if m.contains("did not answer in TLS") && m.contains("ami://")),
        "{reason}"
    );
}

#[tokio::test]
async fn plain_tcp_to_a_tls_port_is_named_by_the_missing_banner() {
    let server = FakeServer::start_tls(vec![plain_login()], tls_acceptor("localhost")).await;
    let mut c = config(server.endpoint());
    c.login_timeout = Duration::from_millis(500);
    let reason = end_reason(&run_to_end(c, WITHIN).await);
    assert!(
        matches!(reason, EndReason::NotAmi(ref m) if m.contains("no banner") && m.contains("amis://")),
        "{reason}"
    );
}
