//! Which key does what. Kept as plain tables so the help overlay and the README show
//! exactly what the code does.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key means to the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAction {
    Quit,
    /// Ctrl-C: quits when pressed twice in a row.
    Interrupt,
    FocusNext,
    FocusPrev,
    OpenFilter,
    OpenSearch,
    OpenSave,
    Help,
    Templates,
    Close,
    ToggleNoise,
    ToggleOwnOnly,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Follow,
    Detail,
    SearchNext,
    SearchPrev,
    Copy,
    /// Open or close the calls view.
    Calls,
    /// Start (asking for a file name) or stop recording the stream.
    Record,
    /// `amicon open --step`: the next entry of the file.
    Step,
}

/// Keys that work wherever the focus is (the editor included).
pub fn global(key: &KeyEvent) -> Option<KeyAction> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('q') if ctrl => KeyAction::Quit,
        KeyCode::Char('c') if ctrl => KeyAction::Interrupt,
        KeyCode::Char('f') if ctrl => KeyAction::OpenFilter,
        KeyCode::Char('s') if ctrl => KeyAction::OpenSave,
        KeyCode::Char('o') if ctrl => KeyAction::Record,
        KeyCode::Tab => KeyAction::FocusNext,
        KeyCode::BackTab => KeyAction::FocusPrev,
        KeyCode::F(1) => KeyAction::Help,
        KeyCode::F(2) => KeyAction::ToggleNoise,
        KeyCode::F(3) => KeyAction::ToggleOwnOnly,
        KeyCode::F(4) => KeyAction::Templates,
        KeyCode::F(5) => KeyAction::Calls,
        KeyCode::Esc => KeyAction::Close,
        _ => return None,
    })
}

/// Keys of the event log pane (and of the detail view, which scrolls the same way).
pub fn log(key: &KeyEvent) -> Option<KeyAction> {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => KeyAction::Up,
        KeyCode::Down | KeyCode::Char('j') => KeyAction::Down,
        KeyCode::PageUp => KeyAction::PageUp,
        KeyCode::PageDown | KeyCode::Char(' ') => KeyAction::PageDown,
        KeyCode::Home | KeyCode::Char('g') => KeyAction::First,
        KeyCode::End | KeyCode::Char('G') | KeyCode::Char('f') => KeyAction::Follow,
        KeyCode::Enter => KeyAction::Detail,
        KeyCode::Char('/') => KeyAction::OpenSearch,
        KeyCode::Char('n') => KeyAction::SearchNext,
        KeyCode::Char('N') => KeyAction::SearchPrev,
        KeyCode::Char('y') => KeyAction::Copy,
        KeyCode::Char('s') => KeyAction::OpenSave,
        KeyCode::Char('?') => KeyAction::Help,
        KeyCode::Char('q') => KeyAction::Close,
        KeyCode::Char('c') => KeyAction::Calls,
        KeyCode::Char('.') => KeyAction::Step,
        _ => return None,
    })
}

/// The key table shown in the help overlay and the README: (keys, where, what).
pub const HELP: &[(&str, &str, &str)] = &[
    (
        "Shift-Tab; Tab",
        "anywhere",
        "move focus (Tab: from the log or an empty composer)",
    ),
    (
        "Ctrl-F",
        "anywhere",
        "filter bar (Enter applies, empty clears)",
    ),
    (
        "F2 / F3 / Alt-A",
        "anywhere",
        "hide noise (VarSet, Newexten...) / own only / answer",
    ),
    ("F4, Ctrl-T", "anywhere", "pick a template"),
    (
        "Ctrl-S",
        "anywhere",
        "save the shown messages: raw AMI, *.jsonl JSON Lines",
    ),
    (
        "Ctrl-O",
        "anywhere",
        "record everything to a file / stop recording",
    ),
    ("F1, ?", "? outside the editor", "this help"),
    (
        "Esc",
        "anywhere",
        "close overlay or bar; in the log, follow again",
    ),
    ("Ctrl-Q, Ctrl-C twice", "anywhere", "log off and quit"),
    (
        "Enter on empty line",
        "composer",
        "send the block (Alt-Enter: now, skip checks)",
    ),
    (
        "Tab, Ctrl-Space",
        "composer",
        "complete action, parameter or live value",
    ),
    (
        "Ctrl-A/E/U/K/W/L",
        "composer",
        "line keys; Ctrl-L clears block, Ctrl-Z undo",
    ),
    (
        "Up/Down at edge, Ctrl-R",
        "composer",
        "history: previous / next, search",
    ),
    (
        "Up/Down j/k PgUp/PgDn",
        "log",
        "select a line (pauses follow)",
    ),
    ("Home / End, f, G", "log", "oldest / newest and follow"),
    ("Enter", "log", "detail of the selected message"),
    ("/, n, N", "log", "search, older match, newer match"),
    (
        "y; p; i",
        "log, detail",
        "copy raw (OSC 52); pin to answer; own traffic",
    ),
    (
        "Mouse wheel; .",
        "log",
        "scroll, click selects; `open --step`: next entry",
    ),
    (
        "F5-F9, c in log, :",
        "anywhere",
        "calls channels queues endpoints bridges; :view",
    ),
    (
        "Tab ←→ ↑↓, Esc",
        "call detail",
        "ladder/timeline, channel, scroll; back",
    ),
    (
        "s S / Enter a f",
        "tables",
        "sort, reverse, filter, detail, actions, follow",
    ),
];
