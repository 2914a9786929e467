//! `simrun verify SCENARIO`: reads back what a run of the scenario left on Kafka and checks it,
//! one line per check on stdout, a summary on stderr, exit code 1 when a check fails.
//!
//! The checks themselves live in [`crate::kafka::verify`]; this command only gathers the records.
//! With `--report FILE`, reading starts at the run's start time (Kafka's time index finds the
//! offset), so topics holding many runs are not read from their beginning.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::broker::{BootstrapArg, client_properties, load_plan};
use super::{EXIT_FAILED, EXIT_INVALID};
use crate::kafka::consume::{ConsumeError, ConsumedRecord, Reader, StartAt};
use crate::kafka::verify::{Input, RunFacts, Status, verify};
use crate::plan::Plan;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The scenario file of the run.
    pub scenario: PathBuf,

    /// The run's report (`simrun run --report FILE`): counts to compare with, and the time
    /// window that tells its records from other runs' records.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub kafka: BootstrapArg,
}

/// Runs `simrun verify` and returns the exit code.
pub fn run(args: VerifyArgs) -> ExitCode {
    let plan = match load_plan(&args.scenario) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let facts = match args.report.as_deref().map(RunFacts::read).transpose() {
        Ok(facts) => facts,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let start = match facts.as_ref().map(RunFacts::window).transpose() {
        Ok(window) => window.map_or(StartAt::Beginning, |w| StartAt::Time(w.from_ms)),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };

    // Every partition of every topic, up to the end offsets seen now.
    let servers = args.kafka.resolve(Some(&plan));
    let began = Instant::now();
    let (records, partitions) = match read(&plan, &servers, start) {
        Ok(read) => read,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let read_seconds = began.elapsed().as_secs_f64();

    let input = Input {
        plan: &plan,
        records: &records,
        partitions: &partitions,
        run: facts.as_ref(),
    };
    let checks = match verify(&input) {
        Ok(checks) => checks,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    for check in &checks {
        println!("{check}");
    }

    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let failed = count(Status::Failed);
    eprintln!(
        "simrun: {} checks: {} ok, {failed} failed, {} skipped ({} records read from {servers} \
         in {read_seconds:.1}s)",
        checks.len(),
        count(Status::Ok),
        count(Status::Skipped),
        records.iter().map(Vec::len).sum::<usize>(),
    );
    if failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The records of each plan topic, and each topic's partition count on the cluster.
fn read(
    plan: &Plan,
    servers: &str,
    start: StartAt,
) -> Result<(Vec<Vec<ConsumedRecord>>, Vec<i32>), ConsumeError> {
    let mut reader = Reader::connect(servers, &client_properties(Some(plan)))?;
    let names: Vec<&str> = plan.topics.iter().map(|t| t.name.as_str()).collect();
    let partitions = names
        .iter()
        .map(|name| reader.partitions(name))
        .collect::<Result<Vec<i32>, _>>()?;
    reader.assign(&names, start, true)?;

    let mut by_topic = vec![Vec::new(); names.len()];
    for record in reader.read_to_end()? {
        if let Some(index) = names.iter().position(|name| *name == record.topic) {
            by_topic[index].push(record);
        }
    }
    Ok((by_topic, partitions))
}
