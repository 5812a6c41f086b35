//! The composer's state: a multi-line `Key: Value` editor whose block is sent when Enter
//! is pressed on an empty line, checked against Asterisk's limits first.
//!
//! It edits like a shell line (Ctrl-A/E, Ctrl-U/K, Ctrl-W; Ctrl-Z undoes), takes a bare
//! action name (`Ping`) as its `Action:` line, refuses unfilled `<placeholders>`, and
//! splits a paste of several blocks ([`split_blocks`]) so each is sent in order.

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
    /// The text Ctrl-L cleared, until Ctrl-Z brings it back or the next edit.
    cleared: Option<String>,
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
            cleared: None,
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
        parse_checked(&self.text())
    }

    pub fn input(&mut self, key: KeyEvent) -> Outcome {
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            if let KeyCode::Char(c) = key.code {
                if self.readline_key(c) {
                    return Outcome::Edited;
                }
            }
        }
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
        self.cleared = None;
        self.editor.input(key);
        Outcome::Edited
    }

    /// The shell's line keys; false for a key this does not handle.
    fn readline_key(&mut self, c: char) -> bool {
        match c {
            'a' => self.editor.move_cursor(CursorMove::Head),
            'e' => self.editor.move_cursor(CursorMove::End),
            'u' => {
                self.editor.delete_line_by_head();
            }
            'k' => {
                self.editor.delete_line_by_end();
            }
            'w' => {
                self.editor.delete_word();
            }
            'l' => {
                if !self.is_blank() {
                    let text = self.text();
                    self.clear();
                    self.cleared = Some(text);
                }
                return true;
            }
            'z' => {
                match self.cleared.take() {
                    Some(text) if self.is_blank() => self.set_text(&text),
                    _ => {
                        self.editor.undo();
                    }
                }
                return true;
            }
            _ => return false,
        }
        self.problem = None;
        true
    }
}

/// Parses a block as the composer sends it: a bare action name on the first line is its
/// `Action:` line (`Ping`), limits are checked, and unfilled `<placeholders>` of a
/// template are refused.
pub fn parse_checked(text: &str) -> Result<Action, String> {
    let text = with_action_line(text);
    if let Some(placeholder) = unfilled_placeholder(&text) {
        return Err(format!(
            "fill in {placeholder} first (a template's placeholder)"
        ));
    }
    let action = Action::parse_block(&text)?;
    action.validate().map_err(|e| e.to_string())?;
    Ok(action)
}

/// `Ping` (a lone word, no colon, on the first line) becomes `Action: Ping`.
fn with_action_line(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(first) = lines.iter().position(|l| !l.trim().is_empty()) else {
        return text.to_string();
    };
    let word = lines[first].trim();
    if word.contains(':') || word.contains(char::is_whitespace) {
        return text.to_string();
    }
    let action_line = format!("Action: {word}");
    lines[first] = &action_line;
    lines.join("\n")
}

/// The first `<placeholder>` left in a value: `<` then a letter, then letters, digits,
/// spaces or `_.,-/`, then `>` (`<exten>`, `<your endpoint, e.g. PJSIP/100>`); a
/// `CallerID: Name <100>` is a value, not a placeholder.
pub fn unfilled_placeholder(text: &str) -> Option<String> {
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        // `Name <number>` is how a caller ID is written.
        if key.trim().eq_ignore_ascii_case("CallerID") {
            continue;
        }
        let mut rest = value;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('>') else {
                break;
            };
            let inner = &after[..end];
            let is_placeholder = inner
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && inner
                    .chars()
                    .all(|c| c.is_alphanumeric() || " _.,-/".contains(c));
            if is_placeholder && inner.chars().any(|c| c == ' ' || c.is_ascii_lowercase()) {
                return Some(format!("<{inner}>"));
            }
            rest = &after[end + 1..];
        }
    }
    None
}

/// A paste split into the blocks it holds: blank lines separate blocks, as on the wire.
/// Text that is one block (or none) comes back as one.
pub fn split_blocks(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.split('\n') {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        blocks.push(current.join("\n"));
    }
    blocks
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

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn a_bare_action_name_is_its_action_line() {
        let mut c = Composer::new();
        type_text(&mut c, "Ping\n");
        match c.input(key(KeyCode::Enter)) {
            Outcome::Send(action, false) => assert_eq!(action.name().as_deref(), Some("Ping")),
            other => panic!("{other:?}"),
        }
        let two = parse_checked("CoreShowChannels\nActionID: 1").unwrap();
        assert_eq!(two.name().as_deref(), Some("CoreShowChannels"));
        assert!(parse_checked("not an action").is_err());
    }

    #[test]
    fn readline_keys_edit_the_line() {
        let mut c = Composer::new();
        type_text(&mut c, "Action: Ping");
        c.input(ctrl('w'));
        assert_eq!(c.text(), "Action: ");
        type_text(&mut c, "Pong");
        c.input(ctrl('a'));
        type_text(&mut c, "X");
        assert_eq!(c.text(), "XAction: Pong");
        c.input(ctrl('e'));
        c.input(ctrl('u'));
        assert_eq!(c.text(), "");
        type_text(&mut c, "Action: Ping\nActionID: 7");
        c.input(ctrl('l'));
        assert!(c.is_blank());
        c.input(ctrl('z'));
        assert_eq!(c.text(), "Action: Ping\nActionID: 7");
    }

    #[test]
    fn unfilled_placeholders_are_refused() {
        let problem = parse_checked("Action: Redirect\nChannel: x\nExten: <exten>").unwrap_err();
        assert!(problem.contains("<exten>"), "{problem}");
        assert!(
            parse_checked("Action: Originate\nChannel: <your endpoint, e.g. PJSIP/100>").is_err()
        );
        // A caller ID's number in angle brackets is a value, not a placeholder.
        assert!(
            parse_checked("Action: Originate\nChannel: Local/1@test\nCallerID: Bob <100>").is_ok()
        );
        assert!(
            parse_checked("Action: Originate\nChannel: Local/1@test\nCallerID: Bob <Bob>").is_ok()
        );
    }

    #[test]
    fn a_paste_splits_into_its_blocks() {
        assert_eq!(
            split_blocks("Action: Ping\r\n\r\nAction: CoreSettings\r\nActionID: 2\r\n\r\n"),
            vec!["Action: Ping", "Action: CoreSettings\nActionID: 2"]
        );
        assert_eq!(
            split_blocks("Action: Ping\nActionID: 1"),
            vec!["Action: Ping\nActionID: 1"]
        );
        assert!(split_blocks("\n \n").is_empty());
        assert_eq!(split_blocks("a\n\n\n\nb").len(), 2);
    }

    #[test]
    fn enter_on_an_empty_composer_sends_nothing() {
        let mut c = Composer::new();
        assert_eq!(c.input(key(KeyCode::Enter)), Outcome::Edited);
        assert!(c.is_blank());
    }
}
