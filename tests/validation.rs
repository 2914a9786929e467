//! Broken scenarios are refused with every problem, each at its file, line and column.
//!
//! Each file under `tests/fixtures/broken/` holds one or more mistakes; the rendered problems
//! are snapshots, so a change in wording or position shows up in review.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use simrun::plan::{Overrides, plan_file};

fn broken_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/broken")
        .expect("the fixtures directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_broken_scenario_is_refused_with_positioned_problems() {
    let files = broken_scenarios();
    assert!(
        files.len() >= 15,
        "at least 15 broken scenarios, found {}",
        files.len()
    );

    for file in files {
        let diagnostics = match plan_file(&file, &Overrides::default()) {
            Ok(_) => panic!("{} should be refused", file.display()),
            Err(diagnostics) => diagnostics,
        };
        assert!(!diagnostics.is_empty());
        for diagnostic in diagnostics.iter() {
            assert_eq!(diagnostic.file, file, "problems name the scenario file");
            assert!(
                diagnostic.position.is_some(),
                "{}: {}",
                file.display(),
                diagnostic.message
            );
        }
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name");
        insta::assert_snapshot!(name, diagnostics.render());
    }
}

#[test]
fn a_file_with_several_mistakes_reports_them_all() {
    let diagnostics = plan_file(
        Path::new("tests/fixtures/broken/misspelt-keys.yaml"),
        &Overrides::default(),
    )
    .expect_err("misspelt keys are refused");
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(diagnostics.len(), 4, "{messages:#?}");
    for key in ["seeed", "partitons", "activty", "ratoi"] {
        assert!(
            messages.iter().any(|m| m.contains(key)),
            "{key} is reported: {messages:#?}"
        );
    }
    let hints: Vec<&str> = diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .collect();
    for hint in [
        "did you mean `seed`?",
        "did you mean `partitions`?",
        "did you mean `ratio`?",
    ] {
        assert!(hints.contains(&hint), "{hint}: {hints:#?}");
    }
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let started = Instant::now();
    let result = plan_file(
        Path::new("tests/fixtures/broken/billion-laughs.yaml"),
        &Overrides::default(),
    );
    assert!(result.is_err());
    // Expanding the aliases would take 8^25 nodes; refusing them takes a moment.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn validate_checks_every_file_and_exits_2_on_any_problem() {
    let output = Command::new(env!("CARGO_BIN_EXE_simrun"))
        .args([
            "validate",
            "scenarios/smoke.yaml",
            "tests/fixtures/broken/bad-durations.yaml",
        ])
        .args(["tests/fixtures/broken/bad-counts.yaml"])
        .output()
        .expect("simrun runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("scenarios/smoke.yaml: ok"), "{stderr}");
    assert!(
        stderr.contains("tests/fixtures/broken/bad-durations.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tests/fixtures/broken/bad-counts.yaml:"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "problems go to stderr");
}

#[test]
fn validate_accepts_every_committed_scenario() {
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir("scenarios")
        .expect("the scenarios directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    scenarios.sort();
    let output = Command::new(env!("CARGO_BIN_EXE_simrun"))
        .arg("validate")
        .args(&scenarios)
        .output()
        .expect("simrun runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
