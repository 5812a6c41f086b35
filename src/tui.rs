//! The terminal side of the TUI: puts the terminal in full-screen mode and guarantees it
//! is restored (normal exit, error, panic, SIGTERM/SIGHUP), and runs the event loop.
//!
//! The loop follows one rule for floods: every wake-up drains *everything* the session
//! queued and applies it to the state in one go; drawing happens at most once per frame
//! interval, never once per event. Terminal input is polled first (`biased`), so a key
//! typed during a flood is applied and drawn within one frame.

use crate::ami::Action;
use crate::app::{update, App, AppOptions, Background, Cmd, Msg};
use crate::complete;
use crate::record::Recorder;
use crate::session::{self, ActionError, EventStream, SessionConfig, SessionHandle, SessionState};
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures_util::{Stream, StreamExt};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The shortest time between two frames (at most 60 per second).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// After a key, a frame may come this soon after the previous one: typing is never
/// held back by the frame clock, and key repeat still cannot draw without bound.
pub const INPUT_FRAME_INTERVAL: Duration = Duration::from_millis(4);
/// How often the clock ticks (rates, countdowns) when nothing else happens.
const TICK: Duration = Duration::from_millis(250);
/// How long quitting waits for the server to acknowledge `Logoff`.
const LOGOFF_WAIT: Duration = Duration::from_secs(3);

/// How the TUI should behave; the command line fills it in.
#[derive(Clone, Debug)]
pub struct TuiOptions {
    /// Log lines kept before the oldest fall off (and are counted).
    pub ring_size: usize,
    /// Ask before Hangup, kick and reload type actions.
    pub confirm_destructive: bool,
    /// A filter applied from the start (the filter language of `crate::filter`).
    pub initial_filter: Option<String>,
    /// Where composer history is kept; `None` means the XDG state dir
    /// (`$XDG_STATE_HOME/amicon/history`).
    pub history_path: Option<PathBuf>,
    /// How bytes that are not UTF-8 are shown (`--charset latin1`, `gbk`, ...).
    pub charset: crate::format::Charset,
    /// No colours, whatever `NO_COLOR` says; `NO_COLOR` set and non-empty also turns them off.
    pub no_color: bool,
    /// Record every stream entry to this file from the start (`--record FILE`).
    pub record: Option<PathBuf>,
    /// `--read-only`: actions outside the read list are refused.
    pub read_only: bool,
}

impl Default for TuiOptions {
    fn default() -> Self {
        TuiOptions {
            ring_size: 200_000,
            confirm_destructive: true,
            initial_filter: None,
            history_path: None,
            no_color: false,
            charset: crate::format::Charset::UTF8,
            record: None,
            read_only: false,
        }
    }
}

/// What the loop needs from a session: the real [`SessionHandle`], or a fake in tests.
pub trait SessionPort {
    fn submit(&self, action: Action) -> Result<String, ActionError>;
    fn logoff(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Asks the server something in the background; the future yields the [`Msg`] that
    /// carries the answer. `None` when this session cannot (a fake, a recording).
    fn background(&self, _what: Background) -> Option<Pin<Box<dyn Future<Output = Msg> + Send>>> {
        None
    }
    /// `amicon open --step`: passes the next recorded entry on. False when there is
    /// nothing to step through (a live session, or the end of the file).
    fn step(&self) -> bool {
        false
    }
}

impl SessionPort for SessionHandle {
    fn submit(&self, action: Action) -> Result<String, ActionError> {
        SessionHandle::submit(self, action)
    }

    fn logoff(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(SessionHandle::logoff(self))
    }

    fn background(&self, what: Background) -> Option<Pin<Box<dyn Future<Output = Msg> + Send>>> {
        let handle = self.clone();
        Some(Box::pin(async move {
            match what {
                Background::ActionList => {
                    Msg::ActionList(complete::fetch_list_commands(&handle).await)
                }
                Background::ActionHelp(name) => {
                    let reply = complete::fetch_action_help(&handle, &name).await;
                    Msg::ActionHelp { name, reply }
                }
                Background::EventDoc(name) => {
                    let reply = complete::fetch_event_doc(&handle, &name).await;
                    Msg::EventDoc { name, reply }
                }
            }
        }))
    }
}

/// The TUI from the command line: resolves the target, profile and secret like `send`
/// and `watch` do (warnings and errors on stderr, before the screen is taken), takes the
/// profile's filter and charset, and runs [`run`]. Returns the exit code.
pub async fn run_cli(args: &crate::cli::ConnectArgs, record: Option<PathBuf>) -> i32 {
    let resolved = match crate::cmd::resolve(args) {
        Ok(resolved) => resolved,
        Err(code) => return code,
    };
    let initial_filter = match &resolved.filter {
        None => None,
        Some(crate::config::FilterSetting::Line(text)) => Some(text.clone()),
        Some(crate::config::FilterSetting::Terms(terms)) => {
            match crate::filter::Filter::from_terms(terms) {
                Ok(filter) => Some(filter.to_string()),
                Err(e) => {
                    eprintln!("amicon: bad filter in the profile:\n{}", e.render());
                    return 2;
                }
            }
        }
    };
    let options = TuiOptions {
        charset: resolved.charset,
        initial_filter,
        record,
        read_only: resolved.read_only,
        ..TuiOptions::default()
    };
    let mut config = resolved.session;
    // The TUI stays up and keeps trying while the server is away.
    config.retry_first_connect = true;
    // The live tables (channels, queues, endpoints...) start from a snapshot.
    config.seed_state = true;
    let can_ask = {
        use std::io::IsTerminal;
        io::stdin().is_terminal()
    };
    let (handle, stream, seen) = match log_in_first(&mut config, can_ask).await {
        FirstLogin::Up {
            handle,
            stream,
            seen,
        } => (handle, stream, seen),
        FirstLogin::Exit(code) => return code,
    };
    match run_session(&config, handle, stream, seen, options).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("amicon: {e}");
            2
        }
    }
}

/// How many times a refused login is asked again on the normal screen, like ssh.
pub const LOGIN_TRIES: u32 = 3;

/// How long the login may take on the normal screen before the console goes full
/// screen anyway. Asterisk answers a refused login after a one-second pause
/// (`main/manager.c`), so this leaves room for that on a slow link; a server that is
/// slower still (or silent) is better watched on the full screen, which shows the
/// session logging in, than on a blank terminal.
pub const LOGIN_FIRST_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The outcome of [`log_in_first`].
pub enum FirstLogin {
    /// Logged in, or the server is away and the session keeps trying (the screen says
    /// so): go full screen with this session and what it published so far.
    Up {
        handle: SessionHandle,
        stream: EventStream,
        seen: Vec<session::Stamped>,
    },
    /// The login failed for good; the reason is printed. Exit with this code.
    Exit(i32),
}

/// Logs in before the screen is taken, so a wrong secret is said on the normal screen:
/// a refused login asks for the secret again (when there is a terminal to ask on) up to
/// [`LOGIN_TRIES`] times in all; any other end (not AMI, TLS) prints its reason. A server
/// that is not there yet goes full screen, which shows the session trying again.
pub async fn log_in_first(config: &mut SessionConfig, can_ask: bool) -> FirstLogin {
    let who = format!("{}@{}", config.username, config.endpoint);
    let mut tries = 1;
    loop {
        let (handle, mut stream) = session::spawn(config.clone());
        let mut seen = Vec::new();
        let outcome =
            tokio::time::timeout(LOGIN_FIRST_WAIT, first_outcome(&mut stream, &mut seen)).await;
        let reason = match outcome.unwrap_or(None) {
            None => {
                return FirstLogin::Up {
                    handle,
                    stream,
                    seen,
                }
            }
            Some(reason) => reason,
        };
        let refused = matches!(reason, session::EndReason::AuthFailed(_));
        if refused && can_ask && tries < LOGIN_TRIES {
            eprintln!("amicon: {reason}; try again ({tries} of {LOGIN_TRIES} tries used)");
            match crate::config::prompt_secret(&who) {
                Some(secret) => config.secret = secret,
                None => return FirstLogin::Exit(reason.exit_code()),
            }
            tries += 1;
            continue;
        }
        eprintln!("amicon: {reason}");
        return FirstLogin::Exit(reason.exit_code());
    }
}

/// Reads the session until it has logged in or is retrying (`None`), or has ended (its
/// reason). Everything read is kept in `seen` for the screen.
async fn first_outcome(
    stream: &mut EventStream,
    seen: &mut Vec<session::Stamped>,
) -> Option<session::EndReason> {
    let mut batch = Vec::new();
    loop {
        if !stream.recv_batch(&mut batch).await {
            seen.append(&mut batch);
            return Some(session::EndReason::ConnectionLost(
                "the session ended before logging in".into(),
            ));
        }
        let mut outcome = None;
        for entry in &batch {
            match &entry.event {
                session::SessionEvent::State(
                    SessionState::LoggedIn { .. } | SessionState::Reconnecting { .. },
                ) => outcome = Some(None),
                session::SessionEvent::State(SessionState::Ended(reason)) => {
                    outcome = Some(Some(reason.clone()))
                }
                _ => {}
            }
        }
        seen.append(&mut batch);
        if let Some(outcome) = outcome {
            return outcome;
        }
    }
}

/// Opens the TUI over a new session; returns the process exit code.
pub async fn run(config: SessionConfig, options: TuiOptions) -> Result<i32, BoxError> {
    let mut config = config;
    // The TUI stays up and keeps trying while the server is away.
    config.retry_first_connect = true;
    // The live tables (channels, queues, endpoints...) start from a snapshot.
    config.seed_state = true;
    let (handle, stream) = session::spawn(config.clone());
    run_session(&config, handle, stream, Vec::new(), options).await
}

/// The TUI over a session already started; `seen` is what it published before the
/// screen was taken (the login), shown and recorded first.
pub async fn run_session(
    config: &SessionConfig,
    handle: SessionHandle,
    stream: EventStream,
    seen: Vec<session::Stamped>,
    options: TuiOptions,
) -> Result<i32, BoxError> {
    let no_color = options.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let app_options = AppOptions {
        ring_size: options.ring_size,
        confirm_destructive: options.confirm_destructive,
        target: format!("{}@{}", config.username, config.server_text()),
        insecure_tls: config.tls.insecure,
        no_color,
        charset: options.charset,
        replay: None,
        read_only: options.read_only,
    };
    let mut app = App::new(app_options, SystemTime::now());
    app.templates = crate::templates::list();
    if let Some(path) = options
        .history_path
        .clone()
        .or_else(crate::history::default_path)
    {
        match crate::history::History::open(&path) {
            Ok(history) => app.history = history,
            // The TUI works without history; say why it is not kept.
            Err(e) => {
                update(
                    &mut app,
                    Msg::Saved {
                        path,
                        result: Err(format!("history not available: {e}")),
                    },
                );
            }
        }
    }
    if let Some(filter) = options.initial_filter.as_deref() {
        app.apply_filter(filter)
            .map_err(|e| format!("bad filter:\n{}", e.render()))?;
        app.filter_text = filter.to_string();
    }

    // Before the screen is taken, so a bad path is a plain error on stderr.
    let mut recorder = match &options.record {
        Some(path) => Some(ActiveRecording::create(path.clone())?),
        None => None,
    };
    if let Some(active) = recorder.as_mut() {
        active.write(&seen)?;
    }
    let shutdown = quit_signal();
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let size = terminal.size()?;
    update(&mut app, Msg::Input(Event::Resize(size.width, size.height)));
    let input = crossterm::event::EventStream::new();
    let ended = run_loop(
        &mut terminal,
        app,
        &handle,
        (seen, stream),
        input,
        shutdown,
        osc52,
        recorder,
    )
    .await;
    drop(terminal);
    drop(guard);
    let (code, app) = ended?;
    if let SessionState::Ended(reason) = &app.status.state {
        if code != 0 {
            // The screen that said why is gone: say it again on the normal one.
            eprintln!("amicon: {reason}");
        }
    }
    Ok(code)
}

/// Copies text to the terminal's clipboard with OSC 52.
fn osc52(text: &str) -> io::Result<()> {
    write_osc52(&mut io::stdout().lock(), text)
}

/// The OSC 52 sequence (crossterm's, base64 inside) that puts `text` on the clipboard.
fn write_osc52(out: &mut impl Write, text: &str) -> io::Result<()> {
    crossterm::execute!(
        out,
        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text.as_bytes())
    )
}

/// Resolves on SIGTERM or SIGHUP (the terminal went away), so the guard restores and
/// the session logs off.
///
/// The handlers are installed when this is called, not when the future is first
/// polled, so a signal arriving before the loop starts is not lost. Call it inside the
/// runtime, before the terminal is touched.
pub fn quit_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let streams = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    async move {
        let (Ok(mut term), Ok(mut hup)) = streams else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
}

/// A recording being written by the event loop.
pub struct ActiveRecording {
    path: PathBuf,
    recorder: Recorder<io::BufWriter<std::fs::File>>,
}

impl ActiveRecording {
    pub fn create(path: PathBuf) -> Result<Self, String> {
        match Recorder::create(&path) {
            Ok(recorder) => Ok(ActiveRecording { path, recorder }),
            Err(e) => Err(format!(
                "cannot create the recording {}: {e}",
                path.display()
            )),
        }
    }

    /// Writes a batch and flushes it, so a crash loses nothing already shown.
    fn write(&mut self, batch: &[session::Stamped]) -> io::Result<()> {
        for entry in batch {
            self.recorder.write(entry)?;
        }
        self.recorder.flush()
    }
}

/// The event loop, generic over the terminal backend so tests drive the real app on a
/// `TestBackend`. Returns the exit code: 0 after a normal quit, or the session's
/// documented code when it ended on an error (4 for failed authentication, ...).
pub async fn run_app<B, I>(
    terminal: &mut Terminal<B>,
    app: App,
    session: &dyn SessionPort,
    stream: EventStream,
    input: I,
    shutdown: impl Future<Output = ()>,
    clipboard: impl FnMut(&str) -> io::Result<()>,
) -> Result<i32, BoxError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    run_app_recording(
        terminal, app, session, stream, input, shutdown, clipboard, None,
    )
    .await
}

/// [`run_app`], recording every stream entry to `recording` from the start (Ctrl-O
/// starts and stops recordings too).
#[allow(clippy::too_many_arguments)]
pub async fn run_app_recording<B, I>(
    terminal: &mut Terminal<B>,
    app: App,
    session: &dyn SessionPort,
    stream: EventStream,
    input: I,
    shutdown: impl Future<Output = ()>,
    clipboard: impl FnMut(&str) -> io::Result<()>,
    recording: Option<ActiveRecording>,
) -> Result<i32, BoxError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    let (code, _app) = run_loop(
        terminal,
        app,
        session,
        (Vec::new(), stream),
        input,
        shutdown,
        clipboard,
        recording,
    )
    .await?;
    Ok(code)
}

/// [`run_app_recording`], giving the app back with the exit code, so the caller can say
/// how the session ended once the screen is restored. `(seen, stream)`: what the session
/// published before the screen was taken (the login, already recorded), then the rest.
#[allow(clippy::too_many_arguments)]
async fn run_loop<B, I>(
    terminal: &mut Terminal<B>,
    mut app: App,
    session: &dyn SessionPort,
    (seen, mut stream): (Vec<session::Stamped>, EventStream),
    mut input: I,
    shutdown: impl Future<Output = ()>,
    mut clipboard: impl FnMut(&str) -> io::Result<()>,
    mut recording: Option<ActiveRecording>,
) -> Result<(i32, App), BoxError>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    I: Stream<Item = io::Result<Event>> + Unpin,
{
    if let Some(active) = &recording {
        update(&mut app, Msg::Recording(Ok(Some(active.path.clone()))));
    }
    let mut batch = Vec::with_capacity(4096);
    let mut stream_open = true;
    let mut input_open = true;
    let mut dirty = true;
    let mut urgent = false;
    let mut last_frame = Instant::now();
    let mut next_frame = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(shutdown);
    // Answers to background questions (completion's catalog) come back here.
    let (answers_tx, mut answers_rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    // The login seen before the screen: applied first, its commands (the action list
    // for completion) run like any others.
    let mut carried = if seen.is_empty() {
        Vec::new()
    } else {
        update(&mut app, Msg::Session(seen))
    };

    loop {
        let now = Instant::now();
        if dirty && (now >= next_frame || (urgent && now >= last_frame + INPUT_FRAME_INTERVAL)) {
            terminal.draw(|frame| crate::ui::draw(frame, &app))?;
            dirty = false;
            urgent = false;
            last_frame = Instant::now();
            next_frame = last_frame + FRAME_INTERVAL;
        }
        let cmds = if !carried.is_empty() {
            std::mem::take(&mut carried)
        } else {
            tokio::select! {
            biased;
            _ = &mut shutdown => update(&mut app, Msg::Input(quit_key())),
            event = input.next(), if input_open => match event {
                Some(Ok(event)) => {
                    dirty = true;
                    urgent = true;
                    update(&mut app, Msg::Input(event))
                }
                Some(Err(e)) => return Err(e.into()),
                None => { input_open = false; Vec::new() }
            },
            open = stream.recv_batch(&mut batch), if stream_open => {
                if !open {
                    stream_open = false;
                    dirty = true;
                    update(&mut app, Msg::SessionClosed)
                } else {
                    dirty = true;
                    let mut cmds = Vec::new();
                    if let Some(active) = recording.as_mut() {
                        if let Err(e) = active.write(&batch) {
                            let why = format!("writing {} failed: {e}", active.path.display());
                            recording = None;
                            cmds.extend(update(&mut app, Msg::Recording(Err(why))));
                        }
                    }
                    cmds.extend(update(&mut app, Msg::Session(std::mem::take(&mut batch))));
                    cmds
                }
            },
            _ = tokio::time::sleep_until(if urgent { last_frame + INPUT_FRAME_INTERVAL } else { next_frame }), if dirty => Vec::new(),
            Some(answer) = answers_rx.recv() => { dirty = true; update(&mut app, answer) }
            _ = tick.tick() => { dirty = true; update(&mut app, Msg::Tick(SystemTime::now())) }
            }
        };
        let mut cmds: VecDeque<Cmd> = cmds.into();
        while let Some(cmd) = cmds.pop_front() {
            match cmd {
                Cmd::Submit(action) => {
                    let result = session.submit(action);
                    cmds.extend(update(&mut app, Msg::Submitted(result)));
                }
                Cmd::Fetch(what) => {
                    if let Some(answer) = session.background(what) {
                        let answers = answers_tx.clone();
                        tokio::spawn(async move {
                            let _ = answers.send(answer.await);
                        });
                    }
                }
                Cmd::Remember(block) => {
                    if let Err(e) = app.history.add(&block) {
                        let path = app
                            .history
                            .path()
                            .map(Path::to_path_buf)
                            .unwrap_or_default();
                        cmds.extend(update(
                            &mut app,
                            Msg::Saved {
                                path,
                                result: Err(format!("history not saved: {e}")),
                            },
                        ));
                    }
                }
                Cmd::Copy(text) => {
                    if let Err(e) = clipboard(&text) {
                        update(
                            &mut app,
                            Msg::Saved {
                                path: "clipboard".into(),
                                result: Err(e.to_string()),
                            },
                        );
                    }
                }
                Cmd::Save { path, contents } => {
                    let result = std::fs::write(&path, &contents)
                        .map(|()| contents.len())
                        .map_err(|e| e.to_string());
                    update(&mut app, Msg::Saved { path, result });
                }
                Cmd::Step => {
                    if !session.step() {
                        cmds.extend(update(&mut app, Msg::StepEnd));
                    }
                }
                Cmd::StartRecording(path) => {
                    let result = ActiveRecording::create(path.clone()).map(|active| {
                        recording = Some(active);
                        Some(path)
                    });
                    cmds.extend(update(&mut app, Msg::Recording(result)));
                }
                Cmd::StopRecording => {
                    let result = match recording.take() {
                        Some(mut active) => {
                            active.recorder.flush().map(|()| None).map_err(|e| {
                                format!("closing {} failed: {e}", active.path.display())
                            })
                        }
                        None => Ok(None),
                    };
                    cmds.extend(update(&mut app, Msg::Recording(result)));
                }
                Cmd::Quit => {
                    let _ = tokio::time::timeout(LOGOFF_WAIT, session.logoff()).await;
                    let code = exit_code(&app);
                    return Ok((code, app));
                }
            }
            dirty = true;
        }
        if !stream_open && !input_open {
            let code = exit_code(&app);
            return Ok((code, app));
        }
    }
}

fn quit_key() -> Event {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL))
}

fn exit_code(app: &App) -> i32 {
    if app.options.replay.is_some() {
        // The session states inside a file are history, not this run's outcome.
        return 0;
    }
    match &app.status.state {
        SessionState::Ended(reason) => reason.exit_code(),
        _ => 0,
    }
}

static RAW: AtomicBool = AtomicBool::new(false);

/// Restores the terminal; safe to call more than once and from the panic hook.
pub fn restore_terminal() {
    if RAW.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = crossterm::execute!(
            out,
            DisableBracketedPaste,
            DisableMouseCapture,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// Full-screen mode for as long as it lives: raw mode, alternate screen, mouse and
/// bracketed paste. Dropping it restores the terminal, so early `?` returns do too; a
/// panic hook covers panics.
pub struct TerminalGuard(());

/// What the full-screen console says when stdin or stdout is not a terminal.
pub const NO_TERMINAL: &str = "the console needs a terminal: use --line, send or watch";

/// Whether the full-screen console can run: it reads keys from stdin and draws on stdout.
pub fn has_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal() && io::stdout().is_terminal()
}

impl TerminalGuard {
    /// Takes the terminal; without one (stdin or stdout redirected) an error that says
    /// what to use instead, before anything is changed.
    pub fn enter() -> io::Result<Self> {
        if !has_terminal() {
            return Err(io::Error::other(NO_TERMINAL));
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        enable_raw_mode()?;
        RAW.store(true, Ordering::SeqCst);
        let guard = TerminalGuard(());
        crossterm::execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

#[cfg(test)]
mod tests {
    use super::write_osc52;

    #[test]
    fn osc52_puts_the_text_on_the_clipboard_as_base64() {
        let mut out = Vec::new();
        write_osc52(&mut out, "Action: Ping\r\n").unwrap();
        assert_eq!(out, b"\x1b]52;c;QWN0aW9uOiBQaW5nDQo=\x1b\\");
    }
}

/// How `amicon open` passes a file's entries on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Everything at once.
    AllAtOnce,
    /// At this many times the recorded pace (1.0 = real time); needs a timed recording.
    Speed(f64),
    /// One entry per [`SessionPort::step`] (the `.` key).
    Step,
}

/// The session side of `amicon open`: nothing is ever sent; in step mode it holds the
/// entries not shown yet.
pub struct Replay {
    waiting: std::sync::Mutex<VecDeque<session::Stamped>>,
    out: session::queue::Publisher,
}

/// What the composer is told when it tries to send while a file is open.
pub const REPLAY_REFUSAL: &str = "a recording: nothing is sent";

impl SessionPort for Replay {
    fn submit(&self, _action: Action) -> Result<String, ActionError> {
        Err(ActionError::Recorded(REPLAY_REFUSAL.to_string()))
    }

    fn logoff(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }

    fn step(&self) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match waiting.pop_front() {
            Some(entry) => {
                self.out
                    .publish_batch(std::iter::once(entry.event), entry.at);
                if waiting.is_empty() {
                    self.out.close();
                }
                true
            }
            None => false,
        }
    }
}

/// Turns a file's entries into the stream the TUI reads, at `pace`. `Pace::Speed`
/// publishes from a tokio task (call it inside the runtime).
pub fn replay(recording: crate::record::Recording, pace: Pace) -> (Replay, EventStream) {
    // Everything is already in memory: the queue must not drop any of it.
    let (out, stream) = session::queue::channel(usize::MAX / 2);
    let mut entries: VecDeque<session::Stamped> = recording.entries.into();
    match pace {
        Pace::AllAtOnce => {
            for entry in entries.drain(..) {
                out.publish_batch(std::iter::once(entry.event), entry.at);
            }
            out.close();
        }
        Pace::Speed(speed) => {
            let out = out.clone();
            let entries = std::mem::take(&mut entries);
            tokio::spawn(async move {
                let mut previous: Option<SystemTime> = None;
                for entry in entries {
                    if let Some(before) = previous {
                        let gap = entry.at.duration_since(before).unwrap_or_default();
                        let wait = gap.div_f64(speed);
                        if !wait.is_zero() {
                            tokio::time::sleep(wait).await;
                        }
                    }
                    previous = Some(entry.at);
                    out.publish_batch(std::iter::once(entry.event), entry.at);
                }
                out.close();
            });
        }
        Pace::Step => {
            if entries.is_empty() {
                out.close();
            }
        }
    }
    let port = Replay {
        waiting: std::sync::Mutex::new(entries),
        out,
    };
    (port, stream)
}

/// The App of `amicon open`: named after the file, the log focused, no confirmations
/// (nothing can be sent anyway).
pub fn replay_app(file: &str, no_color: bool, now: SystemTime) -> App {
    let options = AppOptions {
        target: file.to_string(),
        replay: Some(file.to_string()),
        no_color,
        ..AppOptions::default()
    };
    let mut app = App::new(options, now);
    app.focus = crate::app::Focus::Log;
    app
}

/// Why a file cannot be opened as AMI, if it cannot: empty, or not one AMI block in it.
pub fn not_ami(bytes: &[u8], recording: &crate::record::Recording) -> Option<&'static str> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Some("is empty: nothing to open")
    } else if !recording.is_ami() {
        Some(
            "is not AMI: it holds no `Action:`, `Response:` or `Event:` block \
             (an amicon recording starts with `#amicon-recording 1`)",
        )
    } else {
        None
    }
}

/// `amicon open FILE`: a recording or a plain AMI transcript in the TUI, without a
/// connection. Returns the exit code.
pub async fn run_open(args: &crate::cli::OpenArgs) -> i32 {
    let file = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("amicon open: cannot read {file}: {e}");
            return 2;
        }
    };
    let recording = crate::record::read(&bytes);
    if let Some(why) = not_ami(&bytes, &recording) {
        eprintln!("amicon open: {file} {why}");
        return 2;
    }
    let pace = match (args.speed, args.step) {
        (Some(_), true) => {
            eprintln!("amicon open: --speed and --step do not go together");
            return 2;
        }
        (Some(speed), false) if !(speed.is_finite() && speed > 0.0) => {
            eprintln!("amicon open: --speed must be a number above 0 (1 = real time)");
            return 2;
        }
        (Some(_), false) if !recording.timed => {
            eprintln!(
                "amicon open: --speed needs a recording with time stamps; {file} is a plain AMI transcript"
            );
            return 2;
        }
        (Some(speed), false) => Pace::Speed(speed),
        (None, true) => Pace::Step,
        (None, false) => Pace::AllAtOnce,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    // Output of several targets at once names its servers (each entry's is in the file).
    let names = recording.server_names();
    let title = if names.is_empty() {
        file.clone()
    } else {
        format!("{file} (servers: {})", names.join(", "))
    };
    let mut app = replay_app(&title, no_color, SystemTime::now());
    if pace != Pace::AllAtOnce {
        app.replay_total = Some(recording.entries.len());
    }
    let result = async {
        let shutdown = quit_signal();
        let guard = TerminalGuard::enter()?;
        let (port, stream) = replay(recording, pace);
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let mut app = app;
        let size = terminal.size()?;
        update(&mut app, Msg::Input(Event::Resize(size.width, size.height)));
        let input = crossterm::event::EventStream::new();
        let code = run_app(&mut terminal, app, &port, stream, input, shutdown, osc52).await;
        drop(terminal);
        drop(guard);
        code
    }
    .await;
    match result {
        // The session states inside a recording are history, not this run's outcome.
        Ok(_) => 0,
        Err(e) => {
            eprintln!("amicon open: {e}");
            2
        }
    }
}
