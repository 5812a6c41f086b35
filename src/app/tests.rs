use super::*;
use crate::ami::{codec::AmiCodec, Frame, Message};
use crate::session::Link;
use crossterm::event::{KeyCode, KeyModifiers};
use tokio_util::codec::Decoder;

const T0: u64 = 1_764_356_400; // 2025-11-28 19:00:00 UTC

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(T0 * 1000 + ms)
}

fn app() -> App {
    App::new(
        AppOptions {
            target: "admin@127.0.0.1:5038".into(),
            ..AppOptions::default()
        },
        at(0),
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(c: char) -> Msg {
    Msg::Input(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn type_text(app: &mut App, text: &str) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for c in text.chars() {
        cmds.extend(update(
            app,
            key(if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            }),
        ));
    }
    cmds
}

fn received(message: Message, link: Link) -> Stamped {
    Stamped {
        at: at(1),
        event: SessionEvent::Received {
            message,
            link,
            internal: false,
        },
    }
}

/// Every message of a captured vector, as unsolicited events.
fn vector(name: &str) -> Vec<Message> {
    let path = format!(
        "{}/tests/fixtures/vectors/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = bytes::BytesMut::from(&std::fs::read(path).unwrap()[..]);
    let mut codec = AmiCodec::default();
    let mut out = Vec::new();
    while let Ok(Some(frame)) = codec.decode(&mut bytes) {
        if let Frame::Message(m) = frame {
            out.push(m);
        }
    }
    out
}

#[test]
fn a_response_is_named_after_the_action_it_answers() {
    let mut app = app();
    let sent = Message::from_headers(&[("Action", "Ping"), ("ActionID", "a-1")]);
    update(
        &mut app,
        Msg::Session(vec![
            Stamped {
                at: at(0),
                event: SessionEvent::Sent {
                    action_id: "a-1".into(),
                    name: "Ping".into(),
                    message: sent,
                    internal: false,
                },
            },
            received(
                Message::from_headers(&[
                    ("Response", "Success"),
                    ("ActionID", "a-1"),
                    ("Ping", "Pong"),
                ]),
                Link::Response {
                    action_id: "a-1".into(),
                },
            ),
        ]),
    );
    assert_eq!(app.log.total(), 2);
    match &app.log.shown_at(1).unwrap().1.item {
        Item::Received { action, .. } => assert_eq!(action.as_deref(), Some("Ping")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn enter_on_a_blank_line_submits_the_block() {
    let mut app = app();
    let cmds = type_text(&mut app, "Action: Ping\n\n");
    assert_eq!(cmds, vec![Cmd::Submit(Action::new("Ping"))]);
    update(&mut app, Msg::Submitted(Ok("x-1".into())));
    assert!(app.composer.is_blank());
}

#[test]
fn a_refused_submit_keeps_the_block_and_says_why() {
    let mut app = app();
    type_text(&mut app, "Action: Ping\n\n");
    update(&mut app, Msg::Submitted(Err(ActionError::NotConnected)));
    assert!(!app.composer.is_blank());
    assert!(app
        .composer
        .problem
        .as_deref()
        .unwrap()
        .contains("not connected"));
}

#[test]
fn hangup_asks_before_sending_and_y_sends() {
    let mut app = app();
    let cmds = type_text(&mut app, "Action: Hangup\nChannel: PJSIP/100-0001\n\n");
    assert!(cmds.is_empty());
    assert!(matches!(app.overlay, Some(Overlay::Confirm { .. })));
    let cmds = update(&mut app, key(KeyCode::Char('y')));
    assert!(matches!(&cmds[..], [Cmd::Submit(a)] if a.name().as_deref() == Some("Hangup")));
    assert!(app.overlay.is_none());
}

#[test]
fn confirmation_can_be_turned_off() {
    let mut app = App::new(
        AppOptions {
            confirm_destructive: false,
            ..AppOptions::default()
        },
        at(0),
    );
    let cmds = type_text(&mut app, "Action: Command\nCommand: core reload\n\n");
    let submits = cmds.iter().filter(|c| matches!(c, Cmd::Submit(_))).count();
    assert_eq!(submits, 1, "{cmds:?}");
}

#[test]
fn risky_cli_commands_need_confirmation_but_show_commands_do_not() {
    let reload = Action::new("Command").with("Command", "module reload res_pjsip.so");
    assert!(needs_confirmation(&reload).is_some());
    let show = Action::new("Command").with("Command", "core show channels");
    assert!(needs_confirmation(&show).is_none());
    assert!(needs_confirmation(&Action::new("Ping")).is_none());
}

#[test]
fn ctrl_c_twice_quits_and_once_only_warns() {
    let mut app = app();
    assert!(update(&mut app, ctrl('c')).is_empty());
    assert!(app.notice.is_some());
    assert_eq!(update(&mut app, ctrl('c')), vec![Cmd::Quit]);
}

#[test]
fn ctrl_c_then_another_key_disarms_the_quit() {
    let mut app = app();
    update(&mut app, ctrl('c'));
    update(&mut app, key(KeyCode::Char('x')));
    assert!(update(&mut app, ctrl('c')).is_empty());
}

#[test]
fn ctrl_q_quits_from_anywhere() {
    let mut app = app();
    update(&mut app, key(KeyCode::F(1)));
    assert_eq!(update(&mut app, ctrl('q')), vec![Cmd::Quit]);
}

#[test]
fn question_mark_types_in_the_editor_but_opens_help_in_the_log() {
    let mut app = app();
    update(&mut app, key(KeyCode::Char('?')));
    assert_eq!(app.composer.text(), "?");
    assert!(app.overlay.is_none());
    update(&mut app, key(KeyCode::BackTab));
    assert_eq!(app.focus, Focus::Log);
    update(&mut app, key(KeyCode::Char('?')));
    assert!(matches!(app.overlay, Some(Overlay::Help)));
    update(&mut app, key(KeyCode::Esc));
    assert!(app.overlay.is_none());
}

#[test]
fn a_filter_applies_to_buffered_messages_and_shows_its_count() {
    let mut app = app();
    let events = vector("originate-local-call-events");
    let total = events.len();
    update(
        &mut app,
        Msg::Session(
            events
                .into_iter()
                .map(|m| received(m, Link::Unsolicited))
                .collect(),
        ),
    );
    update(&mut app, ctrl('f'));
    type_text(&mut app, "Hangup\n");
    assert!(app.bar.is_none());
    assert_eq!(app.filter_text, "Hangup");
    assert!(
        app.log.shown() > 0 && app.log.shown() < total,
        "{} of {total}",
        app.log.shown()
    );
    // Empty filter clears it.
    update(&mut app, ctrl('f'));
    update(&mut app, ctrl('u'));
    type_text(&mut app, "\n");
    assert_eq!(app.log.shown(), total);
}

#[test]
fn a_bad_filter_is_pointed_at_and_changes_nothing() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[("Event", "Hangup")]),
            Link::Unsolicited,
        )]),
    );
    update(&mut app, ctrl('f'));
    type_text(&mut app, "\"Hangup\n");
    let bar = app.bar.as_ref().expect("bar stays open");
    assert!(bar.error.is_some());
    assert_eq!(app.log.shown(), 1);
    assert!(app.filter_text.is_empty());
}

#[test]
fn noise_toggle_hides_varset_and_newexten() {
    let mut app = app();
    let events = vector("originate-local-call-events");
    let noisy = events.iter().filter(|m| log::is_noise(m)).count();
    assert!(noisy > 0);
    let total = events.len();
    update(
        &mut app,
        Msg::Session(
            events
                .into_iter()
                .map(|m| received(m, Link::Unsolicited))
                .collect(),
        ),
    );
    update(&mut app, key(KeyCode::F(2)));
    assert_eq!(app.log.shown(), total - noisy);
    update(&mut app, key(KeyCode::F(2)));
    assert_eq!(app.log.shown(), total);
}

#[test]
fn own_only_shows_our_actions_and_their_answers() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![
            received(
                Message::from_headers(&[("Event", "Newchannel")]),
                Link::Unsolicited,
            ),
            received(
                Message::from_headers(&[("Response", "Success"), ("ActionID", "a-1")]),
                Link::Response {
                    action_id: "a-1".into(),
                },
            ),
        ]),
    );
    update(&mut app, key(KeyCode::F(3)));
    assert_eq!(app.log.shown(), 1);
}

#[test]
fn scrolling_up_pauses_and_end_resumes() {
    let mut app = app();
    let batch = (0..100).map(|n| {
        received(
            Message::from_headers(&[("Event", format!("E{n}"))]),
            Link::Unsolicited,
        )
    });
    update(&mut app, Msg::Session(batch.collect()));
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::PageUp));
    assert!(!app.log.is_following());
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[("Event", "New")]),
            Link::Unsolicited,
        )]),
    );
    assert_eq!(app.log.new_while_paused(), 1);
    update(&mut app, key(KeyCode::End));
    assert!(app.log.is_following());
}

#[test]
fn the_mouse_wheel_scrolls_and_a_click_focuses() {
    let mut app = app();
    let batch = (0..50).map(|n| {
        received(
            Message::from_headers(&[("Event", format!("E{n}"))]),
            Link::Unsolicited,
        )
    });
    update(&mut app, Msg::Session(batch.collect()));
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: 5,
        row: 5,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut app, Msg::Input(Event::Mouse(wheel)));
    assert!(!app.log.is_following());
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: app.regions.log.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut app, Msg::Input(Event::Mouse(click)));
    assert_eq!(app.focus, Focus::Log);
    assert_eq!(
        app.log.selected_index(),
        Some(app.log.first_visible(app.log_rows()) + 1)
    );
}

#[test]
fn enter_in_the_log_opens_the_detail_and_y_copies_raw_text() {
    let mut app = app();
    let message = Message::from_headers(&[("Event", "Hangup"), ("Channel", "PJSIP/1-1")]);
    update(
        &mut app,
        Msg::Session(vec![received(message.clone(), Link::Unsolicited)]),
    );
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.overlay, Some(Overlay::Detail { .. })));
    let cmds = update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(
        cmds,
        vec![Cmd::Copy(
            String::from_utf8_lossy(message.wire()).into_owned()
        )]
    );
}

#[test]
fn search_selects_matches_and_n_goes_on() {
    let mut app = app();
    let names = ["Hangup", "Newchannel", "Hangup", "Newstate"];
    update(
        &mut app,
        Msg::Session(
            names
                .iter()
                .map(|n| received(Message::from_headers(&[("Event", *n)]), Link::Unsolicited))
                .collect(),
        ),
    );
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "hangup\n");
    assert_eq!(app.log.selected_index(), Some(2));
    update(&mut app, key(KeyCode::Char('n')));
    assert_eq!(app.log.selected_index(), Some(0));
    update(&mut app, key(KeyCode::Char('N')));
    assert_eq!(app.log.selected_index(), Some(2));
}

#[test]
fn save_writes_the_shown_messages_as_a_recording_that_reads_back() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![
            Stamped {
                at: at(5),
                event: SessionEvent::State(SessionState::Connecting { attempt: 1 }),
            },
            received(
                Message::from_headers(&[("Event", "Hangup")]),
                Link::Unsolicited,
            ),
        ]),
    );
    update(&mut app, ctrl('s'));
    update(&mut app, ctrl('u'));
    let cmds = type_text(&mut app, "out.ami\n");
    let [Cmd::Save { path, contents }] = &cmds[..] else {
        panic!("{cmds:?}");
    };
    assert_eq!(path.to_str(), Some("out.ami"));
    let text = String::from_utf8_lossy(contents);
    assert!(text.starts_with("#amicon-recording 1\n"), "{text}");
    assert!(text.contains("Event: Hangup\r\n\r\n"), "{text}");
    // The note is the state it tells of, not a bare line `open` would take as a header.
    assert!(!text.contains("\nconnecting (attempt 1)"), "{text}");
    let back = crate::record::read(contents);
    assert!(back.timed);
    assert!(matches!(
        back.entries[0].event,
        SessionEvent::State(SessionState::Connecting { attempt: 1 })
    ));
    assert_eq!(back.entries[0].at, at(5));
}

#[test]
fn events_are_counted_and_the_rate_is_computed_each_second() {
    let mut app = app();
    update(&mut app, Msg::Tick(at(0)));
    let batch = (0..300).map(|_| {
        received(
            Message::from_headers(&[("Event", "VarSet")]),
            Link::Unsolicited,
        )
    });
    update(&mut app, Msg::Session(batch.collect()));
    update(&mut app, Msg::Tick(at(1500)));
    assert_eq!(app.status.events_total, 300);
    assert_eq!(app.status.events_per_second, 200);
}

#[test]
fn queue_drops_are_counted_and_noted() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![Stamped {
            at: at(0),
            event: SessionEvent::Dropped { count: 42 },
        }]),
    );
    assert_eq!(app.status.dropped, 42);
    assert_eq!(app.log.total(), 1);
}

#[test]
fn the_response_to_the_composers_block_is_shown_beside_it() {
    let mut app = app();
    type_text(&mut app, "Action: Ping\n\n");
    update(&mut app, Msg::Submitted(Ok("a-7".into())));
    update(
        &mut app,
        Msg::Session(vec![
            Stamped {
                at: at(0),
                event: SessionEvent::Sent {
                    action_id: "a-7".into(),
                    name: "Ping".into(),
                    message: Message::from_headers(&[("Action", "Ping"), ("ActionID", "a-7")]),
                    internal: false,
                },
            },
            received(
                Message::from_headers(&[
                    ("Response", "Error"),
                    ("ActionID", "a-7"),
                    ("Message", "Permission denied"),
                ]),
                Link::Response {
                    action_id: "a-7".into(),
                },
            ),
        ]),
    );
    let (tone, text) = app.notice.clone().unwrap();
    assert_eq!(tone, Tone::Bad);
    assert!(
        text.starts_with(
            "Ping → Error: Permission denied — this user's ListCommands does not list Ping"
        ) && text.ends_with("(the block is back: fix it and send again)"),
        "{text}"
    );
    assert_eq!(app.composer.text(), "Action: Ping");
    assert!(app.awaiting.is_none());
    assert!(app.answer.answer.as_ref().is_some_and(|a| a.is_error()));
}

fn sent(name: &str, id: &str) -> Stamped {
    Stamped {
        at: at(0),
        event: SessionEvent::Sent {
            action_id: id.into(),
            name: name.into(),
            message: Message::from_headers(&[("Action", name), ("ActionID", id)]),
            internal: false,
        },
    }
}

#[test]
fn the_answer_pane_holds_the_whole_command_output() {
    let mut app = app();
    app.resize(100, 40);
    update(&mut app, Msg::Submitted(Ok("c-1".into())));
    update(&mut app, Msg::Session(vec![sent("Command", "c-1")]));
    assert_eq!(app.answer.answer.as_ref().unwrap().action, "Command");
    assert_eq!(app.regions.answer.height, 0, "nothing to show yet");
    let mut headers = vec![
        ("Response", "Success".to_string()),
        ("ActionID", "c-1".to_string()),
        ("Message", "Command output follows".to_string()),
    ];
    for i in 0..30 {
        headers.push(("Output", format!("line {i}")));
    }
    let message = Message::from_headers(&headers);
    update(
        &mut app,
        Msg::Session(vec![received(
            message,
            Link::Response {
                action_id: "c-1".into(),
            },
        )]),
    );
    assert!(
        app.regions.answer.height > 0,
        "the pane opens for the output"
    );
    let Some(answer) = &app.answer.answer else {
        panic!("no answer")
    };
    match answer.shape() {
        super::answer::Shape::Output(lines) => assert_eq!(lines.len(), 30),
        other => panic!("{other:?}"),
    }
    // PgDn in the composer scrolls the pane; Alt-A hides it and gives the rows back.
    update(&mut app, key(KeyCode::PageDown));
    assert!(app.answer.scroll > 0);
    let log_rows = app.regions.log.height;
    update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('a'),
            KeyModifiers::ALT,
        ))),
    );
    assert_eq!(app.regions.answer.height, 0);
    assert!(app.regions.log.height > log_rows);
}

#[test]
fn only_the_composers_blocks_take_the_answer_pane() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![Stamped {
            at: at(0),
            event: SessionEvent::Sent {
                action_id: "k-1".into(),
                name: "Ping".into(),
                message: Message::from_headers(&[("Action", "Ping")]),
                internal: true,
            },
        }]),
    );
    // Nor does a recording's action: the composer did not send it.
    update(&mut app, Msg::Session(vec![sent("Originate", "r-1")]));
    assert!(app.answer.answer.is_none());
}

#[test]
fn p_pins_the_selected_log_line() {
    let mut app = app();
    app.resize(100, 40);
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[("Event", "Hangup"), ("Cause", "16")]),
            Link::Unsolicited,
        )]),
    );
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Char('p')));
    let answer = app.answer.answer.as_ref().expect("pinned");
    assert!(answer.pinned);
    assert!(app.regions.answer.height > 0);
}

#[test]
fn tab_completes_inside_the_composer() {
    let mut app = app();
    update(&mut app, Msg::ActionList(Ok(reply("listcommands", "lc-1"))));
    type_text(&mut app, "Action: Origi");
    let cmds = update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "Action: Originate");
    assert_eq!(app.focus, Focus::Composer);
    assert_eq!(
        cmds,
        vec![Cmd::Fetch(Background::ActionHelp("Originate".into()))]
    );
    // A bare prefix on the first line completes to an action line too.
    let mut app2 = self::app();
    update(
        &mut app2,
        Msg::ActionList(Ok(reply("listcommands", "lc-1"))),
    );
    type_text(&mut app2, "CoreSett");
    update(&mut app2, key(KeyCode::Tab));
    assert_eq!(app2.composer.text(), "Action: CoreSettings");
}

#[test]
fn a_paste_of_two_blocks_sends_both_in_order() {
    let mut app = app();
    let cmds = update(
        &mut app,
        Msg::Input(Event::Paste(
            "Action: Ping\r\nActionID: 1\r\n\r\nAction: CoreSettings\r\nActionID: 2\r\n\r\n".into(),
        )),
    );
    let names: Vec<String> = cmds
        .iter()
        .filter_map(|c| match c {
            Cmd::Submit(a) => a.name(),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["Ping", "CoreSettings"]);
    // Two blocks, one of them a Hangup: asked once, both sent on y.
    let cmds = update(
        &mut app,
        Msg::Input(Event::Paste(
            "Action: Ping\n\nAction: Hangup\nChannel: PJSIP/a-1\n".into(),
        )),
    );
    assert!(cmds.is_empty());
    let Some(Overlay::Confirm { why, .. }) = &app.overlay else {
        panic!("not asked")
    };
    assert!(
        why.contains("2 blocks") && why.contains("PJSIP/a-1"),
        "{why}"
    );
    let cmds = update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(cmds.len(), 2);
}

#[test]
fn read_only_refuses_actions_outside_the_read_list() {
    let mut app = App::new(
        AppOptions {
            read_only: true,
            ..AppOptions::default()
        },
        at(0),
    );
    let cmds = type_text(&mut app, "Action: Originate\nChannel: Local/echo@test\n\n");
    assert!(
        cmds.iter().all(|c| !matches!(c, Cmd::Submit(_))),
        "{cmds:?}"
    );
    assert!(app
        .composer
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("read-only")));
    app.composer.clear();
    let cmds = type_text(&mut app, "Ping\n\n");
    assert!(cmds.iter().any(|c| matches!(c, Cmd::Submit(_))), "{cmds:?}");
}

#[test]
fn the_question_names_a_live_channel_and_its_state() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/alice-00000001"),
                ("ChannelState", "6"),
                ("ChannelStateDesc", "Up"),
                ("Uniqueid", "1.1"),
                ("Linkedid", "1.1"),
            ]),
            Link::Unsolicited,
        )]),
    );
    type_text(
        &mut app,
        "Action: Hangup\nChannel: PJSIP/alice-00000001\n\n",
    );
    let Some(Overlay::Confirm { why, .. }) = &app.overlay else {
        panic!("not asked")
    };
    assert!(why.contains("still up (Up"), "{why}");
}

fn reply(vector_name: &str, action_id: &str) -> crate::session::Reply {
    let response = vector(vector_name)
        .into_iter()
        .find(|m| m.get_str("ActionID").as_deref() == Some(action_id))
        .expect("response in vector");
    crate::session::Reply {
        action_id: action_id.into(),
        response,
        items: Vec::new(),
        complete: None,
    }
}

fn ctrl_space(app: &mut App) -> Vec<Cmd> {
    update(
        app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Char(' '),
            KeyModifiers::CONTROL,
        ))),
    )
}

#[test]
fn logging_in_asks_for_the_action_list() {
    let mut app = app();
    let cmds = update(
        &mut app,
        Msg::Session(vec![Stamped {
            at: at(0),
            event: SessionEvent::State(SessionState::LoggedIn {
                user: "admin".into(),
                server: "pbx:5038".into(),
                tls: false,
            }),
        }]),
    );
    assert_eq!(cmds, vec![Cmd::Fetch(Background::ActionList)]);
}

#[test]
fn ctrl_space_completes_action_names_from_the_server_list() {
    let mut app = app();
    update(&mut app, Msg::ActionList(Ok(reply("listcommands", "lc-1"))));
    type_text(&mut app, "Action: Origi");
    // Completing the action's name completes its `Action:` line: its help is asked for
    // at once.
    let cmds = ctrl_space(&mut app);
    assert_eq!(app.composer.text(), "Action: Originate");
    assert_eq!(
        cmds,
        vec![Cmd::Fetch(Background::ActionHelp("Originate".into()))]
    );
    type_text(&mut app, "\n");
    // While it loads, completion says so and inserts nothing.
    let cmds = ctrl_space(&mut app);
    assert!(cmds.is_empty());
    assert_eq!(app.composer.text(), "Action: Originate\n");
    assert!(app
        .notice
        .as_ref()
        .is_some_and(|(_, text)| text.contains("loading the parameters")));
}

#[test]
fn a_popup_offers_several_candidates_and_enter_picks_one() {
    let mut app = app();
    update(&mut app, Msg::ActionList(Ok(reply("listcommands", "lc-1"))));
    type_text(&mut app, "Action: Queue");
    ctrl_space(&mut app);
    let Some(Overlay::Completion { completion, .. }) = &app.overlay else {
        panic!("{:?}", app.overlay)
    };
    assert!(completion.candidates.len() > 1);
    let second = completion.candidates[1].text.clone();
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    assert!(app.overlay.is_none());
    assert_eq!(app.composer.text(), format!("Action: {second}"));
}

#[test]
fn missing_required_parameters_are_flagged_before_sending() {
    let mut app = app();
    let help_id = vector("manager-show-command-originate")
        .iter()
        .find_map(|m| {
            m.get_str("ActionID")
                .filter(|id| !id.starts_with("login"))
                .map(|s| s.into_owned())
        })
        .unwrap();
    update(
        &mut app,
        Msg::ActionHelp {
            name: "Originate".into(),
            reply: Ok(reply("manager-show-command-originate", &help_id)),
        },
    );
    let cmds = type_text(&mut app, "Action: Originate\nExten: 100\n\n");
    assert!(cmds.is_empty());
    let problem = app.composer.problem.clone().unwrap();
    assert!(problem.contains("missing required: Channel"), "{problem}");
    // Alt-Enter sends anyway.
    let cmds = update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT))),
    );
    assert!(matches!(&cmds[..], [Cmd::Submit(_)]));
}

#[test]
fn sent_blocks_are_remembered_and_recalled_with_up_and_down() {
    let mut app = app();
    type_text(&mut app, "Action: Ping\n\n");
    let cmds = update(&mut app, Msg::Submitted(Ok("a-1".into())));
    assert_eq!(cmds, vec![Cmd::Remember("Action: Ping\n".into())]);
    app.history.add("Action: Ping").unwrap();
    app.history.add("Action: CoreSettings").unwrap();
    type_text(&mut app, "Action: Sta");
    update(&mut app, key(KeyCode::Up));
    assert_eq!(app.composer.text(), "Action: CoreSettings");
    update(&mut app, key(KeyCode::Up));
    assert_eq!(app.composer.text(), "Action: Ping");
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Down));
    assert_eq!(app.composer.text(), "Action: Sta", "the draft comes back");
}

#[test]
fn a_template_fills_the_composer() {
    let mut app = app();
    update(&mut app, key(KeyCode::F(4)));
    assert!(matches!(app.overlay, Some(Overlay::Templates { .. })));
    let index = app
        .templates
        .iter()
        .position(|t| t.name == "originate")
        .unwrap();
    for _ in 0..index {
        update(&mut app, key(KeyCode::Down));
    }
    update(&mut app, key(KeyCode::Enter));
    assert!(
        app.composer.text().starts_with("Action: Originate"),
        "{}",
        app.composer.text()
    );
}

#[test]
fn own_traffic_is_hidden_by_default_and_i_shows_it() {
    let mut app = app();
    let id = format!("amicon-1{}9", crate::complete::BACKGROUND_MARK);
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[("Response", "Success"), ("ActionID", id.as_str())]),
            Link::Response {
                action_id: id.clone(),
            },
        )]),
    );
    assert_eq!(
        app.log.shown(),
        0,
        "a help lookup is not what the user typed"
    );
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::Char('i')));
    assert_eq!(app.log.shown(), 1);
    // F2 (hide noise) hides it again whatever i says.
    update(&mut app, key(KeyCode::F(2)));
    assert_eq!(app.log.shown(), 0);
}

#[test]
fn ctrl_r_finds_the_newest_matching_block_in_the_history() {
    let mut app = app();
    app.history
        .add("Action: Originate\nChannel: Local/100@test")
        .unwrap();
    app.history.add("Action: Ping").unwrap();
    app.history
        .add("Action: Originate\nChannel: Local/200@test")
        .unwrap();
    update(&mut app, ctrl('r'));
    type_text(&mut app, "originate\n");
    assert_eq!(
        app.composer.text(),
        "Action: Originate\nChannel: Local/200@test"
    );
}

#[test]
fn a_first_connection_that_fails_says_cannot_connect_and_a_later_one_connection_lost() {
    let mut app = app();
    let retry = || Stamped {
        at: at(1),
        event: SessionEvent::State(SessionState::Reconnecting {
            delay: Duration::from_secs(2),
            attempt: 1,
            reason: "connection refused".into(),
        }),
    };
    update(&mut app, Msg::Session(vec![retry()]));
    let last = |app: &App| match &app.log.shown_entries().last().unwrap().item {
        Item::Note { text, .. } => text.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        last(&app),
        "cannot connect (connection refused); trying again in 2s"
    );
    let logged_in = Stamped {
        at: at(2),
        event: SessionEvent::State(SessionState::LoggedIn {
            user: "admin".into(),
            server: "pbx:5038".into(),
            tls: false,
        }),
    };
    update(&mut app, Msg::Session(vec![logged_in, retry()]));
    assert!(last(&app).starts_with("connection lost"), "{}", last(&app));
}

#[test]
fn the_detail_view_asks_for_and_shows_the_servers_event_documentation() {
    let mut app = app();
    update(
        &mut app,
        Msg::Session(vec![received(
            Message::from_headers(&[
                ("Event", "Hangup"),
                ("Channel", "PJSIP/alice-1"),
                ("ChannelState", "6"),
                ("Cause", "21"),
            ]),
            Link::Unsolicited,
        )]),
    );
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::Up));
    let cmds = update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Cmd::Fetch(Background::EventDoc("Hangup".into()))]
    );
    let doc = Message::from_headers(&[
        ("Response", "Success"),
        ("Message", "Command output follows"),
        ("Output", "[Synopsis]"),
        ("Output", "Raised when a channel is hung up."),
        ("Output", "[Arguments]"),
        ("Output", "Cause"),
        (
            "Output",
            "    A numeric cause code for why the channel was hung up.",
        ),
    ]);
    update(
        &mut app,
        Msg::EventDoc {
            name: "Hangup".into(),
            reply: Ok(crate::session::Reply {
                action_id: "x".into(),
                response: doc,
                items: Vec::new(),
                complete: None,
            }),
        },
    );
    let (_, entry) = app.log.selected().unwrap();
    let theme = crate::ui::theme::Theme::new(true);
    let text: Vec<String> = crate::ui::detail::detail_lines(&app, &entry.item, &theme)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    assert!(
        text.contains(&"ChannelState: 6  (Up)".to_string()),
        "{text:#?}"
    );
    assert!(
        text.contains(&"Cause: 21  (Call Rejected)".to_string()),
        "{text:#?}"
    );
    assert!(
        text.contains(&"Cause: A numeric cause code for why the channel was hung up.".to_string()),
        "{text:#?}"
    );
}
