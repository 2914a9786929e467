//! The `simrun` binary as people use it: default command, sinks, reports, exit codes, Ctrl-C.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

const START: &str = "2026-01-05T09:00:00Z";

fn simrun() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simrun"))
}

fn run_ok(args: &[&str]) -> (String, String) {
    let output = simrun().args(args).output().expect("simrun runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "simrun {args:?} failed:\n{stderr}");
    (
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr,
    )
}

fn read_report(path: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).expect("the report was written")).expect("JSON")
}

#[test]
fn a_scenario_path_alone_runs_it() {
    let (stdout, stderr) = run_ok(&["scenarios/smoke.yaml", "--sink", "null", "--speed", "max"]);
    assert!(stdout.is_empty(), "the null sink prints no data");
    assert!(
        stderr.contains("simrun: smoke completed on null"),
        "{stderr}"
    );
}

#[test]
fn the_report_accounts_for_every_event() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let report_path = dir.path().join("report.json");
    let report = report_path.to_str().expect("UTF-8 path");
    run_ok(&[
        "run",
        "scenarios/smoke.yaml",
        "--sink",
        "null",
        "--speed",
        "max",
        "--start",
        START,
        "--report",
        report,
    ]);

    let report = read_report(&report_path);
    assert_eq!(report["seed"], 7);
    assert_eq!(report["outcome"], "completed");
    let topics = report["topics"].as_array().expect("topics");
    let produced: u64 = topics
        .iter()
        .map(|t| t["produced"].as_u64().expect("a count"))
        .sum();
    let acknowledged: u64 = topics
        .iter()
        .map(|t| t["acknowledged"].as_u64().expect("a count"))
        .sum();
    assert!(produced > 500);
    assert_eq!(produced, report["events"].as_u64().expect("events"));
    assert_eq!(acknowledged, produced);
    let stage_events: u64 = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["first_step_events"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        stage_events,
        report["funnel"][0]["events"]
            .as_u64()
            .expect("first step events")
    );
}

#[test]
fn the_embedded_broker_acknowledges_every_record() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let report_path = dir.path().join("report.json");
    let report = report_path.to_str().expect("UTF-8 path");
    let (_, stderr) = run_ok(&[
        "scenarios/smoke.yaml",
        "--sink",
        "embedded",
        "--speed",
        "max",
        "--start",
        START,
        "--report",
        report,
    ]);
    assert!(
        stderr.contains("embedded broker at"),
        "the output says which sink was used: {stderr}"
    );

    let report = read_report(&report_path);
    for topic in report["topics"].as_array().expect("topics") {
        assert!(topic["produced"].as_u64() > Some(0), "{topic}");
        assert_eq!(topic["acknowledged"], topic["produced"], "{topic}");
        assert_eq!(topic["failed"], serde_json::json!({}), "{topic}");
    }
}

#[test]
fn avro_files_hold_the_same_records_as_the_stdout_stream() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let out = dir.path().to_str().expect("UTF-8 path");
    run_ok(&[
        "scenarios/smoke.yaml",
        "--sink",
        "avro-files",
        "--out",
        out,
        "--speed",
        "max",
        "--start",
        START,
    ]);
    let (stdout, _) = run_ok(&[
        "scenarios/smoke.yaml",
        "--sink",
        "stdout",
        "--speed",
        "max",
        "--start",
        START,
    ]);

    let plan = simrun::plan::plan_file(Path::new("scenarios/smoke.yaml"), &Default::default())
        .expect("plans");
    for topic in &plan.topics {
        let expected: Vec<Json> = stdout
            .lines()
            .map(|line| serde_json::from_str::<Json>(line).expect("a JSON line"))
            .filter(|line| line["topic"] == topic.name.as_str())
            .map(|line| line["value"].clone())
            .collect();
        let file = std::fs::File::open(dir.path().join(format!("{}.avro", topic.name)))
            .expect("a file per topic");
        let reader = apache_avro::Reader::new(file).expect("an Avro container file");
        let renderer = simrun::encoding::json::JsonRenderer::new(&topic.schema).expect("renders");
        let found: Vec<Json> = reader
            .map(|value| {
                renderer
                    .render_value(&value.expect("a record"))
                    .expect("renders")
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(found, expected, "{}", topic.name);
    }
}

#[test]
fn plans_print_to_stdout_and_do_not_change_between_calls() {
    let (first, _) = run_ok(&["plan", "scenarios/black-friday.yaml"]);
    let (second, _) = run_ok(&["plan", "scenarios/black-friday.yaml", "--seed", "20261127"]);
    assert!(first.contains("expected events"));
    assert_eq!(first, second);
}

#[test]
fn usage_mistakes_and_invalid_scenarios_exit_2() {
    let unknown_flag = simrun()
        .args(["run", "scenarios/smoke.yaml", "--sped", "max"])
        .output()
        .expect("runs");
    assert_eq!(unknown_flag.status.code(), Some(2));

    let bad_speed = simrun()
        .args(["scenarios/smoke.yaml", "--speed", "fast"])
        .output()
        .expect("runs");
    assert_eq!(bad_speed.status.code(), Some(2));

    let invalid = simrun()
        .args(["tests/fixtures/broken/bad-stages.yaml"])
        .output()
        .expect("runs");
    assert_eq!(invalid.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&invalid.stderr).contains("bad-stages.yaml:"));

    let missing = simrun()
        .args(["scenarios/no-such-file.yaml"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the scenario file"));
}

#[test]
fn an_unreachable_broker_is_reported_in_bounded_time() {
    let started = Instant::now();
    // Nothing listens on the discard port of the loopback address.
    let output = simrun()
        .args([
            "scenarios/smoke.yaml",
            "-b",
            "127.0.0.1:9",
            "--speed",
            "max",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach Kafka at 127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "it does not hang"
    );
}

#[test]
fn ctrl_c_stops_flushes_summarises_and_exits_130() {
    let mut child = simrun()
        .args(["scenarios/smoke.yaml", "--sink", "null", "--start", START])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simrun starts");

    // Wait until the run has begun, then interrupt it as a terminal would.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("a first line");
    assert!(first.starts_with("simrun: running smoke"), "{first}");
    std::thread::sleep(Duration::from_millis(500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let status = child.wait().expect("simrun ends");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("the rest of stderr");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("smoke interrupted"), "{rest}");
    assert!(
        rest.contains("acknowledged"),
        "the summary is printed: {rest}"
    );
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let mut child = simrun()
        .args([
            "scenarios/black-friday.yaml",
            "--sink",
            "stdout",
            "--speed",
            "max",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simrun starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a first record");
    assert!(line.starts_with("{\"topic\":\"product-clicks\""), "{line}");
    drop(stdout);

    let output = child.wait_with_output().expect("simrun ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("standard output was closed"), "{stderr}");
}
