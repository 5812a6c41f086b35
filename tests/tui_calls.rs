//! The calls view inside the TUI: fed by the same stream entries as the log (the real
//! dial-call recording), opened with F5 or `c`, with its keys driven through `update`
//! and its screens drawn on a `TestBackend`.

use amicon::app::{update, App, AppOptions, Focus, Msg, Overlay};
use amicon::record;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn dial_call_app() -> App {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/calls/dial-call.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present");
    let recording = record::read(&bytes);
    let last = recording.entries.last().expect("entries").at;
    let mut app = App::new(
        AppOptions {
            target: "admin@127.0.0.1:5038".into(),
            ..AppOptions::default()
        },
        last,
    );
    update(&mut app, Msg::Session(recording.entries));
    app
}

fn press(app: &mut App, code: KeyCode) {
    update(
        app,
        Msg::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))),
    );
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    update(app, Msg::Input(Event::Resize(width, height)));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| amicon::ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn the_stream_feeds_the_calls_model_like_the_log() {
    let app = dial_call_app();
    assert_eq!(app.state.calls().len(), 1, "one dial call in the recording");
    assert!(app.log.shown() > 10);
}

#[test]
fn f5_opens_the_calls_list_and_focuses_it() {
    let mut app = dial_call_app();
    assert_eq!(app.focus, Focus::Composer);
    press(&mut app, KeyCode::F(5));
    assert!(app.table.is_some());
    assert_eq!(app.focus, Focus::Log);
    let screen = screen(&mut app, 100, 24);
    assert!(screen.contains("Calls"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn c_in_the_log_opens_the_calls_view_and_esc_goes_back() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Log);
    press(&mut app, KeyCode::Char('c'));
    assert!(app.table.is_some());
    press(&mut app, KeyCode::Esc);
    assert!(app.table.is_none());
}

#[test]
fn c_in_the_composer_is_typed_not_a_command() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::Char('c'));
    assert!(app.table.is_none());
    assert_eq!(app.composer.text(), "c");
}

#[test]
fn enter_opens_the_detail_and_esc_returns_to_the_list() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::Enter);
    let view = app.table.as_ref().unwrap();
    assert!(view.call_detail.is_some());
    let screen = screen(&mut app, 100, 30);
    insta::assert_snapshot!(screen);
    press(&mut app, KeyCode::Esc);
    assert!(app.table.as_ref().unwrap().call_detail.is_none());
    press(&mut app, KeyCode::Esc);
    assert!(app.table.is_none());
}

#[test]
fn tab_switches_the_detail_pane_and_arrows_pick_a_channel() {
    use amicon::app::call_selection::DetailPane;
    let mut app = dial_call_app();
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    let view = app.table.as_ref().unwrap();
    let (_, detail) = view.call_detail.as_ref().unwrap();
    assert_eq!(detail.borrow().pane, DetailPane::Timeline);
    assert_eq!(detail.borrow().channel, 1);
    assert_eq!(app.focus, Focus::Log, "Tab stays in the detail");
    press(&mut app, KeyCode::Left);
    let view = app.table.as_ref().unwrap();
    assert_eq!(view.call_detail.as_ref().unwrap().1.borrow().channel, 0);
}

#[test]
fn f_filters_the_log_to_the_call_and_closes_the_view() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::F(5));
    let expected = app.state.calls().ordered()[0].follow_filter();
    let total = app.log.shown();
    press(&mut app, KeyCode::Char('f'));
    assert!(app.table.is_none());
    assert_eq!(app.filter_text, expected.trim());
    assert!(app.log.shown() > 0 && app.log.shown() < total);
}

#[test]
fn a_channel_action_fills_the_composer_and_sends_nothing() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('a'));
    assert!(matches!(
        app.overlay,
        Some(Overlay::ChannelActions { selected: 0 })
    ));
    let menu = screen(&mut app, 100, 30);
    assert!(menu.contains("Redirect"), "{menu}");
    // Down to Redirect, which has placeholders.
    press(&mut app, KeyCode::Down);
    let cmds = update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))),
    );
    assert!(cmds.is_empty(), "nothing is sent: {cmds:?}");
    let call = app.state.calls().ordered()[0];
    let channel = &call.channels()[0].name;
    let text = app.composer.text();
    assert!(text.starts_with("Action: Redirect\n"), "{text}");
    assert!(text.contains(&format!("Channel: {channel}")), "{text}");
    assert_eq!(app.focus, Focus::Composer);
    let (row, col) = app.composer.cursor();
    let line = &app.composer.lines()[row];
    assert!(
        line[line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)..].starts_with('<'),
        "cursor on the first placeholder: {line:?} col {col}"
    );
}

#[test]
fn list_keys_move_the_selection_within_bounds() {
    let mut app = dial_call_app();
    press(&mut app, KeyCode::F(5));
    for code in [KeyCode::Down, KeyCode::PageDown, KeyCode::Up, KeyCode::End] {
        press(&mut app, code);
        assert_eq!(
            amicon::app::calls::selected_call(&app),
            Some(app.state.calls().ordered()[0].id)
        );
    }
}

#[test]
fn ctrl_s_to_a_jsonl_name_saves_json_lines_of_the_filtered_view() {
    let mut app = dial_call_app();
    app.apply_filter("Hangup").unwrap();
    update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('s'),
            KeyModifiers::CONTROL,
        ))),
    );
    if let Some(bar) = app.bar.as_mut() {
        bar.text = "calls.jsonl".into();
    }
    let cmds = update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))),
    );
    let [amicon::app::Cmd::Save { path, contents }] = &cmds[..] else {
        panic!("{cmds:?}");
    };
    let text = String::from_utf8_lossy(contents);
    assert_eq!(path.to_str(), Some("calls.jsonl"));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), app.log.shown());
    let hangups = lines
        .iter()
        .filter(|v| v["type"] == "event" && v["name"] == "Hangup")
        .count();
    assert_eq!(hangups, 4, "{text}");
    assert!(lines.iter().all(|v| v["time"].is_string()));
}

#[test]
fn ctrl_s_to_another_name_saves_a_recording_of_the_shown_messages() {
    let mut app = dial_call_app();
    app.apply_filter("Hangup").unwrap();
    update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Char('s'),
            KeyModifiers::CONTROL,
        ))),
    );
    let cmds = update(
        &mut app,
        Msg::Input(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))),
    );
    let [amicon::app::Cmd::Save { contents, .. }] = &cmds[..] else {
        panic!("{cmds:?}");
    };
    let text = String::from_utf8_lossy(contents);
    assert!(text.starts_with("#amicon-recording 1\n"), "{text}");
    assert_eq!(text.matches("Event: Hangup\r\n").count(), 4, "{text}");
}

#[test]
fn the_wheel_over_the_calls_view_does_not_scroll_the_hidden_log() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = dial_call_app();
    screen(&mut app, 100, 24);
    press(&mut app, KeyCode::F(5));
    let wheel = |kind| {
        Msg::Input(Event::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 5,
            modifiers: KeyModifiers::NONE,
        }))
    };
    update(&mut app, wheel(MouseEventKind::ScrollUp));
    update(&mut app, wheel(MouseEventKind::ScrollDown));
    assert!(app.log.is_following(), "the log stays where it was");
    assert!(app.table.as_ref().unwrap().selected.is_some());
}
