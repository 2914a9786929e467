//! `simrun plan`: a plan as deterministic text, for reading and for snapshot tests.
//!
//! Everything shown is resolved: defaults filled in, paths as the run will use them, expected
//! counts computed. Nothing depends on the clock or the machine, so the text of a committed
//! scenario only changes when the scenario or simrun's semantics do.

use std::fmt::Write as _;

use super::distribution::{Distribution, EntityChoice, Shape};
use super::expected::Expected;
use super::{Plan, Population};
use crate::scenario::{Arrivals, SimDuration, Speed};

/// Renders the plan for people.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    header(&mut out, plan);
    topics(&mut out, plan);
    populations(&mut out, plan);
    funnel(&mut out, plan);
    stages(&mut out, plan);
    expected(&mut out, plan);
    out
}

fn header(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "scenario {} ({})", plan.name, plan.file.display());
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "  {description}");
    }
    let seed = plan
        .seed
        .map_or("chosen at run time".to_string(), |s| s.to_string());
    let start = plan
        .start
        .map_or("the time the run starts".to_string(), |s| {
            s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        });
    let speed = match plan.speed {
        Speed::Max => "max (no waiting)".to_string(),
        Speed::Factor(1.0) => "1 (real time)".to_string(),
        Speed::Factor(f) => format!("{f} (simulated seconds per second)"),
    };
    let _ = writeln!(out, "seed {seed}\nstart {start}\nspeed {speed}");
    if let Some(servers) = &plan.kafka.bootstrap_servers {
        let _ = writeln!(out, "kafka {servers}");
    }
    for (key, value) in &plan.kafka.producer {
        let _ = writeln!(out, "  producer {key}={value}");
    }
}

fn topics(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\ntopics");
    let rows: Vec<Vec<String>> = plan
        .topics
        .iter()
        .map(|topic| {
            vec![
                topic.local_name.clone(),
                topic.name.clone(),
                format!("{} partitions", topic.partitions),
                format!("replication {}", topic.replication_factor),
                format!("key {}", topic.key),
                format!("record {}", topic.record_name),
            ]
        })
        .collect();
    table(out, &rows, None);
    for topic in &plan.topics {
        if !topic.config.is_empty() {
            let config: Vec<String> = topic
                .config
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(out, "  {} config {}", topic.local_name, config.join(", "));
        }
    }
}

fn populations(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\npopulations");
    let _ = writeln!(out, "  users     {}", population(&plan.users));
    let _ = write!(out, "  products  {}", population(&plan.products));
    match &plan.price {
        Some(price) => {
            let _ = writeln!(out, ", price {}", distribution(price, false));
        }
        None => out.push('\n'),
    }
}

fn population(population: &Population) -> String {
    let choice = match population.choice {
        EntityChoice::Uniform => "uniform".to_string(),
        EntityChoice::Zipf { exponent } => format!("zipf exponent {exponent}"),
    };
    format!("{} ({choice})", population.count)
}

fn funnel(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\nfunnel");
    let rows: Vec<Vec<String>> = plan
        .funnel
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let topic = &plan.topics[step.topic];
            let (ratio, delay) = match &step.delay {
                None => ("driven by load".to_string(), String::new()),
                Some(delay) => (
                    format!("ratio {}", step.ratio),
                    format!("delay {}", distribution(delay, true)),
                ),
            };
            vec![
                (index + 1).to_string(),
                step.name.clone(),
                format!("-> {}", topic.local_name),
                ratio,
                delay,
            ]
        })
        .collect();
    table(out, &rows, None);
}

fn stages(out: &mut String, plan: &Plan) {
    let arrivals = match plan.load.arrivals {
        Arrivals::Poisson => "poisson arrivals",
        Arrivals::Uniform => "evenly spaced arrivals",
    };
    let _ = writeln!(out, "\nload ({arrivals})");
    let rows: Vec<Vec<String>> = plan
        .load
        .stages
        .iter()
        .enumerate()
        .map(|(index, stage)| {
            let rate = if stage.is_ramp() {
                format!("{} -> {}/s", number(stage.from), number(stage.to))
            } else {
                format!("{}/s", number(stage.from))
            };
            let overrides: Vec<String> = stage
                .ratios
                .iter()
                .enumerate()
                .filter_map(|(step, ratio)| {
                    ratio.map(|r| format!("{} {r}", plan.funnel[step].name))
                })
                .collect();
            vec![
                (index + 1).to_string(),
                format!("at {}", SimDuration::from_secs_f64(stage.start)),
                format!("for {}", stage.sim_duration()),
                rate,
                overrides.join(", "),
            ]
        })
        .collect();
    table(
        out,
        &rows,
        Some(&["stage", "start", "duration", "rate", "ratio overrides"]),
    );
}

fn expected(out: &mut String, plan: &Plan) {
    let expected = Expected::of(plan);
    let _ = writeln!(
        out,
        "\nexpected events (by the stage where their chain begins)"
    );
    let mut heading = vec!["stage".to_string()];
    heading.extend(plan.topics.iter().map(|t| t.local_name.clone()));
    heading.push("total".into());

    let mut rows = Vec::new();
    for stage in 0..plan.load.stages.len() {
        let counts = expected.per_topic(plan, Some(stage));
        rows.push(count_row((stage + 1).to_string(), &counts));
    }
    rows.push(count_row("all".into(), &expected.per_topic(plan, None)));
    let heading: Vec<&str> = heading.iter().map(String::as_str).collect();
    table(out, &rows, Some(&heading));

    let duration = SimDuration::from_secs_f64(plan.load.duration());
    let _ = writeln!(
        out,
        "\nsimulated time {duration} of stages, then {}",
        drain(plan)
    );
    let peak = plan.load.peak_rate();
    let all = Expected::peak_rate_all_topics(plan);
    let _ = writeln!(
        out,
        "peak rate {}/s first-step events, about {}/s across all topics",
        number(peak),
        number(all.round())
    );
}

fn count_row(label: String, counts: &[f64]) -> Vec<String> {
    let mut row = vec![label];
    row.extend(counts.iter().map(|c| number(c.round())));
    row.push(number(counts.iter().sum::<f64>().round()));
    row
}

/// How long follow-ups may trail the last stage.
fn drain(plan: &Plan) -> String {
    let bounds: Option<f64> = plan
        .funnel
        .iter()
        .filter_map(|s| s.delay.as_ref())
        .map(Distribution::upper_bound)
        .sum();
    match bounds {
        Some(seconds) => format!(
            "follow-ups drain for at most {}",
            SimDuration::from_secs_f64(seconds)
        ),
        None => "follow-ups drain until the last one is due (some delays are unbounded)".into(),
    }
}

/// A distribution as written, in its unit.
fn distribution(distribution: &Distribution, duration: bool) -> String {
    let value = |v: f64| {
        if duration {
            SimDuration::from_secs_f64(v).to_string()
        } else {
            number(v)
        }
    };
    let mut text = match distribution.shape {
        Shape::Uniform { min, max } => format!("uniform {}..{}", value(min), value(max)),
        Shape::UniformInt { min, max } => format!("uniform_int {min}..={max}"),
        Shape::Normal { mean, std_dev } => {
            format!("normal mean {} std_dev {}", value(mean), value(std_dev))
        }
        Shape::LogNormal { median, sigma } => {
            format!("lognormal median {} sigma {sigma}", value(median))
        }
        Shape::Exponential { mean } => format!("exponential mean {}", value(mean)),
        Shape::Pareto { scale, shape } => format!("pareto scale {} shape {shape}", value(scale)),
        Shape::Constant(v) => format!("constant {}", value(v)),
    };
    // Delays carry an implicit lower bound of zero; only bounds the file gave are shown.
    if let Some(min) = distribution.min.filter(|m| !(duration && *m == 0.0)) {
        let _ = write!(text, ", min {}", value(min));
    }
    if let Some(max) = distribution.max {
        let _ = write!(text, ", max {}", value(max));
    }
    text
}

/// A number without a needless fraction.
fn number(value: f64) -> String {
    crate::encoding::record::format_number(value)
}

/// Left-aligned columns separated by two spaces, indented by two.
fn table(out: &mut String, rows: &[Vec<String>], heading: Option<&[&str]>) {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain(heading.map(<[&str]>::len))
        .max()
        .unwrap_or(0);
    let mut widths = vec![0; columns];
    let all = heading.map(|h| h.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    for row in rows.iter().chain(all.iter()) {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    for row in all.iter().chain(rows.iter()) {
        let mut line = String::from(" ");
        for (index, cell) in row.iter().enumerate() {
            let _ = write!(line, " {cell:<width$}", width = widths[index]);
            line.push(' ');
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}
