//! The command line, as clap reads it. Validation beyond shapes happens in the commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::scenario::Speed;
use crate::sink::SinkKind;

/// Declarative scenario runner: correlated, Avro-encoded Kafka traffic from a YAML file.
///
/// `simrun SCENARIO` is short for `simrun run SCENARIO`.
#[derive(Debug, Parser)]
#[command(name = "simrun", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: provision its topics and emit its events at the declared rates.
    Run(RunArgs),
    /// Show the resolved plan of a scenario: topics, funnel, stages and expected events.
    Plan(PlanArgs),
    /// Check scenario files and their schemas, reporting every problem.
    Validate(ValidateArgs),
    /// Generate records of one Avro schema into one topic, at a fixed interval.
    Gen(super::r#gen::GenArgs),
    /// Create, list or describe a scenario's topics on a Kafka cluster.
    Topics(super::topics::TopicsArgs),
    /// Print a topic's records as JSON Lines decoded from Avro.
    Tail(super::tail::TailArgs),
    /// Check what a run of a scenario left on Kafka: counts, partitions, funnel, schemas.
    Verify(super::verify::VerifyArgs),
}

/// Values that override the scenario file.
#[derive(Debug, Args, Clone, Default)]
pub struct OverrideArgs {
    /// Seed of every random choice; the same seed and start reproduce the same events.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Simulated time at the start, in RFC 3339 (2026-11-27T08:00:00Z).
    #[arg(long, value_parser = parse_start)]
    pub start: Option<chrono::DateTime<chrono::Utc>>,

    /// Simulated seconds per wall-clock second (1 = real time), or `max` for no waiting.
    #[arg(long, value_parser = parse_speed)]
    pub speed: Option<Speed>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,

    #[command(flatten)]
    pub overrides: OverrideArgs,

    /// Where records go. Defaults to `kafka` when a bootstrap server is known (flag,
    /// KAFKA_BOOTSTRAP_SERVERS, then the scenario), otherwise to `embedded`.
    #[arg(long, value_enum)]
    pub sink: Option<SinkKind>,

    /// Directory for `--sink avro-files`.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Kafka bootstrap servers, `host:port[,host:port...]`.
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        env = "KAFKA_BOOTSTRAP_SERVERS"
    )]
    pub bootstrap_server: Option<String>,

    /// A librdkafka producer property, `KEY=VALUE`; repeatable; overrides the scenario's.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    pub property: Vec<(String, String)>,

    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,

    /// Do not emit follow-ups that fall due after the last stage.
    #[arg(long)]
    pub no_drain: bool,

    /// Do not create the scenario's topics before producing to Kafka.
    #[arg(long)]
    pub no_create_topics: bool,

    /// Also write the run's report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,

    /// Seconds to wait at the end for the sink to acknowledge everything.
    #[arg(long, default_value_t = 60.0)]
    pub flush_timeout: f64,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The scenario file.
    pub scenario: PathBuf,

    #[command(flatten)]
    pub overrides: OverrideArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

fn parse_speed(text: &str) -> Result<Speed, String> {
    text.parse()
}

/// Reads an RFC 3339 time, as `--start` takes it.
pub fn parse_start(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&chrono::Utc))
        .map_err(|error| {
            format!("not an RFC 3339 time ({error}); write it like 2026-11-27T08:00:00Z")
        })
}

/// Reads `KEY=VALUE`.
pub fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE, e.g. -X linger.ms=20")),
    }
}

/// Inserts `run` when the first argument is a scenario path rather than a subcommand.
pub fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let command = Cli::command();
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return args;
    };
    let known = command
        .get_subcommands()
        .any(|c| c.get_name() == first || c.get_all_aliases().any(|a| a == first));
    if !known && !first.starts_with('-') && first != "help" {
        args.insert(1, "run".into());
    }
    args
}
