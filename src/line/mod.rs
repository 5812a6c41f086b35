//! Line mode (`amicon --line`): a rustyline console over the same session as the TUI,
//! for a plain terminal, a slow SSH link, a `script`/`tmux` log, or anyone who thinks in
//! telnet. Type `Key: Value` lines; a blank line sends the block; answers and events
//! print above the prompt as they arrive.
//!
//! Meta commands start with `:` (`:help` lists them; an AMI header can never start with
//! a colon, so nothing typed for the server is mistaken for one):
//!
//! | command | does |
//! |---|---|
//! | `:filter [EXPR]` | show, or set, the event filter (the language of `watch`) |
//! | `:nofilter` | show every event again |
//! | `:events on\|off` | send the `Events` action, and show or hide events |
//! | `:format raw\|line\|json` | print answers and events as raw AMI, one line each, or JSON Lines |
//! | `:status` | state, versions, counts, ping round trip (measured now, and the keepalive's) |
//! | `:template [NAME]` | list templates, or load one: each line is offered for editing |
//! | `:history [TEXT]`, `:recall N` | find an earlier block, load it like a template |
//! | `:show` | print the block typed so far |
//! | `:help`, `:quit` | |
//!
//! When stdin is not a terminal, blocks are read from it (separated by blank lines;
//! `#` lines are comments; `:format`, `:filter` and `:events` apply from where they
//! appear), each answer is printed in full, and the exit code is that of `send`:
//! 0 every action succeeded, 1 one answered `Response: Error`, 2 a block was not valid
//! AMI, 3 cannot connect (or the connection was lost), 4 authentication failed,
//! 5 no answer in time. Events are printed only when a filter was given.

pub mod composer;
mod editor;
mod terminal;
pub mod view;

pub use composer::OutputFormat;

use crate::ami::Action;
use crate::complete::{self, Catalog};
use crate::filter::Filter;
use crate::format::Charset;
use crate::history::{self, History};
use crate::session::{
    self, ActionError, EndReason, EventStream, Link, SessionConfig, SessionEvent, SessionHandle,
    SessionState, Stamped,
};
use composer::{Composer, Meta, Step};
use editor::{EditorSetup, FromEditor, Output};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;
use view::{note, View};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long quitting waits for the server to acknowledge `Logoff`.
const LOGOFF_WAIT: Duration = Duration::from_secs(3);

/// Choices for line mode; [`LineOptions::default`] is what `amicon --line` does.
#[derive(Clone, Debug)]
pub struct LineOptions {
    /// How non-UTF-8 bytes in values are decoded for display.
    pub charset: Charset,
    /// The initial event filter (`Filter::parse` of a typed line, or
    /// `Filter::from_terms` of a profile's terms); `None` for every event.
    pub filter: Option<Filter>,
    pub format: OutputFormat,
    /// Receive and show events (sent as the login's `Events:` mask). Off keeps the
    /// console quiet for people who only send actions.
    pub events: bool,
    /// Keep sent blocks across runs (secrets masked).
    pub save_history: bool,
    /// The history file; `None` for `history::default_path()`.
    pub history_path: Option<PathBuf>,
    /// The user's template directory; `None` for `templates::user_dir()`.
    pub templates_dir: Option<PathBuf>,
    /// Record every stream entry to this file (`--record FILE`).
    pub record: Option<PathBuf>,
    /// `--read-only`: blocks outside the read list are refused, piped or typed.
    pub read_only: bool,
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions {
            charset: Charset::UTF8,
            filter: None,
            format: OutputFormat::Raw,
            events: true,
            save_history: true,
            history_path: None,
            templates_dir: None,
            record: None,
            read_only: false,
        }
    }
}

/// `amicon --line [TARGET]`: resolves the connection as `send` and `watch` do (profile,
/// environment, flags, secret prompt), takes the profile's filter and charset, and runs
/// line mode. Returns the exit code.
pub async fn run_cli(args: &crate::cli::ConnectArgs, record: Option<PathBuf>) -> i32 {
    let resolved = match crate::cmd::resolve(args) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let filter = match &resolved.filter {
        None => Ok(None),
        Some(crate::config::FilterSetting::Line(text)) => Filter::parse(text).map(Some),
        Some(crate::config::FilterSetting::Terms(terms)) => Filter::from_terms(terms).map(Some),
    };
    let filter = match filter {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("amicon: bad filter in the profile:\n{}", e.render());
            return 2;
        }
    };
    let options = LineOptions {
        charset: resolved.charset,
        filter,
        record,
        read_only: resolved.read_only,
        ..LineOptions::default()
    };
    let mut session = resolved.session;
    // A console that cannot connect says so and exits, like `send`.
    session.retry_first_connect = false;
    match run(session, options).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("amicon: {e}");
            2
        }
    }
}

/// Runs line mode until the user quits (or, with piped input, until it ends); returns
/// the exit code.
pub async fn run(mut config: SessionConfig, options: LineOptions) -> Result<i32, BoxError> {
    let filter = options.filter.clone().filter(|f| !f.is_empty());
    if !options.events {
        config.events = "off".into();
    }
    let recorder = match &options.record {
        Some(path) => Some(
            crate::record::Recorder::create(path)
                .map_err(|e| format!("cannot create the recording {}: {e}", path.display()))?,
        ),
        None => None,
    };
    if std::io::stdin().is_terminal() {
        interactive(config, options, filter, recorder).await
    } else {
        piped(config, options, filter, recorder).await
    }
}

type FileRecorder = crate::record::Recorder<std::io::BufWriter<std::fs::File>>;

/// Spawns the session; with a recorder, every entry is written (and flushed per batch,
/// so quitting loses nothing) before it is passed on, with its own time stamp.
fn spawn_recorded(
    config: SessionConfig,
    recorder: Option<FileRecorder>,
) -> (SessionHandle, EventStream) {
    let budget = config.queue_budget;
    let (handle, mut from_session) = session::spawn(config);
    let Some(mut recorder) = recorder else {
        return (handle, from_session);
    };
    let (publisher, passed_on) = session::queue::channel(budget);
    tokio::spawn(async move {
        let mut batch = Vec::new();
        let mut recording = true;
        while from_session.recv_batch(&mut batch).await {
            if recording {
                let written = batch
                    .iter()
                    .try_for_each(|entry| recorder.write(entry))
                    .and_then(|()| recorder.flush());
                if let Err(e) = written {
                    recording = false;
                    eprintln!("amicon: recording stopped: {e}");
                }
            }
            for entry in batch.drain(..) {
                publisher.publish_batch(std::iter::once(entry.event), entry.at);
            }
        }
        publisher.close();
    });
    (handle, passed_on)
}

fn print_now(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Reads the stream until logged in, printing what the view makes of it. `Err` holds
/// the exit code when the session ended first. `quiet` sends console notes to stderr.
async fn wait_for_login(
    stream: &mut EventStream,
    view: &mut View,
    catalog: Option<&Mutex<Catalog>>,
    quiet: bool,
) -> Result<(), i32> {
    let mut batch = Vec::new();
    loop {
        if !stream.recv_batch(&mut batch).await {
            eprintln!("amicon: the session ended before logging in");
            return Err(3);
        }
        let mut logged_in = false;
        for item in batch.drain(..) {
            if let SessionEvent::State(SessionState::Ended(reason)) = &item.event {
                eprintln!("amicon: {reason}");
                return Err(reason.exit_code());
            }
            logged_in |= matches!(
                item.event,
                SessionEvent::State(SessionState::LoggedIn { .. })
            );
            if let (Some(catalog), SessionEvent::Received { message, .. }) = (catalog, &item.event)
            {
                if let Ok(mut c) = catalog.lock() {
                    c.observe(message);
                }
            }
            match view.handle(&item) {
                Some(text) if quiet && text.starts_with("-- ") => eprint!("{text}"),
                Some(text) => print_now(&text),
                None => {}
            }
        }
        if logged_in {
            return Ok(());
        }
    }
}

/// Prints what the stream still holds until it closes (after the session ended).
async fn say_the_rest(
    stream: &mut EventStream,
    view: &mut View,
    ended: &mut Option<EndReason>,
) -> String {
    let mut batch = Vec::new();
    let mut text = String::new();
    while stream.recv_batch(&mut batch).await {
        for item in batch.drain(..) {
            if let SessionEvent::State(SessionState::Ended(reason)) = &item.event {
                *ended = Some(reason.clone());
            }
            if let Some(t) = view.handle(&item) {
                text.push_str(&t);
            }
        }
    }
    text
}

/// How a meta command is typed, for messages.
fn meta_word(meta: &Meta) -> &'static str {
    match meta {
        Meta::Help => ":help",
        Meta::Filter(_) => ":filter",
        Meta::NoFilter => ":nofilter",
        Meta::Events(_) => ":events",
        Meta::Format(_) => ":format",
        Meta::Status => ":status",
        Meta::Template(_) => ":template",
        Meta::History(_) => ":history",
        Meta::Recall(_) => ":recall",
        Meta::Show => ":show",
        Meta::Quit => ":quit",
    }
}

async fn logoff(handle: &SessionHandle) {
    let _ = tokio::time::timeout(LOGOFF_WAIT, handle.logoff()).await;
}

fn spawn_list_commands(handle: &SessionHandle, catalog: &Arc<Mutex<Catalog>>) {
    let (handle, catalog) = (handle.clone(), catalog.clone());
    tokio::spawn(async move {
        if let Ok(reply) = complete::fetch_list_commands(&handle).await {
            if let Ok(mut c) = catalog.lock() {
                c.learn_list_commands(&reply.response);
            }
        }
    });
}

fn spawn_help(handle: &SessionHandle, catalog: &Arc<Mutex<Catalog>>, action: String) {
    let (handle, catalog) = (handle.clone(), catalog.clone());
    tokio::spawn(async move {
        let reply = complete::fetch_action_help(&handle, &action).await;
        if let Ok(mut c) = catalog.lock() {
            c.learn_help_reply(&action, &reply);
        }
    });
}

async fn interactive(
    config: SessionConfig,
    options: LineOptions,
    filter: Option<Filter>,
    recorder: Option<FileRecorder>,
) -> Result<i32, BoxError> {
    print_now(&note(&format!(
        "connecting to {}@{}",
        config.username,
        config.server_text()
    )));
    let (handle, mut stream) = spawn_recorded(config, recorder);
    let mut view = View::new(options.format, options.charset, filter, options.events);
    let catalog = Arc::new(Mutex::new(Catalog::new()));
    if let Err(code) = wait_for_login(&mut stream, &mut view, Some(&catalog), false).await {
        return Ok(code);
    }
    spawn_list_commands(&handle, &catalog);

    let history = if options.save_history {
        match options.history_path.clone().or_else(history::default_path) {
            Some(path) => History::open(&path).unwrap_or_else(|e| {
                print_now(&note(&format!(
                    "history {} not read: {e}; this session's is not kept",
                    path.display()
                )));
                History::in_memory()
            }),
            None => History::in_memory(),
        }
    } else {
        History::in_memory()
    };
    let status = Arc::new(Mutex::new(view.status_label()));
    let (to_session, mut from_editor) = mpsc::unbounded_channel();
    // Before the editor thread exists: it switches the terminal to raw mode.
    let saved_terminal = terminal::SavedTerminal::capture();
    let ready = editor::spawn(EditorSetup {
        catalog: catalog.clone(),
        status: status.clone(),
        history,
        templates_dir: options
            .templates_dir
            .clone()
            .or_else(crate::templates::user_dir),
        to_session,
        read_only: options.read_only,
    });
    let Ok(out) = ready.await else {
        logoff(&handle).await;
        return Err("the line editor did not start".into());
    };

    let mut batch: Vec<Stamped> = Vec::new();
    let mut stream_open = true;
    let mut ended: Option<EndReason> = None;
    let terminated = terminal::termination();
    tokio::pin!(terminated);
    loop {
        tokio::select! {
            code = &mut terminated => {
                out.print(note("terminated: logging off"));
                logoff(&handle).await;
                out.flush(Duration::from_secs(1)).await;
                saved_terminal.restore();
                return Ok(code);
            }
            open = stream.recv_batch(&mut batch), if stream_open => {
                stream_open = open;
                let mut text = String::new();
                if let Ok(mut c) = catalog.lock() {
                    for item in &batch {
                        match &item.event {
                            SessionEvent::Received { message, .. } => c.observe(message),
                            SessionEvent::State(SessionState::Reconnecting { .. }) => c.forget_live_values(),
                            _ => {}
                        }
                    }
                }
                for item in batch.drain(..) {
                    match &item.event {
                        SessionEvent::State(SessionState::LoggedIn { .. }) => spawn_list_commands(&handle, &catalog),
                        SessionEvent::State(SessionState::Ended(reason)) => ended = Some(reason.clone()),
                        _ => {}
                    }
                    if let Some(t) = view.handle(&item) {
                        text.push_str(&t);
                    }
                }
                out.print(text);
                if let Ok(mut s) = status.lock() {
                    *s = view.status_label();
                }
            }
            request = from_editor.recv() => match request {
                None | Some(FromEditor::Quit) => break,
                Some(FromEditor::Block(block)) => send_block(&handle, &block, &out),
                Some(FromEditor::NeedHelp(action)) => spawn_help(&handle, &catalog, action),
                Some(FromEditor::Meta(meta)) => apply_meta(meta, &mut view, &handle, &out).await,
            },
        }
    }
    logoff(&handle).await;
    // Say what the logoff brought (the server's Goodbye, "logged off") before leaving.
    let said = say_the_rest(&mut stream, &mut view, &mut ended);
    match tokio::time::timeout(LOGOFF_WAIT, said).await {
        Ok(text) => out.print(text),
        Err(_) => out.print(note("the server did not confirm the logoff")),
    }
    out.flush(Duration::from_secs(1)).await;
    Ok(match ended {
        Some(reason) if reason != EndReason::LoggedOff => reason.exit_code(),
        _ => 0,
    })
}

fn send_block(handle: &SessionHandle, block: &str, out: &Output) {
    let action = match Action::parse_block(block) {
        Ok(action) => action,
        Err(e) => return out.print(note(&e)),
    };
    if let Err(e) = handle.submit(action) {
        out.print(note(&format!("not sent: {e}")));
    }
}

/// A meta command that needs the session or the view (the editor handles the rest).
async fn apply_meta(meta: Meta, view: &mut View, handle: &SessionHandle, out: &Output) {
    match meta {
        Meta::Filter(None) => {
            out.print(note(&match view.filter() {
                Some(f) => format!("filter: {f}"),
                None => "no filter: every event is shown".into(),
            }));
        }
        Meta::Filter(Some(text)) => match Filter::parse(&text) {
            Ok(f) => {
                view.set_filter(Some(f));
                out.print(note(&format!(
                    "filter: {}",
                    view.filter().map_or(String::new(), |f| f.to_string())
                )));
            }
            Err(e) => out.print(e.render().lines().map(note).collect()),
        },
        Meta::NoFilter => {
            view.set_filter(None);
            out.print(note("no filter: every event is shown"));
        }
        Meta::Events(on) => {
            view.events_shown = on;
            let action = Action::new("Events").with("EventMask", if on { "on" } else { "off" });
            if let Err(e) = handle.submit(action) {
                out.print(note(&format!("not sent: {e}")));
            }
        }
        Meta::Format(format) => {
            view.format = format;
            out.print(note(&format!("format: {format}")));
        }
        Meta::Status => {
            let started = Instant::now();
            let ping = complete::background_action(handle, "Ping");
            let rtt = match tokio::time::timeout(Duration::from_secs(2), handle.request(ping)).await
            {
                Ok(Ok(_)) => Some(started.elapsed()),
                _ => None,
            };
            out.print(view.status_report(rtt));
        }
        Meta::Help
        | Meta::Show
        | Meta::Quit
        | Meta::Template(_)
        | Meta::History(_)
        | Meta::Recall(_) => {}
    }
}

/// How one piped block ended.
enum Outcome {
    Success,
    ErrorResponse,
    /// Stop here with this exit code.
    Fatal(i32),
    /// Not valid AMI; go on with the next block.
    Invalid,
}

fn failure_code(error: &ActionError) -> i32 {
    match error {
        ActionError::Invalid(_) | ActionError::DuplicateActionId(_) => 2,
        ActionError::Timeout(_) => 5,
        ActionError::NotConnected
        | ActionError::ConnectionLost
        | ActionError::SessionEnded
        | ActionError::Recorded(_) => 3,
    }
}

/// Piped blocks never ask, but `--read-only` refuses them like typed ones.
fn read_only_refusal(block: &str, read_only: bool) -> Option<String> {
    let action = Action::parse_block(block).ok()?;
    match crate::safety::assess(&action, read_only) {
        crate::safety::Verdict::Refuse(why) => Some(why),
        _ => None,
    }
}

async fn piped(
    config: SessionConfig,
    options: LineOptions,
    filter: Option<Filter>,
    recorder: Option<FileRecorder>,
) -> Result<i32, BoxError> {
    let events_wanted = filter.is_some();
    let (handle, mut stream) = spawn_recorded(config, recorder);
    let mut view = View::new(options.format, options.charset, filter, events_wanted);
    if let Err(code) = wait_for_login(&mut stream, &mut view, None, true).await {
        return Ok(code);
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut composer = Composer::new();
    let catalog = Catalog::new();
    let (mut any_error, mut any_invalid) = (false, false);
    loop {
        let line = match lines.next_line().await {
            Ok(line) => line,
            Err(e) => {
                eprintln!("amicon: cannot read stdin: {e}");
                any_invalid = true;
                None
            }
        };
        let at_end = line.is_none();
        let line = line.unwrap_or_default();
        if line.trim_start().starts_with('#') {
            continue;
        }
        let outcome = match composer.accept(&line, &catalog) {
            Step::Send(block) => match read_only_refusal(&block, options.read_only) {
                Some(why) => {
                    eprintln!("amicon: {why}");
                    Outcome::Invalid
                }
                None => send_and_wait(&handle, &mut stream, &mut view, &block).await,
            },
            Step::Notice(text) => {
                eprintln!("amicon: {text}");
                composer.clear();
                Outcome::Invalid
            }
            Step::Meta(meta) => match meta {
                Meta::Filter(Some(text)) => match Filter::parse(&text) {
                    Ok(f) => {
                        view.events_shown = true;
                        view.set_filter(Some(f));
                        Outcome::Success
                    }
                    Err(e) => {
                        eprintln!("{}", e.render());
                        Outcome::Invalid
                    }
                },
                Meta::Format(format) => {
                    view.format = format;
                    Outcome::Success
                }
                Meta::Events(on) => {
                    view.events_shown = on && view.filter().is_some();
                    let block = format!(
                        "Action: Events\nEventMask: {}",
                        if on { "on" } else { "off" }
                    );
                    send_and_wait(&handle, &mut stream, &mut view, &block).await
                }
                Meta::Quit => break,
                other => {
                    eprintln!(
                        "amicon: {} is for the interactive console; ignored",
                        meta_word(&other)
                    );
                    Outcome::Success
                }
            },
            Step::Added(_) | Step::Nothing => Outcome::Success,
        };
        match outcome {
            Outcome::Success => {}
            Outcome::ErrorResponse => any_error = true,
            Outcome::Invalid => any_invalid = true,
            Outcome::Fatal(code) => {
                logoff(&handle).await;
                return Ok(code);
            }
        }
        if at_end {
            break;
        }
    }
    logoff(&handle).await;
    Ok(if any_invalid {
        2
    } else if any_error {
        1
    } else {
        0
    })
}

/// Sends one block and prints everything until its whole answer is in.
async fn send_and_wait(
    handle: &SessionHandle,
    stream: &mut EventStream,
    view: &mut View,
    block: &str,
) -> Outcome {
    let action = match Action::parse_block(block) {
        Ok(action) => action,
        Err(e) => {
            eprintln!("amicon: {e}");
            return Outcome::Invalid;
        }
    };
    let id = match handle.submit(action) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("amicon: not sent: {e}");
            return match failure_code(&e) {
                2 => Outcome::Invalid,
                code => Outcome::Fatal(code),
            };
        }
    };
    let mut batch = Vec::new();
    let mut answered: Option<bool> = None;
    let mut list_open = false;
    loop {
        if !stream.recv_batch(&mut batch).await {
            eprintln!("amicon: the session ended before the answer");
            return Outcome::Fatal(3);
        }
        let mut text = String::new();
        let mut end: Option<Outcome> = None;
        for item in batch.drain(..) {
            match (&item.event, answered) {
                (
                    SessionEvent::Received {
                        message,
                        link: Link::Response { action_id },
                        ..
                    },
                    None,
                ) if *action_id == id => {
                    answered = Some(!message.is("Response", "Error"));
                    list_open = message
                        .get("EventList")
                        .is_some_and(|v| v.eq_ignore_ascii_case(b"start"));
                }
                (
                    SessionEvent::Received {
                        link: Link::ListComplete { action_id },
                        ..
                    },
                    _,
                ) if *action_id == id => {
                    list_open = false;
                }
                (
                    SessionEvent::ActionFailed {
                        action_id, error, ..
                    },
                    _,
                ) if *action_id == id => {
                    eprintln!("amicon: {error}");
                    end = Some(Outcome::Fatal(failure_code(error)));
                }
                (SessionEvent::State(SessionState::Ended(reason)), _)
                    if answered.is_none() || list_open =>
                {
                    eprintln!("amicon: {reason}");
                    end = end.or(Some(Outcome::Fatal(if *reason == EndReason::LoggedOff {
                        3
                    } else {
                        reason.exit_code()
                    })));
                }
                _ => {}
            }
            match view.handle(&item) {
                // Console notes (state changes) are diagnostics: stdout stays pure AMI.
                Some(t) if t.starts_with("-- ") => eprint!("{t}"),
                Some(t) => text.push_str(&t),
                None => {}
            }
        }
        print_now(&text);
        if let Some(outcome) = end {
            return outcome;
        }
        match answered {
            Some(ok) if !list_open => {
                return if ok {
                    Outcome::Success
                } else {
                    Outcome::ErrorResponse
                }
            }
            _ => {}
        }
    }
}
