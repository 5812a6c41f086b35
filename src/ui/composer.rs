//! The composer pane: the `Key: Value` editor, with the reason a block was refused or
//! the latest notice in its title.

use super::theme::Theme;
use crate::app::{App, Focus};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let focused = app.focus == Focus::Composer;
    let mut title = vec![Span::styled(" Composer ", theme.border(focused))];
    if let Some(problem) = &app.composer.problem {
        title.push(Span::styled(
            format!(" {problem} "),
            theme.tone(crate::app::log::Tone::Bad),
        ));
    } else if let Some((tone, text)) = &app.notice {
        title.push(Span::styled(format!(" {text} "), theme.tone(*tone)));
    } else if focused {
        title.push(Span::styled(" Enter on an empty line sends ", theme.dim()));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.border(focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(app.composer.editor(), inner);
}
