//! Every committed scenario: its plan and first events as snapshots, and a whole run checked
//! from the records alone: order, correlation, funnel ratios, stage rates and determinism.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use simrun::encoding::json::JsonRenderer;
use simrun::plan::{Overrides, Plan, plan_file};
use simrun::run::{Resolved, RunOptions, drive};
use simrun::scenario::Speed;
use simrun::sim::Simulation;
use simrun::sink::stdout::{JsonLinesSink, StdoutTopic};

/// Scenarios without a `start` run from this instant in tests.
const TEST_START: &str = "2026-01-05T09:00:00Z";

fn committed_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .expect("the scenarios directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "black-friday, smoke and at least two more"
    );
    files
}

fn stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("a file name")
}

/// Plans a scenario at speed max, from its own start or the test start.
fn plan_at_full_speed(path: &Path) -> Plan {
    let mut overrides = Overrides {
        speed: Some(Speed::Max),
        ..Overrides::default()
    };
    let plan =
        plan_file(path, &overrides).unwrap_or_else(|d| panic!("{} plans:\n{d}", path.display()));
    if plan.start.is_some() {
        return plan;
    }
    overrides.start = Some(TEST_START.parse::<DateTime<Utc>>().expect("a valid time"));
    plan_file(path, &overrides).expect("plans")
}

fn resolved(plan: &Plan) -> Resolved {
    Resolved {
        seed: plan.seed.expect("committed scenarios fix their seed"),
        start: plan.start.expect("a start"),
    }
}

/// The stdout sink's output for a run, stopped after `max_events` if given.
fn stdout_stream(plan: &Plan, max_events: Option<u64>) -> String {
    let topics = plan
        .topics
        .iter()
        .map(|t| StdoutTopic {
            name: &t.name,
            schema: &t.schema,
        })
        .collect();
    let mut sink = JsonLinesSink::new(topics, Vec::new());
    let options = RunOptions {
        max_events,
        ..RunOptions::default()
    };
    let report = drive(plan, resolved(plan), &options, &mut sink);
    assert_eq!(report.failed(), 0);
    String::from_utf8(sink.into_inner().expect("in-memory writes succeed")).expect("UTF-8 JSON")
}

#[test]
fn plans_of_committed_scenarios_are_stable() {
    for path in committed_scenarios() {
        let plan = plan_file(&path, &Overrides::default()).expect("committed scenarios plan");
        insta::assert_snapshot!(
            format!("plan-{}", stem(&path)),
            simrun::plan::render::render(&plan)
        );
    }
}

#[test]
fn first_events_of_committed_scenarios_are_stable() {
    for path in committed_scenarios() {
        let plan = plan_at_full_speed(&path);
        let lines = stdout_stream(&plan, Some(12));
        assert_eq!(lines.lines().count(), 12);
        insta::assert_snapshot!(format!("first-events-{}", stem(&path)), lines);
    }
}

/// One decoded record of a whole run.
struct Observed {
    step: usize,
    timestamp_ms: i64,
    user: String,
    product: u64,
}

#[test]
fn whole_runs_are_ordered_correlated_and_true_to_ratios_and_rates() {
    for path in committed_scenarios() {
        let plan = plan_at_full_speed(&path);
        let name = stem(&path);
        let start_ms = resolved(&plan).start.timestamp_millis();

        // Every record, decoded from its bytes: the user from the key, the product from the value.
        let renderers: Vec<JsonRenderer<'_>> = plan
            .topics
            .iter()
            .map(|t| JsonRenderer::new(&t.schema).expect("renders"))
            .collect();
        let mut simulation = Simulation::new(
            &plan,
            resolved(&plan).seed,
            resolved(&plan).start_ns(),
            true,
        );
        let mut records = Vec::new();
        while let Some(event) = simulation.next_event() {
            let encoded = simulation.encoded();
            let value = renderers[event.topic]
                .render(&encoded.value)
                .expect("every value decodes");
            let user = String::from_utf8(encoded.key.clone()).expect("UTF-8 key");
            assert_eq!(
                value["user_id"].as_str(),
                Some(user.as_str()),
                "{name}: the key is the user"
            );
            let product = value["product_id"].as_u64().expect("a product id");
            assert!((1..=plan.products.count).contains(&product));
            assert_eq!(value["timestamp"].as_i64(), Some(event.timestamp_ms));
            records.push(Observed {
                step: event.step,
                timestamp_ms: event.timestamp_ms,
                user,
                product,
            });
        }

        // Simulated-time order across all topics.
        assert!(
            records
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms),
            "{name}: ordered"
        );

        // Every follow-up has an earlier, unused parent of the previous step, same user and product.
        let steps = plan.funnel.len();
        let stages = plan.load.stages.len();
        let stage_of = |ms: i64| {
            let seconds = (ms - start_ms) as f64 / 1000.0;
            (seconds < plan.load.duration()).then(|| plan.load.stage_at(seconds))
        };
        let mut waiting: Vec<HashMap<(String, u64), VecDeque<i64>>> = vec![HashMap::new(); steps];
        let mut parents = vec![vec![0u64; stages + 1]; steps];
        let mut children = vec![0u64; steps];
        for record in &records {
            if record.step > 0 {
                let key = (record.user.clone(), record.product);
                let parent = waiting[record.step - 1]
                    .get_mut(&key)
                    .and_then(VecDeque::pop_front);
                let parent = parent.unwrap_or_else(|| {
                    panic!("{name}: a step {} record has no parent", record.step)
                });
                assert!(parent <= record.timestamp_ms);
                children[record.step] += 1;
            }
            let stage = stage_of(record.timestamp_ms).unwrap_or(stages);
            parents[record.step][stage] += 1;
            waiting[record.step]
                .entry((record.user.clone(), record.product))
                .or_default()
                .push_back(record.timestamp_ms);
        }

        // Funnel ratios: achieved against what the ratios of the parents' stages predict.
        for step in 1..steps {
            let parent_count: u64 = parents[step - 1].iter().sum();
            let expected: f64 = (0..=stages)
                .map(|stage| {
                    let ratio = if stage == stages {
                        plan.funnel[step].ratio
                    } else {
                        plan.ratio(step, stage)
                    };
                    parents[step - 1][stage] as f64 * ratio
                })
                .sum::<f64>()
                / parent_count as f64;
            let achieved = children[step] as f64 / parent_count as f64;
            let error = (expected * (1.0 - expected) / parent_count as f64).sqrt();
            assert!(
                (achieved - expected).abs() <= 4.0 * error,
                "{name}: step {step} ratio {achieved:.4} against {expected:.4} ± {error:.4}"
            );
        }

        // Stage rates: first-step events per stage against the integral of the rate.
        for (index, stage) in plan.load.stages.iter().enumerate() {
            let count = parents[0][index] as f64;
            let expected = stage.expected_events();
            let tolerance = 4.0 * expected.sqrt() + 2.0;
            assert!(
                (count - expected).abs() <= tolerance,
                "{name}: stage {} has {count}, planned {expected}",
                index + 1
            );
        }
    }
}

#[test]
fn the_same_seed_and_start_give_a_byte_identical_stdout_stream() {
    for scenario in ["scenarios/black-friday.yaml", "scenarios/smoke.yaml"] {
        let run = || {
            let output = Command::new(env!("CARGO_BIN_EXE_simrun"))
                .args([
                    scenario, "--sink", "stdout", "--speed", "max", "--start", TEST_START,
                ])
                .output()
                .expect("simrun runs");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        };
        let first = run();
        let second = run();
        assert!(first.len() > 10_000, "{scenario}: a real stream");
        assert!(first == second, "{scenario}: two runs differ");
    }
}

#[test]
fn a_run_cut_short_is_a_prefix_of_the_full_run() {
    let plan = plan_at_full_speed(Path::new("scenarios/smoke.yaml"));
    let full = stdout_stream(&plan, None);
    let cut = stdout_stream(&plan, Some(100));
    assert_eq!(cut.lines().count(), 100);
    assert!(full.starts_with(&cut));
}
