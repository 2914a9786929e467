//! The `simrun` command: argument handling, the commands, exit codes.
//!
//! Exit codes: 0 success, 1 a run failed (events not delivered), 2 an invalid scenario or
//! usage, 130 interrupted by Ctrl-C. Data goes to stdout; progress, summaries and errors to
//! stderr; diagnostics for debugging through `tracing` (`RUST_LOG=simrun=debug`).

pub mod args;
mod broker;
pub mod r#gen;
pub mod tail;
pub mod topics;
pub mod verify;

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;

use crate::plan::{self, Overrides};
use crate::report::Outcome;
use crate::run::{self, Resolved, RunOptions};
use crate::sink::SinkKind;
use args::{Cli, Command, OverrideArgs, PlanArgs, RunArgs, ValidateArgs};

/// Exit code of a run in which some events were not delivered.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of an invalid scenario or command line.
pub const EXIT_INVALID: u8 = 2;
/// Exit code after Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command line `args` (including the program name) and returns the exit code.
pub fn main_with_args(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args::with_default_command(args)) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_INVALID } else { 0 });
        }
    };
    init_logging();
    match cli.command {
        Command::Run(args) => run_command(args),
        Command::Plan(args) => plan_command(args),
        Command::Validate(args) => validate_command(args),
        Command::Gen(args) => r#gen::run(args),
        Command::Topics(args) => topics::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Verify(args) => verify::run(args),
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn overrides(args: &OverrideArgs) -> Overrides {
    Overrides {
        seed: args.seed,
        start: args.start,
        speed: args.speed,
    }
}

fn plan_command(args: PlanArgs) -> ExitCode {
    match plan::plan_file(&args.scenario, &overrides(&args.overrides)) {
        Ok(plan) => {
            print!("{}", plan::render::render(&plan));
            ExitCode::SUCCESS
        }
        Err(diagnostics) => {
            eprint!("{diagnostics}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn validate_command(args: ValidateArgs) -> ExitCode {
    let mut problems = 0;
    for path in &args.scenarios {
        match plan::plan_file(path, &Overrides::default()) {
            Ok(_) => eprintln!("{}: ok", path.display()),
            Err(diagnostics) => {
                eprint!("{diagnostics}");
                problems += diagnostics.len();
            }
        }
    }
    if problems == 0 {
        ExitCode::SUCCESS
    } else {
        let files = args.scenarios.len();
        eprintln!(
            "{problems} problem{} in {files} file{}",
            plural(problems),
            plural(files)
        );
        ExitCode::from(EXIT_INVALID)
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn run_command(args: RunArgs) -> ExitCode {
    let plan = match plan::plan_file(&args.scenario, &overrides(&args.overrides)) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            eprint!("{diagnostics}");
            return ExitCode::from(EXIT_INVALID);
        }
    };

    // A bootstrap server from the flag or the environment (clap reads both), else the scenario.
    let servers = args
        .bootstrap_server
        .clone()
        .or_else(|| plan.kafka.bootstrap_servers.clone());
    let sink = args.sink.unwrap_or(if servers.is_some() {
        SinkKind::Kafka
    } else {
        SinkKind::Embedded
    });
    if !(args.flush_timeout >= 0.0 && args.flush_timeout.is_finite()) {
        eprintln!("error: --flush-timeout must be a number of seconds, 0 or more");
        return ExitCode::from(EXIT_INVALID);
    }

    let stop = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(stop.clone());
    let options = RunOptions {
        sink,
        out: args.out.clone(),
        bootstrap_servers: servers,
        properties: args.property.clone(),
        max_events: args.max_events,
        drain: !args.no_drain,
        create_topics: !args.no_create_topics,
        progress: shows_progress(sink),
        flush_timeout: Duration::from_secs_f64(args.flush_timeout),
        stop,
    };

    let resolved = Resolved::of(&plan);
    eprintln!(
        "simrun: running {} (seed {}, start {}, speed {}) into the {} sink",
        plan.name,
        resolved.seed,
        resolved
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        plan.speed,
        sink
    );
    let report = match run::run(&plan, resolved, &options) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };

    let _ = std::io::stdout().flush();
    eprint!("{}", crate::report::summary::render(&report));
    if let Some(path) = &args.report {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(error) = written {
            eprintln!(
                "error: cannot write the report to {}: {error}",
                path.display()
            );
            return ExitCode::from(EXIT_FAILED);
        }
    }

    exit_code(report.failed(), report.outcome)
}

/// The exit code of a run or a `gen` that got as far as producing.
pub(crate) fn exit_code(failed: u64, outcome: Outcome) -> ExitCode {
    if failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else if outcome == Outcome::Interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Whether a run into `sink` draws a progress line: not when records go to the same terminal,
/// where the line would garble them.
pub(crate) fn shows_progress(sink: SinkKind) -> bool {
    !(sink == SinkKind::Stdout && std::io::stdout().is_terminal())
}

/// The first Ctrl-C stops generation and lets the run flush; a second one quits at once.
///
/// Returns once the handler is in place, so that a Ctrl-C however early is never the default
/// one that kills the process before it flushes.
fn install_interrupt_handler(stop: Arc<AtomicBool>) {
    use std::task::Poll;

    let (ready, in_place) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("simrun-signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                // Tokio installs the handler when the future is first polled.
                let mut first = std::pin::pin!(tokio::signal::ctrl_c());
                let polled = std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx))).await;
                let _ = ready.send(());
                let first = match polled {
                    Poll::Ready(result) => result,
                    Poll::Pending => first.await,
                };
                if first.is_ok() {
                    stop.store(true, Ordering::Relaxed);
                    eprintln!(
                        "\nsimrun: stopping; flushing what is in flight (Ctrl-C again to quit now)"
                    );
                }
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            });
        });
    match spawned {
        // `recv` fails only when the thread could not start its runtime: there is no handler.
        Ok(_) => {
            let _ = in_place.recv();
        }
        Err(error) => tracing::warn!(%error, "cannot watch for Ctrl-C"),
    }
}
