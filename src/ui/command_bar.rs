//! The `:` command line bar: what is typed, and below it the commands that match (or
//! why the last line was refused).

use super::theme::Theme;
use crate::app::command_line::{candidates, CommandLine, COMMANDS};
use crate::app::log::Tone;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, line: &CommandLine, area: Rect, theme: &Theme) {
    let input = Line::from(vec![
        Span::styled(":", theme.key()),
        Span::raw(line.text.clone()),
        Span::styled(" ", theme.selected()),
    ]);
    let second = match &line.error {
        Some(error) => Line::styled(error.clone(), theme.tone(Tone::Bad)),
        None => {
            let word = line.text.split_whitespace().next().unwrap_or("");
            let names: Vec<&str> = if word.is_empty() {
                COMMANDS.iter().map(|(n, _, _)| *n).collect()
            } else {
                candidates(word)
            };
            let text = match names.as_slice() {
                [one] => {
                    let what = COMMANDS
                        .iter()
                        .find(|(n, _, _)| n == one)
                        .map_or("", |(_, _, what)| *what);
                    format!(":{one}  {what}  (Enter runs · Esc closes)")
                }
                [] => "no such command · Esc closes".to_string(),
                many => format!(
                    "{}  (Tab completes · Enter runs · Esc closes)",
                    many.join(" ")
                ),
            };
            Line::styled(text, theme.dim())
        }
    };
    frame.render_widget(Paragraph::new(vec![input, second]), area);
}
