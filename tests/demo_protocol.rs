//! The demo server answers the captured actions with the same headers, in the same order,
//! as the real Asterisk 22 did (values that change from run to run aside).

mod demo_support;

use amicon::ami::Message;
use demo_support::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Headers whose values are fixed protocol text, so they must match too.
const STABLE: &[&str] = &[
    "Response",
    "Message",
    "Event",
    "EventList",
    "ActionID",
    "Ping",
    "Events",
    "Status",
    "Severity",
    "Service",
    "EventVersion",
    "UsingPassword",
    "AccountID",
    "AMIversion",
];

fn stable(m: &Message) -> Vec<(String, String)> {
    m.headers()
        .filter(|(k, _)| STABLE.iter().any(|s| s.as_bytes().eq_ignore_ascii_case(k)))
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Sends the vector's actions in one write and compares everything up to the close.
async fn replay(name: &str) {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    assert_eq!(client.banner, b"Asterisk Call Manager/11.0.0");
    client.send(&vector(&format!("{name}.actions"))).await;
    let ours = client.until_close().await;
    let theirs = messages(&vector(&format!("{name}.txt")));
    assert_same_keys(&ours, &theirs);
    let a: Vec<_> = ours.iter().map(stable).collect();
    let b: Vec<_> = theirs.iter().map(stable).collect();
    assert_eq!(a, b, "{name}: fixed values differ");
}

#[tokio::test]
async fn login_success_matches_the_capture() {
    replay("login-success").await;
}

#[tokio::test]
async fn ping_matches_the_capture() {
    replay("ping").await;
}

#[tokio::test]
async fn coresettings_and_corestatus_match_the_capture() {
    replay("coresettings").await;
}

#[tokio::test]
async fn unknown_action_and_missing_action_match_the_capture() {
    replay("unknown-action").await;
}

#[tokio::test]
async fn actions_before_login_are_denied_as_in_the_capture() {
    replay("action-before-login").await;
}

#[tokio::test]
async fn logoff_says_goodbye_as_in_the_capture() {
    replay("logoff-goodbye").await;
}

#[tokio::test]
async fn core_show_version_matches_the_capture() {
    replay("command-core-show-version").await;
}

#[tokio::test]
async fn an_unknown_cli_command_matches_the_capture() {
    replay("command-unknown-cli").await;
}

#[tokio::test]
async fn a_line_over_1024_bytes_is_refused_as_in_the_capture() {
    replay("line-too-long").await;
}

#[tokio::test]
async fn lenient_framing_is_accepted_as_in_the_capture() {
    replay("framing-variants").await;
}

#[tokio::test]
async fn pipelined_actions_are_answered_in_order_as_in_the_capture() {
    replay("pipelined-actions").await;
}

#[tokio::test]
async fn a_second_login_is_already_authenticated_as_in_the_capture() {
    replay("login-already-authenticated").await;
}

#[tokio::test]
async fn challenge_without_md5_is_refused_as_in_the_capture() {
    replay("challenge-missing-authtype").await;
}

#[tokio::test]
async fn md5_challenge_login_matches_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut ours = client
        .action(b"Action: Challenge\r\nActionID: chal-1\r\nAuthType: MD5\r\n\r\n")
        .await;
    let challenge = ours[0].get("Challenge").expect("a challenge").to_vec();
    assert!(
        challenge.iter().all(u8::is_ascii_digit),
        "decimal challenge"
    );
    let key = md5_key(&challenge, "amp111");
    let login = format!(
        "Action: Login\r\nActionID: chal-login-1\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\nEvents: off\r\n\r\n"
    );
    client.send(login.as_bytes()).await;
    client
        .send(b"Action: Logoff\r\nActionID: logoff-1\r\n\r\n")
        .await;
    ours.extend(client.until_close().await);
    let theirs = messages(&vector("challenge-md5-login.txt"));
    assert_same_keys(&ours, &theirs);
    assert!(ours[1].is("Message", "Authentication accepted"));
}

#[tokio::test]
async fn the_challenge_stays_the_same_on_one_connection() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let a = client
        .action(b"Action: Challenge\r\nActionID: 1\r\nAuthType: md5\r\n\r\n")
        .await;
    let b = client
        .action(b"Action: Challenge\r\nActionID: 2\r\nAuthType: MD5\r\n\r\n")
        .await;
    assert_eq!(a[0].get("Challenge"), b[0].get("Challenge"));
}

#[tokio::test]
async fn an_uppercase_md5_key_fails_after_a_second_and_closes() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let reply = client
        .action(b"Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n")
        .await;
    let key = md5_key(reply[0].get("Challenge").unwrap(), "amp111").to_uppercase();
    let started = Instant::now();
    client
        .send(format!("Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\n\r\n").as_bytes())
        .await;
    let rest = client.until_close().await;
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the failure is delayed like Asterisk's sleep(1)"
    );
    let theirs = messages(&vector("login-bad-secret.txt"));
    assert_eq!(rest.len(), 1);
    assert_eq!(keys(&rest[0]), keys(&theirs[0]));
    assert!(rest[0].is("Message", "Authentication failed"));
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_bytes_as_a_bad_secret() {
    let server = quiet_server().await;
    let mut a = Client::connect(server.local_addr()).await;
    a.send(b"Action: Login\r\nActionID: login-bad-1\r\nUsername: admin\r\nSecret: wrong-secret\r\n\r\n").await;
    let mut b = Client::connect(server.local_addr()).await;
    b.send(b"Action: Login\r\nActionID: login-bad-1\r\nUsername: nosuchuser\r\nSecret: x\r\n\r\n")
        .await;
    let (a, b) = (a.until_close().await, b.until_close().await);
    assert_eq!(a[0].wire(), b[0].wire());
    assert_eq!(
        a[0].wire(),
        messages(&vector("login-bad-secret.txt"))[0].wire()
    );
}

#[tokio::test]
async fn queue_status_has_the_shape_of_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.send(&vector("queuestatus-eventlist.actions")).await;
    let ours = client.until_close().await;
    let empty = messages(&vector("queuestatus-eventlist.txt"));
    let full = messages(&demo_fixture("queuestatus-support.txt"));
    // The start response and the Complete event match the (empty) vector...
    assert_eq!(keys(&ours[1]), keys(&empty[1]));
    let complete = ours
        .iter()
        .find(|m| m.is("Event", "QueueStatusComplete"))
        .expect("complete");
    assert_eq!(keys(complete), keys(&empty[2]));
    // ...and every item matches the same item of a real queue with members.
    let mut checked = 0;
    for m in ours
        .iter()
        .filter(|m| m.is("Event", "QueueParams") || m.is("Event", "QueueMember"))
    {
        let real = full
            .iter()
            .find(|r| r.get("Event") == m.get("Event"))
            .expect("the capture has it");
        assert_eq!(keys(m), keys(real), "{}", name(m));
        checked += 1;
    }
    assert!(checked >= 3, "the demo queue has parameters and members");
    assert_eq!(complete.get_str("ListItems").unwrap(), checked.to_string());
}

#[tokio::test]
async fn list_commands_lines_are_those_of_asterisk() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.send(&vector("listcommands.actions")).await;
    let ours = client.until_close().await;
    let theirs = messages(&vector("listcommands.txt"));
    let real: Vec<&[u8]> = (0..theirs[1].len()).map(|i| theirs[1].line(i)).collect();
    assert!(ours[1].len() > 10);
    for i in 0..ours[1].len() {
        let line = ours[1].line(i);
        assert!(
            real.contains(&line),
            "not in the real ListCommands: {}",
            String::from_utf8_lossy(line)
        );
    }
}

#[tokio::test]
async fn manager_show_command_originate_has_the_real_syntax_section() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client
        .send(&vector("manager-show-command-originate.actions"))
        .await;
    let ours = client.until_close().await;
    let theirs = messages(&vector("manager-show-command-originate.txt"));
    let outputs = |m: &Message| {
        m.get_all("Output")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect::<Vec<_>>()
    };
    let (ours, theirs) = (outputs(&ours[1]), outputs(&theirs[1]));
    let section = |lines: &[String], name: &str| -> Vec<String> {
        let start = lines.iter().position(|l| l == name).expect(name);
        lines[start..]
            .iter()
            .take_while(|l| !l.is_empty())
            .cloned()
            .collect()
    };
    for name in ["[Syntax]", "[Synopsis]", "[Privilege]", "[Since]"] {
        assert_eq!(section(&ours, name), section(&theirs, name));
    }
    let headings = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.starts_with('[') && l.ends_with(']'))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(headings(&ours), headings(&theirs));
    assert_eq!(ours[1], theirs[1], "the title line");
}

#[tokio::test]
async fn core_show_channels_and_a_regex_hangup_match_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut ours = Vec::new();
    for action in actions(&vector("coreshowchannels-eventlist.actions")) {
        ours.extend(client.action(&action).await);
    }
    let theirs = messages(&vector("coreshowchannels-eventlist.txt"));
    assert_same_keys(&ours, &theirs);
    let hung: Vec<_> = ours
        .iter()
        .filter(|m| m.is("Event", "ChannelHungup"))
        .collect();
    assert_eq!(hung.len(), 2);
}

/// Groups a call's events by the channel they are about (`;1` / `;2` of the Local pair).
fn per_channel(events: &[Message]) -> BTreeMap<String, Vec<(String, Vec<String>)>> {
    let mut out: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for m in events {
        let name = name(m);
        if name == "TestEvent" {
            continue; // a debugging event of Asterisk's test framework, not simulated
        }
        let channel = ["Channel", "DestChannel", "LocalOneChannel", "Device"]
            .iter()
            .find_map(|k| m.get_str(k))
            .map(|c| {
                c.rsplit(';')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(1)
                    .collect::<String>()
            })
            .unwrap_or_default();
        let channel = if m.get("Channel").is_some() || m.get("DestChannel").is_some() {
            channel
        } else {
            name.clone()
        };
        out.entry(channel).or_default().push((name, keys(m)));
    }
    out
}

#[tokio::test]
async fn an_originated_local_call_produces_the_captured_events_per_channel() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let sent = actions(&vector("originate-local-call-events.actions"));
    let mut ours = client.action(&sent[0]).await;
    ours.extend(client.action(&sent[1]).await);
    // The echo extension answers, waits 2 s and hangs up; the last event is the second
    // NOT_INUSE device state.
    let mut not_in_use = 0;
    ours.extend(
        client
            .until(|m| {
                not_in_use += usize::from(m.is("State", "NOT_INUSE"));
                not_in_use == 2
            })
            .await,
    );
    ours.extend(client.action(&sent[2]).await);
    let theirs = messages(&vector("originate-local-call-events.txt"));
    let call = |list: &[Message]| -> Vec<Message> {
        list.iter()
            .filter(|m| {
                m.get("Event").is_some()
                    && !m.is("Event", "FullyBooted")
                    && !m.is("Event", "SuccessfulAuth")
            })
            .cloned()
            .collect()
    };
    let (ours_call, theirs_call) = (call(&ours), call(&theirs));
    let (a, b) = (per_channel(&ours_call), per_channel(&theirs_call));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (channel, events) in &b {
        assert_eq!(&a[channel], events, "channel {channel}");
    }
    let response = ours
        .iter()
        .find(|m| m.is("Event", "OriginateResponse"))
        .expect("an OriginateResponse");
    assert!(response.is("ActionID", "orig-1") && response.is("Response", "Success"));
}

#[tokio::test]
async fn a_synchronous_originate_answers_once_the_call_is_decided() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.action(b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n").await;
    let busy = client
        .action(b"Action: Originate\r\nActionID: orig-busy-1\r\nChannel: Local/busy@test\r\nContext: test\r\nExten: echo\r\nPriority: 1\r\n\r\n")
        .await;
    client
        .send(b"Action: Logoff\r\nActionID: logoff-1\r\n\r\n")
        .await;
    let mut ours = busy;
    ours.extend(client.until_close().await);
    let theirs = messages(&vector("originate-sync-busy.txt"));
    assert_same_keys(&ours, &theirs[1..]);
    assert!(ours[0].is("Message", "Originate failed"));

    let mut client = Client::connect(server.local_addr()).await;
    client.action(b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n").await;
    let ok = client.action(b"Action: Originate\r\nActionID: o\r\nChannel: Local/echo@test\r\nApplication: Wait\r\nData: 1\r\n\r\n").await;
    assert!(ok[0].is("Response", "Success"), "{ok:?}");
}

#[tokio::test]
async fn the_events_action_switches_delivery_as_in_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut ours = Vec::new();
    for action in [
        &b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n"[..],
        b"Action: Events\r\nActionID: ev-1\r\nEventMask: off\r\n\r\n",
        b"Action: Events\r\nActionID: ev-3\r\nEventMask: nosuchclass\r\n\r\n",
        b"Action: Events\r\nActionID: ev-4\r\nEventMask:\r\n\r\n",
        b"Action: Events\r\nActionID: ev-5\r\nEventMask: on\r\n\r\n",
    ] {
        ours.extend(client.action(action).await);
    }
    let theirs = messages(&vector("events-off.txt"));
    let pick = |list: &[Message], id: &str| {
        list.iter()
            .find(|m| m.is("ActionID", id))
            .cloned()
            .expect(id)
    };
    for id in ["ev-1", "ev-3", "ev-4", "ev-5"] {
        assert_eq!(pick(&ours, id).wire(), pick(&theirs, id).wire(), "{id}");
    }
    // With events on, a Hangup of an originated call reaches this session.
    client.send(b"Action: Originate\r\nActionID: o\r\nChannel: Local/short@test\r\nContext: test\r\nExten: short\r\nPriority: 1\r\nAsync: yes\r\n\r\n").await;
    client.until(|m| m.is("Event", "Hangup")).await;
}

#[tokio::test]
async fn too_many_header_lines_are_refused_and_the_session_goes_on() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.action(b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n").await;
    let mut action = b"Action: Ping\r\nActionID: many\r\n".to_vec();
    for i in 0..200 {
        action.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    action.extend_from_slice(b"\r\n");
    let reply = client.action(&action).await;
    assert!(
        reply[0].is("Message", "Too many lines in message or allocation failure"),
        "{reply:?}"
    );
    let pong = client
        .action(b"Action: Ping\r\nActionID: after\r\n\r\n")
        .await;
    assert!(pong[0].is("Ping", "Pong"));
}

#[tokio::test]
async fn garbage_input_never_kills_the_server() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut junk = Vec::new();
    let mut rng = 0x1234_5678u32;
    for _ in 0..200_000 {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        junk.push((rng % 256) as u8);
    }
    client.send(&junk).await;
    client
        .send(b"\r\n\r\nAction: Ping\r\nActionID: alive\r\n\r\n")
        .await;
    client.until(|m| m.is("ActionID", "alive")).await;
    // Another client is still served.
    let mut other = Client::connect(server.local_addr()).await;
    let reply = other.action(b"Action: Ping\r\nActionID: x\r\n\r\n").await;
    assert!(reply[0].is("Message", "Permission denied"));
}

#[tokio::test]
async fn events_switched_on_later_start_flowing() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.action(b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n").await;
    let on = client
        .action(b"Action: Events\r\nActionID: on\r\nEventMask: call\r\n\r\n")
        .await;
    assert!(on[0].is("Events", "On"));
    client
        .send(b"Action: Originate\r\nActionID: o\r\nChannel: Local/short@test\r\nContext: test\r\nExten: short\r\nPriority: 1\r\nAsync: 1\r\n\r\n")
        .await;
    let seen = client.until(|m| m.is("Event", "Hangup")).await;
    assert!(
        seen.iter().all(|m| !m.is("Event", "Newexten")),
        "dialplan events stay off"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_logs_in_is_closed_after_the_auth_timeout() {
    use tokio::io::AsyncReadExt;
    let server = quiet_server().await;
    let mut stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut received = Vec::new();
    // With the clock paused, the server's 30 s pass as soon as everything is idle.
    let read =
        tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "closed before two minutes");
    assert_eq!(
        received, b"Asterisk Call Manager/11.0.0\r\n",
        "only the banner"
    );
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test]
async fn status_lists_channels_with_their_variables_as_in_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    let mut ours = Vec::new();
    for action in actions(&vector("status-eventlist.actions")) {
        ours.extend(client.action(&action).await);
    }
    let theirs = messages(&vector("status-eventlist.txt"));
    assert_same_keys(&ours, &theirs);
    let variables: Vec<_> = ours.iter().filter_map(|m| m.get_str("Variable")).collect();
    assert_eq!(variables, ["MYVAR=hello", "MYVAR=hello"]);
}

#[tokio::test]
async fn user_events_echo_the_raw_lines_as_in_the_capture() {
    let server = quiet_server().await;
    let mut client = Client::connect(server.local_addr()).await;
    client.send(&vector("userevent-raw-headers.actions")).await;
    let ours = client.until_close().await;
    let theirs = messages(&vector("userevent-raw-headers.txt"));
    let event = |list: &[Message]| {
        list.iter()
            .find(|m| m.is("Event", "UserEvent"))
            .cloned()
            .expect("a UserEvent")
    };
    assert_eq!(event(&ours).wire(), event(&theirs).wire(), "byte for byte");
    assert_same_keys(&ours, &theirs);
}

#[tokio::test]
async fn events_off_and_masks_match_the_capture() {
    replay("events-off").await;
}

#[tokio::test]
async fn numeric_and_capitalised_masks_match_the_capture() {
    replay("events-mask-variants").await;
}
