//! The calls list: one row per call, live calls first, drawn from the calls model.

use super::text::{clock, cut, duration};
use super::theme::Theme;
use crate::app::call_selection::CallListState;
use crate::calls::{Call, Calls, Hangup};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use std::time::SystemTime;
use unicode_width::UnicodeWidthStr;

/// The list of calls: start, duration, caller → callee, channels, state, last event,
/// cause; live calls first and highlighted.
pub fn render_call_list(
    frame: &mut Frame,
    area: Rect,
    calls: &Calls,
    state: &mut CallListState,
    now: SystemTime,
    theme: &Theme,
) {
    let list = calls.ordered();
    let live = list.iter().filter(|c| c.is_live()).count();
    let mut title = vec![
        Span::styled(" Calls ", theme.header()),
        Span::raw(format!("{live} live · {} ended ", list.len() - live)),
    ];
    if calls.evicted_calls() > 0 {
        title.push(Span::styled(
            format!("({} older not kept) ", calls.evicted_calls()),
            theme.dim(),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Line::from(title))
        .title_bottom(Line::from(" Enter detail · f follow in log · ↑↓ select ").right_aligned());
    let selected = state.resolve(&list);
    if list.is_empty() {
        let text = "No calls yet. Calls appear as their events arrive \
                    (Newchannel, Dial, Bridge, Hangup): events must be on for this login.";
        frame.render_widget(
            Paragraph::new(text)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let inner_width = area.width.saturating_sub(2);
    let widths = list_widths(inner_width);
    let parties_width = party_column_width(inner_width, &widths);
    let (last_width, cause_width) = match (widths[5], widths[6]) {
        (Constraint::Length(a), Constraint::Length(b)) => (usize::from(a), usize::from(b)),
        _ => (11, 11),
    };
    let rows = list.iter().map(|call| {
        let style = if call.is_live() {
            theme.live()
        } else {
            theme.ended()
        };
        let mut state_label = call.state().label().to_string();
        if call.missed_events() && call.is_live() {
            state_label.push('?');
        }
        let cause = call.cause().map(cause_text).unwrap_or_default();
        let live_channels = call.channels().iter().filter(|c| c.is_live()).count();
        let channels = if call.is_live() {
            format!("{live_channels}/{}", call.channels().len())
        } else {
            call.channels().len().to_string()
        };
        Row::new(vec![
            Cell::from(clock(call.start)),
            Cell::from(duration(call.duration(now))),
            Cell::from(parties(call, parties_width)),
            Cell::from(channels),
            Cell::from(state_label),
            Cell::from(cut(call.last_event().map_or("", |(n, _)| n), last_width)),
            Cell::from(cut(&cause, cause_width)),
        ])
        .style(style)
    });
    let header = Row::new(vec![
        "Start",
        "Dur",
        "Caller → Callee",
        "Ch",
        "State",
        "Last event",
        "Cause",
    ])
    .style(theme.header());
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default()
        .with_offset(state.offset)
        .with_selected(selected);
    frame.render_stateful_widget(table, area, &mut table_state);
    state.offset = table_state.offset();
}

pub(crate) fn cause_text(h: &Hangup) -> String {
    let code = h.code.map(|c| c.to_string()).unwrap_or_default();
    format!("{code} {}", h.text).trim().to_string()
}

fn list_widths(width: u16) -> Vec<Constraint> {
    let wide = width >= 110;
    vec![
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Length(4),
        Constraint::Length(8),
        Constraint::Length(if wide { 18 } else { 11 }),
        Constraint::Length(if wide { 22 } else { 11 }),
    ]
}

fn party_column_width(width: u16, widths: &[Constraint]) -> usize {
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let spacing = widths.len() as u16 - 1;
    width.saturating_sub(fixed + spacing) as usize
}

/// `caller → callee`, each side cut to fit so the arrow and the callee stay visible.
pub(crate) fn parties(call: &Call, width: usize) -> String {
    let caller = call.caller().display();
    let callee = call.callee().display();
    let caller = if caller.is_empty() {
        "?".into()
    } else {
        caller
    };
    let callee = if callee.is_empty() {
        "?".into()
    } else {
        callee
    };
    let arrow = " → ";
    let room = width.saturating_sub(arrow.width());
    let (a, b) = (caller.width(), callee.width());
    let (wa, wb) = if a + b <= room {
        (a, b)
    } else if b <= room / 2 {
        (room - b, b)
    } else if a <= room / 2 {
        (a, room - a)
    } else {
        (room / 2, room - room / 2)
    };
    format!("{}{arrow}{}", cut(&caller, wa), cut(&callee, wb))
}
