//! The live tables in the TUI (channels, queues, endpoints, bridges, calls): a state
//! seeded the way the session seeds it after login (list actions, their items, their
//! completion; one list refused), then keys through `update` and screens drawn on a
//! `TestBackend` (insta snapshots).

use amicon::ami::Message;
use amicon::app::views::ViewKind;
use amicon::app::{update, App, AppOptions, Focus, Msg, Overlay};
use amicon::session::{Link, SessionEvent, Stamped};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn msg(pairs: &[(&str, &str)]) -> Message {
    Message::from_headers(pairs)
}

fn received(secs: u64, message: Message, link: Link) -> Stamped {
    Stamped {
        at: at(secs),
        event: SessionEvent::Received {
            message,
            link,
            internal: true,
        },
    }
}

fn sent(secs: u64, id: &str, action: &str) -> Stamped {
    Stamped {
        at: at(secs),
        event: SessionEvent::Sent {
            action_id: id.into(),
            name: action.into(),
            message: msg(&[("Action", action), ("ActionID", id)]),
            internal: true,
        },
    }
}

/// One list action as the session asks it: sent, accepted, items, complete.
fn list(secs: u64, id: &str, action: &str, complete: &str, items: Vec<Message>) -> Vec<Stamped> {
    let mut out = vec![
        sent(secs, id, action),
        received(
            secs,
            msg(&[
                ("Response", "Success"),
                ("ActionID", id),
                ("EventList", "start"),
            ]),
            Link::Response {
                action_id: id.into(),
            },
        ),
    ];
    for item in items {
        out.push(received(
            secs,
            item,
            Link::ListItem {
                action_id: id.into(),
            },
        ));
    }
    out.push(received(
        secs,
        msg(&[
            ("Event", complete),
            ("ActionID", id),
            ("EventList", "Complete"),
        ]),
        Link::ListComplete {
            action_id: id.into(),
        },
    ));
    out
}

fn channel(id: &str, name: &str, uniqueid: &str, cid: &str, duration: &str) -> Message {
    msg(&[
        ("Event", "CoreShowChannel"),
        ("ActionID", id),
        ("Channel", name),
        ("ChannelState", "6"),
        ("ChannelStateDesc", "Up"),
        ("CallerIDNum", cid),
        ("CallerIDName", "<unknown>"),
        ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"),
        ("Context", "test"),
        ("Exten", "long"),
        ("Priority", "2"),
        ("Uniqueid", uniqueid),
        ("Linkedid", uniqueid),
        ("Application", "Wait"),
        ("ApplicationData", "60"),
        ("Duration", duration),
        ("BridgeId", ""),
    ])
}

fn member(id: &str, name: &str, iface: &str, status: &str, paused: &str) -> Message {
    msg(&[
        ("Event", "QueueMember"),
        ("ActionID", id),
        ("Queue", "support"),
        ("Name", name),
        ("Location", iface),
        ("StateInterface", iface),
        ("Membership", "static"),
        ("Penalty", "0"),
        ("CallsTaken", "3"),
        ("LastCall", "0"),
        ("InCall", "0"),
        ("Status", status),
        ("Paused", paused),
        ("PausedReason", if paused == "1" { "lunch" } else { "" }),
    ])
}

/// A PBX with two channels up before amicon connected, the queue `support` with two
/// members (one paused), one endpoint with a contact, and BridgeList refused.
fn seeded_app() -> App {
    let mut app = App::new(
        AppOptions {
            target: "admin@127.0.0.1:5038".into(),
            ..AppOptions::default()
        },
        at(100),
    );
    let mut entries = Vec::new();
    entries.extend(list(
        100,
        "s1",
        "CoreShowChannels",
        "CoreShowChannelsComplete",
        vec![
            channel(
                "s1",
                "Local/long@test-00000001;1",
                "1.1",
                "<unknown>",
                "00:01:05",
            ),
            channel("s1", "PJSIP/alice-00000002", "1.2", "1001", "00:00:07"),
        ],
    ));
    entries.extend(list(
        100,
        "s2",
        "QueueStatus",
        "QueueStatusComplete",
        vec![
            msg(&[
                ("Event", "QueueParams"),
                ("ActionID", "s2"),
                ("Queue", "support"),
                ("Max", "0"),
                ("Strategy", "ringall"),
                ("Calls", "0"),
                ("Holdtime", "4"),
                ("TalkTime", "60"),
                ("Completed", "12"),
                ("Abandoned", "1"),
                ("ServiceLevel", "60"),
                ("ServicelevelPerf", "91.7"),
                ("Weight", "0"),
            ]),
            member("s2", "Alice", "PJSIP/alice", "1", "0"),
            member("s2", "Bob", "PJSIP/bob", "5", "1"),
        ],
    ));
    entries.extend(list(
        100,
        "s3",
        "PJSIPShowEndpoints",
        "EndpointListComplete",
        vec![msg(&[
            ("Event", "EndpointList"),
            ("ActionID", "s3"),
            ("ObjectType", "endpoint"),
            ("ObjectName", "alice"),
            ("Aor", "alice"),
            ("Auths", "alice"),
            ("DeviceState", "Not in use"),
            ("ActiveChannels", "1"),
        ])],
    ));
    entries.push(Stamped {
        at: at(100),
        event: SessionEvent::Received {
            message: msg(&[
                ("Event", "ContactStatus"),
                ("URI", "sip:alice@127.0.0.1:5062"),
                ("ContactStatus", "Reachable"),
                ("AOR", "alice"),
                ("EndpointName", "alice"),
                ("RoundtripUsec", "1500"),
            ]),
            link: Link::Unsolicited,
            internal: false,
        },
    });
    entries.push(sent(100, "s4", "BridgeList"));
    entries.push(received(
        100,
        msg(&[
            ("Response", "Error"),
            ("ActionID", "s4"),
            ("Message", "Permission denied"),
        ]),
        Link::Response {
            action_id: "s4".into(),
        },
    ));
    update(&mut app, Msg::Session(entries));
    update(&mut app, Msg::Tick(at(100)));
    app
}

fn press(app: &mut App, code: KeyCode) {
    update(
        app,
        Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
    );
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    update(app, Msg::Input(Event::Resize(width, height)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn shown(app: &App) -> Option<ViewKind> {
    app.table.as_ref().map(|v| v.kind)
}

#[test]
fn f6_shows_the_channels_up_before_connecting_with_their_true_age() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(6));
    assert_eq!(shown(&app), Some(ViewKind::Channels));
    assert_eq!(app.focus, Focus::Log);
    let screen = screen(&mut app, 100, 20);
    assert!(screen.contains("Channels (2) 2 live"), "{screen}");
    assert!(
        screen.contains("1:05"),
        "age from the snapshot's Duration: {screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn the_command_line_opens_each_view_and_says_what_it_does_not_know() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::Char(':'));
    assert!(
        app.command_line.is_some(),
        "`:` in an empty composer opens it"
    );
    typed(&mut app, "qu");
    press(&mut app, KeyCode::Enter);
    assert!(
        app.command_line.is_some(),
        "`qu` is queues or quit: not run"
    );
    let screen_text = screen(&mut app, 100, 20);
    assert!(
        screen_text.contains("could be queues, quit"),
        "{screen_text}"
    );
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    typed(&mut app, "que");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert_eq!(shown(&app), Some(ViewKind::Queues));
    for (command, kind) in [
        ("endpoints", Some(ViewKind::Endpoints)),
        ("bridges", Some(ViewKind::Bridges)),
        ("calls", Some(ViewKind::Calls)),
        ("ch", Some(ViewKind::Channels)),
        ("log", None),
    ] {
        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, command);
        press(&mut app, KeyCode::Enter);
        assert_eq!(shown(&app), kind, ":{command}");
        assert!(app.command_line.is_none());
    }
    press(&mut app, KeyCode::Char(':'));
    typed(&mut app, "nonsense");
    press(&mut app, KeyCode::Enter);
    let error = app.command_line.as_ref().and_then(|c| c.error.clone());
    assert!(error.unwrap().contains("unknown command :nonsense"));
    press(&mut app, KeyCode::Esc);
    assert!(app.command_line.is_none());
}

#[test]
fn colon_in_a_composer_with_text_is_typed() {
    let mut app = seeded_app();
    typed(&mut app, "Action:");
    assert!(app.command_line.is_none());
    assert_eq!(app.composer.text(), "Action:");
}

#[test]
fn a_refused_list_says_what_the_login_lacks_instead_of_an_empty_table() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(9));
    let screen = screen(&mut app, 100, 12);
    assert!(screen.contains("BridgeList permission denied"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn queue_members_sort_filter_and_a_pause_fills_the_composer() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(7));
    let first = screen(&mut app, 100, 20);
    assert!(first.contains("Queues (2) 1 queues · 2 members"), "{first}");
    insta::assert_snapshot!("queues", first);
    // Sort by member, descending: Bob first.
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('S'));
    let sorted = screen(&mut app, 100, 20);
    let bob = sorted.find("Bob").unwrap();
    let alice = sorted.find("Alice").unwrap();
    assert!(bob < alice, "{sorted}");
    assert!(sorted.contains("by Member / caller ▼"), "{sorted}");
    // Filter to Alice, open the detail, pause her.
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "alice");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    let detail = screen(&mut app, 120, 24);
    assert!(detail.contains("(1 of 2)"), "{detail}");
    assert!(
        detail.contains("ringall"),
        "queue parameters in the detail: {detail}"
    );
    insta::assert_snapshot!("queue_member_detail", detail);
    press(&mut app, KeyCode::Char('a'));
    assert!(matches!(app.overlay, Some(Overlay::RowActions { .. })));
    let cmds = update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))),
    );
    assert!(cmds.is_empty(), "nothing sent: {cmds:?}");
    assert_eq!(app.focus, Focus::Composer);
    assert_eq!(
        app.composer.text(),
        "Action: QueuePause\nQueue: support\nInterface: PJSIP/alice\nPaused: true\nReason: <reason>"
    );
}

#[test]
fn a_paused_member_offers_unpause_and_an_endpoint_offers_qualify() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(7));
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "bob");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    let Some(Overlay::RowActions { actions, .. }) = &app.overlay else {
        panic!("no actions menu");
    };
    assert_eq!(actions[0].label, "QueueUnpause");
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::F(8));
    let endpoints = screen(&mut app, 100, 12);
    assert!(
        endpoints.contains("Reachable sip:alice@127.0.0.1:5062"),
        "{endpoints}"
    );
    assert!(endpoints.contains("1.5 ms"), "{endpoints}");
    insta::assert_snapshot!("endpoints", endpoints);
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.composer.text(), "Action: PJSIPQualify\nEndpoint: alice");
}

#[test]
fn a_hangup_from_the_channels_view_asks_before_it_is_sent() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(6));
    press(&mut app, KeyCode::Char('a'));
    let Some(Overlay::RowActions { actions, .. }) = &app.overlay else {
        panic!("no actions menu for a live channel");
    };
    assert_eq!(actions[0].label, "Hangup");
    press(&mut app, KeyCode::Enter);
    let text = app.composer.text();
    assert!(
        text.starts_with("Action: Hangup\nChannel: Local/long@test-00000001;1\n"),
        "{text}"
    );
    // Enter on the empty last line sends through the composer: Hangup asks first.
    press(&mut app, KeyCode::End);
    let mut cmds = Vec::new();
    for _ in 0..2 {
        cmds = update(
            &mut app,
            Msg::Input(Event::Key(KeyEvent::new(
                KeyCode::Enter,
                KeyModifiers::NONE,
            ))),
        );
        if app.overlay.is_some() {
            break;
        }
    }
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        matches!(app.overlay, Some(Overlay::Confirm { .. })),
        "{:?}",
        app.overlay
    );
}

#[test]
fn the_calls_table_counts_the_seeded_calls_as_live() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(5));
    let screen = screen(&mut app, 120, 12);
    assert!(screen.contains("Calls (2) 2 live"), "{screen}");
    assert!(
        screen.contains("│08:00:35 1:05    Local/long@test-0000"),
        "no caller ID: the channel's name, and the age from the snapshot: {screen}"
    );
    insta::assert_snapshot!("calls", screen);
}

#[test]
fn esc_clears_the_filter_then_closes_the_detail_then_the_view() {
    let mut app = seeded_app();
    press(&mut app, KeyCode::F(6));
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "alice");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert!(app.table.as_ref().unwrap().detail);
    press(&mut app, KeyCode::Esc);
    assert!(!app.table.as_ref().unwrap().detail);
    press(&mut app, KeyCode::Esc);
    assert!(app.table.as_ref().unwrap().filter.is_empty());
    press(&mut app, KeyCode::Esc);
    assert!(app.table.is_none());
}
