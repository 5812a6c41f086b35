//! The detail view of one message: every header in order (repeats kept); a list
//! response's items as a table; `Command` output as the CLI prints it.

use super::theme::Theme;
use super::{clean, fit, short_time, show};
use crate::ami::Message;
use crate::app::log::Item;
use crate::app::App;
use crate::format::Charset;
use crate::session::Link;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

/// Item headers not worth a table column.
const SKIP_COLUMNS: &[&str] = &["Event", "ActionID", "Privilege", "EventList"];
/// Widest a table column gets.
const MAX_COLUMN: usize = 28;

pub fn draw(frame: &mut Frame, app: &App, seq: u64, scroll: u16, area: Rect, theme: &Theme) {
    let Some(entry) = app.log.get(seq) else {
        let block = Block::new().borders(Borders::ALL).title(" Detail ");
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new("This message fell off the ring.").block(block),
            area,
        );
        return;
    };
    let lines = detail_lines(app, &entry.item, theme);
    let title = format!(" Detail {}  y copy  Esc close ", short_time(entry.at));
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.border(true));
    let max_scroll = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll.min(max_scroll), 0)),
        area,
    );
}

/// The lines of the detail view (public for tests and for saving).
pub fn detail_lines<'a>(app: &App, item: &Item, theme: &Theme) -> Vec<Line<'a>> {
    let message = match item {
        Item::Note { text, tone, .. } => {
            return vec![Line::styled(text.to_string(), theme.tone(*tone))]
        }
        Item::Sent { message, .. } | Item::Received { message, .. } => message,
    };
    let charset = app.options.charset;
    let output = command_output(message, charset);
    let event = message.get_str("Event");
    let mut lines: Vec<Line> = message
        .headers()
        .filter(|(k, _)| output.is_empty() || !k.eq_ignore_ascii_case(b"Output"))
        .map(|(k, v)| {
            let mut spans = vec![
                Span::styled(format!("{}: ", clean(k)), theme.key()),
                Span::raw(show(v, charset)),
            ];
            // The code's meaning beside it (`ChannelState: 6  (Up)`).
            if let Some(meaning) = crate::explain::explain(
                event.as_deref(),
                &String::from_utf8_lossy(k),
                &String::from_utf8_lossy(v),
            ) {
                spans.push(Span::styled(format!("  ({meaning})"), theme.dim()));
            }
            Line::from(spans)
        })
        .collect();

    if let Some(doc) = event.as_deref().and_then(|e| app.catalog.event_doc(e)) {
        let documented: Vec<(String, &String)> = message
            .headers()
            .filter_map(|(k, _)| {
                let key = String::from_utf8_lossy(k).into_owned();
                doc.headers.get(&key.to_ascii_lowercase()).map(|d| (key, d))
            })
            .collect();
        if !documented.is_empty() || !doc.synopsis.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "── the server's documentation: {} ──",
                    clean(doc.synopsis.as_bytes())
                ),
                theme.dim(),
            ));
            for (key, text) in documented {
                lines.push(Line::from(vec![
                    Span::styled(format!("{}: ", clean(key.as_bytes())), theme.key()),
                    Span::styled(clean(text.as_bytes()).into_owned(), theme.dim()),
                ]));
            }
        }
    }
    if !output.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("── CLI output, {} lines ──", output.len()),
            theme.dim(),
        ));
        lines.extend(output.into_iter().map(Line::raw));
    }
    if let Item::Received {
        link: Link::Response { action_id },
        ..
    } = item
    {
        let items = app.log.list_items(action_id);
        if !items.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!("── {} list items ──", items.len()),
                theme.dim(),
            ));
            lines.extend(table(&items, theme, charset));
        }
    }
    lines
}

/// `Output:` lines (Asterisk 14+) or the legacy `Response: Follows` body, as text.
fn command_output(message: &Message, charset: Charset) -> Vec<String> {
    if let Some(body) = message.legacy_body() {
        return body
            .split(|&b| b == b'\n')
            .map(|line| show(line.strip_suffix(b"\r").unwrap_or(line), charset))
            .collect();
    }
    message
        .get_all("Output")
        .map(|v| show(v, charset))
        .collect()
}

/// List items as a table: one column per header name, in order of first appearance.
fn table<'a>(items: &[&Message], theme: &Theme, charset: Charset) -> Vec<Line<'a>> {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        for (key, _) in item.headers() {
            let key = clean(key);
            if !SKIP_COLUMNS.iter().any(|s| s.eq_ignore_ascii_case(&key))
                && !columns.iter().any(|c| c.eq_ignore_ascii_case(&key))
            {
                columns.push(key.into_owned());
            }
        }
    }
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| item.get(c).map(|v| show(v, charset)).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].width())
                .chain([c.width()])
                .max()
                .unwrap_or(0)
                .min(MAX_COLUMN)
        })
        .collect();
    let row_line = |values: &[String], style| {
        let text: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| fit(v, *w))
            .collect();
        Line::styled(text.join(" │ "), style)
    };
    let mut lines = vec![row_line(&columns, theme.key())];
    lines.extend(
        cells
            .iter()
            .map(|row| row_line(row, ratatui::style::Style::new())),
    );
    lines
}
