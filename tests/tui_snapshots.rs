//! Snapshot tests of every TUI view on a `TestBackend`, fed with the real captures in
//! tests/fixtures/vectors/. Times are synthetic and fixed, so no clock leaks into a
//! snapshot.

use amicon::ami::{codec::AmiCodec, Action, Frame, Kind, Message};
use amicon::app::{update, App, AppOptions, Msg};
use amicon::session::{EndReason, Link, ServerInfo, SessionEvent, SessionState, Stamped};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use tokio_util::codec::Decoder;

const T0_MS: u64 = 1_764_356_400_000; // 19:00:00 UTC

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(T0_MS + ms)
}

fn decode(path: &str, banner: bool) -> Vec<Message> {
    let full = format!(
        "{}/tests/fixtures/vectors/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = bytes::BytesMut::from(&std::fs::read(full).unwrap()[..]);
    let mut codec = if banner {
        AmiCodec::default()
    } else {
        AmiCodec::without_banner(1 << 20)
    };
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut bytes) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

/// A captured session as the session task would publish it: each action (masked) just
/// before its response, list items and completions linked to the action.
fn session_of(name: &str) -> Vec<Stamped> {
    let mut actions: HashMap<String, Message> = HashMap::new();
    for m in decode(&format!("{name}.actions"), false) {
        let action = Action::from_headers(
            m.headers()
                .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.to_vec()))
                .collect(),
        );
        if let Some(id) = m.get_str("ActionID") {
            actions.insert(id.into_owned(), action.to_masked_message());
        }
    }
    let mut lists: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut clock = 0;
    let mut push = |event| {
        clock += 37;
        out.push(Stamped {
            at: at(clock),
            event,
        });
    };
    for m in decode(&format!("{name}.txt"), true) {
        let id = m.get_str("ActionID").map(|s| s.into_owned());
        let link = match (&id, m.kind()) {
            (Some(id), Kind::Response) => {
                if let Some(sent) = actions.remove(id) {
                    let action = sent.get_str("Action").unwrap_or_default().into_owned();
                    push(SessionEvent::Sent {
                        action_id: id.clone(),
                        name: action,
                        message: sent,
                        internal: false,
                    });
                }
                if m.is("EventList", "start") {
                    lists.push(id.clone());
                }
                Link::Response {
                    action_id: id.clone(),
                }
            }
            (Some(id), Kind::Event) if lists.contains(id) => {
                if m.is("EventList", "Complete") {
                    lists.retain(|l| l != id);
                    Link::ListComplete {
                        action_id: id.clone(),
                    }
                } else {
                    Link::ListItem {
                        action_id: id.clone(),
                    }
                }
            }
            _ => Link::Unsolicited,
        };
        push(SessionEvent::Received {
            message: m,
            link,
            internal: false,
        });
    }
    out
}

fn logged_in() -> Vec<Stamped> {
    vec![
        Stamped {
            at: at(0),
            event: SessionEvent::State(SessionState::Connecting { attempt: 1 }),
        },
        Stamped {
            at: at(1),
            event: SessionEvent::State(SessionState::LoggedIn {
                user: "admin".into(),
                server: "127.0.0.1:5038".into(),
                tls: false,
            }),
        },
        Stamped {
            at: at(2),
            event: SessionEvent::ServerInfo(ServerInfo {
                banner: "Asterisk Call Manager/11.0.0".into(),
                ami_version: Some("11.0.0".into()),
                asterisk_version: Some("22.10.1+dfsg+~cs6.17.60671434-1".into()),
                system_name: None,
            }),
        },
        Stamped {
            at: at(3),
            event: SessionEvent::Pong {
                rtt: Duration::from_micros(1800),
            },
        },
    ]
}

fn app_with(options: AppOptions) -> App {
    App::new(
        AppOptions {
            target: "admin@127.0.0.1:5038".into(),
            ..options
        },
        at(0),
    )
}

fn app() -> App {
    app_with(AppOptions::default())
}

fn feed(app: &mut App, events: Vec<Stamped>) {
    update(app, Msg::Session(events));
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    update(app, Msg::Input(Event::Key(KeyEvent::new(code, modifiers))));
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        press(
            app,
            if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            },
            KeyModifiers::NONE,
        );
    }
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    update(app, Msg::Input(Event::Resize(width, height)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
    terminal
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    render(app, width, height).backend().to_string()
}

#[test]
fn empty_screen_while_connecting() {
    insta::assert_snapshot!(screen(&mut app(), 80, 24));
}

#[test]
fn logged_in_with_a_call_80x24() {
    let mut app = app();
    feed(&mut app, logged_in());
    feed(&mut app, session_of("originate-local-call-events"));
    update(&mut app, Msg::Tick(at(0)));
    update(&mut app, Msg::Tick(at(1000)));
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn logged_in_with_a_call_on_a_wide_terminal() {
    let mut app = app();
    feed(&mut app, logged_in());
    feed(&mut app, session_of("originate-local-call-events"));
    insta::assert_snapshot!(screen(&mut app, 160, 40));
}

#[test]
fn reconnecting_counts_down() {
    let mut app = app();
    feed(&mut app, logged_in());
    feed(
        &mut app,
        vec![
            Stamped {
                at: at(10_000),
                event: SessionEvent::State(SessionState::Reconnecting {
                    delay: Duration::from_secs(4),
                    attempt: 2,
                    reason: "connection reset by peer".into(),
                }),
            },
            Stamped {
                at: at(10_000),
                event: SessionEvent::Gap {
                    from: at(9_000),
                    to: at(10_000),
                    reason: "connection reset by peer".into(),
                },
            },
        ],
    );
    update(&mut app, Msg::Tick(at(11_500)));
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn authentication_failed() {
    let mut app = app();
    feed(
        &mut app,
        vec![
            Stamped {
                at: at(0),
                event: SessionEvent::State(SessionState::Connecting { attempt: 1 }),
            },
            Stamped {
                at: at(5),
                event: SessionEvent::State(SessionState::Ended(EndReason::AuthFailed(
                    "Authentication failed".into(),
                ))),
            },
        ],
    );
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn filters_active_show_counts_and_toggles() {
    let mut app = app();
    feed(&mut app, logged_in());
    feed(&mut app, session_of("originate-local-call-events"));
    press(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    keys(&mut app, "Local/echo\n");
    press(&mut app, KeyCode::F(2), KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn filter_bar_points_at_an_error() {
    let mut app = app();
    feed(&mut app, logged_in());
    press(&mut app, KeyCode::Char('f'), KeyModifiers::CONTROL);
    keys(&mut app, "Hangup \"unfinished");
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn paused_with_new_messages() {
    let mut app = app();
    feed(&mut app, logged_in());
    let events = session_of("originate-local-call-events");
    let (first, rest) = events.split_at(30);
    feed(&mut app, first.to_vec());
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::PageUp, KeyModifiers::NONE);
    feed(&mut app, rest.to_vec());
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn detail_view_lists_every_header_in_order() {
    let mut app = app();
    feed(&mut app, session_of("originate-local-call-events"));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('/'), KeyModifiers::NONE);
    keys(&mut app, "Event: Hangup\n");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn detail_of_a_list_response_shows_its_items_as_a_table() {
    let mut app = app();
    feed(&mut app, session_of("coreshowchannels-eventlist"));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Home, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('/'), KeyModifiers::NONE);
    keys(&mut app, "Channels will follow\n");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 120, 30));
}

#[test]
fn detail_of_command_output_reads_like_the_cli() {
    let mut app = app();
    feed(&mut app, session_of("command-long-output"));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('/'), KeyModifiers::NONE);
    keys(&mut app, "Command output follows\n");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

#[test]
fn detail_of_a_legacy_command_body() {
    let mut app = app();
    feed(&mut app, session_of("synthetic/legacy-command-follows"));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('/'), KeyModifiers::NONE);
    keys(&mut app, "Follows\n");
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

#[test]
fn help_overlay() {
    let mut app = app();
    feed(&mut app, logged_in());
    press(&mut app, KeyCode::F(1), KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn confirmation_before_a_hangup() {
    let mut app = app();
    feed(&mut app, logged_in());
    keys(
        &mut app,
        "Action: Hangup\nChannel: PJSIP/100-00000001\nCause: 16\n\n",
    );
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn composer_shows_a_refused_block() {
    let mut app = app();
    feed(&mut app, logged_in());
    keys(&mut app, "Action: Originate\nChannel Local/echo@test\n\n");
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn wide_characters_keep_columns_aligned() {
    let mut app = app();
    let events = ["王小明", "Émile 📞", "plain"]
        .iter()
        .enumerate()
        .map(|(i, name)| Stamped {
            at: at(i as u64),
            event: SessionEvent::Received {
                message: Message::from_headers(&[
                    (
                        "Event",
                        if i == 0 {
                            "新しいイベント名前がとても長い"
                        } else {
                            "Newchannel"
                        },
                    ),
                    ("Channel", "PJSIP/100-00000001"),
                    ("CallerIDName", name),
                ]),
                link: Link::Unsolicited,
                internal: false,
            },
        })
        .collect();
    feed(&mut app, events);
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    // The channel starts in the same column on every line, whatever the name's width.
    let column_of_channel = |row: u16| {
        let mut text = String::new();
        for x in 0..80u16 {
            text.push_str(buffer[(x, row)].symbol());
            if text.ends_with("PJSIP") {
                return Some(x + 1 - 5);
            }
        }
        None
    };
    let columns: Vec<_> = (1..4).map(column_of_channel).collect();
    assert!(
        columns.iter().all(|c| c.is_some() && *c == columns[0]),
        "{columns:?}"
    );
    insta::assert_snapshot!(terminal.backend().to_string());
}

#[test]
fn no_color_draws_without_any_colour() {
    let mut app = app_with(AppOptions {
        no_color: true,
        ..AppOptions::default()
    });
    feed(&mut app, logged_in());
    feed(&mut app, session_of("originate-local-call-events"));
    let terminal = render(&mut app, 80, 24);
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let mut colourful = app_with(AppOptions::default());
    feed(&mut colourful, logged_in());
    let terminal = render(&mut colourful, 80, 24);
    assert!(terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset));
}

#[test]
fn secrets_of_the_login_never_reach_the_screen() {
    let mut app = app();
    feed(&mut app, session_of("login-success"));
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut app, KeyCode::Home, KeyModifiers::NONE);
    press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    let text = screen(&mut app, 120, 30);
    assert!(text.contains("Secret: ***"), "{text}");
    assert!(!text.contains("amp111"));
}

#[test]
fn completion_popup_lists_actions_with_their_synopsis() {
    let mut app = app();
    feed(&mut app, logged_in());
    let response = decode("listcommands.txt", true)
        .into_iter()
        .find(|m| m.is("ActionID", "lc-1"))
        .unwrap();
    update(
        &mut app,
        Msg::ActionList(Ok(amicon::session::Reply {
            action_id: "lc-1".into(),
            response,
            items: Vec::new(),
            complete: None,
        })),
    );
    keys(&mut app, "Action: Queue");
    press(&mut app, KeyCode::Char(' '), KeyModifiers::CONTROL);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn template_list() {
    let mut app = app();
    feed(&mut app, logged_in());
    press(&mut app, KeyCode::F(4), KeyModifiers::NONE);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn every_size_from_tiny_to_wide_draws_without_panicking() {
    let overlays: [&dyn Fn(&mut App); 6] = [
        &|_| {},
        &|a| press(a, KeyCode::F(1), KeyModifiers::NONE),
        &|a| press(a, KeyCode::F(4), KeyModifiers::NONE),
        &|a| press(a, KeyCode::Char('f'), KeyModifiers::CONTROL),
        &|a| keys(a, "Action: Hangup\nChannel: x\n\n"),
        &|a| {
            press(a, KeyCode::Tab, KeyModifiers::NONE);
            press(a, KeyCode::Up, KeyModifiers::NONE);
            press(a, KeyCode::Enter, KeyModifiers::NONE);
        },
    ];
    for open in overlays {
        let mut app = app();
        feed(&mut app, logged_in());
        feed(&mut app, session_of("coreshowchannels-eventlist"));
        open(&mut app);
        for (w, h) in [
            (1, 1),
            (2, 3),
            (10, 5),
            (20, 8),
            (40, 12),
            (79, 23),
            (200, 60),
        ] {
            render(&mut app, w, h);
        }
    }
}
