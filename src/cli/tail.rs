//! `simrun tail TOPIC`: a topic's records as JSON Lines, decoded from Avro, to look at what a run
//! produced or to pipe into `jq`.
//!
//! Each line is exactly what the stdout sink prints for the same record, so the output of
//! `simrun run --sink stdout` and of `simrun tail` after a Kafka run can be compared directly.
//! `--from-beginning` reads what the topic holds and stops at the end offsets it saw at start;
//! otherwise tail follows new records until Ctrl-C or `--max`.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use apache_avro::Schema;
use clap::{ArgGroup, Args};

use super::broker::{BootstrapArg, client_properties, load_plan};
use super::{EXIT_FAILED, EXIT_INVALID};
use crate::encoding::schema::load_schema;
use crate::kafka::consume::{ConsumedRecord, Next, Reader, StartAt};
use crate::plan::Plan;
use crate::sink::stdout::json_line;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("schema_source").required(true).args(["schema", "scenario"])))]
pub struct TailArgs {
    /// The Kafka topic to read.
    pub topic: String,

    /// The Avro schema file of the topic's values.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// A scenario file: the schema is that of its topic with this Kafka name.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Read from the oldest record the topic keeps, and stop at the end offsets seen at start.
    #[arg(long)]
    pub from_beginning: bool,

    /// Stop after this many records.
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,

    #[command(flatten)]
    pub kafka: BootstrapArg,
}

/// Runs `simrun tail` and returns the exit code.
pub fn run(args: TailArgs) -> ExitCode {
    let plan = match args.scenario.as_deref().map(load_plan).transpose() {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let schema = match schema(&args, plan.as_ref()) {
        Ok(schema) => schema,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_INVALID);
        }
    };

    let servers = args.kafka.resolve(plan.as_ref());
    let start = if args.from_beginning {
        StartAt::Beginning
    } else {
        StartAt::End
    };
    let reader = Reader::connect(&servers, &client_properties(plan.as_ref())).and_then(|mut r| {
        r.assign(&[args.topic.as_str()], start, args.from_beginning)?;
        Ok(r)
    });
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };

    let mut printer = Printer {
        topic: &args.topic,
        schema: &schema,
        out: BufWriter::new(io::stdout()),
        line: Vec::new(),
        undecodable: 0,
    };
    let max = args.max.unwrap_or(u64::MAX);
    let mut printed = 0u64;
    while printed < max {
        let next = match reader.next(Duration::from_millis(200)) {
            Ok(next) => next,
            Err(error) => {
                let _ = printer.out.flush();
                eprintln!("error: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let written = match next {
            Next::Record(record) => {
                printed += 1;
                let written = printer.print(&record);
                // A follower shows each record as it comes.
                if args.from_beginning {
                    written
                } else {
                    written.and_then(|()| printer.out.flush())
                }
            }
            Next::Idle => printer.out.flush(),
            Next::Done => break,
        };
        if written.is_err() {
            // The reader of stdout went away (`| head`): nothing more to do.
            return ExitCode::SUCCESS;
        }
    }
    let _ = printer.out.flush();

    if printer.undecodable > 0 {
        eprintln!(
            "error: {} of {printed} records of {} did not decode; check that the schema is the \
             one they were written with",
            printer.undecodable, args.topic
        );
        return ExitCode::from(EXIT_FAILED);
    }
    ExitCode::SUCCESS
}

/// The schema from `--schema`, or from the scenario topic with the Kafka name asked for.
fn schema(args: &TailArgs, plan: Option<&Plan>) -> Result<Schema, String> {
    if let Some(path) = &args.schema {
        return load_schema(path)
            .map(|loaded| loaded.schema)
            .map_err(|e| e.to_string());
    }
    let plan = plan.ok_or("give the topic's schema with --schema FILE or --scenario FILE")?;
    match plan.topics.iter().find(|t| t.name == args.topic) {
        Some(topic) => Ok(topic.schema.clone()),
        None => {
            let names: Vec<&str> = plan.topics.iter().map(|t| t.name.as_str()).collect();
            Err(format!(
                "scenario {} has no topic named {}; its topics are {}",
                plan.file.display(),
                args.topic,
                names.join(", ")
            ))
        }
    }
}

/// Renders records as the stdout sink does.
struct Printer<'a> {
    topic: &'a str,
    schema: &'a Schema,
    out: BufWriter<io::Stdout>,
    line: Vec<u8>,
    undecodable: u64,
}

impl Printer<'_> {
    /// Prints one record; one that does not decode is reported on stderr and skipped.
    fn print(&mut self, record: &ConsumedRecord) -> io::Result<()> {
        let rendered = json_line(
            &mut self.line,
            self.topic,
            self.schema,
            record.key.as_deref().unwrap_or_default(),
            record.timestamp_ms.unwrap_or(-1),
            record.value.as_deref().unwrap_or_default(),
        );
        if let Err(reason) = rendered {
            self.undecodable += 1;
            eprintln!(
                "error: {} partition {} offset {}: {reason}",
                self.topic, record.partition, record.offset
            );
            return Ok(());
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }
}
