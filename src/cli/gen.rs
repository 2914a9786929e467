//! `simrun gen`: the command line of the single-topic generator, and its exit codes.
//!
//! The flags keep the short forms users know from the generator simrun replaces (`-t -s -k -i -c
//! -b`); the work is done by [`crate::generate`].

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use clap::Args;

use super::args::{parse_property, parse_start};
use super::{EXIT_FAILED, EXIT_INVALID, install_interrupt_handler};
use crate::generate::{GenSettings, Generator, WallClock, generate};
use crate::plan::{DEFAULT_KEY, DEFAULT_PARTITIONS, DEFAULT_REPLICATION_FACTOR};
use crate::run::{RunOptions, seed_from_clock};
use crate::sink::SinkKind;

/// How seeds and times behave, shown under `simrun gen --help`.
const SEEDS_AND_TIMES: &str = "\
Seeds and event times:
  --seed fixes every value: user and product ids, the keys and all random fields. Event times
  are not drawn: message i is stamped START + i x INTERVAL (its `timestamp` field where the type
  fits, and the Kafka record timestamp), where START is --start or else the time gen began;
  dates and times drawn for other fields lie near the event time and move with it. The same
  --seed and --start therefore give byte-identical records; the same --seed alone gives the
  same values at the current time. Without --seed a seed is picked and printed, so a run can be
  repeated. Messages leave on the same schedule: message i is due i x INTERVAL after the first.

Exit codes: 0 every message delivered, 1 some not delivered (or the destination failed),
2 a wrong command line or schema, 130 interrupted by Ctrl-C.

Example:
  simrun gen --topic product-clicks --schema schemas/product_clicks.avsc --key-field user_id \\
      --interval 0.5 --count 250";

/// Generate records of one Avro schema into one topic, at a fixed interval.
#[derive(Debug, Args)]
#[command(after_help = SEEDS_AND_TIMES)]
pub struct GenArgs {
    /// The destination topic, created if missing.
    #[arg(short = 't', long, value_name = "TOPIC")]
    pub topic: String,

    /// The Avro schema file (.avsc) of the records; its top level must be a record.
    #[arg(short = 's', long, value_name = "FILE")]
    pub schema: PathBuf,

    /// The field whose value is the record key: a top-level string, int or long field.
    #[arg(short = 'k', long, value_name = "FIELD", default_value = DEFAULT_KEY)]
    pub key_field: String,

    /// Seconds between two messages; fractions allowed, 0 for no waiting.
    #[arg(short = 'i', long, value_name = "SECONDS", default_value = "1.0",
        value_parser = parse_seconds, allow_negative_numbers = true)]
    pub interval: Duration,

    /// How many messages to produce.
    #[arg(short = 'c', long, value_name = "COUNT", default_value_t = 100)]
    pub count: u64,

    /// Kafka bootstrap servers, `host:port[,host:port...]`.
    #[arg(
        short = 'b',
        long = "bootstrap-server",
        value_name = "HOSTS",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "localhost:9092"
    )]
    pub bootstrap_server: String,

    /// Seed of every value; see "Seeds and event times" below.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Event time of the first message, in RFC 3339 (2026-11-27T08:00:00Z); default now.
    #[arg(long, value_name = "TIME", value_parser = parse_start)]
    pub start: Option<DateTime<Utc>>,

    /// Where records go.
    #[arg(long, value_enum, default_value_t = SinkKind::Kafka)]
    pub sink: SinkKind,

    /// Directory for `--sink avro-files`.
    #[arg(long, value_name = "DIR", required_if_eq("sink", "avro-files"))]
    pub out: Option<PathBuf>,

    /// Partitions of the topic when gen creates it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARTITIONS,
        value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: i32,

    /// Replication factor of the topic when gen creates it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REPLICATION_FACTOR,
        value_parser = clap::value_parser!(i32).range(1..))]
    pub replication_factor: i32,

    /// How many users there are: `user_id` fields take one of 1..=N (`user-N` in strings).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = population)]
    pub users: u64,

    /// How many products there are: `product_id` fields take one of 1..=N.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = population)]
    pub products: u64,

    /// A librdkafka producer property, `KEY=VALUE`; repeatable.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_property)]
    pub property: Vec<(String, String)>,

    /// Seconds to wait at the end for the sink to acknowledge everything.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    pub flush_timeout: Duration,
}

/// Runs `simrun gen` and returns the exit code.
pub fn run(args: GenArgs) -> ExitCode {
    let settings = GenSettings {
        topic: args.topic.clone(),
        key_field: args.key_field.clone(),
        interval: args.interval,
        count: args.count,
        users: args.users,
        products: args.products,
        seed: args.seed.unwrap_or_else(seed_from_clock),
        // Whole milliseconds, as Kafka timestamps have them, so the printed start replays exactly.
        start: args.start.unwrap_or_else(|| Utc::now().trunc_subsecs(3)),
        partitions: args.partitions,
        replication_factor: args.replication_factor,
    };
    let generator = match Generator::load(&args.schema, settings) {
        Ok(generator) => generator,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(stop.clone());
    let options = RunOptions {
        sink: args.sink,
        out: args.out.clone(),
        bootstrap_servers: Some(args.bootstrap_server.clone()),
        properties: args.property.clone(),
        progress: super::shows_progress(args.sink),
        flush_timeout: args.flush_timeout,
        stop,
        ..RunOptions::default()
    };
    let mut sink = match generator.open_sink(&options) {
        Ok(sink) => sink,
        Err(error) => {
            eprintln!("error: {error}");
            let code = if error.is_usage() {
                EXIT_INVALID
            } else {
                EXIT_FAILED
            };
            return ExitCode::from(code);
        }
    };

    let settings = generator.settings();
    eprintln!(
        "simrun: gen {} records of {} into {} (key {}) on {}\n  seed {}, start {}, interval {}s",
        settings.count,
        generator.record_name(),
        settings.topic,
        settings.key_field,
        sink.describe(),
        settings.seed,
        settings
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        settings.interval.as_secs_f64()
    );
    let report = generate(&generator, &options, sink.as_mut(), &mut WallClock::new());
    drop(sink);

    let _ = std::io::stdout().flush();
    eprint!("{}", report.summary());
    super::exit_code(report.failed(), report.outcome)
}

/// Reads a number of seconds, 0 or more, fractions allowed (`--interval`, `--flush-timeout`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds = text.trim().parse::<f64>().ok();
    seconds
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds: write 0 or more, like 0.5"))
}

/// Reads a population size: 1 to 2^31 - 1, so that ids fit in int fields too.
fn population(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(count) if (1..=i32::MAX as u64).contains(&count) => Ok(count),
        _ => Err(format!(
            "`{text}` is not a population size: write a whole number from 1 to {}",
            i32::MAX
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_fractions_and_zero_but_nothing_negative_or_infinite() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        for wrong in ["-1", "inf", "NaN", "soon", ""] {
            let error = parse_seconds(wrong).unwrap_err();
            assert!(
                error.contains("is not a number of seconds"),
                "{wrong}: {error}"
            );
        }
    }

    #[test]
    fn populations_fit_in_an_int() {
        assert_eq!(population("1000"), Ok(1000));
        assert!(population("0").is_err());
        assert!(population("2147483648").is_err());
        assert_eq!(population("2147483647"), Ok(2_147_483_647));
    }
}
