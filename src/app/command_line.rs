//! The `:` command line (k9s style): `:channels`, `:queues`, `:calls`, `:log`... One
//! table of commands ([`COMMANDS`], shown in the bar and the help) and one match in
//! [`run`], so a new command (`:connect NAME`) is one entry and one arm. A command
//! may be shortened to any prefix that names only it (`:ch`, `:q` is not one).

use super::views::ViewKind;
use super::{App, Cmd, Focus, Overlay, Tone};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The line being typed, and why the last one was refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    pub text: String,
    pub error: Option<String>,
}

/// Every command: (name, arguments, what it does).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("channels", "", "the channels table"),
    ("calls", "", "the calls table"),
    ("queues", "", "the queues and their members"),
    ("endpoints", "", "the endpoints (PJSIP, or chan_sip peers)"),
    ("bridges", "", "the bridges"),
    ("log", "", "back to the event log"),
    ("help", "", "the key table"),
    ("quit", "", "log off and quit"),
];

/// Whether `key` opens the command line: `:` outside the editor, or in an empty one
/// (no AMI block starts with `:`).
pub fn opens(app: &App, key: &KeyEvent) -> bool {
    key.code == KeyCode::Char(':')
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        && app.overlay.is_none()
        && app.bar.is_none()
        && (app.focus == Focus::Log || app.composer.text().is_empty())
}

pub fn open(app: &mut App) {
    app.command_line = Some(CommandLine::default());
    relayout(app);
}

fn close(app: &mut App) {
    app.command_line = None;
    relayout(app);
}

/// The bar takes (or gives back) two rows above the status bar.
fn relayout(app: &mut App) {
    let status = app.regions.status;
    app.resize(status.width, status.y + status.height);
}

/// Keys while the command line is open: type, Tab completes, Enter runs, Esc closes.
pub fn key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let Some(line) = app.command_line.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => close(app),
        KeyCode::Enter => {
            let text = line.text.clone();
            match run(app, &text) {
                Ok(cmds) => {
                    close(app);
                    return cmds;
                }
                Err(why) => {
                    if let Some(line) = app.command_line.as_mut() {
                        line.error = Some(why);
                    }
                }
            }
        }
        KeyCode::Tab => {
            let word = line.text.trim();
            if !word.contains(' ') {
                let found = candidates(word);
                match found.as_slice() {
                    [one] => line.text = format!("{one} "),
                    [] => line.error = Some(format!("no command starts with {word:?}")),
                    many => line.error = Some(format!("one of: {}", many.join(", "))),
                }
            }
        }
        KeyCode::Backspace => {
            if line.text.pop().is_none() {
                close(app);
            } else {
                line.error = None;
            }
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            line.text.clear();
            line.error = None;
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            line.text.push(c);
            line.error = None;
        }
        _ => {}
    }
    Vec::new()
}

/// Command names starting with `prefix` (case-insensitive).
pub fn candidates(prefix: &str) -> Vec<&'static str> {
    let prefix = prefix.to_ascii_lowercase();
    COMMANDS
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| name.starts_with(&prefix))
        .collect()
}

/// The command a typed word names: itself, or the one command it is a prefix of.
fn resolve(word: &str) -> Result<&'static str, String> {
    let word = word.to_ascii_lowercase();
    if let Some((name, _, _)) = COMMANDS.iter().find(|(name, _, _)| *name == word) {
        return Ok(name);
    }
    match candidates(&word).as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "unknown command :{word} (Tab completes, :help lists keys)"
        )),
        many => Err(format!(":{word} could be {}", many.join(", "))),
    }
}

/// Runs one command line. `Err` says why not; the line stays open to fix it.
pub fn run(app: &mut App, text: &str) -> Result<Vec<Cmd>, String> {
    let text = text.trim().trim_start_matches(':');
    let mut words = text.split_whitespace();
    let Some(word) = words.next() else {
        return Ok(Vec::new());
    };
    let args: Vec<&str> = words.collect();
    let name = resolve(word)?;
    if !args.is_empty() && COMMANDS.iter().any(|(n, a, _)| *n == name && a.is_empty()) {
        return Err(format!(":{name} takes no argument"));
    }
    match name {
        "channels" => show(app, ViewKind::Channels),
        "calls" => show(app, ViewKind::Calls),
        "queues" => show(app, ViewKind::Queues),
        "endpoints" => show(app, ViewKind::Endpoints),
        "bridges" => show(app, ViewKind::Bridges),
        "log" => {
            app.table = None;
            app.focus = Focus::Log;
        }
        "help" => app.overlay = Some(Overlay::Help),
        "quit" => {
            app.quitting = true;
            return Ok(vec![Cmd::Quit]);
        }
        other => return Err(format!(":{other} is not available here")),
    }
    Ok(Vec::new())
}

fn show(app: &mut App, kind: ViewKind) {
    super::views::keys::open(app, kind);
    app.notify(Tone::Info, format!("{} view", kind.title()));
}
