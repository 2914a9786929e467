//! `simrun gen` as users run it: the built binary, its flags, its output streams and exit codes.
//!
//! Everything here uses sinks that need no broker (stdout, avro-files); Kafka is covered by
//! `tests/integration/generator.rs`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

const START: &str = "2026-11-27T08:00:00Z";

fn simrun(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simrun"))
        .args(args)
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .output()
        .expect("the simrun binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The README example without waiting, at a fixed seed and start, to stdout unless `extra`
/// names another sink.
fn readme_example(extra: &[&str]) -> Output {
    let mut args = vec![
        "gen",
        "--topic",
        "product-clicks",
        "--schema",
        "schemas/product_clicks.avsc",
        "--key-field",
        "user_id",
        "--interval",
        "0",
        "--count",
        "250",
        "--seed",
        "42",
        "--start",
        START,
    ];
    if !extra.contains(&"--sink") {
        args.extend_from_slice(&["--sink", "stdout"]);
    }
    args.extend_from_slice(extra);
    simrun(&args)
}

#[test]
fn the_readme_example_prints_its_records_on_stdout_and_its_summary_on_stderr() {
    let output = readme_example(&[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    let stdout = text(&output.stdout);
    let lines: Vec<Json> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("every stdout line is JSON"))
        .collect();
    assert_eq!(lines.len(), 250);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["topic"], "product-clicks");
        assert_eq!(line["key"], line["value"]["user_id"]);
        assert_eq!(line["timestamp"], line["value"]["timestamp"]);
        let user: u64 = line["key"].as_str().unwrap()["user-".len()..]
            .parse()
            .unwrap();
        assert!((1..=1000).contains(&user), "message {index}: user {user}");
    }
    assert_eq!(lines[0]["timestamp"], 1_795_766_400_000_i64);

    assert!(stderr.starts_with(
        "simrun: gen 250 records of com.example.events.ProductClick into product-clicks (key \
         user_id) on stdout (JSON Lines)\n  seed 42, start 2026-11-27T08:00:00Z, interval 0s\n"
    ));
    assert!(stderr.contains("simrun: gen completed on stdout (JSON Lines)\n"));
    let row: Vec<&str> = stderr
        .lines()
        .find(|line| line.trim_start().starts_with("product-clicks "))
        .expect("a delivery row for the topic")
        .split_whitespace()
        .collect();
    assert_eq!(row, ["product-clicks", "250", "250", "0"]);
}

#[test]
fn short_flags_mean_the_same_as_long_ones_and_the_seed_fixes_the_output() {
    let long = readme_example(&[]);
    let short = simrun(&[
        "gen",
        "-t",
        "product-clicks",
        "-s",
        "schemas/product_clicks.avsc",
        "-k",
        "user_id",
        "-i",
        "0",
        "-c",
        "250",
        "--sink",
        "stdout",
        "--seed",
        "42",
        "--start",
        START,
    ]);
    assert_eq!(short.status.code(), Some(0), "{}", text(&short.stderr));
    assert_eq!(text(&short.stdout), text(&long.stdout));

    let other_seed = readme_example(&["--seed", "43"]);
    assert_ne!(text(&other_seed.stdout), text(&long.stdout));
}

#[test]
fn without_start_the_values_stay_and_the_times_move_to_now() {
    let fixed = readme_example(&[]);
    let before_ms = chrono::Utc::now().timestamp_millis();
    let now = simrun(&[
        "gen",
        "-t",
        "product-clicks",
        "-s",
        "schemas/product_clicks.avsc",
        "-i",
        "0",
        "-c",
        "20",
        "--sink",
        "stdout",
        "--seed",
        "42",
    ]);
    let after_ms = chrono::Utc::now().timestamp_millis();
    assert_eq!(now.status.code(), Some(0), "{}", text(&now.stderr));
    let parse = |stdout: &str| -> Vec<Json> {
        stdout
            .lines()
            .take(20)
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    let (fixed, now) = (parse(&text(&fixed.stdout)), parse(&text(&now.stdout)));
    for (fixed, now) in fixed.iter().zip(&now) {
        assert_eq!(fixed["key"], now["key"]);
        assert_eq!(fixed["value"]["product_id"], now["value"]["product_id"]);
        assert_eq!(fixed["value"]["device"], now["value"]["device"]);
        let time = now["timestamp"].as_i64().unwrap();
        assert!((before_ms..=after_ms).contains(&time), "{time}");
        assert_eq!(now["value"]["timestamp"], time);
    }
}

#[test]
fn a_missing_key_field_exits_2_naming_the_fields_the_schema_has() {
    let output = simrun(&[
        "gen",
        "-t",
        "t",
        "-s",
        "schemas/product_clicks.avsc",
        "-k",
        "session",
        "--sink",
        "null",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr),
        "error: schemas/product_clicks.avsc: record `com.example.events.ProductClick` has no \
         field `session` to take the key from; its fields are `user_id`, `product_id`, \
         `timestamp`, `device`, `referrer`; `user_id` or `product_id` can be the key: name it \
         with -k/--key-field\n"
    );
}

#[test]
fn wrong_schemas_and_flags_exit_2() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["-s", "tests/fixtures/schemas/spec_suit_enum.avsc"],
            "the top-level schema is the enum Suit, but a record is needed here",
        ),
        (
            &["-s", "tests/fixtures/broken/schemas/not_json.avsc"],
            "the schema is not valid JSON",
        ),
        (&["-s", "no/such/file.avsc"], "cannot read the schema file"),
        (
            &["-s", "schemas/product_clicks.avsc", "-i", "-1"],
            "is not a number of seconds",
        ),
        (
            &["-s", "schemas/product_clicks.avsc", "--start", "tomorrow"],
            "not an RFC 3339 time",
        ),
        (
            &["-s", "schemas/product_clicks.avsc", "--sink", "avro-files"],
            "--out <DIR>",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["gen", "-t", "t"];
        if !args.contains(&"--sink") {
            all.extend_from_slice(&["--sink", "null"]);
        }
        all.extend_from_slice(args);
        let output = simrun(&all);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn the_avro_files_sink_writes_the_same_records_as_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let files = readme_example(&["--sink", "avro-files", "--out", out]);
    assert_eq!(files.status.code(), Some(0), "{}", text(&files.stderr));

    let file = std::fs::File::open(dir.path().join("product-clicks.avro")).unwrap();
    let reader = apache_avro::Reader::new(file).unwrap();
    let schema = reader.writer_schema().clone();
    let renderer = simrun::encoding::json::JsonRenderer::new(&schema).unwrap();
    let from_file: Vec<Json> = reader
        .map(|value| renderer.render_value(&value.unwrap()).unwrap())
        .collect();

    let stdout = text(&readme_example(&[]).stdout);
    let from_stdout: Vec<Json> = stdout
        .lines()
        .map(|line| serde_json::from_str::<Json>(line).unwrap()["value"].clone())
        .collect();
    assert_eq!(from_file.len(), 250);
    assert_eq!(from_file, from_stdout);
}

#[test]
fn ctrl_c_stops_a_paced_run_with_exit_code_130() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrun"))
        .args([
            "gen",
            "-t",
            "clicks",
            "-s",
            "schemas/product_clicks.avsc",
            "-i",
            "30",
            "-c",
            "3",
            "--sink",
            "stdout",
            "--seed",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The first message leaves at once and is flushed while gen waits for the second.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"topic\":\"clicks\""), "{first}");

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();

    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(rest.is_empty(), "no message after Ctrl-C: {rest}");
    assert!(
        stderr.contains("simrun: gen interrupted on stdout"),
        "{stderr}"
    );
}
