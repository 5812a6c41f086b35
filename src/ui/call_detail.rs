//! One call's detail: a header, its ladder diagram (one column per channel) and its
//! timeline of events. Drawing only: scroll and focus live in `app::call_selection`.

use super::text::{clock, cut, duration, relative, short_channel};
use super::theme::Theme;
use crate::app::call_selection::{DetailPane, DetailState};
use crate::app::views::calls::cause_text;
use crate::calls::{event_summary, Call, LadderKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use std::time::SystemTime;
use unicode_width::UnicodeWidthStr;

/// The detail of one call: a header, its ladder, and its timeline.
pub fn render_call_detail(
    frame: &mut Frame,
    area: Rect,
    call: &Call,
    state: &mut DetailState,
    now: SystemTime,
    theme: &Theme,
) {
    if call.channels().is_empty() {
        state.channel = 0;
    } else if state.channel >= call.channels().len() {
        state.channel = call.channels().len() - 1;
    }
    let [header, ladder_area, timeline_area] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    render_header(frame, header, call, now, theme);
    render_ladder(frame, ladder_area, call, state, theme);
    render_timeline(frame, timeline_area, call, state, theme);
}

fn render_header(frame: &mut Frame, area: Rect, call: &Call, now: SystemTime, theme: &Theme) {
    let state_style = if call.is_live() {
        theme.live()
    } else {
        theme.ended()
    };
    let first = vec![
        Span::styled(
            call.state().label(),
            state_style.add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "  {}  {}  started {}",
            parties(call, usize::from(area.width) / 2),
            duration(call.duration(now)),
            clock(call.start)
        )),
    ];
    let mut second = Vec::new();
    if let Some(h) = call.cause() {
        second.push(Span::styled(
            format!("cause {} ({})  ", cause_text(h), h.channel),
            theme.hangup(),
        ));
    }
    second.push(Span::styled(
        format!("Linkedid {}", call.linkedids().join(", ")),
        theme.dim(),
    ));
    if call.missed_events() {
        second.push(Span::styled(
            "  events may be missing (the stream had a gap)",
            theme.warning(),
        ));
    }
    if call.evicted_events() > 0 {
        second.push(Span::styled(
            format!("  {} oldest events not kept", call.evicted_events()),
            theme.warning(),
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT | Borders::RIGHT)
        .title(Span::styled(" Call ", theme.header()));
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]).block(block),
        area,
    );
}

fn render_ladder(
    frame: &mut Frame,
    area: Rect,
    call: &Call,
    state: &mut DetailState,
    theme: &Theme,
) {
    let focused = state.pane == DetailPane::Ladder;
    let block = pane_block(" Ladder ", focused, theme)
        .title_bottom(Line::from(" Tab pane · ←→ channel · a actions · Esc back ").right_aligned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < 12 {
        return;
    }
    let ladder = call.ladder();
    let buf = frame.buffer_mut();
    let time_width: u16 = 9;
    let lanes = Rect {
        x: inner.x + time_width,
        width: inner.width.saturating_sub(time_width),
        ..inner
    };
    let n = ladder.columns.len().max(1) as u16;
    let lane_width = (lanes.width / n).max(1);
    let center = |col: usize| lanes.x + lane_width * col as u16 + lane_width / 2;
    let right = inner.x + inner.width;
    // Column headers: the channel names, cut in the middle to keep their distinct ends.
    for (i, column) in ladder.columns.iter().enumerate() {
        let x = lanes.x + lane_width * i as u16;
        let text = short_channel(&column.name, usize::from(lane_width.saturating_sub(1)));
        let style = if i == state.channel {
            theme.channel().patch(theme.selected())
        } else {
            theme.channel()
        };
        let pad = (lane_width.saturating_sub(text.width() as u16)) / 2;
        put(buf, x + pad, inner.y, &text, style, right);
    }
    // Under each name, where that channel stands now.
    let with_states = inner.height >= 6;
    if with_states {
        for (i, channel) in call.channels().iter().enumerate() {
            let (text, style) = match &channel.hangup {
                Some(h) => (
                    format!("✕ {}", h.code.map(|c| c.to_string()).unwrap_or_default()),
                    theme.hangup(),
                ),
                None if channel.bridge.is_some() => {
                    (format!("{} · bridged", channel.state), theme.bridge())
                }
                None => (channel.state.clone(), theme.live()),
            };
            let text = cut(text.trim(), usize::from(lane_width.saturating_sub(1)));
            let x = lanes.x + lane_width * i as u16;
            let pad = (lane_width.saturating_sub(text.width() as u16)) / 2;
            put(buf, x + pad, inner.y + 1, &text, style, right);
        }
    }
    let top = inner.y + if with_states { 2 } else { 1 };
    let visible = usize::from(inner.y + inner.height - top);
    state.ladder_page = visible.max(1);
    let start = match state.ladder_scroll {
        Some(s) => s.min(ladder.rows.len().saturating_sub(visible)),
        None => ladder.rows.len().saturating_sub(visible),
    };
    if state.ladder_scroll.is_some() {
        state.ladder_scroll = Some(start);
    }
    for line in 0..visible {
        let y = top + line as u16;
        for col in 0..ladder.columns.len() {
            put(buf, center(col), y, "│", theme.lane(), right);
        }
        let Some(row) = ladder.rows.get(start + line) else {
            continue;
        };
        let offset = row.time.duration_since(call.start).unwrap_or_default();
        put(buf, inner.x, y, &relative(offset), theme.dim(), right);
        let style = match row.kind {
            LadderKind::Dial => theme.dial(),
            LadderKind::Bridge => theme.bridge(),
            LadderKind::Hangup => theme.hangup(),
            LadderKind::Channel | LadderKind::Other => Style::new(),
        };
        let from = center(row.from_col);
        match row.to_col {
            Some(to) if to != row.from_col => {
                let to = center(to);
                let (lo, hi) = (from.min(to), from.max(to));
                for x in lo + 1..hi {
                    put(buf, x, y, "─", style, right);
                }
                if to > from {
                    put(buf, hi - 1, y, "►", style, right);
                } else {
                    put(buf, lo + 1, y, "◄", style, right);
                }
                put(buf, from, y, "┼", style, right);
                // The label sits on the arrow when it fits, else past its head.
                let span = usize::from(hi - lo).saturating_sub(4);
                let label = format!(" {} ", row.label);
                if label.width() <= span {
                    let x = lo + 2 + ((span - label.width()) / 2) as u16;
                    put(buf, x, y, &label, style, right);
                } else {
                    put(buf, hi + 2, y, &row.label, style, right);
                }
            }
            _ => {
                let mark = if row.kind == LadderKind::Hangup {
                    "✕"
                } else {
                    "●"
                };
                put(buf, from, y, mark, style, right);
                put(buf, from + 2, y, &row.label, style, right);
            }
        }
    }
}

fn render_timeline(
    frame: &mut Frame,
    area: Rect,
    call: &Call,
    state: &mut DetailState,
    theme: &Theme,
) {
    let focused = state.pane == DetailPane::Timeline;
    let block = pane_block(" Timeline ", focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let mut lines: Vec<Line> = Vec::with_capacity(call.events().len() + 1);
    if call.evicted_events() > 0 {
        lines.push(Line::styled(
            format!("… {} earlier events not kept", call.evicted_events()),
            theme.warning(),
        ));
    }
    for e in call.events() {
        let offset = e.at.duration_since(call.start).unwrap_or_default();
        let summary = event_summary(&e.message);
        let (name, rest) = summary.split_once("  ").unwrap_or((&summary, ""));
        let style = match name {
            "DialBegin" | "DialEnd" | "DialState" => theme.dial(),
            "BridgeEnter" | "BridgeLeave" | "LocalBridge" => theme.bridge(),
            "Hangup" | "HangupRequest" | "SoftHangupRequest" => theme.hangup(),
            "Newchannel" | "Newstate" => theme.channel(),
            _ => Style::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(relative(offset), theme.dim()),
            Span::styled(name.to_string(), style),
            Span::raw(format!("  {rest}")),
        ]));
    }
    let visible = usize::from(inner.height);
    state.timeline_page = visible.max(1);
    let start = match state.timeline_scroll {
        Some(s) => s.min(lines.len().saturating_sub(visible)),
        None => lines.len().saturating_sub(visible),
    };
    if state.timeline_scroll.is_some() {
        state.timeline_scroll = Some(start);
    }
    let shown: Vec<Line> = lines.into_iter().skip(start).take(visible).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn pane_block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let style = if focused { theme.header() } else { theme.dim() };
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, style))
}

/// Writes `text` at (x, y), never past `right` nor outside the buffer.
fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, style: Style, right: u16) {
    let area = buf.area;
    let right = right.min(area.x + area.width);
    if x >= right || y < area.y || y >= area.y + area.height || x < area.x {
        return;
    }
    buf.set_stringn(x, y, text, usize::from(right - x), style);
}

/// `caller → callee`, each side cut to fit so the arrow and the callee stay visible.
fn parties(call: &Call, width: usize) -> String {
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
