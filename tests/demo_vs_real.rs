//! The same actions sent to a real Asterisk and to the demo give the same headers in the
//! same order (values aside). Needs the real server: AMI_TEST_ADDR, AMI_TEST_USER,
//! AMI_TEST_SECRET (see `tests/harness/asterisk.sh env`).

mod demo_support;

use amicon::ami::Message;
use amicon::demo::{self, DemoOptions, DemoServer, Users};
use amicon::secret::Secret;
use demo_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

struct Real {
    addr: SocketAddr,
    user: String,
    secret: String,
}

fn real() -> Real {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    Real {
        addr: var("AMI_TEST_ADDR")
            .parse()
            .expect("AMI_TEST_ADDR is host:port"),
        user: var("AMI_TEST_USER"),
        secret: var("AMI_TEST_SECRET"),
    }
}

async fn demo_like(real: &Real) -> DemoServer {
    let mut users = Users::default();
    users.add(&real.user, Secret::new(real.secret.clone()));
    demo::start(DemoOptions {
        calls_per_second: 0.0,
        seed: 5,
        users,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Logs in (events as given) and sends each action, returning the messages of each.
async fn session(
    addr: SocketAddr,
    real: &Real,
    events: &str,
    actions: &[&str],
) -> Vec<Vec<Message>> {
    let mut client = Client::connect(addr).await;
    let login = format!(
        "Action: Login\r\nActionID: login\r\nUsername: {}\r\nSecret: {}\r\nEvents: {events}\r\n\r\n",
        real.user, real.secret
    );
    let mut out = vec![client.action(login.as_bytes()).await];
    for action in actions {
        let action = format!("{}\r\n\r\n", action.replace('\n', "\r\n"));
        out.push(client.action(action.as_bytes()).await);
    }
    out
}

const ACTIONS: &[&str] = &[
    "Action: Ping\nActionID: 1",
    "Action: Ping",
    "Action: CoreSettings\nActionID: 2",
    "Action: CoreStatus\nActionID: 3",
    "Action: Command\nActionID: 4\nCommand: core show version",
    "Action: Command\nActionID: 5\nCommand: no such cli command",
    "Action: Command\nActionID: 6\nCommand: manager show command Hangup",
    "Action: FooBar\nActionID: 7",
    "ActionID: 8\nFoo: bar",
    "Action: Events\nActionID: 9\nEventMask: off",
    "Action: Events\nActionID: 10\nEventMask: nosuchclass",
    "Action: Events\nActionID: 11\nEventMask:",
    "Action: Challenge\nActionID: 12\nAuthType: MD5",
    "Action: Challenge\nActionID: 13",
    "Action: Hangup\nActionID: 14\nChannel: PJSIP/nosuch-00000001",
    "Action: Hangup\nActionID: 15",
    "Action: Hangup\nActionID: 16\nChannel: /^nothing-is-called-this$/",
    "Action: Originate\nActionID: 17",
    "Action: Login\nActionID: 18\nUsername: x\nSecret: y",
    "Action: ListCommands\nActionID: 19",
    "Action: Status\nActionID: 21\nChannel: PJSIP/nosuch-00000001",
    "Action: Command\nActionID: 22\nCommand: manager show command Status",
    "Action: Command\nActionID: 23\nCommand: manager show command Originate",
    "Action: Command\nActionID: 24\nCommand: manager show command QueueStatus",
    "Action: Logoff\nActionID: 20",
];

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn plain_actions_get_the_same_headers_from_both() {
    let real = real();
    let demo = demo_like(&real).await;
    let theirs = session(real.addr, &real, "off", ACTIONS).await;
    let ours = session(demo.local_addr(), &real, "off", ACTIONS).await;
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        let label = if i == 0 { "Login" } else { ACTIONS[i - 1] };
        if label.contains("ListCommands") {
            // Ours is a subset: compare the lines we have.
            let real_lines: BTreeSet<Vec<u8>> =
                (0..b[0].len()).map(|j| b[0].line(j).to_vec()).collect();
            for j in 0..a[0].len() {
                assert!(
                    real_lines.contains(a[0].line(j)),
                    "{}",
                    String::from_utf8_lossy(a[0].line(j))
                );
            }
            continue;
        }
        if label.contains("manager show command") {
            // The help text is ours; its sections and the syntax must be Asterisk's.
            let outputs = |m: &Message| {
                m.get_all("Output")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect::<Vec<_>>()
            };
            let (ours, theirs) = (outputs(&a[0]), outputs(&b[0]));
            // Up to the list responses: the demo does not document the events of lists.
            let headings = |l: &[String]| {
                l.iter()
                    .filter(|x| x.starts_with('[') && x.ends_with(']'))
                    .take_while(|x| *x != "[List Responses]")
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(headings(&ours), headings(&theirs));
            let syntax = |l: &[String]| {
                l.iter()
                    .skip_while(|x| *x != "[Syntax]")
                    .take_while(|x| !x.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(syntax(&ours), syntax(&theirs));
            continue;
        }
        let keys_a: Vec<_> = a.iter().map(keys).collect();
        let keys_b: Vec<_> = b.iter().map(keys).collect();
        assert_eq!(keys_a, keys_b, "after {label:?}\n{}", describe(a, b));
    }
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn login_with_events_gets_the_same_greeting_events() {
    let real = real();
    let demo = demo_like(&real).await;
    let mut theirs = Client::connect(real.addr).await;
    let mut ours = Client::connect(demo.local_addr()).await;
    let login = format!(
        "Action: Login\r\nActionID: l\r\nUsername: {}\r\nSecret: {}\r\n\r\n",
        real.user, real.secret
    );
    let mut pick = Vec::new();
    for client in [&mut theirs, &mut ours] {
        client.send(login.as_bytes()).await;
        pick.push(client.until(|m| m.is("Event", "SuccessfulAuth")).await);
    }
    let only = |list: &[Message]| -> Vec<Message> {
        list.iter()
            .filter(|m| {
                m.get("Event").is_none()
                    || m.is("Event", "FullyBooted")
                    || m.is("Event", "SuccessfulAuth")
            })
            .cloned()
            .collect()
    };
    assert_same_keys(&only(&pick[1]), &only(&pick[0]));
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn queue_lists_have_the_same_items_as_the_real_queue() {
    let real = real();
    let demo = demo_like(&real).await;
    let actions = [
        "Action: QueueStatus\nActionID: qs",
        "Action: QueueSummary\nActionID: qsum",
    ];
    let theirs = session(real.addr, &real, "off", &actions).await;
    let ours = session(demo.local_addr(), &real, "off", &actions).await;
    for (a, b) in ours.iter().zip(&theirs).skip(1) {
        let shapes = |list: &[Message]| -> BTreeMap<String, Vec<String>> {
            list.iter().map(|m| (name(m), keys(m))).collect()
        };
        assert_eq!(shapes(a), shapes(b));
    }
}

/// The events of one originated Local call, grouped by half (`1`, `2`) or event name.
fn per_channel(events: &[Message]) -> BTreeMap<String, Vec<(String, Vec<String>)>> {
    let mut out: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    // OriginateResponse comes from another thread in Asterisk: its place among the
    // channel events changes from run to run, so it is compared on its own.
    let skip = |m: &&Message| m.is("Event", "TestEvent") || m.is("Event", "OriginateResponse");
    for m in events
        .iter()
        .filter(|m| m.get("Event").is_some())
        .filter(|m| !skip(m))
    {
        let half = ["Channel", "DestChannel"]
            .iter()
            .find_map(|k| m.get_str(k))
            .and_then(|c| c.rsplit_once(';').map(|(_, h)| h.to_string()))
            .unwrap_or_else(|| name(m));
        out.entry(half).or_default().push((name(m), keys(m)));
    }
    out
}

#[tokio::test]
#[ignore = "needs a real Asterisk: run tests/harness/run-all (see README)"]
async fn an_originated_echo_call_has_the_same_events_per_channel() {
    let real = real();
    let demo = demo_like(&real).await;
    let originate = "Action: Originate\r\nActionID: cmp-orig\r\nChannel: Local/echo@test\r\nContext: test\r\nExten: echo\r\nPriority: 1\r\nCallerID: \"Cmp\" <1234>\r\nAsync: true\r\nVariable: A=1,B=2\r\n\r\n";
    let mut calls = Vec::new();
    for addr in [real.addr, demo.local_addr()] {
        let mut client = Client::connect(addr).await;
        let login = format!(
            "Action: Login\r\nActionID: l\r\nUsername: {}\r\nSecret: {}\r\nEvents: call,dialplan\r\n\r\n",
            real.user, real.secret
        );
        client.action(login.as_bytes()).await;
        client.send(originate.as_bytes()).await;
        // Follow only our call: its Linkedid is the Uniqueid of the first Newchannel after
        // the response (the real server may carry other testers' calls).
        let mut linked: Option<String> = None;
        let mut hangups = 0;
        let mut mine = Vec::new();
        while hangups < 2 {
            let m = client.next().await.expect("the call completes");
            if linked.is_none()
                && m.is("Event", "Newchannel")
                && m.get_str("Channel")
                    .is_some_and(|c| c.starts_with("Local/echo@test-"))
            {
                linked = m.get_str("Linkedid").map(|l| l.into_owned());
            }
            let ours = m.is("ActionID", "cmp-orig")
                || linked.as_deref().is_some_and(|l| {
                    m.get_str("Linkedid").as_deref() == Some(l)
                        || m.get_str("DestLinkedid").as_deref() == Some(l)
                });
            if ours {
                hangups += usize::from(m.is("Event", "Hangup"));
                mine.push(m);
            }
        }
        calls.push(mine);
    }
    let (theirs, ours) = (per_channel(&calls[0]), per_channel(&calls[1]));
    for half in ["1", "2"] {
        assert_eq!(ours.get(half), theirs.get(half), "half ;{half}");
    }
    let response = |list: &[Message]| {
        list.iter()
            .find(|m| m.is("Event", "OriginateResponse"))
            .map(keys)
    };
    assert_eq!(response(&calls[1]), response(&calls[0]));
    assert!(response(&calls[1]).is_some());
}
