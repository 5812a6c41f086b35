//! The answer pane above the composer: the last answer in full (`Command` output as
//! plain text, a list as a table of its items, an error marked as one), so nobody has
//! to leave the composer to read what came back.

use super::theme::Theme;
use crate::app::answer::{AnswerPane, Shape};
use crate::app::log::Tone;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

/// Widest a table column gets; longer values are cut.
const MAX_COLUMN_WIDTH: usize = 40;

/// The lines the pane shows (before scrolling), and a short summary for its title.
pub fn lines(pane: &AnswerPane, theme: &Theme) -> (String, Vec<Line<'static>>) {
    let Some(answer) = &pane.answer else {
        return (String::new(), Vec::new());
    };
    let clean = |s: &str| super::clean(s.as_bytes()).into_owned();
    let what = if answer.pinned {
        format!("pinned: {}", clean(&answer.action))
    } else {
        clean(&answer.action)
    };
    match answer.shape() {
        Shape::Waiting => (
            format!("{what}: waiting for the answer"),
            vec![Line::styled("…", theme.dim())],
        ),
        Shape::Error(message) => (
            format!("{what}: ERROR"),
            vec![Line::from(vec![
                Span::styled("Error: ", theme.tone(Tone::Bad)),
                Span::styled(clean(&message), theme.tone(Tone::Bad)),
            ])],
        ),
        Shape::Output(output) => (
            format!("{what}: {} lines of output", output.len()),
            output.iter().map(|l| Line::raw(clean(l))).collect(),
        ),
        Shape::Fields(fields) => (
            what,
            fields
                .iter()
                .map(|(k, v)| {
                    Line::from(vec![
                        Span::styled(format!("{}: ", clean(k)), theme.key()),
                        Span::raw(clean(v)),
                    ])
                })
                .collect(),
        ),
        Shape::Table { columns, rows } => {
            let status = if answer.complete {
                format!("{} items", rows.len())
            } else {
                format!("{} items so far (list not complete)", rows.len())
            };
            let dropped = if answer.items_dropped > 0 {
                format!(", {} more in the log", answer.items_dropped)
            } else {
                String::new()
            };
            let title = format!("{what}: {status}{dropped}");
            if columns.is_empty() {
                return (title, vec![Line::styled("(no items)", theme.dim())]);
            }
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| row.iter().map(|c| clean(c)).collect())
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r.get(i).map_or(0, |v| v.width()))
                        .chain(std::iter::once(c.width()))
                        .max()
                        .unwrap_or(0)
                        .min(MAX_COLUMN_WIDTH)
                })
                .collect();
            let row_line = |values: &[String]| -> String {
                values
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| super::fit(v, *w))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            let mut out = vec![Line::styled(row_line(&columns), theme.key())];
            out.extend(cells.iter().map(|r| Line::raw(row_line(r))));
            (title, out)
        }
    }
}

pub fn draw(frame: &mut Frame, pane: &AnswerPane, area: Rect, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let (summary, lines) = lines(pane, theme);
    let error = pane.answer.as_ref().is_some_and(|a| a.is_error());
    let inner_rows = usize::from(area.height.saturating_sub(1));
    let max_scroll = lines.len().saturating_sub(inner_rows);
    let scroll = usize::from(pane.scroll).min(max_scroll);
    let more = if max_scroll > 0 {
        format!(
            " {}-{} of {} ",
            scroll + 1,
            (scroll + inner_rows).min(lines.len()),
            lines.len()
        )
    } else {
        String::new()
    };
    let border = if error {
        theme.tone(Tone::Bad)
    } else {
        theme.border(false)
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(border)
        .title(Line::from(vec![
            Span::styled(" Answer ", border),
            Span::styled(
                format!(" {summary} "),
                if error {
                    theme.tone(Tone::Bad)
                } else {
                    theme.dim()
                },
            ),
            Span::styled(more, theme.dim()),
            Span::styled(" PgUp/PgDn scroll, Alt-A hide ", theme.dim()),
        ]));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        area,
    );
}
