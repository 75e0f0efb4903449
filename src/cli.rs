//! The command line: `run`, `process`, `check`. Setup errors are returned
//! to `main` (exit 2); processing results become exit codes 0 and 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{Config, Secrets};
use crate::pipeline::{FileResult, Pipeline};
use crate::report::Status;

/// Keeps a city's official mail accounts in step with approved request files.
#[derive(Parser, Debug)]
#[command(name = "mailprov", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Watch the inbox and process files until SIGTERM/SIGINT.
    Run {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the pipeline on these files (copied in, in the order given), then exit.
    Process {
        #[arg(long)]
        config: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Approve held files (more locks/deletions than [safety] max_destructive) and process them.
    Approve {
        #[arg(long)]
        config: PathBuf,
        /// File names in held/ (or paths to them).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show what waits: files in processing/ and held/, mails in the outbox, the daemon.
    Status {
        #[arg(long)]
        config: PathBuf,
    },
    /// Parse, validate and plan these files against the live directory; change nothing.
    Check {
        #[arg(long)]
        config: PathBuf,
        /// Print one JSON array of reports instead of text.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

/// Exit code for "a file was rejected or failed".
const FILE_NOT_APPLIED: u8 = 1;

fn load(config: &Path) -> anyhow::Result<(Config, Secrets)> {
    let c = Config::load(config)
        .with_context(|| format!("invalid configuration {}", config.display()))?;
    let s =
        Secrets::load(&c).with_context(|| format!("invalid configuration {}", config.display()))?;
    Ok((c, s))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Runs a parsed command line. `Err` means the command or configuration
/// was wrong (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config } => {
            let (c, s) = load(&config)?;
            let rt = runtime()?;
            rt.block_on(async {
                let pipeline = Pipeline::new(c, s).context("cannot start")?;
                let _lock = pipeline.spool().lock()?;
                crate::intake::run_daemon(&pipeline, shutdown_signal())
                    .await
                    .context("the inbox watcher failed")?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Process { config, paths } => {
            let (c, s) = load(&config)?;
            for p in &paths {
                if !p.is_file() {
                    anyhow::bail!("{} is not a file", p.display());
                }
            }
            let rt = runtime()?;
            rt.block_on(async {
                let pipeline = Pipeline::new(c, s).context("cannot start")?;
                let _lock = pipeline.spool().lock()?;
                let mut claimed = Vec::new();
                for p in &paths {
                    let c = pipeline
                        .spool()
                        .copy_in(p)
                        .with_context(|| format!("cannot copy {} into the spool", p.display()))?;
                    claimed.push((p.clone(), c));
                }
                let all_applied = process_in_order(&pipeline, &claimed).await;
                // Mails queued by an unreachable relay get one more try.
                let (_, waiting) = pipeline.flush_outbox().await;
                if waiting > 0 {
                    println!(
                        "{waiting} confirmation(s) wait in the outbox; `mailprov run` retries them"
                    );
                }
                Ok(if all_applied {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(FILE_NOT_APPLIED)
                })
            })
        }
        Command::Approve { config, files } => {
            let (c, s) = load(&config)?;
            let rt = runtime()?;
            rt.block_on(async {
                let pipeline = Pipeline::new(c, s).context("cannot start")?;
                let mut approved = Vec::new();
                for f in &files {
                                        // The name in held/, or the name the file had in the inbox.
                    let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    let mut held = pipeline.spool().held.join(&name);
                    if !held.is_file() {
                        let matching: Vec<PathBuf> = std::fs::read_dir(&pipeline.spool().held)
                            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|p: &PathBuf| !p.to_string_lossy().ends_with(".report.txt"))
                            .filter(|p| crate::intake::Spool::original_name(p) == name)
                            .collect();
                        anyhow::ensure!(matching.len() <= 1, "several held files were named {name}; give the name shown by `mailprov status`");
                        if let Some(p) = matching.into_iter().next() {
                            held = p;
                        }
                    }
                    anyhow::ensure!(
                        held.is_file(),
                        "{} is not in {}",
                        f.display(),
                        pipeline.spool().held.display()
                    );
                    approved.push(
                        pipeline
                            .approve(&held)
                            .with_context(|| format!("cannot approve {}", held.display()))?,
                    );
                }
                // Processed now unless a daemon holds the spool (it will).
                let Ok(_lock) = pipeline.spool().lock() else {
                    println!("approved; the running daemon processes the file(s)");
                    return Ok(ExitCode::SUCCESS);
                };
                let approved: Vec<(PathBuf, PathBuf)> =
                    approved.into_iter().map(|p| (p.clone(), p)).collect();
                let all_applied = process_in_order(&pipeline, &approved).await;
                Ok(if all_applied {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(FILE_NOT_APPLIED)
                })
            })
        }
        Command::Status { config } => {
            let c = Config::load(&config)
                .with_context(|| format!("invalid configuration {}", config.display()))?;
            print!("{}", crate::status::status(&c));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            config,
            paths,
            json,
        } => {
            let (c, s) = load(&config)?;
            let rt = runtime()?;
            rt.block_on(async {
                let pipeline = Pipeline::read_only(c, s).context("cannot start")?;
                let mut all_ok = true;
                let mut reports = Vec::new();
                for p in &paths {
                    match pipeline.check(p).await {
                        Ok(report) => {
                            all_ok &= report.ok;
                            if !json {
                                print!("{}", report.text());
                            }
                            reports.push(report);
                        }
                        Err(e) => {
                            // The directory is needed to plan: no partial answer.
                            return Err(anyhow::Error::new(e)
                                .context(format!("cannot plan {}", p.display())));
                        }
                    }
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&reports)?);
                }
                Ok(if all_ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(FILE_NOT_APPLIED)
                })
            })
        }
    }
}

/// Runs the pipeline on files already in processing/, in order, printing
/// where each went (`shown` is the name the officer gave). Returns whether
/// every one was applied.
async fn process_in_order(pipeline: &Pipeline, files: &[(PathBuf, PathBuf)]) -> bool {
    let mut all_applied = true;
    for (shown, claimed) in files {
        match pipeline.process(claimed).await {
            FileResult::Filed { status, path } => {
                println!(
                    "{}: {} -> {}",
                    shown.display(),
                    status_word(status),
                    path.display()
                );
                all_applied &= status == Status::Applied;
            }
            FileResult::Deferred { reason } => {
                println!(
                    "{}: not processed, left in {} ({reason})",
                    shown.display(),
                    claimed.display()
                );
                all_applied = false;
            }
        }
    }
    all_applied
}

fn status_word(s: Status) -> &'static str {
    s.word()
}
