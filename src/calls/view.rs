//! Drawing the calls list and one call's detail (its ladder and its timeline) with
//! ratatui. Render functions read the model and change nothing but their own scroll and
//! selection state; the TUI owns keys and decides which view is shown.

use super::{event_summary, Call, CallId, Calls, Channel, LadderKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Styles of the calls views; [`Theme::new`] with `no_color` uses only bold, dim and
/// reverse, for `NO_COLOR` terminals and monochrome screenshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    pub header: Style,
    pub live: Style,
    pub ended: Style,
    pub selected: Style,
    pub time: Style,
    pub dial: Style,
    pub bridge: Style,
    pub hangup: Style,
    pub channel: Style,
    pub lane: Style,
    pub warning: Style,
}

impl Theme {
    pub fn new(no_color: bool) -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let dim = Style::new().add_modifier(Modifier::DIM);
        if no_color {
            return Theme {
                header: bold,
                live: bold,
                ended: Style::new(),
                selected: Style::new().add_modifier(Modifier::REVERSED),
                time: dim,
                dial: bold,
                bridge: bold,
                hangup: bold,
                channel: Style::new(),
                lane: dim,
                warning: bold,
            };
        }
        Theme {
            header: bold.fg(Color::Cyan),
            live: Style::new().fg(Color::Green),
            ended: Style::new().fg(Color::Gray),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            time: Style::new().fg(Color::DarkGray),
            dial: Style::new().fg(Color::Yellow),
            bridge: Style::new().fg(Color::Green),
            hangup: Style::new().fg(Color::Red),
            channel: Style::new().fg(Color::Cyan),
            lane: Style::new().fg(Color::DarkGray),
            warning: bold.fg(Color::Yellow),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::new(false)
    }
}

/// Selection and scroll of the calls list. The selection follows a call, not a row,
/// since rows move as calls start and end.
#[derive(Clone, Debug, Default)]
pub struct CallListState {
    selected: Option<CallId>,
    /// Row of the selection at the last render: where to land if that call goes away.
    last_index: usize,
    table: TableState,
}

impl CallListState {
    pub fn selected(&self) -> Option<CallId> {
        self.selected
    }

    pub fn select(&mut self, id: Option<CallId>) {
        self.selected = id;
    }

    /// The selected call, if it is still kept.
    pub fn selected_call<'a>(&self, calls: &'a Calls) -> Option<&'a Call> {
        self.selected.and_then(|id| calls.get(id))
    }

    /// Moves the selection by `delta` rows (negative: up), clamped to the list.
    pub fn move_by(&mut self, calls: &Calls, delta: isize) {
        let list = calls.ordered();
        if list.is_empty() {
            self.selected = None;
            return;
        }
        let current = self.index_in(&list).unwrap_or(0) as isize;
        let next = (current + delta).clamp(0, list.len() as isize - 1) as usize;
        self.selected = Some(list[next].id);
        self.last_index = next;
    }

    pub fn select_first(&mut self, calls: &Calls) {
        self.selected = calls.ordered().first().map(|c| c.id);
        self.last_index = 0;
    }

    pub fn select_last(&mut self, calls: &Calls) {
        let list = calls.ordered();
        self.last_index = list.len().saturating_sub(1);
        self.selected = list.last().map(|c| c.id);
    }

    fn index_in(&self, list: &[&Call]) -> Option<usize> {
        let id = self.selected?;
        list.iter().position(|c| c.id == id)
    }

    /// Resolves the selection against the current order: keeps the selected call, or
    /// lands on the row where it was when it went away.
    fn resolve(&mut self, list: &[&Call]) -> Option<usize> {
        if list.is_empty() {
            self.selected = None;
            return None;
        }
        let index = self
            .index_in(list)
            .unwrap_or(self.last_index.min(list.len() - 1));
        self.selected = Some(list[index].id);
        self.last_index = index;
        Some(index)
    }
}

/// Which half of the detail view keys scroll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DetailPane {
    #[default]
    Ladder,
    Timeline,
}

/// Scroll, focus and selected channel of one call's detail view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailState {
    pub pane: DetailPane,
    /// Selected channel (a ladder column), the target of channel actions.
    pub channel: usize,
    /// First visible ladder row and timeline line; `None` follows the newest.
    pub ladder_scroll: Option<usize>,
    pub timeline_scroll: Option<usize>,
    /// Lines each pane showed at the last render, so scrolling moves what is seen.
    ladder_page: usize,
    timeline_page: usize,
}

impl Default for DetailState {
    fn default() -> Self {
        DetailState {
            pane: DetailPane::Ladder,
            channel: 0,
            ladder_scroll: None,
            timeline_scroll: None,
            ladder_page: 1,
            timeline_page: 1,
        }
    }
}

impl DetailState {
    pub fn toggle_pane(&mut self) {
        self.pane = match self.pane {
            DetailPane::Ladder => DetailPane::Timeline,
            DetailPane::Timeline => DetailPane::Ladder,
        };
    }

    /// Scrolls the focused pane by `delta` lines (negative: up). Scrolling to the end
    /// makes it follow new events again.
    pub fn scroll_by(&mut self, call: &Call, delta: isize) {
        let (scroll, len, page) = match self.pane {
            DetailPane::Ladder => (
                &mut self.ladder_scroll,
                call.ladder().rows.len(),
                self.ladder_page,
            ),
            DetailPane::Timeline => (
                &mut self.timeline_scroll,
                call.events().len() + usize::from(call.evicted_events() > 0),
                self.timeline_page,
            ),
        };
        let last_start = len.saturating_sub(page);
        let current = scroll.unwrap_or(last_start) as isize;
        let next = (current + delta).max(0) as usize;
        *scroll = (next < last_start).then_some(next);
    }

    /// Lines the focused pane showed at the last render: the step of Page Up/Down.
    pub fn page(&self) -> usize {
        match self.pane {
            DetailPane::Ladder => self.ladder_page,
            DetailPane::Timeline => self.timeline_page,
        }
    }

    pub fn next_channel(&mut self, call: &Call) {
        if self.channel + 1 < call.channels().len() {
            self.channel += 1;
        }
    }

    pub fn prev_channel(&mut self) {
        self.channel = self.channel.saturating_sub(1);
    }

    /// The selected channel, for [`super::prefill`].
    pub fn selected_channel<'a>(&self, call: &'a Call) -> Option<&'a Channel> {
        let channels = call.channels();
        channels.get(self.channel).or(channels.last())
    }
}

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
        Span::styled(" Calls ", theme.header),
        Span::raw(format!("{live} live · {} ended ", list.len() - live)),
    ];
    if calls.evicted_calls() > 0 {
        title.push(Span::styled(
            format!("({} older not kept) ", calls.evicted_calls()),
            theme.time,
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
            theme.live
        } else {
            theme.ended
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
            Cell::from(fit(call.last_event().map_or("", |(n, _)| n), last_width)),
            Cell::from(fit(&cause, cause_width)),
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
    .style(theme.header);
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(theme.selected);
    state.table.select(selected);
    frame.render_stateful_widget(table, area, &mut state.table);
}

fn cause_text(h: &super::Hangup) -> String {
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
    format!("{}{arrow}{}", fit(&caller, wa), fit(&callee, wb))
}

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
        theme.live
    } else {
        theme.ended
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
            theme.hangup,
        ));
    }
    second.push(Span::styled(
        format!("Linkedid {}", call.linkedids().join(", ")),
        theme.time,
    ));
    if call.missed_events() {
        second.push(Span::styled(
            "  events may be missing (the stream had a gap)",
            theme.warning,
        ));
    }
    if call.evicted_events() > 0 {
        second.push(Span::styled(
            format!("  {} oldest events not kept", call.evicted_events()),
            theme.warning,
        ));
    }
    let block = Block::default()
        .borders(Borders::TOP | Borders::LEFT | Borders::RIGHT)
        .title(Span::styled(" Call ", theme.header));
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
            theme.channel.patch(theme.selected)
        } else {
            theme.channel
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
                    theme.hangup,
                ),
                None if channel.bridge.is_some() => {
                    (format!("{} · bridged", channel.state), theme.bridge)
                }
                None => (channel.state.clone(), theme.live),
            };
            let text = fit(text.trim(), usize::from(lane_width.saturating_sub(1)));
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
            put(buf, center(col), y, "│", theme.lane, right);
        }
        let Some(row) = ladder.rows.get(start + line) else {
            continue;
        };
        let offset = row.time.duration_since(call.start).unwrap_or_default();
        put(buf, inner.x, y, &relative(offset), theme.time, right);
        let style = match row.kind {
            LadderKind::Dial => theme.dial,
            LadderKind::Bridge => theme.bridge,
            LadderKind::Hangup => theme.hangup,
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
            theme.warning,
        ));
    }
    for e in call.events() {
        let offset = e.at.duration_since(call.start).unwrap_or_default();
        let summary = event_summary(&e.message);
        let (name, rest) = summary.split_once("  ").unwrap_or((&summary, ""));
        let style = match name {
            "DialBegin" | "DialEnd" | "DialState" => theme.dial,
            "BridgeEnter" | "BridgeLeave" | "LocalBridge" => theme.bridge,
            "Hangup" | "HangupRequest" | "SoftHangupRequest" => theme.hangup,
            "Newchannel" | "Newstate" => theme.channel,
            _ => Style::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(relative(offset), theme.time),
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
    let style = if focused { theme.header } else { theme.time };
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

/// `text` cut to `width` columns, with `…` when cut; wide characters count double.
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A channel name shortened to `width` columns, losing the least telling parts first:
/// the zeros of its sequence number (`PJSIP/alice-00000001` → `PJSIP/alice-1`), then
/// its technology (`alice-1`), then its middle.
fn short_channel(name: &str, width: usize) -> String {
    if name.width() <= width {
        return name.to_string();
    }
    let compact = compact_sequence(name);
    if compact.width() <= width {
        return compact;
    }
    let bare = compact
        .split_once('/')
        .map_or(compact.as_str(), |(_, rest)| rest);
    fit_middle(bare, width)
}

/// `Local/x@ctx-0000001a;1` → `Local/x@ctx-1a;1`: Asterisk's 8-hex-digit channel
/// sequence without its leading zeros.
fn compact_sequence(name: &str) -> String {
    let (body, half) = match name.rsplit_once(';') {
        Some((b, h)) if h.len() == 1 => (b, Some(h)),
        _ => (name, None),
    };
    let Some((head, seq)) = body.rsplit_once('-') else {
        return name.to_string();
    };
    if seq.len() != 8 || !seq.bytes().all(|b| b.is_ascii_hexdigit()) {
        return name.to_string();
    }
    let trimmed = seq.trim_start_matches('0');
    let trimmed = if trimmed.is_empty() { "0" } else { trimmed };
    match half {
        Some(h) => format!("{head}-{trimmed};{h}"),
        None => format!("{head}-{trimmed}"),
    }
}

/// `text` cut in the middle to `width` columns: `Local/dial…10;1`.
fn fit_middle(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width < 3 {
        return fit(text, width);
    }
    let tail_room = (width - 1) / 2;
    let head_room = width - 1 - tail_room;
    let head = fit_prefix(text.chars(), head_room);
    let mut tail: Vec<char> = fit_prefix(text.chars().rev(), tail_room).chars().collect();
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn fit_prefix(chars: impl Iterator<Item = char>, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out
}

/// `HH:MM:SS` (UTC) of a time.
fn clock(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// `m:ss`, or `h:mm:ss` past an hour.
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// `+S.mmm ` since the call started, padded for a column.
fn relative(d: Duration) -> String {
    let text = if d.as_secs() >= 1000 {
        format!("+{}s", d.as_secs())
    } else {
        format!("+{}.{:03}", d.as_secs(), d.subsec_millis())
    };
    format!("{text:<9}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_counts_wide_characters_twice() {
        assert_eq!(fit("张三丰先生", 6), "张三…");
        assert_eq!(fit("张三", 4), "张三");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(
            fit_middle("Local/dial@test-00000010;1", 15),
            "Local/d…00010;1"
        );
        assert!(fit_middle("张三丰先生张三丰先生", 9).width() <= 9);
    }

    #[test]
    fn channel_names_shorten_by_their_least_telling_parts_first() {
        let name = "Local/dial@test-00000010;1";
        assert_eq!(short_channel(name, 30), name);
        assert_eq!(short_channel(name, 20), "Local/dial@test-10;1");
        assert_eq!(short_channel(name, 15), "dial@test-10;1");
        assert_eq!(short_channel("PJSIP/alice-00000001", 13), "PJSIP/alice-1");
        assert_eq!(
            short_channel("PJSIP/trunk-provider-0000abcd", 12),
            "trunk-…-abcd"
        );
        assert_eq!(short_channel("SIP/张三丰-00000001", 9), "张三丰-1");
    }

    #[test]
    fn durations_and_clocks_read_naturally() {
        assert_eq!(duration(Duration::from_secs(62)), "1:02");
        assert_eq!(duration(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(clock(UNIX_EPOCH + Duration::from_secs(3723)), "01:02:03");
        assert_eq!(relative(Duration::from_millis(2345)), "+2.345   ");
    }
}
