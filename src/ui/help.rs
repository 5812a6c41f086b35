//! The help overlay: the key table from `app::keymap::HELP`, so it cannot drift from
//! what the keys do.

use super::theme::Theme;
use crate::app::keymap::HELP;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let rect = super::centered(area, 78, HELP.len() as u16 + 3);
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(keys, _, what)| {
            Line::from(vec![
                Span::styled(super::fit(keys, 24), theme.key()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::styled(
        "Log: > sent  < response  + list item  * event  ! note.  Times UTC.",
        theme.dim(),
    ));
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Help (Esc closes) ")
        .border_style(theme.border(true));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
