//! The composer's state: a multi-line `Key: Value` editor whose block is sent when Enter
//! is pressed on an empty line, checked against Asterisk's limits first.

use crate::ami::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::{CursorMove, TextArea};

/// What a key did to the composer.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The text changed or the cursor moved.
    Edited,
    /// The block is complete and valid: send it. `forced` (Alt-Enter) skips the check
    /// for missing required parameters.
    Send(Action, bool),
    /// The block cannot be sent; the reason is shown under the editor.
    Invalid(String),
}

pub struct Composer {
    editor: TextArea<'static>,
    /// No colours (`NO_COLOR`): the editor's placeholder is dimmed instead of grey;
    /// kept to build the same editor again after `set_text`.
    plain: bool,
    /// The last problem with the block, shown until the next edit.
    pub problem: Option<String>,
}

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer")
            .field("lines", &self.editor.lines().len())
            .finish()
    }
}

impl Default for Composer {
    fn default() -> Self {
        Self::new()
    }
}

impl Composer {
    pub fn new() -> Self {
        Self::with_colours(true)
    }

    /// A composer drawn without colours when `colours` is false (`NO_COLOR`).
    pub fn with_colours(colours: bool) -> Self {
        Composer {
            editor: fresh_editor(Vec::new(), !colours),
            plain: !colours,
            problem: None,
        }
    }

    pub fn editor(&self) -> &TextArea<'static> {
        &self.editor
    }

    pub fn lines(&self) -> &[String] {
        self.editor.lines()
    }

    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    pub fn is_blank(&self) -> bool {
        self.editor.lines().iter().all(|l| l.trim().is_empty())
    }

    /// Replaces the text (a template, a history entry), cursor at the end.
    pub fn set_text(&mut self, text: &str) {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        self.editor = fresh_editor(lines, self.plain);
        self.editor.move_cursor(CursorMove::Bottom);
        self.editor.move_cursor(CursorMove::End);
        self.problem = None;
    }

    pub fn clear(&mut self) {
        self.set_text("");
    }

    /// The cursor as (line, byte offset within the line).
    pub fn cursor(&self) -> (usize, usize) {
        let cursor = self.editor.cursor();
        let line = self.editor.lines().get(cursor.0).map_or("", String::as_str);
        let byte = line
            .char_indices()
            .nth(cursor.1)
            .map_or(line.len(), |(i, _)| i);
        (cursor.0, byte)
    }

    pub fn on_first_line(&self) -> bool {
        self.editor.cursor().0 == 0
    }

    pub fn on_last_line(&self) -> bool {
        self.editor.cursor().0 + 1 >= self.editor.lines().len()
    }

    /// Replaces bytes `range` of line `row` by `text` (a completion), cursor after it.
    pub fn replace_in_line(&mut self, row: usize, range: std::ops::Range<usize>, text: &str) {
        let mut lines = self.editor.lines().to_vec();
        let Some(line) = lines.get_mut(row) else {
            return;
        };
        let start = range.start.min(line.len());
        let end = range.end.clamp(start, line.len());
        if !line.is_char_boundary(start) || !line.is_char_boundary(end) {
            return;
        }
        line.replace_range(start..end, text);
        let col = line[..start + text.len()].chars().count();
        self.editor = fresh_editor(lines, self.plain);
        let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        self.editor
            .move_cursor(CursorMove::Jump(clamp(row), clamp(col)));
        self.problem = None;
    }

    /// Puts the cursor at byte `offset` of the whole text (lines joined by `\n`).
    pub fn place_cursor_at(&mut self, offset: usize) {
        let mut left = offset;
        for (row, line) in self.editor.lines().iter().enumerate() {
            if left <= line.len() {
                let col = line.get(..left).map_or(0, |s| s.chars().count());
                let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
                self.editor
                    .move_cursor(CursorMove::Jump(clamp(row), clamp(col)));
                return;
            }
            left -= line.len() + 1;
        }
    }

    /// Inserts pasted text as typed.
    pub fn paste(&mut self, text: &str) {
        self.editor
            .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
        self.problem = None;
    }

    /// Parses and checks the block, without sending.
    pub fn block(&self) -> Result<Action, String> {
        let action = Action::parse_block(&self.text())?;
        action.validate().map_err(|e| e.to_string())?;
        Ok(action)
    }

    pub fn input(&mut self, key: KeyEvent) -> Outcome {
        let enter = key.code == KeyCode::Enter;
        let alt_enter = enter && key.modifiers.contains(KeyModifiers::ALT);
        if enter {
            let row = self.editor.cursor().0;
            let line_empty = self
                .editor
                .lines()
                .get(row)
                .is_none_or(|l| l.trim().is_empty());
            if (line_empty || alt_enter) && !self.is_blank() {
                return match self.block() {
                    Ok(action) => Outcome::Send(action, alt_enter),
                    Err(problem) => {
                        self.problem = Some(problem.clone());
                        Outcome::Invalid(problem)
                    }
                };
            }
            if line_empty {
                // Nothing to send: Enter on an empty composer does nothing.
                return Outcome::Edited;
            }
        }
        self.problem = None;
        self.editor.input(key);
        Outcome::Edited
    }
}

fn fresh_editor(lines: Vec<String>, plain: bool) -> TextArea<'static> {
    let mut editor = if lines.is_empty() {
        TextArea::default()
    } else {
        TextArea::new(lines)
    };
    editor.set_placeholder_text("Action: Ping   (Key: Value lines; Enter on an empty line sends)");
    if plain {
        editor.set_placeholder_style(Style::new().add_modifier(Modifier::DIM));
    }
    editor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_text(c: &mut Composer, text: &str) -> Outcome {
        let mut last = Outcome::Edited;
        for ch in text.chars() {
            last = c.input(key(if ch == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(ch)
            }));
        }
        last
    }

    #[test]
    fn enter_on_an_empty_line_sends_the_block() {
        let mut c = Composer::new();
        assert_eq!(type_text(&mut c, "Action: Ping\n"), Outcome::Edited);
        match c.input(key(KeyCode::Enter)) {
            Outcome::Send(action, false) => assert_eq!(action.name().as_deref(), Some("Ping")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_line_without_colon_is_refused_with_its_number() {
        let mut c = Composer::new();
        match type_text(&mut c, "Action: Ping\nnonsense\n\n") {
            Outcome::Invalid(problem) => assert!(problem.contains("line 2"), "{problem}"),
            other => panic!("{other:?}"),
        }
        assert!(c.problem.is_some());
    }

    #[test]
    fn limits_are_checked_before_sending() {
        let mut c = Composer::new();
        c.set_text(&format!("Action: Ping\nX-Pad: {}", "x".repeat(1100)));
        assert_eq!(c.input(key(KeyCode::Enter)), Outcome::Edited);
        match c.input(key(KeyCode::Enter)) {
            Outcome::Invalid(problem) => assert!(problem.contains("1024"), "{problem}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn enter_on_an_empty_composer_sends_nothing() {
        let mut c = Composer::new();
        assert_eq!(c.input(key(KeyCode::Enter)), Outcome::Edited);
        assert!(c.is_blank());
    }
}
