//! `simrun verify` against a real run: every check passes, and tampering is caught.

use simrun::kafka::consume::ConsumedRecord;

use crate::support::{Scenario, produce, read_back, shown, simrun, simrun_ok};

#[test]
fn verify_passes_on_a_good_run_and_fails_on_tampered_topics() {
    let scenario = Scenario::new("verify");
    let plan = scenario.plan();
    let path = scenario.path.to_str().unwrap();
    let report_dir = tempfile::tempdir().unwrap();
    let report = report_dir.path().join("report.json");
    let report = report.to_str().unwrap();
    let start = scenario.start_arg();

    simrun_ok(&["run", path, "--start", &start, "--report", report]);
    let verified = simrun_ok(&["verify", path, "--report", report]);
    assert_eq!(verified.lines().count(), 3 * 3 + 2 * 2, "{verified}");
    assert!(verified.lines().all(|l| l.starts_with("ok ")), "{verified}");

    // A purchase produced a second time has no cart left to follow.
    let records = read_back(&plan);
    let (clicks, purchases) = (&plan.topics[0], &plan.topics[2]);
    let purchase = records.iter().find(|r| r.topic == purchases.name).unwrap();
    copy(purchase, None);
    assert_eq!(
        failed_checks(&["verify", path, "--report", report]),
        [
            format!("count     {}", purchases.name),
            format!("parents   purchase ({})", purchases.name)
        ]
    );

    // A click in another partition than its key's.
    let click = records.iter().find(|r| r.topic == clicks.name).unwrap();
    copy(click, Some((click.partition + 1) % clicks.partitions));
    let failed = failed_checks(&["verify", path, "--report", report]);
    assert!(
        failed.contains(&format!("partition {}", clicks.name)),
        "{failed:?}"
    );
}

/// Produces a copy of `record` into its topic, in `partition` or where its key belongs.
fn copy(record: &ConsumedRecord, partition: Option<i32>) {
    let key = record.key.as_deref().unwrap();
    let value = record.value.as_deref().unwrap();
    produce(
        &record.topic,
        partition,
        key,
        value,
        record.timestamp_ms.unwrap(),
    );
}

/// Runs simrun, expects exit code 1, and returns `KIND SUBJECT` of each failed check.
fn failed_checks(args: &[&str]) -> Vec<String> {
    let output = simrun(args);
    assert_eq!(output.status.code(), Some(1), "{}", shown(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("FAILED  "))
        .map(|rest| rest.split(':').next().unwrap_or_default().to_string())
        .collect()
}
