//! Snapshots of the answer pane: a `Command`'s output as plain text, a list answer as a
//! table of its items, an error marked as one.

use amicon::ami::Message;
use amicon::app::{update, App, AppOptions, Msg};
use amicon::session::{Link, SessionEvent, Stamped};
use crossterm::event::Event;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, SystemTime};

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_356_400_000 + ms)
}

fn app() -> App {
    App::new(
        AppOptions {
            target: "admin@127.0.0.1:5038".into(),
            no_color: true,
            ..AppOptions::default()
        },
        at(0),
    )
}

fn received(headers: &[(&str, &str)], link: Link) -> Stamped {
    Stamped {
        at: at(10),
        event: SessionEvent::Received {
            message: Message::from_headers(headers),
            link,
            internal: false,
        },
    }
}

/// The composer sent `name` as ActionID `id`, and these came back.
fn answered(app: &mut App, name: &str, id: &str, back: Vec<Stamped>) {
    update(app, Msg::Submitted(Ok(id.into())));
    let sent = Stamped {
        at: at(5),
        event: SessionEvent::Sent {
            action_id: id.into(),
            name: name.into(),
            message: Message::from_headers(&[("Action", name), ("ActionID", id)]),
            internal: false,
        },
    };
    update(
        app,
        Msg::Session(std::iter::once(sent).chain(back).collect()),
    );
}

fn screen(app: &mut App) -> String {
    update(app, Msg::Input(Event::Resize(100, 30)));
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn response(id: &str) -> Link {
    Link::Response {
        action_id: id.into(),
    }
}

#[test]
fn answer_pane_command_output() {
    let mut app = app();
    answered(
        &mut app,
        "Command",
        "c-1",
        vec![received(
            &[
                ("Response", "Success"),
                ("ActionID", "c-1"),
                ("Message", "Command output follows"),
                (
                    "Output",
                    "Channel              Location             State   Application(Data)",
                ),
                (
                    "Output",
                    "Local/echo@test-0000 echo@test:1          Up      Echo()",
                ),
                (
                    "Output",
                    "Local/echo@test-0000 (None)               Up      AppDial((Outgoing Line))",
                ),
                ("Output", "2 active channels"),
                ("Output", "1 active call"),
            ],
            response("c-1"),
        )],
    );
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn answer_pane_list_as_a_table() {
    let mut app = app();
    let item = |channel: &str, state: &str| {
        received(
            &[
                ("Event", "CoreShowChannel"),
                ("ActionID", "l-1"),
                ("Channel", channel),
                ("ChannelStateDesc", state),
                ("CallerIDNum", "100"),
                ("Application", "Echo"),
                ("Duration", "00:00:07"),
            ],
            Link::ListItem {
                action_id: "l-1".into(),
            },
        )
    };
    answered(
        &mut app,
        "CoreShowChannels",
        "l-1",
        vec![
            received(
                &[
                    ("Response", "Success"),
                    ("ActionID", "l-1"),
                    ("EventList", "start"),
                    ("Message", "Channels will follow"),
                ],
                response("l-1"),
            ),
            item("Local/echo@test-00000001;1", "Up"),
            item("Local/echo@test-00000001;2", "Ringing"),
            received(
                &[
                    ("Event", "CoreShowChannelsComplete"),
                    ("ActionID", "l-1"),
                    ("EventList", "Complete"),
                    ("ListItems", "2"),
                ],
                Link::ListComplete {
                    action_id: "l-1".into(),
                },
            ),
        ],
    );
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn answer_pane_error() {
    let mut app = app();
    answered(
        &mut app,
        "Originate",
        "e-1",
        vec![received(
            &[
                ("Response", "Error"),
                ("ActionID", "e-1"),
                ("Message", "Permission denied"),
            ],
            response("e-1"),
        )],
    );
    insta::assert_snapshot!(screen(&mut app));
}
