//! The checks on records made in memory: a run driven into a sink that keeps every record, placed
//! in partitions the way the producer places them, then tampered with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::plan::{Overrides, plan_file};
use crate::run::{Resolved, RunOptions, drive};
use crate::sink::{Record, Sink, SinkError, TopicDelivery};

/// Keeps every record it is handed, as `(topic, key, value, timestamp)`.
#[derive(Default)]
struct Keeper {
    topics: usize,
    records: Vec<(usize, Vec<u8>, Vec<u8>, i64)>,
}

impl Sink for Keeper {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let kept = (
            record.topic,
            record.key.to_vec(),
            record.value.to_vec(),
            record.timestamp_ms,
        );
        self.records.push(kept);
        Ok(())
    }

    fn idle(&mut self, _wait: Duration) {}

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        (0..self.topics)
            .map(|topic| {
                let count = self.records.iter().filter(|r| r.0 == topic).count() as u64;
                TopicDelivery {
                    produced: count,
                    acknowledged: count,
                    failed: Default::default(),
                }
            })
            .collect()
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Two stages; in the second, four times as many clicks go on to a cart.
fn scenario(dir: &Path) -> PathBuf {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let schemas = schemas.display();
    let text = format!(
        r#"
name: verify-test
seed: 11
start: 2026-01-01T00:00:00Z
speed: max
topics:
  clicks: {{ name: t-clicks, schema: {schemas}/product_clicks.avsc, partitions: 3 }}
  carts: {{ name: t-carts, schema: {schemas}/cart_adds.avsc, partitions: 4 }}
  purchases: {{ name: t-purchases, schema: {schemas}/purchases.avsc, partitions: 2 }}
users: {{ count: 300 }}
products: {{ count: 40, price: {{ uniform: {{ min: 1.0, max: 9.0 }} }} }}
funnel:
  - step: click
    topic: clicks
  - step: cart
    topic: carts
    ratio: 0.2
    delay: {{ exponential: {{ mean: 500ms }}, max: 2s }}
  - step: purchase
    topic: purchases
    ratio: 0.5
    delay: {{ uniform: {{ min: 10ms, max: 1s }} }}
fields:
  carts:
    quantity: {{ uniform_int: {{ min: 1, max: 3 }} }}
  purchases:
    quantity: {{ from: cart.quantity }}
    unit_price: product.price
    order_id: uuid
load:
  stages:
    - {{ duration: 4s, rate: 200 }}
    - {{ duration: 3s, rate: 200, ratios: {{ cart: 0.8 }} }}
"#
    );
    let path = dir.join("verify-test.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A planned scenario, the records of one run of it by topic, and the run's report.
struct Fixture {
    _dir: tempfile::TempDir,
    plan: Plan,
    records: Vec<Vec<ConsumedRecord>>,
    run: RunFacts,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let plan = match plan_file(&scenario(dir.path()), &Overrides::default()) {
            Ok(plan) => plan,
            Err(diagnostics) => panic!("the test scenario does not plan:\n{diagnostics}"),
        };
        let mut keeper = Keeper {
            topics: plan.topics.len(),
            records: Vec::new(),
        };
        let report = drive(
            &plan,
            Resolved::of(&plan),
            &RunOptions::default(),
            &mut keeper,
        );
        let run: RunFacts = serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap();

        // Each record where the producer puts it, with offsets counting up per partition.
        let mut records = vec![Vec::new(); plan.topics.len()];
        let mut offsets: HashMap<(usize, i32), i64> = HashMap::new();
        for (topic, key, value, timestamp_ms) in keeper.records {
            let partition = partition_for(&key, plan.topics[topic].partitions);
            let offset = offsets.entry((topic, partition)).or_default();
            records[topic].push(ConsumedRecord {
                topic: plan.topics[topic].name.clone(),
                partition,
                offset: *offset,
                key: Some(key),
                timestamp_ms: Some(timestamp_ms),
                value: Some(value),
            });
            *offset += 1;
        }
        Fixture {
            _dir: dir,
            plan,
            records,
            run,
        }
    }

    fn partitions(&self) -> Vec<i32> {
        self.plan.topics.iter().map(|t| t.partitions).collect()
    }

    fn check(&self, run: Option<&RunFacts>) -> Vec<Check> {
        let partitions = self.partitions();
        let input = Input {
            plan: &self.plan,
            records: &self.records,
            partitions: &partitions,
            run,
        };
        verify(&input).unwrap()
    }

    /// Appends a copy of a record to the end of its partition.
    fn append(&mut self, topic: usize, mut record: ConsumedRecord) {
        let last = self.records[topic]
            .iter()
            .filter(|r| r.partition == record.partition)
            .map(|r| r.offset)
            .max();
        record.offset = last.map_or(0, |o| o + 1);
        self.records[topic].push(record);
    }
}

fn failed(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == Status::Failed)
        .map(|c| format!("{} {}", c.kind, c.subject))
        .collect()
}

#[test]
fn a_faithful_copy_of_a_run_passes_every_check() {
    let fixture = Fixture::new();
    let checks = fixture.check(Some(&fixture.run));
    let lines: Vec<String> = checks.iter().map(ToString::to_string).collect();
    assert!(fixture.records.iter().all(|r| !r.is_empty()));
    assert_eq!(checks.len(), 3 * 3 + 2 * 2, "{lines:#?}");
    assert!(checks.iter().all(|c| c.status == Status::Ok), "{lines:#?}");
}

#[test]
fn without_a_report_counts_are_skipped_and_everything_else_checked() {
    let fixture = Fixture::new();
    let checks = fixture.check(None);
    let skipped: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Skipped)
        .map(|c| c.kind)
        .collect();
    assert_eq!(skipped, ["count", "count", "count"]);
    assert!(failed(&checks).is_empty(), "{:?}", failed(&checks));
}

#[test]
fn a_purchase_produced_twice_has_no_parent_of_its_own_and_breaks_the_count() {
    let mut fixture = Fixture::new();
    let copy = fixture.records[2][0].clone();
    fixture.append(2, copy);
    let checks = fixture.check(Some(&fixture.run));
    assert_eq!(
        failed(&checks),
        ["count t-purchases", "parents purchase (t-purchases)"]
    );
}

#[test]
fn a_record_in_another_partition_than_its_key_gives_is_caught() {
    let mut fixture = Fixture::new();
    let record = &mut fixture.records[1][5];
    record.partition = (record.partition + 1) % 4;
    let checks = fixture.check(Some(&fixture.run));
    assert_eq!(failed(&checks), ["partition t-carts"]);
}

#[test]
fn a_value_that_does_not_decode_is_caught_and_left_out_of_the_funnel_checks() {
    let mut fixture = Fixture::new();
    // The last purchase: without it, no other record loses its parent.
    let last = fixture.records[2].len() - 1;
    if let Some(value) = &mut fixture.records[2][last].value {
        value.truncate(3);
    }
    let checks = fixture.check(Some(&fixture.run));
    assert_eq!(failed(&checks), ["decode t-purchases"]);
}

#[test]
fn records_outside_the_runs_window_only_count_without_a_report() {
    let mut fixture = Fixture::new();
    let mut early = fixture.records[2][0].clone();
    early.timestamp_ms = Some(early.timestamp_ms.unwrap() - 3_600_000);
    fixture.append(2, early);

    assert!(failed(&fixture.check(Some(&fixture.run))).is_empty());
    assert_eq!(
        failed(&fixture.check(None)),
        ["parents purchase (t-purchases)"]
    );
}

#[test]
fn a_follow_up_earlier_than_every_parent_is_an_orphan() {
    let mut fixture = Fixture::new();
    let start = fixture.run.window().unwrap().from_ms;
    fixture.records[1][0].timestamp_ms = Some(start);
    let checks = fixture.check(Some(&fixture.run));
    assert_eq!(failed(&checks), ["parents cart (t-carts)"]);
}

#[test]
fn stage_ratio_overrides_apply_by_the_stage_of_the_parent() {
    let mut fixture = Fixture::new();
    assert!(failed(&fixture.check(Some(&fixture.run))).is_empty());

    // Judged by the declared ratio alone, the second stage's many carts are far too many.
    fixture.plan.load.stages[1].ratios[1] = None;
    assert_eq!(
        failed(&fixture.check(Some(&fixture.run))),
        ["ratio cart (t-carts)"]
    );
}

#[test]
fn a_ratio_far_from_the_declared_one_fails() {
    let mut fixture = Fixture::new();
    fixture.plan.funnel[2].ratio = 0.8;
    let checks = fixture.check(None);
    assert_eq!(failed(&checks), ["ratio purchase (t-purchases)"]);
}

#[test]
fn ratios_are_not_judged_for_a_run_cut_short() {
    let mut fixture = Fixture::new();
    fixture.plan.funnel[2].ratio = 0.8;
    fixture.run.outcome = "max_events".into();
    let checks = fixture.check(Some(&fixture.run));
    assert!(failed(&checks).is_empty());
    let ratios: Vec<Status> = checks
        .iter()
        .filter(|c| c.kind == "ratio")
        .map(|c| c.status)
        .collect();
    assert_eq!(ratios, [Status::Skipped, Status::Skipped]);
}

#[test]
fn a_report_of_another_scenario_is_refused() {
    let mut fixture = Fixture::new();
    fixture.run.scenario = "black-friday".into();
    let partitions = fixture.partitions();
    let input = Input {
        plan: &fixture.plan,
        records: &fixture.records,
        partitions: &partitions,
        run: Some(&fixture.run),
    };
    let error = verify(&input).unwrap_err().to_string();
    assert!(
        error.contains("`black-friday`, not `verify-test`"),
        "{error}"
    );
}

#[test]
fn the_window_runs_from_the_start_to_the_last_event() {
    let run = RunFacts {
        scenario: "s".into(),
        seed: 1,
        start: "2026-01-01T00:00:00.000500Z".into(),
        outcome: "completed".into(),
        events: 0,
        simulated_seconds: 2.25,
        follow_ups_cut: 0,
        topics: Vec::new(),
    };
    let window = run.window().unwrap();
    let start_ms = 1_767_225_600_000;
    assert_eq!(window.from_ms, start_ms);
    assert_eq!(window.to_ms, start_ms + 2_250 + 1);
    assert!(!window.contains(start_ms - 1));
}

#[test]
fn check_lines_say_status_kind_subject_and_figures() {
    let check = Check::new(false, "count", "t-carts", "3 records".into());
    assert_eq!(check.to_string(), "FAILED  count     t-carts: 3 records");
}
