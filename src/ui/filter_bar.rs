//! The one-line input bar for a filter, a search or a file name; a filter error is
//! pointed at with a caret under the offending part.

use super::theme::Theme;
use crate::app::{Bar, BarKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

pub fn draw(frame: &mut Frame, bar: &Bar, area: Rect, theme: &Theme) {
    let label = match bar.kind {
        BarKind::Filter => "Filter: ",
        BarKind::Search => "Search: ",
        BarKind::Save => "Save shown messages to: ",
        BarKind::History => "History search: ",
        BarKind::Record => "Record to: ",
    };
    let input = Line::from(vec![
        Span::styled(label, theme.key()),
        Span::raw(bar.text.clone()),
        Span::styled(" ", theme.selected()),
    ]);
    let second = match &bar.error {
        Some(error) => {
            let start = bar.text.get(..error.span.start.min(bar.text.len())).map_or(0, |s| s.width());
            let len = bar
                .text
                .get(error.span.start.min(bar.text.len())..error.span.end.min(bar.text.len()))
                .map_or(1, |s| s.width())
                .max(1);
            Line::from(vec![
                Span::raw(" ".repeat(label.len() + start)),
                Span::styled("^".repeat(len), theme.tone(crate::app::log::Tone::Bad)),
                Span::styled(format!(" {}", error.message), theme.tone(crate::app::log::Tone::Bad)),
            ])
        }
        None => Line::styled(
            match bar.kind {
                BarKind::Filter => "Enter applies to everything buffered and to what comes; empty clears; Esc cancels",
                BarKind::Search => "Enter searches backwards from the selection; then n / N; Esc cancels",
                BarKind::Save => "Enter saves the shown messages as raw AMI text (*.jsonl: JSON Lines); Esc cancels",
                BarKind::History => "Enter puts the newest block containing this text in the composer",
                BarKind::Record => "Enter starts recording everything from now on (Ctrl-O stops); Esc cancels",
            },
            theme.dim(),
        ),
    };
    frame.render_widget(Paragraph::new(vec![input, second]), area);
}
