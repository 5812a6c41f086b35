//! Small dialogs over the screen: the confirmation before a risky action, the
//! completion list beside the composer's cursor, and the template list.

use super::theme::Theme;
use crate::ami::Action;
use crate::app::log::Tone;
use crate::complete::Completion;
use crate::templates::Template;
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
    // The question wraps inside the 62 columns of the box.
    let question_rows = why.chars().count().div_ceil(62).max(1);
    let rows = lines.len() + question_rows - 1 + 2;
    let rect = super::centered(area, 64, u16::try_from(rows).unwrap_or(u16::MAX));
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

/// Rows of a pick list shown at once.
const LIST_ROWS: usize = 8;

/// The window of `len` items to show so that `selected` is visible.
fn window(len: usize, selected: usize) -> std::ops::Range<usize> {
    let start = selected
        .saturating_sub(LIST_ROWS - 1)
        .min(len.saturating_sub(LIST_ROWS));
    start..(start + LIST_ROWS).min(len)
}

fn list_lines<'a>(
    items: Vec<(String, String)>,
    selected: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let name_width = items
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 2);
    let shown = window(items.len(), selected);
    items[shown.clone()]
        .iter()
        .zip(shown)
        .map(|((name, what), i)| {
            let line = Line::from(vec![
                Span::styled(super::fit(name, name_width), theme.key()),
                Span::raw("  "),
                Span::styled(
                    super::fit(what, width.saturating_sub(name_width + 2)),
                    theme.dim(),
                ),
            ]);
            if i == selected {
                line.patch_style(theme.selected())
            } else {
                line
            }
        })
        .collect()
}

pub fn completion(
    frame: &mut Frame,
    completion: &Completion,
    selected: usize,
    composer: Rect,
    theme: &Theme,
) {
    let items: Vec<(String, String)> = completion
        .candidates
        .iter()
        .map(|c| (c.text.clone(), c.description.clone()))
        .collect();
    let width = composer.width.min(72);
    let height = (items.len().min(LIST_ROWS) + 2) as u16;
    // Just above the composer, so the line being completed stays visible.
    let y = composer.y.saturating_sub(height);
    let area = Rect::new(composer.x, y, width, height);
    let title = format!(
        " {} of {}  Enter picks  Esc closes ",
        selected + 1,
        items.len()
    );
    let lines = list_lines(items, selected, usize::from(width.saturating_sub(2)), theme);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme.border(true));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

pub fn templates(
    frame: &mut Frame,
    templates: &[Template],
    selected: usize,
    area: Rect,
    theme: &Theme,
) {
    let items: Vec<(String, String)> = templates
        .iter()
        .map(|t| (t.name.clone(), t.description()))
        .collect();
    let rect = super::centered(area, 76, (items.len().min(LIST_ROWS) + 2) as u16);
    let lines = list_lines(
        items,
        selected,
        usize::from(rect.width.saturating_sub(2)),
        theme,
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(
            " Templates ({})  Enter puts it in the composer  Esc closes ",
            templates.len()
        ))
        .border_style(theme.border(true));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// The menu of actions on the calls view's selected channel.
pub fn channel_actions(frame: &mut Frame, selected: usize, area: Rect, theme: &Theme) {
    let items: Vec<(String, String)> = crate::calls::ChannelAction::ALL
        .iter()
        .map(|a| (a.label().to_string(), "fills the composer".to_string()))
        .collect();
    let rect = super::centered(area, 56, (items.len().min(LIST_ROWS) + 2) as u16);
    let lines = list_lines(
        items,
        selected,
        usize::from(rect.width.saturating_sub(2)),
        theme,
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" Channel action  Enter picks  Esc closes ")
        .border_style(theme.border(true));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
