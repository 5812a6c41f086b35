//! The event log pane: one line per message (time, kind marker, name, the headers that
//! matter), newest at the bottom while following.

use super::theme::Theme;
use super::{clean, fit, short_time};
use crate::ami::{Kind, Message};
use crate::app::log::{Entry, Item};
use crate::app::{App, Focus};
use crate::format::{summary, Charset};
use crate::session::Link;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// Columns given to the event or action name.
const NAME_WIDTH: usize = 18;

pub fn draw(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let log = &app.log;
    let mut title = vec![Span::styled(" Log ", theme.border(app.focus == Focus::Log))];
    if log.options().is_active() {
        title.push(Span::raw(format!(
            "{} / {} shown ",
            log.shown(),
            log.total()
        )));
        if !app.filter_text.is_empty() {
            title.push(Span::styled(
                format!("filter: {} ", app.filter_text),
                theme.key(),
            ));
        }
        if log.options().hide_noise {
            title.push(Span::styled("[noise hidden] ", theme.dim()));
        }
        if log.options().own_only {
            title.push(Span::styled("[own only] ", theme.dim()));
        }
    } else {
        title.push(Span::raw(format!("{} ", log.total())));
    }
    if log.fell_off() > 0 {
        title.push(Span::styled(
            format!("({} older fell off) ", log.fell_off()),
            theme.dim(),
        ));
    }
    if let Some(search) = log.search() {
        title.push(Span::styled(format!("/{search} "), theme.search_hit()));
    }
    if !log.is_following() {
        title.push(Span::styled(
            format!(" PAUSED (+{} new) End resumes ", log.new_while_paused()),
            theme.paused(),
        ));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.border(app.focus == Focus::Log))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let rows = usize::from(inner.height);
    let first = log.first_visible(rows);
    let selected = log.selected_index();
    let mut lines = Vec::with_capacity(rows);
    for index in first..(first + rows).min(log.shown()) {
        let Some((_, entry)) = log.shown_at(index) else {
            break;
        };
        let mut line = entry_line(entry, theme, usize::from(inner.width), app.options.charset);
        if let Some(search) = log.search() {
            if log.entry_matches_search(entry) {
                line = highlight(line, search, theme.search_hit());
            }
        }
        if selected == Some(index) {
            line = line.patch_style(theme.selected());
        }
        lines.push(line);
    }
    if lines.is_empty() {
        let hint = if log.total() == 0 && app.options.replay.is_some() {
            "Nothing shown yet. With --step, press . for the next entry. F1 for help."
        } else if log.total() == 0 {
            "Nothing yet. Type an action below (Action: Ping), then Enter on an empty line. F1 for help."
        } else {
            "Nothing matches the current filter (Ctrl-F to change it, F2/F3 toggles)."
        };
        lines.push(Line::styled(hint, theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The kind marker: `>` sent, `<` response, `+` list item, `*` event, `!` note.
fn marker(entry: &Entry) -> &'static str {
    match &entry.item {
        Item::Sent { .. } => ">",
        Item::Received {
            link: Link::ListItem { .. } | Link::ListComplete { .. },
            ..
        } => "+",
        Item::Received { message, .. } if message.kind() == Kind::Response => "<",
        Item::Received { .. } => "*",
        Item::Note { .. } => "!",
    }
}

/// The name and the headers that matter (from `crate::format::summary`); a response is
/// named after the action it answers.
fn name_and_summary(
    message: &Message,
    answered: Option<&str>,
    charset: Charset,
) -> (String, String) {
    let summary = summary(message);
    let name = clean(charset.decode(&summary.name).as_bytes()).into_owned();
    let name = match (message.kind(), answered) {
        (Kind::Response, Some(action)) => format!("{} {name}", clean(action.as_bytes())),
        _ => name,
    };
    (name, summary.fields_text(charset))
}

/// One log line, styled by kind and event class.
pub fn entry_line<'a>(entry: &Entry, theme: &Theme, width: usize, charset: Charset) -> Line<'a> {
    let time = Span::styled(format!("{} ", short_time(entry.at)), theme.time());
    let (style, name, rest) = match &entry.item {
        Item::Note { tone, text, .. } => (theme.tone(*tone), String::new(), text.to_string()),
        Item::Sent { message, .. } => {
            let (name, rest) = name_and_summary(message, None, charset);
            (theme.sent(), name, rest)
        }
        Item::Received {
            message,
            link,
            action,
            ..
        } => {
            let style = match (link, message.kind()) {
                (Link::ListItem { .. } | Link::ListComplete { .. }, _) => theme.list_item(),
                (_, Kind::Response) => theme.response(!message.is("Response", "Error")),
                _ => {
                    let privilege = message.get("Privilege").unwrap_or_default();
                    let class = privilege.split(|&b| b == b',').next().unwrap_or_default();
                    theme.event(class)
                }
            };
            let (name, rest) = name_and_summary(message, action.as_deref(), charset);
            (style, name, rest)
        }
    };
    let mut spans = vec![time, Span::styled(format!("{} ", marker(entry)), style)];
    if matches!(entry.item, Item::Note { .. }) {
        spans.push(Span::styled(rest, style));
    } else {
        spans.push(Span::styled(
            format!("{} ", fit(&name, NAME_WIDTH)),
            style.add_modifier(ratatui::style::Modifier::BOLD),
        ));
        // Long lines are cut by the paragraph; keep at most a screen's worth of text.
        let mut rest = rest;
        if rest.len() > width * 4 {
            let mut cut = width * 4;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            rest.truncate(cut);
        }
        spans.push(Span::styled(rest, style));
    }
    Line::from(spans)
}

/// Restyles every occurrence of `needle` (lower-case) in the line.
fn highlight<'a>(line: Line<'a>, needle: &str, hit: Style) -> Line<'a> {
    let mut spans = Vec::new();
    for span in line.spans {
        let text = span.content.to_string();
        let lower = text.to_lowercase();
        if lower.len() != text.len() || needle.is_empty() {
            spans.push(span);
            continue;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(needle) {
            let start = from + i;
            let end = start + needle.len();
            if start > from {
                spans.push(Span::styled(text[from..start].to_string(), span.style));
            }
            spans.push(Span::styled(
                text[start..end].to_string(),
                span.style.patch(hit),
            ));
            from = end;
        }
        if from < text.len() {
            spans.push(Span::styled(text[from..].to_string(), span.style));
        }
    }
    Line::from(spans)
}
