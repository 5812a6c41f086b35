//! The rustyline side of line mode. rustyline blocks, so it runs on its own thread and
//! talks to the async side over channels: typed blocks and meta commands go out as
//! [`FromEditor`]; text to show comes in through [`Output`], printed above the prompt
//! by rustyline's external printer from one more thread (printing blocks too, and a
//! slow terminal must never stall the session).

use super::composer::{prompt, Composer, Meta, Step, META_COMMANDS};
use super::view::note;
use crate::complete::Catalog;
use crate::history::{line_has_secret, History};
use crate::templates;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, ExternalPrinter, Helper};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// What the editor thread asks of the async side.
#[derive(Debug)]
pub(super) enum FromEditor {
    /// A complete block to send.
    Block(String),
    Meta(Meta),
    /// Fetch `manager show command <action>` (the catalog already marked it pending).
    NeedHelp(String),
    Quit,
}

/// Text waiting for the terminal beyond this is not kept but counted: under an event
/// flood the session must keep reading even if the terminal cannot keep up. Small on
/// purpose: the editor thread does the printing, so whatever is queued must drain
/// through the terminal (a slow SSH link, say) before a keystroke is echoed.
const MAX_QUEUED_BYTES: usize = 256 * 1024;
/// One print call carries at most about this much, so one redraw covers many messages
/// and a keystroke waits for at most one chunk.
const MAX_PRINT_CHUNK: usize = 32 * 1024;

/// The way to the terminal: never blocks, bounded, counts what it had to drop.
#[derive(Clone, Debug)]
pub(super) struct Output {
    tx: std::sync::mpsc::Sender<String>,
    queued: Arc<AtomicUsize>,
    lost: Arc<AtomicU64>,
}

impl Output {
    pub(super) fn print(&self, text: String) {
        if text.is_empty() {
            return;
        }
        if self.queued.load(Ordering::Relaxed) > MAX_QUEUED_BYTES {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let lost = self.lost.swap(0, Ordering::Relaxed);
        let text = if lost > 0 {
            format!(
                "{}{text}",
                note(&format!(
                    "{lost} messages not shown: the terminal could not keep up"
                ))
            )
        } else {
            text
        };
        self.queued.fetch_add(text.len(), Ordering::Relaxed);
        // The printer thread only ends with the process; a failed send loses a line at exit.
        let _ = self.tx.send(text);
    }

    /// Waits (at most `limit`) until everything queued reached the terminal.
    pub(super) async fn flush(&self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        while self.queued.load(Ordering::Relaxed) > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

fn spawn_printer(mut print: impl FnMut(String) + Send + 'static) -> Output {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let queued = Arc::new(AtomicUsize::new(0));
    let output = Output {
        tx,
        queued: queued.clone(),
        lost: Arc::new(AtomicU64::new(0)),
    };
    let spawned = std::thread::Builder::new()
        .name("amicon-printer".into())
        .spawn(move || {
            while let Ok(mut chunk) = rx.recv() {
                while chunk.len() < MAX_PRINT_CHUNK {
                    match rx.try_recv() {
                        Ok(more) => chunk.push_str(&more),
                        Err(_) => break,
                    }
                }
                let len = chunk.len();
                print(chunk);
                queued.fetch_sub(len, Ordering::Relaxed);
            }
        });
    if let Err(e) = spawned {
        eprintln!("amicon: cannot start the output thread: {e}");
    }
    output
}

/// An [`Output`] that writes straight to stdout (before the editor exists, and for pipes).
pub(super) fn stdout_output() -> Output {
    spawn_printer(|text| {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    })
}

/// Completion for the editor: AMI from the shared [`Catalog`], `:` commands and template
/// names locally.
struct LineHelper {
    catalog: Arc<Mutex<Catalog>>,
    /// The lines of the block typed so far (the line being edited is not among them).
    block: Arc<Mutex<String>>,
    to_session: mpsc::UnboundedSender<FromEditor>,
    templates_dir: Option<PathBuf>,
}

fn pair(text: &str, description: &str) -> Pair {
    let description: String = description.chars().take(60).collect();
    let display = if description.is_empty() {
        text.to_string()
    } else {
        format!("{text:<24} {description}")
    };
    Pair {
        display,
        replacement: text.to_string(),
    }
}

impl Completer for LineHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        if let Some(meta) = before.trim_start().strip_prefix(':') {
            let start = pos - meta.len() - 1;
            if let Some(name) = meta
                .strip_prefix("template ")
                .or_else(|| meta.strip_prefix("t "))
            {
                let at = pos - name.len();
                let pairs = templates::list_with(self.templates_dir.as_deref())
                    .into_iter()
                    .filter(|t| t.name.starts_with(&name.to_ascii_lowercase()))
                    .map(|t| pair(&t.name, &t.description()))
                    .collect();
                return Ok((at, pairs));
            }
            let pairs = META_COMMANDS
                .iter()
                .filter(|(name, _)| name[1..].starts_with(meta))
                .map(|(name, what)| pair(name, what))
                .collect();
            return Ok((start, pairs));
        }
        let block = self.block.lock().map(|b| b.clone()).unwrap_or_default();
        let (text, line_index) = if block.is_empty() {
            (line.to_string(), 0)
        } else {
            (format!("{block}\n{line}"), block.lines().count())
        };
        let Ok(mut catalog) = self.catalog.lock() else {
            return Ok((pos, Vec::new()));
        };
        // Parameter names need the action's help: ask for it the first time it is wanted.
        if let Some(action) = block.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("Action")
                .then(|| v.trim().to_string())
        }) {
            if catalog.needs_help(&action) {
                let _ = self.to_session.send(FromEditor::NeedHelp(action));
            }
        }
        let completion = catalog.complete(&text, line_index, pos);
        let pairs = completion
            .candidates
            .iter()
            .map(|c| pair(&c.text, &c.description))
            .collect();
        Ok((completion.range.start, pairs))
    }
}

impl Hinter for LineHelper {
    type Hint = String;
}
impl Highlighter for LineHelper {}
impl Validator for LineHelper {}
impl Helper for LineHelper {}

/// What the editor thread needs.
pub(super) struct EditorSetup {
    pub catalog: Arc<Mutex<Catalog>>,
    /// The state word of the prompt (`reconnecting`), kept current by the async side.
    pub status: Arc<Mutex<&'static str>>,
    pub history: History,
    pub templates_dir: Option<PathBuf>,
    pub to_session: mpsc::UnboundedSender<FromEditor>,
    /// `--read-only`: blocks outside the read list are refused (`crate::safety`).
    pub read_only: bool,
}

/// Starts the editor thread; resolves to the [`Output`] that prints above its prompt.
pub(super) fn spawn(setup: EditorSetup) -> oneshot::Receiver<Output> {
    let (ready_tx, ready_rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("amicon-editor".into())
        .spawn(move || run_editor(setup, ready_tx));
    if let Err(e) = spawned {
        eprintln!("amicon: cannot start the line editor: {e}");
    }
    ready_rx
}

fn run_editor(setup: EditorSetup, ready: oneshot::Sender<Output>) {
    let EditorSetup {
        catalog,
        status,
        mut history,
        templates_dir,
        to_session,
        read_only,
    } = setup;
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .history_ignore_space(true)
        .build();
    let mut editor: Editor<LineHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("amicon: cannot start the line editor: {e}");
            let _ = to_session.send(FromEditor::Quit);
            return;
        }
    };
    let block_shared = Arc::new(Mutex::new(String::new()));
    editor.set_helper(Some(LineHelper {
        catalog: catalog.clone(),
        block: block_shared.clone(),
        to_session: to_session.clone(),
        templates_dir: templates_dir.clone(),
    }));
    // Up/Down recall single lines: fill the line history from the saved blocks.
    for block in history.entries() {
        for line in block.lines() {
            if !line.contains("***") {
                let _ = editor.add_history_entry(line);
            }
        }
    }
    let output = match editor.create_external_printer() {
        Ok(mut printer) => spawn_printer(move |text| {
            let _ = printer.print(text);
        }),
        Err(_) => stdout_output(),
    };
    let out = output.clone();
    if ready.send(output).is_err() {
        return;
    }

    let mut composer = Composer::new();
    let mut last_search: Vec<String> = Vec::new();
    loop {
        if let Ok(mut shared) = block_shared.lock() {
            *shared = composer.block();
        }
        let label = status.lock().map(|s| *s).unwrap_or("");
        let prompt = prompt(label, composer.action().as_deref());
        let read = match composer.next_pending() {
            Some(initial) => editor.readline_with_initial(&prompt, (&initial, "")),
            None => editor.readline(&prompt),
        };
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                if !composer.is_empty() {
                    out.print(note("block cleared"));
                }
                composer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => {
                if composer.is_empty() {
                    break;
                }
                composer.clear();
                out.print(note("block discarded; Ctrl-D again quits"));
                continue;
            }
            Err(e) => {
                out.print(note(&format!("terminal error: {e}")));
                break;
            }
        };
        let is_login = composer
            .action()
            .is_some_and(|a| a.eq_ignore_ascii_case("Login"));
        if !line.trim().is_empty() && !line_has_secret(&line, is_login) {
            let _ = editor.add_history_entry(line.as_str());
        }
        let step = match catalog.lock() {
            Ok(catalog) => composer.accept(&line, &catalog),
            Err(_) => composer.accept(&line, &Catalog::new()),
        };
        match step {
            Step::Added(Some(action)) => {
                let wanted = catalog.lock().is_ok_and(|mut c| c.needs_help(&action));
                if wanted {
                    let _ = to_session.send(FromEditor::NeedHelp(action));
                }
            }
            Step::Added(None) | Step::Nothing => {}
            Step::Notice(text) => out.print(note(&text)),
            Step::Send(block) => {
                if !safe_to_send(&mut editor, &block, &catalog, read_only, &out) {
                    continue;
                }
                if let Err(e) = history.add(&block) {
                    out.print(note(&format!("history not saved: {e}")));
                }
                if to_session.send(FromEditor::Block(block)).is_err() {
                    break;
                }
            }
            Step::Meta(Meta::Quit) => break,
            Step::Meta(Meta::Help) => out.print(help_text()),
            Step::Meta(Meta::Show) => {
                let block = composer.block();
                out.print(if block.is_empty() {
                    note("the block is empty")
                } else {
                    format!("{block}\n")
                });
            }
            Step::Meta(Meta::Template(None)) => {
                let list: String = templates::list_with(templates_dir.as_deref())
                    .iter()
                    .map(|t| note(&format!("{:<24} {}", t.name, t.description())))
                    .collect();
                out.print(list);
            }
            Step::Meta(Meta::Template(Some(name))) => {
                match templates::find(templates::list_with(templates_dir.as_deref()), &name) {
                    Some(t) => {
                        composer.load(&t.block());
                        out.print(note(&format!(
                            "template {} ({} lines): Enter accepts each line as shown or edited, then a blank line sends",
                            t.name,
                            t.lines().len()
                        )));
                    }
                    None => out.print(note(&format!("no template `{name}`; :template lists them"))),
                }
            }
            Step::Meta(Meta::History(text)) => {
                last_search = history
                    .search(&text)
                    .into_iter()
                    .take(20)
                    .map(str::to_string)
                    .collect();
                if last_search.is_empty() {
                    out.print(note("nothing in the history matches"));
                }
                let listing: String = last_search
                    .iter()
                    .enumerate()
                    .map(|(i, b)| note(&format!("{:>2}: {}", i + 1, b.replace('\n', " | "))))
                    .collect();
                out.print(listing);
            }
            Step::Meta(Meta::Recall(n)) => {
                match n.checked_sub(1).and_then(|i| last_search.get(i)) {
                    Some(block) => composer.load(block),
                    None => out.print(note("no such entry; :history lists them")),
                }
            }
            Step::Meta(meta) => {
                if to_session.send(FromEditor::Meta(meta)).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_session.send(FromEditor::Quit);
}

/// The one safety policy at a terminal: a read-only refusal is said, a block that
/// changes calls, configuration or the database is asked about once (`y` sends), naming
/// its channel and whether it is still up.
fn safe_to_send(
    editor: &mut Editor<LineHelper, DefaultHistory>,
    block: &str,
    catalog: &Arc<Mutex<Catalog>>,
    read_only: bool,
    out: &Output,
) -> bool {
    let Ok(action) = crate::ami::Action::parse_block(block) else {
        return true;
    };
    match crate::safety::assess(&action, read_only) {
        crate::safety::Verdict::Send => true,
        crate::safety::Verdict::Refuse(why) => {
            out.print(note(&why));
            false
        }
        crate::safety::Verdict::Confirm { why, channel } => {
            let target = channel.map(|c| {
                let live = catalog
                    .lock()
                    .is_ok_and(|cat| cat.channels().any(|name| name == c));
                if live {
                    format!("{c}: still up")
                } else {
                    crate::safety::describe_channel(&c, None)
                }
            });
            let question = format!("{}. Send it? [y/N] ", crate::safety::question(&why, target));
            let yes = editor
                .readline(&question)
                .is_ok_and(|answer| answer.trim().eq_ignore_ascii_case("y"));
            if !yes {
                out.print(note(
                    "not sent (the block is in the history: Up recalls its lines)",
                ));
            }
            yes
        }
    }
}

fn help_text() -> String {
    let mut text = String::new();
    text.push_str(&note(
        "Type `Key: Value` lines; a blank line sends the block. `Ping` alone means `Action: Ping`.",
    ));
    text.push_str(&note(
        "Tab completes actions, parameters and live values; Up/Down recall lines.",
    ));
    text.push_str(&note(
        "Ctrl-C clears the block; Ctrl-D on an empty block logs off and quits.",
    ));
    for (name, what) in META_COMMANDS {
        text.push_str(&note(&format!("{name:<11} {what}")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_terminal_loses_counted_lines_instead_of_memory() {
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let printed = Arc::new(Mutex::new(String::new()));
        let sink = printed.clone();
        let output = spawn_printer(move |text| {
            // The first print blocks until the test lets the "terminal" go on.
            let _ = release_rx.recv();
            sink.lock().unwrap().push_str(&text);
        });
        let line = "x".repeat(1023) + "\n";
        for _ in 0..(2 * MAX_QUEUED_BYTES / line.len()) {
            output.print(line.clone());
        }
        assert!(output.queued.load(Ordering::Relaxed) <= MAX_QUEUED_BYTES + line.len());
        let lost = output.lost.load(Ordering::Relaxed);
        assert!(lost > 0);
        for _ in 0..64 {
            let _ = release_tx.send(());
        }
        drop(release_tx);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while output.queued.load(Ordering::Relaxed) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        output.print("after\n".into());
        while output.queued.load(Ordering::Relaxed) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let text = printed.lock().unwrap();
        assert!(text.contains(&format!(
            "-- {lost} messages not shown: the terminal could not keep up\nafter\n"
        )));
    }

    fn helper(block: &str) -> (LineHelper, mpsc::UnboundedReceiver<FromEditor>) {
        let mut catalog = Catalog::new();
        catalog.learn_list_commands(&crate::ami::Message::from_headers(&[
            ("Response", "Success"),
            ("Originate", "Originate a call.  (Priv: originate,all)"),
            ("Ping", "Keepalive command.  (Priv: <none>)"),
            (
                "Command",
                "Execute Asterisk CLI Command.  (Priv: command,all)",
            ),
        ]));
        let (tx, rx) = mpsc::unbounded_channel();
        let helper = LineHelper {
            catalog: Arc::new(Mutex::new(catalog)),
            block: Arc::new(Mutex::new(block.to_string())),
            to_session: tx,
            templates_dir: None,
        };
        (helper, rx)
    }

    impl LineHelper {
        fn block_replaced(&self, block: &str) -> &Self {
            *self.block.lock().unwrap() = block.to_string();
            self
        }
    }

    fn complete(helper: &LineHelper, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        let (start, pairs) = helper.complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn tab_completes_meta_commands_and_template_names() {
        let (h, _rx) = helper("");
        assert_eq!(complete(&h, ":fo"), (0, vec![":format".to_string()]));
        let (start, names) = complete(&h, ":template origi");
        assert_eq!(start, 10);
        assert_eq!(names, vec!["originate", "originate-application"]);
    }

    #[test]
    fn tab_on_a_parameter_line_asks_for_the_actions_help_once() {
        let (h, mut rx) = helper("Action: Originate");
        let (start, names) = complete(&h, "Ac");
        assert_eq!(
            (start, names),
            (0, Vec::<String>::new()),
            "while the help loads nothing is inserted (no lone ActionID surprise)"
        );
        assert!(matches!(rx.try_recv(), Ok(FromEditor::NeedHelp(a)) if a == "Originate"));
        complete(&h, "Ch");
        assert!(rx.try_recv().is_err(), "the fetch is pending, not repeated");
        let (_, names) = complete(h.block_replaced(""), "Action: P");
        assert_eq!(names, vec!["Ping"]);
    }

    #[test]
    fn help_lists_every_meta_command() {
        let help = help_text();
        for (name, _) in META_COMMANDS {
            assert!(help.contains(name), "{name}");
        }
    }
}
