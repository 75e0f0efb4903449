//! `mailprov`: a thin binary. Parses the command line, sets up logging,
//! runs the library, prints the whole error chain and sets the exit code
//! (0 all applied, 1 a file rejected or failed, 2 command or config wrong).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match mailprov::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match mailprov::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mailprov: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
