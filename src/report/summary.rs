//! The end-of-run summary, written to stderr for people.
//!
//! The delivery table ([`delivery`]) is shared with `simrun gen`, whose summary is that table
//! under a line of its own.

use std::fmt::Write as _;

use super::{Outcome, RunReport, TopicReport};

/// Renders `report` as a few aligned tables.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "simrun: {} {} on {}",
        report.scenario,
        outcome_text(report.outcome),
        report.sink
    );
    let _ = writeln!(
        out,
        "  seed {}, start {}, speed {}; {} events in {:.1}s wall, {:.1}s simulated",
        report.seed,
        report.start,
        report.speed,
        report.events,
        report.wall_seconds,
        report.simulated_seconds
    );
    out.push('\n');
    delivery(&mut out, &report.topics);

    // The funnel: achieved ratios against what the declared ones predict.
    let mut rows = vec![cells(["step", "events", "ratio", "expected", ""])];
    for step in &report.funnel {
        let ratio = step
            .achieved_ratio
            .map_or(String::new(), |r| format!("{r:.4}"));
        let expected = step
            .expected_ratio
            .map_or(String::new(), |r| format!("{r:.4}"));
        let verdict = match step.within_tolerance {
            Some(true) => "ok",
            Some(false) => "off (beyond 4 standard errors)",
            None => "",
        };
        rows.push(vec![
            step.step.clone(),
            step.events.to_string(),
            ratio,
            expected,
            verdict.into(),
        ]);
    }
    out.push('\n');
    table(&mut out, &rows);

    // First-step rates per stage.
    let mut rows = vec![cells([
        "stage",
        "planned/s",
        "achieved/s",
        "first-step events",
    ])];
    for stage in &report.stages {
        rows.push(vec![
            stage.stage.to_string(),
            format!("{:.1}", stage.planned_rate),
            format!("{:.1}", stage.achieved_rate),
            stage.first_step_events.to_string(),
        ]);
    }
    out.push('\n');
    table(&mut out, &rows);

    out.push('\n');
    match &report.pacing {
        Some(pacing) => {
            let _ = writeln!(
                out,
                "pacing: at most {:.1} ms behind schedule (mean {:.2} ms); {} events more than \
                 100 ms late; {:.1} ms behind at the end",
                pacing.max_behind_ms,
                pacing.mean_behind_ms,
                pacing.late_events,
                pacing.behind_at_end_ms
            );
        }
        None => {
            let _ = writeln!(out, "pacing: none (speed max)");
        }
    }
    if report.follow_ups_cut > 0 {
        let _ = writeln!(
            out,
            "--no-drain: {} follow-ups due after the last stage were not emitted",
            report.follow_ups_cut
        );
    }
    let _ = writeln!(
        out,
        "flush: {:.2}s waiting for acknowledgements",
        report.flush_seconds
    );
    out
}

/// How a run ended, in a few words.
pub fn outcome_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Completed => "completed",
        Outcome::MaxEvents => "stopped at --max-events",
        Outcome::Interrupted => "interrupted",
        Outcome::OutputClosed => "stopped: standard output was closed",
        Outcome::SinkFailed => "stopped: the sink failed",
    }
}

/// Appends the delivery table, one row per topic (produced, acknowledged, failed), then every
/// failure reason and what never got an answer.
pub fn delivery(out: &mut String, topics: &[TopicReport]) {
    let mut rows = vec![cells(["topic", "produced", "acknowledged", "failed"])];
    for topic in topics {
        let failed = topic.delivery.failed_total() + topic.delivery.outstanding();
        rows.push(vec![
            topic.topic.clone(),
            topic.delivery.produced.to_string(),
            topic.delivery.acknowledged.to_string(),
            failed.to_string(),
        ]);
    }
    table(out, &rows);
    for topic in topics {
        for (reason, count) in &topic.delivery.failed {
            let _ = writeln!(out, "  {}: {count} failed: {reason}", topic.topic);
        }
        if topic.delivery.outstanding() > 0 {
            let _ = writeln!(
                out,
                "  {}: {} never confirmed before the flush deadline",
                topic.topic,
                topic.delivery.outstanding()
            );
        }
    }
}

fn cells<const N: usize>(names: [&str; N]) -> Vec<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// Columns separated by two spaces: text left-aligned, numbers right-aligned.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::from(" ");
        for (index, cell) in row.iter().enumerate() {
            let numeric = cell.chars().next().is_some_and(|c| c.is_ascii_digit());
            if numeric && index > 0 {
                let _ = write!(line, " {cell:>width$}", width = widths[index]);
            } else {
                let _ = write!(line, " {cell:<width$}", width = widths[index]);
            }
            line.push(' ');
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
