//! The block being typed, one line at a time, and the `:` meta commands: pure state,
//! no terminal, so every rule of line mode is tested without a pseudo-terminal.

use crate::ami::Action;
use crate::complete::Catalog;
use std::collections::VecDeque;

/// How answers and events are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// The AMI text as it came off the wire.
    #[default]
    Raw,
    /// One summary line per message, as `watch --format line`.
    Line,
    /// JSON Lines, as `watch --json`.
    Json,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raw" => Ok(OutputFormat::Raw),
            "line" | "one-line" => Ok(OutputFormat::Line),
            "json" => Ok(OutputFormat::Json),
            other => Err(format!("unknown format `{other}`: use raw, line or json")),
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputFormat::Raw => "raw",
            OutputFormat::Line => "line",
            OutputFormat::Json => "json",
        })
    }
}

/// A command to the console itself, typed with a leading `:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meta {
    Help,
    /// `:filter` shows the filter, `:filter EXPR` sets it.
    Filter(Option<String>),
    /// `:nofilter` shows every event again.
    NoFilter,
    /// `:events on|off` sends the `Events` action.
    Events(bool),
    Format(OutputFormat),
    Status,
    /// `:template` lists, `:template NAME` loads one into the block.
    Template(Option<String>),
    /// `:history [TEXT]` lists earlier blocks (newest first), numbered.
    History(String),
    /// `:recall N` loads block N of the last `:history` list.
    Recall(usize),
    /// `:show` prints the block typed so far.
    Show,
    Quit,
}

/// Every meta command with a one-line description, for `:help` and completion.
pub const META_COMMANDS: &[(&str, &str)] = &[
    (":help", "this list"),
    (
        ":filter",
        "show the event filter; `:filter EXPR` sets it (watch's filter language)",
    ),
    (":nofilter", "show every event again"),
    (
        ":events",
        "`:events on` / `:events off`: ask the server to send events or not",
    ),
    (
        ":format",
        "`:format raw|line|json`: how answers and events are printed",
    ),
    (":status", "connection, versions, counts, ping round trip"),
    (
        ":template",
        "list templates; `:template NAME` loads one into the block",
    ),
    (
        ":history",
        "`:history [TEXT]`: earlier blocks containing TEXT, newest first",
    ),
    (
        ":recall",
        "`:recall N`: load block N of the last :history list",
    ),
    (":show", "print the block typed so far"),
    (":quit", "log off and exit (also Ctrl-D on an empty block)"),
];

pub fn parse_meta(line: &str) -> Result<Meta, String> {
    let body = line.trim().trim_start_matches(':');
    let (name, arg) = match body.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (body, ""),
    };
    let arg_opt = (!arg.is_empty()).then(|| arg.to_string());
    match name.to_ascii_lowercase().as_str() {
        "help" | "h" | "?" => Ok(Meta::Help),
        "filter" | "f" => Ok(Meta::Filter(arg_opt)),
        "nofilter" | "unfilter" => Ok(Meta::NoFilter),
        "events" | "e" => match arg.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" => Ok(Meta::Events(true)),
            "off" | "no" | "false" => Ok(Meta::Events(false)),
            _ => Err("usage: :events on|off".into()),
        },
        "format" => arg.parse().map(Meta::Format),
        "status" | "s" => Ok(Meta::Status),
        "template" | "t" => Ok(Meta::Template(arg_opt)),
        "history" => Ok(Meta::History(arg.to_string())),
        "recall" | "r" => arg
            .parse()
            .map(Meta::Recall)
            .map_err(|_| "usage: :recall N (a number from :history)".into()),
        "show" => Ok(Meta::Show),
        "quit" | "q" | "exit" => Ok(Meta::Quit),
        "" => Err("type :help for the meta commands".into()),
        other => Err(format!("unknown command `:{other}`; type :help")),
    }
}

/// What one accepted line does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The line joined the block; `Some(name)` when it named the block's action.
    Added(Option<String>),
    /// The block is complete: send it.
    Send(String),
    /// Something to tell the user; the block is unchanged.
    Notice(String),
    Meta(Meta),
    /// A blank line with nothing to send.
    Nothing,
}

/// The block being composed, plus template lines waiting to be offered for editing.
#[derive(Clone, Debug, Default)]
pub struct Composer {
    lines: Vec<String>,
    /// Lines of a loaded template or recalled block, offered one by one as the initial
    /// text of the next prompt.
    pending: VecDeque<String>,
    /// Missing required parameters were pointed out; the next blank line sends anyway.
    warned_missing: bool,
}

fn header_key(line: &str) -> Option<&str> {
    line.split_once(':').map(|(k, _)| k.trim())
}

impl Composer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.pending.is_empty()
    }

    /// The lines typed so far, joined with `\n`.
    pub fn block(&self) -> String {
        self.lines.join("\n")
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The action being composed (the first non-empty `Action:` value).
    pub fn action(&self) -> Option<String> {
        self.lines.iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim().eq_ignore_ascii_case("Action") && !v.trim().is_empty())
                .then(|| v.trim().to_string())
        })
    }

    /// Forgets the block and any pending template lines (Ctrl-C).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.pending.clear();
        self.warned_missing = false;
    }

    /// Replaces the block by the lines of `block`, offered one by one for editing.
    pub fn load(&mut self, block: &str) {
        self.clear();
        self.pending.extend(
            block
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }

    /// The initial text of the next prompt, if a template is being filled in.
    pub fn next_pending(&mut self) -> Option<String> {
        self.pending.pop_front()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes one line the user entered.
    pub fn accept(&mut self, line: &str, catalog: &Catalog) -> Step {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim_start().starts_with(':') {
            return match parse_meta(line) {
                Ok(meta) => Step::Meta(meta),
                Err(message) => Step::Notice(message),
            };
        }
        if line.trim().is_empty() {
            return self.finish(catalog);
        }
        let line = if self.lines.is_empty()
            && !line.contains(':')
            && !line.trim().contains(char::is_whitespace)
        {
            // A bare word on the first line is the action's name: `Ping` means `Action: Ping`.
            format!("Action: {}", line.trim())
        } else {
            line.to_string()
        };
        let Some(key) = header_key(&line) else {
            return Step::Notice(format!(
                "`{line}` is not `Key: Value`; the line was not added"
            ));
        };
        if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Step::Notice(format!(
                "`{key}` is not a header name; the line was not added"
            ));
        }
        let names_action = key.eq_ignore_ascii_case("Action");
        self.lines.push(line.trim_start().to_string());
        self.warned_missing = false;
        Step::Added(if names_action { self.action() } else { None })
    }

    /// A blank line: send the block, unless required parameters are missing and that was
    /// not pointed out yet.
    fn finish(&mut self, catalog: &Catalog) -> Step {
        if self.has_pending() {
            // An emptied template line skips that line; the block goes on.
            return Step::Added(None);
        }
        if self.lines.is_empty() {
            return Step::Nothing;
        }
        let block = self.block();
        if let Some(placeholder) = crate::app::composer::unfilled_placeholder(&block) {
            return Step::Notice(format!(
                "fill in {placeholder} first (a template's placeholder); :show prints the block"
            ));
        }
        let action = match Action::parse_block(&block) {
            Ok(action) => action,
            Err(e) => return Step::Notice(e),
        };
        if action.name().is_none() {
            return Step::Notice("the block has no `Action:` line yet (Ctrl-C clears it)".into());
        }
        let missing = catalog.missing_required(&action);
        if !missing.is_empty() && !self.warned_missing {
            self.warned_missing = true;
            return Step::Notice(format!(
                "{} needs {}; add it, or press Enter again to send as is",
                action.name().unwrap_or_default(),
                missing.join(", ")
            ));
        }
        self.clear();
        Step::Send(block)
    }
}

/// The prompt: `ami> `, `ami Originate> `, `ami (reconnecting)> `.
pub fn prompt(status: &str, action: Option<&str>) -> String {
    let mut p = String::from("ami");
    if !status.is_empty() {
        p.push_str(" (");
        p.push_str(status);
        p.push(')');
    }
    if let Some(action) = action {
        p.push(' ');
        // The prompt is not the place for a pasted essay or control characters.
        p.extend(action.chars().filter(|c| !c.is_control()).take(40));
    }
    p.push_str("> ");
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::Message;

    fn originate_catalog() -> Catalog {
        let mut c = Catalog::new();
        let help = Message::from_headers(&[
            ("Response", "Success"),
            ("Output", "[Syntax]"),
            ("Output", "Action: Originate"),
            ("Output", "Channel: <value>"),
            ("Output", "[Exten:] <value>"),
        ]);
        c.learn_action_help("Originate", &help);
        c
    }

    #[test]
    fn a_blank_line_sends_the_block_and_starts_a_new_one() {
        let mut c = Composer::new();
        let catalog = Catalog::new();
        assert_eq!(
            c.accept("Action: Ping", &catalog),
            Step::Added(Some("Ping".into()))
        );
        assert_eq!(c.accept("ActionID: 7", &catalog), Step::Added(None));
        assert_eq!(
            c.accept("", &catalog),
            Step::Send("Action: Ping\nActionID: 7".into())
        );
        assert!(c.is_empty());
        assert_eq!(c.accept("   ", &catalog), Step::Nothing);
    }

    #[test]
    fn a_bare_first_word_names_the_action() {
        let mut c = Composer::new();
        assert_eq!(
            c.accept("CoreSettings", &Catalog::new()),
            Step::Added(Some("CoreSettings".into()))
        );
        assert_eq!(c.block(), "Action: CoreSettings");
        assert!(matches!(
            c.accept("not a header", &Catalog::new()),
            Step::Notice(_)
        ));
        assert_eq!(c.line_count(), 1);
    }

    #[test]
    fn missing_required_parameters_are_flagged_once_then_sent_on_insistence() {
        let catalog = originate_catalog();
        let mut c = Composer::new();
        c.accept("Action: Originate", &catalog);
        c.accept("Exten: echo", &catalog);
        let Step::Notice(n) = c.accept("", &catalog) else {
            panic!("not flagged")
        };
        assert!(n.contains("Channel"), "{n}");
        assert!(matches!(c.accept("", &catalog), Step::Send(_)));
    }

    #[test]
    fn adding_the_missing_line_clears_the_warning() {
        let catalog = originate_catalog();
        let mut c = Composer::new();
        c.accept("Action: Originate", &catalog);
        assert!(matches!(c.accept("", &catalog), Step::Notice(_)));
        c.accept("Channel: Local/echo@test", &catalog);
        assert!(matches!(c.accept("", &catalog), Step::Send(b) if b.ends_with("Local/echo@test")));
    }

    #[test]
    fn unfilled_placeholders_are_refused() {
        let mut c = Composer::new();
        let catalog = Catalog::new();
        c.accept("Action: Redirect", &catalog);
        c.accept("Exten: <exten>", &catalog);
        assert!(matches!(c.accept("", &catalog), Step::Notice(n) if n.contains("<exten>")));
        assert_eq!(c.line_count(), 2, "the block stays to be fixed");
    }

    #[test]
    fn a_block_without_an_action_is_not_sent() {
        let mut c = Composer::new();
        c.accept("Channel: x", &Catalog::new());
        assert!(matches!(c.accept("", &Catalog::new()), Step::Notice(_)));
        assert_eq!(c.line_count(), 1);
    }

    #[test]
    fn template_lines_are_offered_one_by_one_and_can_be_skipped() {
        let mut c = Composer::new();
        let catalog = Catalog::new();
        c.load("Action: Ping\nActionID: x\n");
        let first = c.next_pending().unwrap();
        assert_eq!(first, "Action: Ping");
        c.accept(&first, &catalog);
        assert_eq!(c.next_pending().as_deref(), Some("ActionID: x"));
        assert_eq!(c.accept("", &catalog), Step::Send("Action: Ping".into()));
    }

    #[test]
    fn a_template_replaces_the_block_being_typed() {
        let mut c = Composer::new();
        let catalog = Catalog::new();
        c.accept("Action: Originate", &catalog);
        c.load("Action: Ping");
        assert_eq!(c.line_count(), 0);
        let line = c.next_pending().unwrap();
        c.accept(&line, &catalog);
        assert_eq!(c.accept("", &catalog), Step::Send("Action: Ping".into()));
    }

    #[test]
    fn clear_forgets_block_and_pending_lines() {
        let mut c = Composer::new();
        c.load("Action: Ping\nActionID: x");
        c.accept("Action: Ping", &Catalog::new());
        c.clear();
        assert!(c.is_empty() && c.next_pending().is_none());
    }

    #[test]
    fn meta_commands_parse_with_their_arguments() {
        assert_eq!(
            parse_meta(":filter Event=Hangup"),
            Ok(Meta::Filter(Some("Event=Hangup".into())))
        );
        assert_eq!(parse_meta(":filter"), Ok(Meta::Filter(None)));
        assert_eq!(parse_meta(":events off"), Ok(Meta::Events(false)));
        assert_eq!(
            parse_meta(":format json"),
            Ok(Meta::Format(OutputFormat::Json))
        );
        assert_eq!(
            parse_meta(":template originate"),
            Ok(Meta::Template(Some("originate".into())))
        );
        assert_eq!(parse_meta(":recall 3"), Ok(Meta::Recall(3)));
        assert_eq!(parse_meta(":q"), Ok(Meta::Quit));
        assert!(parse_meta(":format xml").is_err());
        assert!(parse_meta(":events").is_err());
        assert!(parse_meta(":bogus").is_err());
        let mut c = Composer::new();
        assert_eq!(
            c.accept(":status", &Catalog::new()),
            Step::Meta(Meta::Status)
        );
    }

    #[test]
    fn prompt_shows_state_and_action() {
        assert_eq!(prompt("", None), "ami> ");
        assert_eq!(prompt("", Some("Originate")), "ami Originate> ");
        assert_eq!(prompt("reconnecting", None), "ami (reconnecting)> ");
        assert_eq!(
            prompt("auth failed", Some("Ping\u{1b}")),
            "ami (auth failed) Ping> "
        );
    }
}
