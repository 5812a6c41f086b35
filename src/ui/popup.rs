//! Small dialogs over the screen: the confirmation before a risky action.

use super::theme::Theme;
use crate::ami::Action;
use crate::app::log::Tone;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn confirm(frame: &mut Frame, action: &Action, why: &str, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::styled(why.to_string(), theme.tone(Tone::Warn)),
        Line::raw(""),
    ];
    let masked = action.to_masked_message();
    for (key, value) in masked.headers().take(8) {
        lines.push(Line::from(vec![
            Span::styled(format!("{}: ", super::clean(key)), theme.key()),
            Span::raw(super::clean(value).into_owned()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" send   "),
        Span::styled("n", theme.key()),
        Span::raw(" / Esc keep it in the composer"),
    ]));
    let rect = super::centered(area, 64, lines.len() as u16 + 2);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Send this? ")
        .border_style(theme.tone(Tone::Warn));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
