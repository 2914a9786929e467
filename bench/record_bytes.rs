//! Counts the records a scenario generates and their key and value bytes, as JSON on stdout.
//!
//! `make bench` compares simrun with Kafka's ProducerPerformance, which sends records of one
//! fixed size; it asks this program for the average size of simrun's records so that both
//! send the same bytes. The records go through the `null` sink exactly as in a run.
//!
//! usage: cargo run --release --example record-bytes -- SCENARIO

use std::path::PathBuf;
use std::process::ExitCode;

use simrun::plan::{Overrides, plan_file};
use simrun::run::{Resolved, RunOptions, drive};
use simrun::sink::null::NullSink;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("error: no scenario given; usage: record-bytes SCENARIO");
        return ExitCode::from(2);
    };
    let plan = match plan_file(&path, &Overrides::default()) {
        Ok(plan) => plan,
        Err(problems) => {
            eprintln!("{problems}");
            return ExitCode::from(2);
        }
    };
    let mut sink = NullSink::new(plan.topics.len());
    let report = drive(
        &plan,
        Resolved::of(&plan),
        &RunOptions::default(),
        &mut sink,
    );
    println!(
        "{{\"events\": {}, \"bytes\": {}}}",
        report.events,
        sink.bytes()
    );
    ExitCode::SUCCESS
}
