//! Drawing: one file per screen region, each a function of `&App` and a `Frame`.
//! Nothing here changes the application's state.

pub mod answer;
pub mod call_detail;
pub mod calls_list;
pub mod command_bar;
pub mod composer;
pub mod detail;
pub mod event_log;
pub mod filter_bar;
pub mod help;
pub mod popup;
pub mod status_bar;
pub mod table;
pub mod text;
pub mod theme;

use crate::app::{App, Overlay};
pub use crate::layout::{layout, layout_with_answer};
pub use crate::text::clean;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::time::SystemTime;
use theme::Theme;
use unicode_width::UnicodeWidthChar;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let theme = Theme::new(app.options.no_color);
    let regions = layout_with_answer(
        frame.area(),
        app.bar.is_some() || app.command_line.is_some(),
        app.answer.rows(frame.area().height),
    );
    match &app.table {
        Some(view) => draw_table(frame, app, view, regions.log, &theme),
        None => event_log::draw(frame, app, regions.log, &theme),
    }
    answer::draw(frame, &app.answer, regions.answer, &theme);
    composer::draw(frame, app, regions.composer, &theme);
    if let Some(bar) = &app.bar {
        filter_bar::draw(frame, bar, regions.bar, &theme);
    }
    if let Some(line) = &app.command_line {
        command_bar::draw(frame, line, regions.bar, &theme);
    }
    status_bar::draw(frame, app, regions.status, &theme);
    match &app.overlay {
        Some(Overlay::Help) => help::draw(frame, frame.area(), &theme),
        Some(Overlay::Detail { seq, scroll }) => {
            detail::draw(frame, app, *seq, *scroll, regions.log, &theme)
        }
        Some(Overlay::Confirm { action, why }) => {
            popup::confirm(frame, action, why, frame.area(), &theme)
        }
        Some(Overlay::Completion {
            completion,
            selected,
            ..
        }) => popup::completion(frame, completion, *selected, regions.composer, &theme),
        Some(Overlay::Templates { selected }) => {
            popup::templates(frame, &app.templates, *selected, frame.area(), &theme)
        }
        Some(Overlay::ChannelActions { selected }) => {
            popup::channel_actions(frame, *selected, frame.area(), &theme)
        }
        Some(Overlay::RowActions { actions, selected }) => {
            table::actions(frame, actions, *selected, frame.area(), &theme)
        }
        None => {}
    }
}

/// A live table (or one call's detail) in the log's place.
fn draw_table(
    frame: &mut Frame,
    app: &App,
    view: &crate::app::views::TableView,
    area: Rect,
    theme: &Theme,
) {
    if let Some((id, detail)) = &view.call_detail {
        if let Some(call) = app.state.calls().get(*id) {
            let mut detail = detail.borrow_mut();
            call_detail::render_call_detail(frame, area, call, &mut detail, app.calls_now(), theme);
            return;
        }
    }
    let data = crate::app::views::keys::data(app, view.kind);
    let hints = match view.kind {
        crate::app::views::ViewKind::Calls => calls_list::HINTS,
        _ => "Enter detail · a act · s sort · / filter · : view · Esc back",
    };
    table::draw(frame, area, &data, view, hints, theme);
}

/// Bytes from the server decoded with the user's charset, then made terminal-safe.
pub fn show(bytes: &[u8], charset: crate::format::Charset) -> String {
    clean(charset.decode(bytes).as_bytes()).into_owned()
}

/// `HH:MM:SS.mmm` in UTC.
pub fn short_time(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

/// Cuts or pads `text` to exactly `width` columns, counting wide characters as two.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(width);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_wide_characters_as_two_columns() {
        assert_eq!(fit("日本語", 5), "日本 ");
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
