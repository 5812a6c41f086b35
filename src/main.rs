//! The `amicon` binary: parse the command line, run the chosen mode on a tokio runtime,
//! exit with its code. Everything else lives in the library.

use amicon::cli::{Cli, Command};
use amicon::cmd;

// The session task allocates each message and the front end frees it on another
// thread; glibc's malloc serialises that on an arena lock (seen in perf under floods).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse_args();
    if let Some(path) = &cli.log {
        if let Err(e) = amicon::debug_log::init(path) {
            eprintln!("amicon: {e}");
            std::process::exit(cmd::EXIT_USAGE);
        }
    }
    let code = match cli.command {
        Some(Command::Send(args)) => block_on(cmd::send::run(args)),
        Some(Command::Watch(args)) => block_on(cmd::watch::run(args)),
        Some(Command::Show(args)) => block_on(cmd::show::run(args.what)),
        Some(Command::Demo(args)) => block_on(demo(args)),
        Some(Command::Open(args)) => block_on(amicon::tui::run_open(&args)),
        Some(Command::Serve(args)) => block_on(async move {
            match amicon::demo::serve(args).await {
                Ok(()) => cmd::EXIT_OK,
                Err(e) => {
                    eprintln!("amicon serve: {e}");
                    cmd::EXIT_CANNOT_CONNECT
                }
            }
        }),
        Some(Command::Completions(args)) => print_completions(args.shell),
        Some(Command::Man) => print_man_page(),
        None if cli.line => block_on(amicon::line::run_cli(&cli.connect, cli.record)),
        None => block_on(amicon::tui::run_cli(&cli.connect, cli.record)),
    };
    tracing::info!(exit_code = code, "amicon exits");
    std::process::exit(code);
}

/// `amicon completions SHELL`: the shell's completion script, from the same clap
/// definition that parses the command line.
fn print_completions(shell: clap_complete::Shell) -> i32 {
    let mut command = Cli::command();
    // Into a buffer: clap_complete panics on a write error, and stdout may be a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "amicon", &mut script);
    print_all(&script, "completions")
}

/// `amicon man`: the man page (roff) for `man -l -` or a package's man1 folder.
fn print_man_page() -> i32 {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("amicon man: {e}");
        return cmd::EXIT_USAGE;
    }
    print_all(&page, "man")
}

/// Writes generated text to stdout; a reader that stopped early (`| head`) is no error.
fn print_all(bytes: &[u8], what: &str) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => cmd::EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => cmd::EXIT_OK,
        Err(e) => {
            eprintln!("amicon {what}: cannot write to stdout: {e}");
            cmd::EXIT_USAGE
        }
    }
}

/// `amicon demo`: start the simulated PBX in this process and open a console on it.
async fn demo(args: amicon::cli::DemoArgs) -> i32 {
    if !args.line && !amicon::tui::has_terminal() {
        eprintln!("amicon demo: {}", amicon::tui::NO_TERMINAL);
        return cmd::EXIT_USAGE;
    }
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        eprintln!("amicon demo: --rate must be a number of calls per second, 0 or more");
        return cmd::EXIT_USAGE;
    }
    let mut options = amicon::demo::DemoOptions {
        calls_per_second: args.rate,
        ..Default::default()
    };
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    let server = match amicon::demo::start(options).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("amicon demo: cannot start the simulated PBX: {e}");
            return cmd::EXIT_CANNOT_CONNECT;
        }
    };
    let config = server.session_config();
    let result = if args.line {
        let options = amicon::line::LineOptions {
            record: args.record.clone(),
            ..Default::default()
        };
        amicon::line::run(config, options).await
    } else {
        let options = amicon::tui::TuiOptions {
            record: args.record.clone(),
            ..Default::default()
        };
        amicon::tui::run(config, options).await
    };
    server.shutdown().await;
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("amicon demo: {e}");
            cmd::EXIT_CANNOT_CONNECT
        }
    }
}

fn block_on(mode: impl std::future::Future<Output = i32>) -> i32 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => {
            let code = runtime.block_on(mode);
            // Do not wait for a session task stuck on a dead peer.
            runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            code
        }
        Err(e) => {
            eprintln!("amicon: cannot start the async runtime: {e}");
            cmd::EXIT_CANNOT_CONNECT
        }
    }
}
