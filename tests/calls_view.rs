//! Snapshots of the calls list and a call's detail (ladder and timeline) on a
//! `TestBackend`, at 80x24 and wide, from the real dial-call capture and hand-built
//! calls (wide CJK caller names included). Times come from the recording or are fixed.

use amicon::ami::Message;
use amicon::app::call_selection::{DetailPane, DetailState};
use amicon::app::views::{self, TableView, ViewKind};
use amicon::calls::{Calls, CallsConfig};
use amicon::record;
use amicon::ui::call_detail::render_call_detail;
use amicon::ui::calls_list::render_call_list;
use amicon::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn dial_call() -> Calls {
    let bytes = std::fs::read(format!(
        "{}/tests/fixtures/calls/dial-call.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture present");
    let mut calls = Calls::default();
    for entry in &record::read(&bytes).entries {
        calls.apply_stamped(entry);
    }
    calls
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn newchannel(name: &str, id: &str, num: &str, cid: &str, exten: &str) -> Message {
    Message::from_headers(&[
        ("Event", "Newchannel"),
        ("Channel", name),
        ("ChannelStateDesc", "Ring"),
        ("CallerIDNum", num),
        ("CallerIDName", cid),
        ("Exten", exten),
        ("Uniqueid", id),
        ("Linkedid", id),
    ])
}

fn event(headers: &[(&str, &str)]) -> Message {
    Message::from_headers(headers)
}

/// Three calls: one bridged with a wide (CJK) caller name, one ringing, one ended busy.
fn mixed_calls() -> Calls {
    let mut calls = Calls::new(CallsConfig::default());
    calls.apply(
        at(0),
        &newchannel("PJSIP/alice-00000001", "1.1", "1001", "张三丰先生", "2002"),
    );
    calls.apply(
        at(1),
        &event(&[
            ("Event", "DialBegin"),
            ("Channel", "PJSIP/alice-00000001"),
            ("Uniqueid", "1.1"),
            ("Linkedid", "1.1"),
            ("DestChannel", "PJSIP/bob-00000002"),
            ("DestUniqueid", "1.2"),
            ("DestLinkedid", "1.1"),
            ("DestChannelStateDesc", "Down"),
            ("DialString", "bob"),
        ]),
    );
    calls.apply(
        at(3),
        &event(&[
            ("Event", "Newstate"),
            ("Channel", "PJSIP/bob-00000002"),
            ("ChannelStateDesc", "Up"),
            ("ConnectedLineNum", "2002"),
            ("ConnectedLineName", "Bob Brown"),
            ("Uniqueid", "1.2"),
            ("Linkedid", "1.1"),
        ]),
    );
    calls.apply(
        at(3),
        &event(&[
            ("Event", "Newstate"),
            ("Channel", "PJSIP/alice-00000001"),
            ("ChannelStateDesc", "Up"),
            ("CallerIDNum", "1001"),
            ("CallerIDName", "张三丰先生"),
            ("ConnectedLineNum", "2002"),
            ("ConnectedLineName", "Bob Brown"),
            ("Uniqueid", "1.1"),
            ("Linkedid", "1.1"),
        ]),
    );
    for (name, id) in [
        ("PJSIP/alice-00000001", "1.1"),
        ("PJSIP/bob-00000002", "1.2"),
    ] {
        calls.apply(
            at(3),
            &event(&[
                ("Event", "BridgeEnter"),
                ("BridgeUniqueid", "5f1c2a9e-aaaa"),
                ("BridgeType", "basic"),
                ("Channel", name),
                ("ChannelStateDesc", "Up"),
                ("Uniqueid", id),
                ("Linkedid", "1.1"),
            ]),
        );
    }
    calls.apply(
        at(20),
        &newchannel("PJSIP/carol-00000003", "3.1", "1003", "Carol", "2004"),
    );
    calls.apply(
        at(5),
        &newchannel("PJSIP/dave-00000004", "4.1", "1004", "Dave", "2005"),
    );
    calls.apply(
        at(9),
        &event(&[
            ("Event", "Hangup"),
            ("Channel", "PJSIP/dave-00000004"),
            ("Uniqueid", "4.1"),
            ("Linkedid", "4.1"),
            ("Cause", "17"),
            ("Cause-txt", "User busy"),
        ]),
    );
    calls
}

fn draw_list(calls: &Calls, width: u16, height: u16, now: SystemTime, no_color: bool) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let view = TableView::new(ViewKind::Calls);
    terminal
        .draw(|f| render_call_list(f, f.area(), calls, &view, now, &Theme::new(no_color)))
        .unwrap();
    format!("{}", terminal.backend())
}

fn draw_detail(
    calls: &Calls,
    width: u16,
    height: u16,
    now: SystemTime,
    state: &mut DetailState,
) -> String {
    let call = calls.ordered()[0];
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| render_call_detail(f, f.area(), call, state, now, &Theme::new(false)))
        .unwrap();
    format!("{}", terminal.backend())
}

#[test]
fn call_list_80x24() {
    insta::assert_snapshot!(draw_list(&mixed_calls(), 80, 24, at(30), false));
}

#[test]
fn call_list_wide() {
    insta::assert_snapshot!(draw_list(&mixed_calls(), 140, 12, at(30), false));
}

#[test]
fn call_list_of_the_recorded_dial_call() {
    let calls = dial_call();
    let now = calls.ordered()[0].end.unwrap() + Duration::from_secs(60);
    insta::assert_snapshot!(draw_list(&calls, 80, 8, now, true));
}

#[test]
fn empty_call_list_says_why() {
    insta::assert_snapshot!(draw_list(&Calls::default(), 80, 6, at(0), false));
}

#[test]
fn ladder_of_the_recorded_dial_call_80x24() {
    let calls = dial_call();
    let now = calls.ordered()[0].end.unwrap();
    insta::assert_snapshot!(draw_detail(
        &calls,
        80,
        24,
        now,
        &mut DetailState::default()
    ));
}

#[test]
fn ladder_of_the_recorded_dial_call_wide_scrolled_to_the_top() {
    let calls = dial_call();
    let now = calls.ordered()[0].end.unwrap();
    let mut state = DetailState::default();
    state.ladder_scroll = Some(0);
    state.timeline_scroll = Some(0);
    state.pane = DetailPane::Timeline;
    state.channel = 1;
    insta::assert_snapshot!(draw_detail(&calls, 140, 40, now, &mut state));
}

#[test]
fn ladder_with_a_wide_caller_name_keeps_its_columns() {
    let calls = mixed_calls();
    // The bridged call is the oldest live one: second in the list.
    let id = calls.ordered()[1].id;
    let call = calls.get(id).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| {
            render_call_detail(
                f,
                f.area(),
                call,
                &mut DetailState::default(),
                at(30),
                &Theme::new(true),
            )
        })
        .unwrap();
    insta::assert_snapshot!(format!("{}", terminal.backend()));
}

#[test]
fn tiny_areas_never_panic() {
    let calls = dial_call();
    let call = calls.ordered()[0];
    for (w, h) in [(1, 1), (5, 3), (12, 4), (20, 6), (0, 0)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|f| {
                render_call_list(
                    f,
                    f.area(),
                    &calls,
                    &TableView::new(ViewKind::Calls),
                    at(0),
                    &Theme::new(false),
                );
                render_call_detail(
                    f,
                    f.area(),
                    call,
                    &mut DetailState::default(),
                    at(0),
                    &Theme::new(false),
                );
            })
            .unwrap();
    }
}

#[test]
fn the_selection_follows_its_call_when_rows_move() {
    let mut calls = mixed_calls();
    let mut view = TableView::new(ViewKind::Calls);
    let data = views::calls::table(&calls, at(30));
    let rows = views::visible(&data, &view);
    view.select_index(&rows, rows.len() - 1);
    let picked = view.selected.clone().unwrap();
    calls.apply(
        at(25),
        &newchannel("PJSIP/erin-00000005", "5.1", "1005", "Erin", "2006"),
    );
    let data = views::calls::table(&calls, at(30));
    let rows = views::visible(&data, &view);
    assert_eq!(rows.len(), 4, "a new live call came in above");
    assert_eq!(view.selected_row(&rows).map(|r| &r.key), Some(&picked));
    view.move_by(&rows, -1);
    assert_ne!(view.selected.as_ref(), Some(&picked));
    assert_eq!(
        view.selected_row(&rows).map(|r| r.tone),
        Some(views::RowTone::Live)
    );
}

#[test]
fn scrolling_the_detail_moves_what_is_seen_and_returns_to_following_at_the_end() {
    let calls = dial_call();
    let call = calls.ordered()[0];
    let mut state = DetailState::default();
    let top_line = |state: &mut DetailState| {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal
            .draw(|f| render_call_detail(f, f.area(), call, state, at(0), &Theme::new(true)))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        // The first ladder row: the header block (3 lines), the border, names, states.
        (0..80)
            .map(|x| buffer[(x, 6)].symbol().to_string())
            .collect::<String>()
    };
    let following = top_line(&mut state);
    assert!(state.page() > 1);
    state.scroll_by(call, -1);
    let up_one = top_line(&mut state);
    assert_ne!(following, up_one, "one step up shows an earlier row");
    assert!(state.ladder_scroll.is_some());
    state.scroll_by(call, 1);
    assert_eq!(
        state.ladder_scroll, None,
        "back at the end: following again"
    );
    assert_eq!(top_line(&mut state), following);
    state.scroll_by(call, -10_000);
    assert_eq!(state.ladder_scroll, Some(0));
}
