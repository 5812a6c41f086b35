//! The `amicon` binary: parse the command line, run the chosen mode on a tokio runtime,
//! exit with its code. Everything else lives in the library.

use amicon::cli::{Cli, Command};
use amicon::cmd;

fn main() {
    let cli = Cli::parse_args();
    let code = match cli.command {
        Some(Command::Send(args)) => block_on(cmd::send::run(args)),
        Some(Command::Watch(args)) => block_on(cmd::watch::run(args)),
        None if cli.line => block_on(amicon::line::run_cli(&cli.connect)),
        // Wired by the lead at merge time (TUI and line mode live in other branches).
        None => {
            eprintln!("amicon: the terminal UI and --line mode are not wired yet in this build; use `amicon send` or `amicon watch`");
            cmd::EXIT_USAGE
        }
    };
    std::process::exit(code);
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
