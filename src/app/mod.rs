//! The TUI's state and its one transition function: `update(&mut App, Msg) -> Vec<Cmd>`.
//!
//! Nothing here does I/O. The event loop in `crate::tui` feeds session batches, terminal
//! input and clock ticks in as [`Msg`]s and carries out the returned [`Cmd`]s (send an
//! action, copy to the clipboard, save a file, quit), so every behaviour can be tested
//! without a terminal or a server.

pub mod answer;
pub mod call_selection;
pub mod calls;
pub mod command_line;
pub mod composer;
pub mod keymap;
pub mod log;
pub mod query;
pub mod views;

use crate::ami::{Action, Kind};
use crate::complete::{Catalog, Completion};
use crate::history::History;
use crate::session::{ActionError, ServerInfo, SessionEvent, SessionState, Stamped};
use crate::templates::Template;
use composer::{Composer, Outcome};
use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use keymap::KeyAction;
use log::{Entry, Item, Log, Tone, ViewOptions};
use query::{Filter, FilterError};
use ratatui::layout::{Position, Rect};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// How long a first Ctrl-C waits for the second.
const INTERRUPT_WINDOW: Duration = Duration::from_secs(2);

/// Settings of one TUI run.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// How many log lines are buffered before the oldest fall off.
    pub ring_size: usize,
    /// Ask before actions that hang up, kick or reload.
    pub confirm_destructive: bool,
    /// Shown in the status bar while connecting (`user@host:port`).
    pub target: String,
    /// The connection accepts any TLS certificate.
    pub insecure_tls: bool,
    /// No colours (`NO_COLOR` or `--no-color`); emphasis stays.
    pub no_color: bool,
    /// How bytes that are not UTF-8 are shown.
    pub charset: crate::format::Charset,
    /// The file shown by `amicon open` (no connection: the status bar names the file).
    pub replay: Option<String>,
    /// `--read-only`: actions outside the read list are refused (`crate::safety`).
    pub read_only: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            ring_size: 100_000,
            confirm_destructive: true,
            target: String::new(),
            insecure_tls: false,
            no_color: false,
            charset: crate::format::Charset::UTF8,
            replay: None,
            read_only: false,
        }
    }
}

/// What `update` consumes.
#[derive(Debug)]
pub enum Msg {
    /// Everything the session published since the last wake-up, in order.
    Session(Vec<Stamped>),
    /// The session's stream ended (the session task is gone).
    SessionClosed,
    /// Terminal input: keys, mouse, paste, resize.
    Input(Event),
    /// The clock, for rates and countdowns.
    Tick(SystemTime),
    /// The session accepted (or refused) an action handed over by [`Cmd::Submit`].
    Submitted(Result<String, ActionError>),
    /// The answer to [`Background::ActionList`].
    ActionList(Result<crate::session::Reply, ActionError>),
    /// The answer to [`Background::ActionHelp`].
    ActionHelp {
        name: String,
        reply: Result<crate::session::Reply, ActionError>,
    },
    /// The answer to [`Background::EventDoc`].
    EventDoc {
        name: String,
        reply: Result<crate::session::Reply, ActionError>,
    },
    /// `amicon open --step` has no entry left.
    StepEnd,
    /// Recording started (`Some(file)`), stopped (`None`), or failed (and stopped).
    Recording(Result<Option<PathBuf>, String>),
    /// A [`Cmd::Save`] finished: how many bytes, or why not.
    Saved {
        path: PathBuf,
        result: Result<usize, String>,
    },
}

/// What `update` asks the event loop to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Cmd {
    Submit(Action),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Write these bytes to a file (Ctrl-S).
    Save {
        path: PathBuf,
        contents: Vec<u8>,
    },
    /// Ask the server something for completion; the answer comes back as a [`Msg`].
    Fetch(Background),
    /// Add a sent block to the history file.
    Remember(String),
    /// `amicon open --step`: show the next entry of the file.
    Step,
    /// Start writing every stream entry to this recording file.
    StartRecording(PathBuf),
    /// Close the recording.
    StopRecording,
    /// Log off and leave.
    Quit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Log,
    Composer,
}

/// What covers the panes, if anything.
#[derive(Debug)]
pub enum Overlay {
    Help,
    Detail {
        seq: u64,
        scroll: u16,
    },
    Confirm {
        action: Action,
        why: String,
    },
    /// Completion candidates for the composer's cursor, at `row`.
    Completion {
        completion: Completion,
        row: usize,
        selected: usize,
    },
    /// The template list.
    Templates {
        selected: usize,
    },
    /// Actions on the calls view's selected channel (`ChannelAction::ALL`).
    ChannelActions {
        selected: usize,
    },
    /// Actions on a live table's selected row, each a block for the composer.
    RowActions {
        actions: Vec<views::actions::RowAction>,
        selected: usize,
    },
}

/// What the composer asks of the server in the background.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Background {
    /// `ListCommands`: the actions this user may run.
    ActionList,
    /// `manager show command <name>`: one action's parameters.
    ActionHelp(String),
    /// `manager show event <name>`: one event's header documentation (detail view).
    EventDoc(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    Filter,
    Search,
    Save,
    /// Search the composer history; Enter puts the newest match in the composer.
    History,
    /// The file name of a new recording.
    Record,
}

/// The one-line input bar above the status bar.
#[derive(Debug)]
pub struct Bar {
    pub kind: BarKind,
    pub text: String,
    pub error: Option<FilterError>,
}

/// What the status bar shows.
#[derive(Debug)]
pub struct Status {
    pub state: SessionState,
    /// When the state last changed (for the reconnect countdown).
    pub state_at: SystemTime,
    pub info: ServerInfo,
    pub events_total: u64,
    pub events_per_second: u64,
    window_start: Option<SystemTime>,
    window_events: u64,
    pub rtt: Option<Duration>,
    /// Messages the session's queue could not keep (the UI fell behind).
    pub dropped: u64,
    pub closed: bool,
    /// Whether the session has logged in at least once: until then a failed attempt
    /// is "cannot connect", not a lost connection.
    pub ever_logged_in: bool,
}

pub use crate::layout::Regions;

#[derive(Debug)]
pub struct App {
    pub log: Log,
    pub composer: Composer,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub bar: Option<Bar>,
    pub status: Status,
    pub options: AppOptions,
    pub regions: Regions,
    /// The last filter text applied (shown in the log title, reopened by Ctrl-F).
    pub filter_text: String,
    /// A short message for the user, shown in the composer's title.
    pub notice: Option<(Tone, String)>,
    pub now: SystemTime,
    interrupt_at: Option<SystemTime>,
    /// The ActionID of the last block sent from the composer, until its response comes.
    pub awaiting: Option<String>,
    pub quitting: bool,
    /// What completion knows about this server (actions, parameters, live values).
    pub catalog: Catalog,
    /// Blocks sent before (the file is written by the event loop, not by `update`).
    pub history: History,
    /// Where Up/Down recall is in `history`, and the block being typed before it started.
    recall: Option<(usize, String)>,
    pub templates: Vec<Template>,
    /// The text of the block handed to the session, until it is accepted.
    sent_block: Option<String>,
    /// The PBX's state (channels, bridges, queues, endpoints, and the calls grouped from
    /// them), fed by the same stream entries as the log.
    pub state: crate::state::State,
    /// The live table shown in the log's place (calls, channels, queues...), if any.
    pub table: Option<views::TableView>,
    /// The `:` command line, while open.
    pub command_line: Option<command_line::CommandLine>,
    /// The file the stream is being recorded to (the event loop writes it).
    pub recording: Option<PathBuf>,
    /// The time of the newest stream entry: "now" for the calls of an opened file.
    pub last_entry_at: Option<SystemTime>,
    /// Blocks of a paste waiting behind the one being confirmed (sent on `y`).
    pub confirm_queue: Vec<Action>,
    /// The last answer, in full, above the composer.
    pub answer: answer::AnswerPane,
    /// The text of the last block the session accepted: it comes back into an empty
    /// composer when the answer is an error.
    last_sent: Option<String>,
    /// `amicon open`: how many entries the file holds, and how many were passed on so far
    /// (the status bar shows "entry N of M").
    pub replay_total: Option<usize>,
    pub replay_seen: usize,
}

impl App {
    pub fn new(options: AppOptions, now: SystemTime) -> Self {
        let mut app = App {
            log: Log::new(options.ring_size),
            composer: Composer::with_colours(!options.no_color),
            focus: Focus::Composer,
            overlay: None,
            bar: None,
            status: Status {
                state: SessionState::Connecting { attempt: 1 },
                state_at: now,
                info: ServerInfo::default(),
                events_total: 0,
                events_per_second: 0,
                window_start: None,
                window_events: 0,
                rtt: None,
                dropped: 0,
                ever_logged_in: false,
                closed: false,
            },
            options,
            regions: Regions::default(),
            filter_text: String::new(),
            notice: None,
            now,
            interrupt_at: None,
            awaiting: None,
            quitting: false,
            catalog: Catalog::new(),
            history: History::in_memory(),
            recall: None,
            templates: crate::templates::built_in(),
            sent_block: None,
            state: crate::state::State::default(),
            table: None,
            command_line: None,
            recording: None,
            last_entry_at: None,
            confirm_queue: Vec::new(),
            answer: answer::AnswerPane::default(),
            last_sent: None,
            replay_total: None,
            replay_seen: 0,
        };
        app.resize(80, 24);
        app
    }

    /// Lays the screen out for a terminal of this size.
    pub fn resize(&mut self, width: u16, height: u16) {
        let bar_open = self.bar.is_some() || self.command_line.is_some();
        self.regions = crate::layout::layout_with_answer(
            Rect::new(0, 0, width, height),
            bar_open,
            self.answer.rows(height),
        );
    }

    /// Lays the screen out again at its current size (the answer pane came or went).
    pub fn relayout(&mut self) {
        let width = self.regions.status.width;
        let height = self.regions.status.y + self.regions.status.height;
        self.resize(width, height);
    }

    /// Lines of log on screen.
    pub fn log_rows(&self) -> usize {
        usize::from(self.regions.log.height.saturating_sub(1)).max(1)
    }

    /// Applies a filter typed into the bar. An error leaves the current view alone.
    pub fn apply_filter(&mut self, text: &str) -> Result<(), FilterError> {
        let filter = Filter::parse(text)?;
        let mut options = self.log.options().clone();
        options.filter = if filter.is_empty() {
            None
        } else {
            Some(filter)
        };
        self.log.set_options(options);
        self.filter_text = text.trim().to_string();
        Ok(())
    }

    fn set_view(&mut self, change: impl FnOnce(&mut ViewOptions)) {
        let mut options = self.log.options().clone();
        change(&mut options);
        self.log.set_options(options);
    }

    /// The clock the calls view measures durations with: the wall clock live, the
    /// newest entry's time in an opened file.
    pub fn calls_now(&self) -> SystemTime {
        match (&self.options.replay, self.last_entry_at) {
            (Some(_), Some(at)) => at,
            _ => self.now,
        }
    }

    fn notify(&mut self, tone: Tone, text: impl Into<String>) {
        self.notice = Some((tone, text.into()));
    }
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Session(batch) => {
            let mut cmds = Vec::new();
            for stamped in batch {
                apply_session_event(app, stamped, &mut cmds);
            }
            cmds
        }
        Msg::SessionClosed => {
            app.status.closed = true;
            Vec::new()
        }
        Msg::Tick(now) => {
            tick(app, now);
            Vec::new()
        }
        Msg::Submitted(Ok(action_id)) => {
            app.composer.clear();
            app.recall = None;
            app.last_sent = app.sent_block.clone();
            // Only what this composer sent takes the answer pane (not a recording's
            // actions, not the session's own).
            let name = app
                .sent_block
                .as_deref()
                .and_then(block_action_name)
                .unwrap_or_else(|| "action".to_string());
            app.answer.expect(&name, &action_id);
            app.relayout();
            let remember = app.sent_block.take().map(Cmd::Remember);
            app.notify(
                Tone::Info,
                format!("sent as {action_id}; waiting for the response"),
            );
            app.awaiting = Some(action_id);
            remember.into_iter().collect()
        }
        Msg::ActionList(reply) => {
            match reply {
                Ok(reply) => {
                    app.catalog.learn_list_commands(&reply.response);
                }
                Err(error) => app.notify(
                    Tone::Warn,
                    format!("no action list for completion: {error}"),
                ),
            }
            Vec::new()
        }
        Msg::ActionHelp { name, reply } => {
            app.catalog.learn_help_reply(&name, &reply);
            Vec::new()
        }
        Msg::EventDoc { name, reply } => {
            app.catalog.learn_event_doc_reply(&name, &reply);
            Vec::new()
        }
        Msg::Submitted(Err(error)) => {
            app.sent_block = None;
            app.composer.problem = Some(format!("not sent: {error}"));
            Vec::new()
        }
        Msg::Saved { path, result } => {
            match result {
                Ok(bytes) => app.notify(
                    Tone::Good,
                    format!("saved {bytes} bytes to {}", path.display()),
                ),
                Err(why) => app.notify(Tone::Bad, format!("cannot save {}: {why}", path.display())),
            }
            Vec::new()
        }
        Msg::Recording(result) => {
            match result {
                Ok(Some(path)) => {
                    app.notify(Tone::Good, format!("recording to {}", path.display()));
                    app.recording = Some(path);
                }
                Ok(None) => {
                    if let Some(path) = app.recording.take() {
                        app.notify(Tone::Info, format!("recording {} closed", path.display()));
                    }
                }
                Err(why) => {
                    app.recording = None;
                    app.notify(Tone::Bad, format!("not recording: {why}"));
                }
            }
            Vec::new()
        }
        Msg::StepEnd => {
            app.notify(Tone::Info, "end of the file: nothing more to step");
            Vec::new()
        }
        Msg::Input(event) => input(app, event),
    }
}

/// `amicon-YYYYMMDD-HHMMSS.ami` (UTC) in the current directory.
pub fn default_recording_name(now: SystemTime) -> String {
    let digits: String = crate::record::format_time(now)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    match (digits.get(..8), digits.get(8..14)) {
        (Some(day), Some(time)) => format!("amicon-{day}-{time}.ami"),
        _ => "amicon-recording.ami".to_string(),
    }
}

fn tick(app: &mut App, now: SystemTime) {
    app.now = now;
    // A file's calls age by the file's clock, not by the wall clock.
    if app.options.replay.is_none() {
        app.state.expire(now);
    }
    match app.status.window_start {
        None => app.status.window_start = Some(now),
        Some(start) => {
            let elapsed = now.duration_since(start).unwrap_or_default();
            if elapsed >= Duration::from_secs(1) {
                app.status.events_per_second =
                    (app.status.window_events as f64 / elapsed.as_secs_f64()).round() as u64;
                app.status.window_events = 0;
                app.status.window_start = Some(now);
            }
        }
    }
    if app
        .interrupt_at
        .is_some_and(|at| now.duration_since(at).unwrap_or_default() > INTERRUPT_WINDOW)
    {
        app.interrupt_at = None;
        if matches!(app.notice, Some((Tone::Warn, ref t)) if t.contains("Ctrl-C")) {
            app.notice = None;
        }
    }
}

fn note(
    app: &mut App,
    at: SystemTime,
    tone: Tone,
    text: String,
    source: Option<Box<SessionEvent>>,
) {
    app.log.push(Entry {
        at,
        item: Item::Note {
            tone,
            text: text.into_boxed_str(),
            source,
        },
    });
}

fn apply_session_event(app: &mut App, stamped: Stamped, cmds: &mut Vec<Cmd>) {
    app.state.apply(&stamped);
    app.last_entry_at = Some(stamped.at);
    app.replay_seen += 1;
    let at = stamped.at;
    // The event a note tells of, kept with it so a save can write the event itself.
    let mut source = match &stamped.event {
        SessionEvent::Sent { .. }
        | SessionEvent::Received { .. }
        | SessionEvent::ServerInfo(_)
        | SessionEvent::Pong { .. } => None,
        other => Some(Box::new(other.clone())),
    };
    match stamped.event {
        SessionEvent::State(state) => {
            let text = match &state {
                SessionState::Connecting { attempt } => {
                    (Tone::Info, format!("connecting (attempt {attempt})"))
                }
                SessionState::LoggingIn { banner } => {
                    (Tone::Info, format!("connected: {banner}; logging in"))
                }
                SessionState::LoggedIn { user, server, tls } => (
                    Tone::Good,
                    format!(
                        "logged in as {user}@{server}{}",
                        if *tls { " (TLS)" } else { "" }
                    ),
                ),
                SessionState::Reconnecting { delay, reason, .. } if !app.status.ever_logged_in => (
                    Tone::Warn,
                    format!(
                        "cannot connect ({reason}); trying again in {}s",
                        delay.as_secs()
                    ),
                ),
                SessionState::Reconnecting { delay, reason, .. } => (
                    Tone::Warn,
                    format!(
                        "connection lost ({reason}); reconnecting in {}s",
                        delay.as_secs()
                    ),
                ),
                SessionState::Ended(reason) => (Tone::Bad, format!("session ended: {reason}")),
            };
            note(app, at, text.0, text.1, source.take());
            let logged_in = matches!(state, SessionState::LoggedIn { .. });
            app.status.ever_logged_in |= logged_in;
            if !logged_in {
                app.catalog.forget_live_values();
            }
            app.status.state = state;
            app.status.state_at = at;
            if logged_in {
                cmds.push(Cmd::Fetch(Background::ActionList));
            }
        }
        SessionEvent::ServerInfo(info) => app.status.info = info,
        SessionEvent::Sent {
            action_id,
            name,
            message,
            internal,
        } => {
            app.log.remember_action(&action_id, &name);
            // Completion's own questions are housekeeping, like the keepalive.
            let internal = internal || crate::complete::is_background(&action_id);
            if let Some(answer) = app.answer.answer.as_mut() {
                if answer.action_id.as_deref() == Some(action_id.as_str()) {
                    answer.action = name.clone();
                }
            }
            app.log.push(Entry {
                at,
                item: Item::Sent { message, internal },
            });
        }
        SessionEvent::Received {
            message,
            link,
            internal,
        } => {
            if message.kind() == Kind::Event {
                app.status.events_total += 1;
                app.status.window_events += 1;
                if !log::is_noise(&message) {
                    app.catalog.observe(&message);
                }
            }
            let internal = internal || link.action_id().is_some_and(crate::complete::is_background);
            if !internal && app.answer.answer.is_some() {
                let before = app.regions.answer.height;
                app.answer.observe(&message, &link);
                let height = app.regions.status.y + app.regions.status.height;
                if app.answer.rows(height) != before {
                    app.relayout();
                }
            }
            let action = link.action_id().and_then(|id| app.log.action_name(id));
            if let crate::session::Link::Response { action_id } = &link {
                if app.awaiting.as_deref() == Some(action_id.as_str()) {
                    app.awaiting = None;
                    pair_response(app, &message, action.as_deref());
                }
            }
            app.log.push(Entry {
                at,
                item: Item::Received {
                    message,
                    link,
                    internal,
                    action,
                },
            });
        }
        SessionEvent::ActionFailed {
            action_id,
            name,
            error,
        } => {
            if app.awaiting.as_deref() == Some(action_id.as_str()) {
                app.awaiting = None;
                app.notify(Tone::Bad, format!("{name}: {error}"));
            }
            note(
                app,
                at,
                Tone::Bad,
                format!("{name} ({action_id}) got no answer: {error}"),
                source.take(),
            );
        }
        SessionEvent::ProtocolError { what, preview } => {
            let preview = String::from_utf8_lossy(&preview[..preview.len().min(60)])
                .escape_debug()
                .to_string();
            note(
                app,
                at,
                Tone::Bad,
                format!("protocol error: {what} [{preview}]"),
                source.take(),
            );
        }
        SessionEvent::Gap { from, to, reason } => {
            let secs = to.duration_since(from).unwrap_or_default().as_secs();
            note(
                app,
                at,
                Tone::Warn,
                format!("GAP of {secs}s ({reason}): events of that time are missing"),
                source.take(),
            );
        }
        SessionEvent::Pong { rtt } => app.status.rtt = Some(rtt),
        SessionEvent::Dropped { count } => {
            app.status.dropped += count;
            note(
                app,
                at,
                Tone::Bad,
                format!("{count} messages dropped: the display fell behind"),
                source.take(),
            );
        }
    }
}

/// Shows the response to the composer's last block next to the composer.
fn pair_response(app: &mut App, response: &crate::ami::Message, action: Option<&str>) {
    let ok = !response.is("Response", "Error");
    let verdict = response
        .get_str("Response")
        .unwrap_or_default()
        .into_owned();
    let message = response
        .get_str("Message")
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let mut text = format!("{} → {verdict}{message}", action.unwrap_or("action"));
    if !ok
        && response
            .get_str("Message")
            .is_some_and(|m| m.eq_ignore_ascii_case("Permission denied"))
    {
        if let Some(name) = action {
            let privilege = app.catalog.action(name).map(|a| a.privilege.clone());
            text.push_str(&format!(
                " — {}",
                crate::explain::permission_denied(name, privilege.as_deref())
            ));
        }
    }
    let mut text = crate::text::clean(text.as_bytes()).into_owned();
    if !ok && app.composer.is_blank() {
        // The block comes back to be fixed, as a shell keeps a failed command line.
        if let Some(block) = app.last_sent.take() {
            app.composer.set_text(&block);
            text.push_str(" (the block is back: fix it and send again)");
        }
    }
    app.notify(if ok { Tone::Good } else { Tone::Bad }, text);
}

/// Whether an action asks first, and why (the one policy of `crate::safety`).
pub fn needs_confirmation(action: &Action) -> Option<String> {
    match crate::safety::assess(action, false) {
        crate::safety::Verdict::Confirm { why, .. } => Some(why),
        _ => None,
    }
}

fn input(app: &mut App, event: Event) -> Vec<Cmd> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_input(app, key),
        Event::Mouse(mouse) => {
            mouse_input(app, mouse);
            Vec::new()
        }
        Event::Paste(text) => {
            match &mut app.bar {
                Some(bar) => bar.text.push_str(text.lines().next().unwrap_or("")),
                None => {
                    app.focus = Focus::Composer;
                    return paste(app, &text);
                }
            }
            Vec::new()
        }
        Event::Resize(w, h) => {
            app.resize(w, h);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A paste into an empty composer that holds several blocks sends each, in order
/// (asking once when one of them would be asked about); one block, or a paste into a
/// block being typed, is inserted as typed.
fn paste(app: &mut App, text: &str) -> Vec<Cmd> {
    let blocks = composer::split_blocks(text);
    if blocks.len() < 2 || !app.composer.is_blank() {
        app.composer.paste(text);
        return Vec::new();
    }
    let mut actions = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        match composer::parse_checked(block) {
            Ok(action) => actions.push(action),
            Err(why) => {
                app.composer.paste(text);
                app.composer.problem = Some(format!(
                    "pasted block {} of {}: {why}; nothing sent",
                    i + 1,
                    blocks.len()
                ));
                return Vec::new();
            }
        }
    }
    let count = actions.len();
    let sends = submit_all(app, actions);
    if sends.is_empty() {
        return sends;
    }
    app.notify(Tone::Info, format!("{count} pasted blocks sent in order"));
    blocks.into_iter().map(Cmd::Remember).chain(sends).collect()
}

fn open_bar(app: &mut App, kind: BarKind) {
    let text = match kind {
        BarKind::Filter => app.filter_text.clone(),
        BarKind::Search => app.log.search().unwrap_or_default().to_string(),
        BarKind::Save => "amicon-log.txt".to_string(),
        BarKind::History => String::new(),
        BarKind::Record => default_recording_name(app.now),
    };
    app.bar = Some(Bar {
        kind,
        text,
        error: None,
    });
    let size = (
        app.regions.status.width,
        app.regions.status.y + app.regions.status.height,
    );
    app.resize(size.0, size.1);
}

fn close_bar(app: &mut App) {
    app.bar = None;
    let size = (
        app.regions.status.width,
        app.regions.status.y + app.regions.status.height,
    );
    app.resize(size.0, size.1);
}

fn key_input(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let global = keymap::global(&key);
    match global {
        Some(KeyAction::Quit) => return quit(app),
        Some(KeyAction::Interrupt) => {
            if app.interrupt_at.is_some() {
                return quit(app);
            }
            app.interrupt_at = Some(app.now);
            app.notify(Tone::Warn, "press Ctrl-C again to log off and quit");
            return Vec::new();
        }
        _ => {}
    }
    app.interrupt_at = None;
    if let Some(overlay) = app.overlay.take() {
        return overlay_key(app, overlay, key);
    }
    if app.bar.is_some() {
        return bar_key(app, key);
    }
    // The live tables and the `:` command line (app::views, app::command_line).
    if app.command_line.is_some() {
        return command_line::key(app, key);
    }
    if command_line::opens(app, &key) {
        command_line::open(app);
        return Vec::new();
    }
    if app.table.is_some() && app.focus == Focus::Log {
        if let Some(cmds) = views::keys::key(app, key) {
            return cmds;
        }
    }
    if let Some(kind) = views::keys::view_of_key(&key) {
        views::keys::open(app, kind);
        return Vec::new();
    }
    match global {
        Some(KeyAction::Calls) => {
            calls::toggle(app);
            return Vec::new();
        }
        // Tab completes inside the composer, as in a shell (an empty composer has nothing
        // to complete: there Tab goes to the log); Shift-Tab always moves the focus.
        Some(KeyAction::FocusNext) if app.focus == Focus::Composer && !app.composer.is_blank() => {
            return complete(app);
        }
        Some(KeyAction::FocusNext) | Some(KeyAction::FocusPrev) => {
            app.focus = if app.focus == Focus::Log {
                Focus::Composer
            } else {
                Focus::Log
            };
            return Vec::new();
        }
        Some(KeyAction::OpenFilter) => {
            open_bar(app, BarKind::Filter);
            return Vec::new();
        }
        Some(KeyAction::OpenSave) => {
            open_bar(app, BarKind::Save);
            return Vec::new();
        }
        Some(KeyAction::Record) => {
            if app.recording.is_some() {
                return vec![Cmd::StopRecording];
            }
            open_bar(app, BarKind::Record);
            return Vec::new();
        }
        Some(KeyAction::Help) => {
            app.overlay = Some(Overlay::Help);
            return Vec::new();
        }
        Some(KeyAction::Templates) => {
            open_templates(app);
            return Vec::new();
        }
        Some(KeyAction::ToggleNoise) => {
            app.set_view(|o| o.hide_noise = !o.hide_noise);
            return Vec::new();
        }
        Some(KeyAction::ToggleOwnOnly) => {
            app.set_view(|o| o.own_only = !o.own_only);
            return Vec::new();
        }
        Some(KeyAction::Close) => {
            app.notice = None;
            if app.focus == Focus::Log && !app.log.is_following() {
                app.log.resume_follow();
            }
            return Vec::new();
        }
        _ => {}
    }
    if answer_key(app, &key) {
        return Vec::new();
    }
    match app.focus {
        Focus::Composer => composer_key(app, key),
        Focus::Log
            if key.code == crossterm::event::KeyCode::Char('p') && key.modifiers.is_empty() =>
        {
            pin_selected(app);
            Vec::new()
        }
        Focus::Log
            if key.code == crossterm::event::KeyCode::Char('i') && key.modifiers.is_empty() =>
        {
            app.set_view(|o| o.show_internal = !o.show_internal);
            let shown = app.log.options().show_internal;
            app.notify(
                Tone::Info,
                if shown {
                    "showing amicon's own traffic (keepalive, help lookups, state seeding)"
                } else {
                    "amicon's own traffic hidden (i shows it)"
                },
            );
            Vec::new()
        }
        Focus::Log => {
            if let Some(action) = keymap::log(&key) {
                log_action(app, action)
            } else {
                Vec::new()
            }
        }
    }
}

/// Alt-A hides or shows the answer pane (F6 is the channels table), Alt-Up / Alt-Down resize it, PgUp / PgDn in the
/// composer scroll it. True when the key was one of those.
fn answer_key(app: &mut App, key: &KeyEvent) -> bool {
    use crossterm::event::{KeyCode, KeyModifiers};
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('a') if alt => {
            app.answer.hidden = !app.answer.hidden;
            if app.answer.answer.is_none() {
                app.notify(
                    Tone::Info,
                    "no answer yet: send a block, or p on a log line",
                );
            }
        }
        KeyCode::Up if alt => app.answer.grow = app.answer.grow.saturating_add(2),
        KeyCode::Down if alt => app.answer.grow = app.answer.grow.saturating_sub(2),
        KeyCode::PageUp if app.focus == Focus::Composer => {
            let page = i32::from(app.regions.answer.height.saturating_sub(2)).max(1);
            app.answer.scroll_by(-page);
            return true;
        }
        KeyCode::PageDown if app.focus == Focus::Composer => {
            let page = i32::from(app.regions.answer.height.saturating_sub(2)).max(1);
            app.answer.scroll_by(page);
            return true;
        }
        _ => return false,
    }
    app.relayout();
    true
}

/// `p` in the log: the selected message goes into the answer pane.
fn pin_selected(app: &mut App) {
    let Some((_, entry)) = app.log.selected() else {
        app.notify(Tone::Info, "select a line first (Up/Down), then p pins it");
        return;
    };
    let (message, action) = match &entry.item {
        Item::Received {
            message, action, ..
        } => (message.clone(), action.as_deref().map(str::to_string)),
        Item::Sent { message, .. } => (message.clone(), None),
        Item::Note { .. } => {
            app.notify(Tone::Info, "a note has nothing to pin");
            return;
        }
    };
    app.answer.pin(&message, action.as_deref());
    app.relayout();
}

fn quit(app: &mut App) -> Vec<Cmd> {
    app.quitting = true;
    vec![Cmd::Quit]
}

fn composer_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char(' ') if ctrl => return complete(app),
        KeyCode::Char('t') if ctrl => {
            open_templates(app);
            return Vec::new();
        }
        KeyCode::Char('r') if ctrl => {
            open_bar(app, BarKind::History);
            return Vec::new();
        }
        KeyCode::Up
            if key.modifiers.is_empty() && app.composer.on_first_line() && recall(app, true) =>
        {
            return Vec::new();
        }
        KeyCode::Down
            if key.modifiers.is_empty() && app.composer.on_last_line() && recall(app, false) =>
        {
            return Vec::new();
        }
        _ => {}
    }
    match app.composer.input(key) {
        Outcome::Edited => fetch_help_when_named(app, key.code == KeyCode::Enter),
        Outcome::Invalid(_) => Vec::new(),
        Outcome::Send(action, forced) => {
            let missing = app.catalog.missing_required(&action);
            if !forced && !missing.is_empty() {
                app.composer.problem = Some(format!(
                    "missing required: {} (Alt-Enter sends anyway)",
                    missing.join(", ")
                ));
                return Vec::new();
            }
            app.sent_block = Some(app.composer.text());
            submit(app, action)
        }
    }
}

/// Up on the first line / Down on the last line walk through the history. Returns false
/// when there is nothing to recall (the key then moves the cursor as usual).
fn recall(app: &mut App, older: bool) -> bool {
    let count = app.history.len();
    if count == 0 {
        return false;
    }
    let next = match (&app.recall, older) {
        (None, false) => return false,
        (None, true) => Some(count - 1),
        (Some((i, _)), true) => Some(i.saturating_sub(1)),
        (Some((i, _)), false) => (i + 1 < count).then_some(i + 1),
    };
    match next {
        Some(index) => {
            let draft = match app.recall.take() {
                Some((_, draft)) => draft,
                None => app.composer.text(),
            };
            if let Some(block) = app.history.entries().nth(index) {
                app.composer.set_text(block);
            }
            app.recall = Some((index, draft));
        }
        None => {
            if let Some((_, draft)) = app.recall.take() {
                app.composer.set_text(&draft);
            }
        }
    }
    true
}

/// Ctrl-Space: candidates for the word at the cursor. The action's parameter list is
/// fetched from the server the first time it is needed.
fn complete(app: &mut App) -> Vec<Cmd> {
    let mut cmds = fetch_help_when_named(app, true);
    let (row, col) = app.composer.cursor();
    let live = live_channel_names(app);
    let completion = app
        .catalog
        .complete_with_live(&app.composer.text(), row, col, Some(&live));
    match completion.candidates.len() {
        0 => {
            let why = if let Some(note) = &completion.note {
                note.clone()
            } else if app.catalog.actions().next().is_none() {
                "nothing to complete yet: the server's action list has not arrived".to_string()
            } else if !cmds.is_empty() {
                "asking the server for this action's parameters; try again in a moment".to_string()
            } else {
                "no completion here".to_string()
            };
            app.notify(Tone::Info, why);
        }
        1 => {
            let text = completion.candidates[0].text.clone();
            app.composer.replace_in_line(row, completion.range, &text);
            cmds.extend(fetch_help_when_named(app, false));
            if let Some(note) = completion.note {
                app.notify(Tone::Info, note);
            }
        }
        _ => {
            app.overlay = Some(Overlay::Completion {
                completion,
                row,
                selected: 0,
            })
        }
    }
    cmds
}

/// The block's action, once its `Action:` line names one the server has (or, with
/// `finished`, whatever it names): its help is asked for right away, so the parameters
/// are there by the time the user wants them.
fn fetch_help_when_named(app: &mut App, finished: bool) -> Vec<Cmd> {
    let Some(name) = block_action_name(&app.composer.text()) else {
        return Vec::new();
    };
    // While typing, only an exact name counts (`Queue` on its way to `QueueStatus`
    // is not asked about); a finished line may differ in case.
    let known = app
        .catalog
        .action(&name)
        .is_some_and(|a| finished || a.name == name);
    if known && app.catalog.needs_help(&name) {
        return vec![Cmd::Fetch(Background::ActionHelp(name))];
    }
    Vec::new()
}

/// The value of the block's first `Action:` line.
fn block_action_name(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim().eq_ignore_ascii_case("Action") && !v.trim().is_empty())
            .then(|| v.trim().to_string())
    })
}

/// The channels up now, for completing `Channel:` of Hangup, Redirect and the like
/// (from the calls model: one place to switch to another state model).
fn live_channel_names(app: &App) -> Vec<String> {
    let mut names: Vec<String> = app
        .state
        .calls()
        .ordered()
        .into_iter()
        .filter(|call| call.is_live())
        .flat_map(|call| call.channels().iter())
        .filter(|channel| channel.is_live())
        .map(|channel| channel.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

fn open_templates(app: &mut App) {
    if app.templates.is_empty() {
        app.notify(Tone::Info, "no templates");
    } else {
        app.overlay = Some(Overlay::Templates { selected: 0 });
    }
}

/// Keys of a pick list: Up/Down move, Enter/Tab pick, Esc closes. `None` means another
/// key (the list closes and the key goes on to the composer).
fn pick(key: &KeyEvent, selected: usize, len: usize) -> Option<Result<usize, bool>> {
    use crossterm::event::KeyCode;
    Some(match key.code {
        KeyCode::Up => Ok(selected.checked_sub(1).unwrap_or(len.saturating_sub(1))),
        KeyCode::Down => Ok(if selected + 1 >= len { 0 } else { selected + 1 }),
        KeyCode::PageUp => Ok(selected.saturating_sub(8)),
        KeyCode::PageDown => Ok((selected + 8).min(len.saturating_sub(1))),
        KeyCode::Enter | KeyCode::Tab => Err(true),
        KeyCode::Esc => Err(false),
        _ => return None,
    })
}

/// Sends one block through the one safety policy (`crate::safety`): refused in
/// read-only mode outside the read list, asked about when it changes calls,
/// configuration or the database (the question names the target channel and its state).
fn submit(app: &mut App, action: Action) -> Vec<Cmd> {
    submit_all(app, vec![action])
}

/// Sends several blocks in order (a paste): refused as a whole when read-only mode
/// refuses one, asked about once when any of them would be.
fn submit_all(app: &mut App, actions: Vec<Action>) -> Vec<Cmd> {
    let mut questions = Vec::new();
    for action in &actions {
        match crate::safety::assess(action, app.options.read_only) {
            crate::safety::Verdict::Send => {}
            crate::safety::Verdict::Refuse(why) => {
                app.composer.problem = Some(why);
                return Vec::new();
            }
            crate::safety::Verdict::Confirm { why, channel } => {
                let target = channel.map(|c| {
                    let now = channel_now(app, &c);
                    crate::safety::describe_channel(&c, now.as_ref())
                });
                questions.push(crate::safety::question(&why, target));
            }
        }
    }
    if app.options.confirm_destructive && !questions.is_empty() {
        let mut actions = actions.into_iter();
        let Some(first) = actions.next() else {
            return Vec::new();
        };
        app.confirm_queue = actions.collect();
        let why = if app.confirm_queue.is_empty() {
            questions.join("; ")
        } else {
            format!(
                "{} blocks, sent in order: {}",
                app.confirm_queue.len() + 1,
                questions.join("; ")
            )
        };
        app.overlay = Some(Overlay::Confirm { action: first, why });
        return Vec::new();
    }
    app.log.resume_follow();
    actions.into_iter().map(Cmd::Submit).collect()
}

/// What the calls model knows of a channel now (state and age), for the question.
fn channel_now(app: &App, name: &str) -> Option<crate::safety::ChannelNow> {
    let now = app.calls_now();
    app.state.calls().ordered().into_iter().find_map(|call| {
        let channel = call
            .channels()
            .iter()
            .find(|c| c.name == name && c.is_live())?;
        Some(crate::safety::ChannelNow {
            state: channel.state.clone(),
            duration: now.duration_since(channel.first_seen).unwrap_or_default(),
        })
    })
}

fn log_action(app: &mut App, action: KeyAction) -> Vec<Cmd> {
    let rows = app.log_rows();
    let page = rows.saturating_sub(1).max(1) as isize;
    match action {
        KeyAction::Up => app.log.move_selection(-1, rows),
        KeyAction::Down => app.log.move_selection(1, rows),
        KeyAction::PageUp => app.log.move_selection(-page, rows),
        KeyAction::PageDown => app.log.move_selection(page, rows),
        KeyAction::First => app.log.select_first(rows),
        KeyAction::Follow => app.log.resume_follow(),
        KeyAction::Detail => {
            if let Some((seq, entry)) = app.log.selected() {
                // The event's header documentation, from the running server (once).
                let event = entry
                    .message()
                    .and_then(|m| m.get_str("Event"))
                    .map(|e| e.into_owned());
                app.overlay = Some(Overlay::Detail { seq, scroll: 0 });
                if app.options.replay.is_none() {
                    if let Some(event) = event {
                        if app.catalog.needs_event_doc(&event) {
                            return vec![Cmd::Fetch(Background::EventDoc(event))];
                        }
                    }
                }
            }
        }
        KeyAction::OpenSearch => open_bar(app, BarKind::Search),
        KeyAction::OpenSave => open_bar(app, BarKind::Save),
        KeyAction::SearchNext | KeyAction::SearchPrev => {
            if app.log.search().is_none() {
                app.notify(Tone::Info, "no search: press / first");
            } else if !app.log.search_step(action == KeyAction::SearchPrev, rows) {
                app.notify(Tone::Warn, "no more matches");
            }
        }
        KeyAction::Copy => {
            if let Some((_, entry)) = app.log.selected() {
                return copy_entry(app, entry.clone());
            }
        }
        KeyAction::Help => app.overlay = Some(Overlay::Help),
        KeyAction::Calls => calls::toggle(app),
        KeyAction::Step if app.options.replay.is_some() => return vec![Cmd::Step],
        _ => {}
    }
    Vec::new()
}

fn copy_entry(app: &mut App, entry: Entry) -> Vec<Cmd> {
    let text = raw_text(&entry);
    app.notify(Tone::Good, format!("copied {} bytes (OSC 52)", text.len()));
    vec![Cmd::Copy(text)]
}

/// The entry as raw AMI text (actions already masked by the session).
pub fn raw_text(entry: &Entry) -> String {
    match &entry.item {
        Item::Sent { message, .. } | Item::Received { message, .. } => {
            String::from_utf8_lossy(message.wire()).into_owned()
        }
        Item::Note { text, .. } => format!("{text}\n"),
    }
}

/// A save file named `*.jsonl`, `*.ndjson` or `*.json` gets JSON Lines; any other name
/// gets raw AMI text.
pub fn is_json_lines_name(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jsonl" | "ndjson" | "json"))
}

/// The entry as one JSON line (the shape of `watch --json`), newline included. Notes,
/// which are the console's own words, are `{"time", "type":"note", "text"}`.
pub fn json_text(entry: &Entry, charset: crate::format::Charset) -> String {
    if let Item::Note { text, .. } = &entry.item {
        let time = crate::record::format_time(entry.at);
        let note = serde_json::json!({"time": time, "type": "note", "text": text.as_ref()});
        return format!("{note}\n");
    }
    let Some(event) = entry_event(entry) else {
        return String::new();
    };
    let stamped = Stamped {
        at: entry.at,
        event,
    };
    format!("{}\n", crate::format::json_line(&stamped, charset))
}

/// The session event an entry shows: the message as it was sent or received, or the event
/// a note tells of. `None` for a note that tells of no event.
pub fn entry_event(entry: &Entry) -> Option<SessionEvent> {
    Some(match &entry.item {
        Item::Sent { message, internal } => SessionEvent::Sent {
            action_id: message.get_str("ActionID").unwrap_or_default().into_owned(),
            name: message.get_str("Action").unwrap_or_default().into_owned(),
            message: message.clone(),
            internal: *internal,
        },
        Item::Received {
            message,
            link,
            internal,
            ..
        } => SessionEvent::Received {
            message: message.clone(),
            link: link.clone(),
            internal: *internal,
        },
        Item::Note { source, .. } => return source.as_deref().cloned(),
    })
}

/// The entries as an amicon recording (`crate::record`): AMI text with a `#@` line of time
/// and context before each message, the notes as the session events they tell of, and the
/// server's banner first when it is known. `amicon open` reads it back as it was shown,
/// and saving that again gives the same bytes.
pub fn recording_bytes<'a>(entries: impl Iterator<Item = &'a Entry>, info: &ServerInfo) -> Vec<u8> {
    let mut entries = entries.peekable();
    let Ok(mut recorder) = crate::record::Recorder::new(Vec::new()) else {
        return Vec::new();
    };
    if !info.banner.is_empty() {
        let at = entries.peek().map_or(std::time::UNIX_EPOCH, |e| e.at);
        let event = SessionEvent::ServerInfo(info.clone());
        // Writing to a Vec cannot fail.
        let _ = recorder.write(&Stamped { at, event });
    }
    for entry in entries {
        if let Some(event) = entry_event(entry) {
            let _ = recorder.write(&Stamped {
                at: entry.at,
                event,
            });
        }
    }
    recorder.into_inner()
}

fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent) -> Vec<Cmd> {
    use crossterm::event::KeyCode;
    let close = keymap::global(&key) == Some(KeyAction::Close) || key.code == KeyCode::Char('q');
    match overlay {
        Overlay::Help => {
            if !(close || key.code == KeyCode::F(1) || key.code == KeyCode::Char('?')) {
                app.overlay = Some(Overlay::Help);
            }
            Vec::new()
        }
        Overlay::Completion {
            completion,
            row,
            selected,
        } => match pick(&key, selected, completion.candidates.len()) {
            Some(Ok(selected)) => {
                app.overlay = Some(Overlay::Completion {
                    completion,
                    row,
                    selected,
                });
                Vec::new()
            }
            Some(Err(true)) => {
                if let Some(candidate) = completion.candidates.get(selected) {
                    app.composer
                        .replace_in_line(row, completion.range.clone(), &candidate.text);
                }
                Vec::new()
            }
            Some(Err(false)) => Vec::new(),
            None => composer_key(app, key),
        },
        Overlay::Templates { selected } => match pick(&key, selected, app.templates.len()) {
            Some(Ok(selected)) => {
                app.overlay = Some(Overlay::Templates { selected });
                Vec::new()
            }
            Some(Err(true)) => {
                if let Some(template) = app.templates.get(selected) {
                    let block = template.block();
                    app.composer.set_text(&block);
                    app.focus = Focus::Composer;
                    app.notify(
                        Tone::Info,
                        format!(
                            "template {}: edit, then Enter on an empty line",
                            template.name
                        ),
                    );
                }
                Vec::new()
            }
            Some(Err(false)) => Vec::new(),
            None => Vec::new(),
        },
        Overlay::RowActions { actions, selected } => {
            match pick(&key, selected, actions.len()) {
                Some(Ok(selected)) => app.overlay = Some(Overlay::RowActions { actions, selected }),
                Some(Err(true)) => {
                    if let Some(action) = actions.get(selected) {
                        views::actions::fill_composer(app, action);
                    }
                }
                Some(Err(false)) => {}
                None => app.overlay = Some(Overlay::RowActions { actions, selected }),
            }
            Vec::new()
        }
        Overlay::ChannelActions { selected } => {
            match pick(&key, selected, crate::calls::ChannelAction::ALL.len()) {
                Some(Ok(selected)) => app.overlay = Some(Overlay::ChannelActions { selected }),
                Some(Err(true)) => {
                    if let Some(action) = crate::calls::ChannelAction::ALL.get(selected) {
                        calls::pick_action(app, *action);
                    }
                }
                Some(Err(false)) => {}
                None => app.overlay = Some(Overlay::ChannelActions { selected }),
            }
            Vec::new()
        }
        Overlay::Confirm { action, why } => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                app.log.resume_follow();
                let rest = std::mem::take(&mut app.confirm_queue);
                std::iter::once(action)
                    .chain(rest)
                    .map(Cmd::Submit)
                    .collect()
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                app.confirm_queue.clear();
                app.sent_block = None;
                app.notify(Tone::Info, "not sent");
                Vec::new()
            }
            _ => {
                app.overlay = Some(Overlay::Confirm { action, why });
                Vec::new()
            }
        },
        Overlay::Detail { seq, scroll } => {
            if close {
                return Vec::new();
            }
            let scroll = match keymap::log(&key) {
                Some(KeyAction::Up) => scroll.saturating_sub(1),
                Some(KeyAction::Down) => scroll.saturating_add(1),
                Some(KeyAction::PageUp) => scroll.saturating_sub(app.log_rows() as u16),
                Some(KeyAction::PageDown) => scroll.saturating_add(app.log_rows() as u16),
                Some(KeyAction::First) => 0,
                Some(KeyAction::Copy) => {
                    app.overlay = Some(Overlay::Detail { seq, scroll });
                    return match app.log.get(seq).cloned() {
                        Some(entry) => copy_entry(app, entry),
                        None => Vec::new(),
                    };
                }
                _ => scroll,
            };
            app.overlay = Some(Overlay::Detail { seq, scroll });
            Vec::new()
        }
    }
}

fn bar_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    use crossterm::event::{KeyCode, KeyModifiers};
    let Some(bar) = app.bar.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => close_bar(app),
        KeyCode::Enter => {
            let text = bar.text.clone();
            match bar.kind {
                BarKind::Filter => match app.apply_filter(&text) {
                    Ok(()) => close_bar(app),
                    Err(error) => {
                        if let Some(bar) = app.bar.as_mut() {
                            bar.error = Some(error);
                        }
                    }
                },
                BarKind::Search => {
                    app.log.set_search(Some(text));
                    close_bar(app);
                    if app.log.search().is_some() && !app.log.search_nearest(app.log_rows()) {
                        app.notify(Tone::Warn, "not found");
                    }
                }
                BarKind::History => {
                    close_bar(app);
                    let found: Option<(usize, String)> = {
                        let matches = app.history.search(&text);
                        matches.first().map(|m| (matches.len(), m.to_string()))
                    };
                    match found {
                        Some((count, block)) => {
                            app.composer.set_text(&block);
                            app.focus = Focus::Composer;
                            app.notify(Tone::Info, format!("newest of {count} matching blocks"));
                        }
                        None => app.notify(Tone::Warn, "no block in the history matches"),
                    }
                }
                BarKind::Record => {
                    close_bar(app);
                    let path = PathBuf::from(text.trim());
                    if path.as_os_str().is_empty() {
                        app.notify(Tone::Warn, "no file name: not recording");
                        return Vec::new();
                    }
                    return vec![Cmd::StartRecording(path)];
                }
                BarKind::Save => {
                    close_bar(app);
                    let path = PathBuf::from(text.trim());
                    if path.as_os_str().is_empty() {
                        app.notify(Tone::Warn, "no file name: nothing saved");
                        return Vec::new();
                    }
                    let json = is_json_lines_name(&path);
                    let charset = app.options.charset;
                    let contents: Vec<u8> = if json {
                        app.log
                            .shown_entries()
                            .map(|entry| json_text(entry, charset))
                            .collect::<String>()
                            .into_bytes()
                    } else {
                        recording_bytes(app.log.shown_entries(), &app.status.info)
                    };
                    app.notify(
                        Tone::Info,
                        format!(
                            "saving {} messages to {}{}",
                            app.log.shown(),
                            path.display(),
                            if json { " as JSON Lines" } else { "" }
                        ),
                    );
                    return vec![Cmd::Save { path, contents }];
                }
            }
        }
        KeyCode::Backspace => {
            bar.text.pop();
            bar.error = None;
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            bar.text.clear();
            bar.error = None;
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            bar.text.push(c);
            bar.error = None;
            if bar.kind == BarKind::Filter {
                // Point at errors while typing; the view changes on Enter only.
                bar.error = Filter::parse(&bar.text).err();
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Selects the log line under a click or scrolls with the wheel; a click focuses a pane.
fn mouse_input(app: &mut App, mouse: MouseEvent) {
    let at = Position::new(mouse.column, mouse.row);
    let rows = app.log_rows();
    if app.table.is_some() && app.regions.log.contains(at) {
        // A table covers the log: the wheel moves its selection instead.
        views::keys::mouse(app, mouse);
        return;
    }
    match mouse.kind {
        MouseEventKind::ScrollUp => app.log.scroll(-3, rows),
        MouseEventKind::ScrollDown => app.log.scroll(3, rows),
        MouseEventKind::Down(MouseButton::Left) => {
            if app.overlay.is_some() {
                return;
            }
            if app.regions.composer.contains(at) {
                app.focus = Focus::Composer;
            } else if app.regions.log.contains(at) {
                app.focus = Focus::Log;
                let row = usize::from(mouse.row.saturating_sub(app.regions.log.y + 1));
                let index = app.log.first_visible(rows) + row;
                app.log.select_index(index, rows);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
