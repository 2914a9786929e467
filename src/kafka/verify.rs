//! Checking what a run left on Kafka against what its scenario promises.
//!
//! `simrun verify` reads a scenario's topics back and hands the records to [`verify`], which
//! needs no broker, so the same checks run in unit tests on records made in memory. There are
//! five kinds of check, one line each:
//!
//! - `count`: per topic, the records in the run's time window against what the run's report
//!   says the broker acknowledged (skipped without a report);
//! - `decode`: per topic, every value decodes with the topic's schema;
//! - `partition`: per topic, every record sits in the partition Java's default partitioner
//!   gives its key, `(murmur2(key) & 0x7fffffff) % partitions`;
//! - `parents`: per follow-up step, every record has an earlier record of the previous step for
//!   the same user and product. A parent serves one child at most; children are matched in time
//!   order, each to any unused parent that is not later than it;
//! - `ratio`: per follow-up step, children per parent within four standard errors of what the
//!   declared ratios predict, each parent weighted by the ratio of the stage its timestamp falls
//!   in (the declared ratio once the stages are over).
//!
//! Topics may hold several runs. Given a report, only records whose timestamps fall between the
//! run's start and its last event count; without one, every record does. Two runs with the same
//! start (a scenario with a fixed `start:` run twice) overlap in time and cannot be told apart.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value as Json;

use super::consume::ConsumedRecord;
use super::murmur2::partition_for;
use crate::encoding::json::JsonRenderer;
use crate::encoding::record::ValueWriter;
use crate::plan::Plan;

/// How many standard errors an achieved ratio may stray from the expected one.
pub const TOLERANCE_STANDARD_ERRORS: f64 = 4.0;

/// Why verification could not be carried out at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "cannot read the report {path}: {reason}; pass the JSON file that `simrun run --report \
         FILE` wrote"
    )]
    Report { path: String, reason: String },
    #[error(
        "the report is of scenario `{found}`, not `{expected}`; pass the report of a run of \
         this scenario"
    )]
    OtherScenario { expected: String, found: String },
    #[error("the report's start `{0}` is not an RFC 3339 time; pass an unedited report")]
    Start(String),
    #[error(
        "funnel steps `{first}` and `{second}` both write to topic {topic}; verify tells steps \
         apart by their topics, so it cannot check this scenario"
    )]
    SharedTopic {
        first: String,
        second: String,
        topic: String,
    },
}

/// What a run's report (`simrun run --report FILE`) says, as far as verification needs it.
#[derive(Clone, Debug, Deserialize)]
pub struct RunFacts {
    pub scenario: String,
    pub seed: u64,
    /// Simulated time at the start, RFC 3339.
    pub start: String,
    /// `completed`, `max_events`, `interrupted` or `output_closed`.
    pub outcome: String,
    pub events: u64,
    /// Simulated seconds from the start to the last event, follow-ups included.
    pub simulated_seconds: f64,
    /// Follow-ups not emitted because the run did not drain.
    #[serde(default)]
    pub follow_ups_cut: u64,
    pub topics: Vec<TopicFacts>,
}

/// Delivery of one topic, from a report.
#[derive(Clone, Debug, Deserialize)]
pub struct TopicFacts {
    pub topic: String,
    pub produced: u64,
    pub acknowledged: u64,
}

/// A span of record timestamps, in milliseconds since the epoch, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    pub fn contains(&self, timestamp_ms: i64) -> bool {
        (self.from_ms..=self.to_ms).contains(&timestamp_ms)
    }
}

impl RunFacts {
    /// Reads a report file.
    pub fn read(path: &Path) -> Result<Self, VerifyError> {
        let failed = |reason: String| VerifyError::Report {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
    }

    /// The start in nanoseconds since the epoch.
    pub fn start_ns(&self) -> Result<i64, VerifyError> {
        chrono::DateTime::parse_from_rfc3339(&self.start)
            .ok()
            .and_then(|start| start.timestamp_nanos_opt())
            .ok_or_else(|| VerifyError::Start(self.start.clone()))
    }

    /// The timestamps the run's records can have: from its start to its last event.
    pub fn window(&self) -> Result<Window, VerifyError> {
        let start_ns = self.start_ns()?;
        let span_ns = (self.simulated_seconds.max(0.0) * 1e9).ceil() as i64;
        Ok(Window {
            from_ms: start_ns.div_euclid(1_000_000),
            // One millisecond more, for the rounding of the report's seconds.
            to_ms: (start_ns + span_ns).div_euclid(1_000_000) + 1,
        })
    }

    /// Whether every event of the scenario, follow-ups included, was emitted.
    pub fn complete(&self) -> bool {
        self.outcome == "completed" && self.follow_ups_cut == 0
    }
}

/// Whether a check passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed,
    /// Nothing to check it against.
    Skipped,
}

/// The outcome of one check, printed as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    /// `count`, `decode`, `partition`, `parents` or `ratio`.
    pub kind: &'static str,
    /// The topic or funnel step checked.
    pub subject: String,
    /// The figures behind the verdict.
    pub detail: String,
}

impl Check {
    fn new(passed: bool, kind: &'static str, subject: &str, detail: String) -> Self {
        let status = if passed { Status::Ok } else { Status::Failed };
        Check {
            status,
            kind,
            subject: subject.to_string(),
            detail,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        write!(
            f,
            "{status:<7} {:<9} {}: {}",
            self.kind, self.subject, self.detail
        )
    }
}

/// What [`verify`] looks at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub plan: &'a Plan,
    /// The records read from each topic of the plan, in the plan's topic order.
    pub records: &'a [Vec<ConsumedRecord>],
    /// The partition count of each topic as the cluster has it, in the plan's topic order.
    pub partitions: &'a [i32],
    /// The report of the run to check, if there is one.
    pub run: Option<&'a RunFacts>,
}

/// Runs every check and returns them in the order they are printed: per topic count, decode
/// and partition, then per follow-up step parents and ratio.
pub fn verify(input: &Input<'_>) -> Result<Vec<Check>, VerifyError> {
    let plan = input.plan;
    if let Some(run) = input.run.filter(|run| run.scenario != plan.name) {
        return Err(VerifyError::OtherScenario {
            expected: plan.name.clone(),
            found: run.scenario.clone(),
        });
    }
    let step_of_topic = steps_by_topic(plan)?;
    let window = input.run.map(RunFacts::window).transpose()?;

    // Per topic: the records in the window, decoded.
    let mut checks = Vec::new();
    let mut decoded: Vec<Vec<Decoded<'_>>> = Vec::with_capacity(plan.topics.len());
    for (index, topic) in plan.topics.iter().enumerate() {
        let records: Vec<&ConsumedRecord> = input.records[index]
            .iter()
            .filter(|r| window.is_none_or(|w| r.timestamp_ms.is_some_and(|t| w.contains(t))))
            .collect();
        checks.push(count_check(&topic.name, records.len(), input.run));
        let (check, values) = decode_check(plan, index, &records);
        checks.push(check);
        checks.push(partition_check(
            &topic.name,
            &records,
            input.partitions[index],
        ));
        decoded.push(values);
    }

    // Per follow-up step: parents and ratio.
    let start_ms = start_ms(plan, input.run, &decoded, &step_of_topic)?;
    for step in 1..plan.funnel.len() {
        let parents = &decoded[plan.funnel[step - 1].topic];
        let children = &decoded[plan.funnel[step].topic];
        checks.push(parent_check(plan, step, parents, children));
        checks.push(ratio_check(
            plan,
            step,
            parents,
            children.len(),
            start_ms,
            input.run,
        ));
    }
    Ok(checks)
}

/// Maps each topic to the one funnel step that writes to it.
fn steps_by_topic(plan: &Plan) -> Result<HashMap<usize, usize>, VerifyError> {
    let mut steps = HashMap::new();
    for (index, step) in plan.funnel.iter().enumerate() {
        if let Some(first) = steps.insert(step.topic, index) {
            return Err(VerifyError::SharedTopic {
                first: plan.funnel[first].name.clone(),
                second: step.name.clone(),
                topic: plan.topics[step.topic].name.clone(),
            });
        }
    }
    Ok(steps)
}

/// A record whose value decoded.
struct Decoded<'r> {
    record: &'r ConsumedRecord,
    value: Json,
}

fn count_check(topic: &str, found: usize, run: Option<&RunFacts>) -> Check {
    let Some(run) = run else {
        return Check {
            status: Status::Skipped,
            kind: "count",
            subject: topic.to_string(),
            detail: format!("{found} records; no report to compare with (give --report FILE)"),
        };
    };
    match run.topics.iter().find(|t| t.topic == topic) {
        Some(facts) => Check::new(
            found as u64 == facts.acknowledged,
            "count",
            topic,
            format!(
                "{found} records in the run's window; the report says {} produced, {} \
                 acknowledged",
                facts.produced, facts.acknowledged
            ),
        ),
        None => Check::new(
            false,
            "count",
            topic,
            format!("{found} records; the report has no topic of this name"),
        ),
    }
}

fn decode_check<'r>(
    plan: &Plan,
    topic: usize,
    records: &[&'r ConsumedRecord],
) -> (Check, Vec<Decoded<'r>>) {
    let plan_topic = &plan.topics[topic];
    let schema = plan_topic.schema_path.file_name().map_or_else(
        || plan_topic.record_name.clone(),
        |f| f.to_string_lossy().into(),
    );
    let renderer = match JsonRenderer::new(&plan_topic.schema) {
        Ok(renderer) => renderer,
        Err(error) => {
            let detail = format!("cannot decode with {schema}: {error}");
            return (
                Check::new(false, "decode", &plan_topic.name, detail),
                Vec::new(),
            );
        }
    };

    let mut values = Vec::with_capacity(records.len());
    let mut first_failure: Option<String> = None;
    for record in records {
        let rendered = match &record.value {
            Some(bytes) => renderer.render(bytes).map_err(|e| e.to_string()),
            None => Err("the record has no value".to_string()),
        };
        match rendered {
            Ok(value) => values.push(Decoded { record, value }),
            Err(reason) => {
                first_failure.get_or_insert_with(|| format!("{}: {reason}", locate(record)));
            }
        }
    }

    let failed = records.len() - values.len();
    let mut detail = format!(
        "{} of {} values decode with {schema}",
        values.len(),
        records.len()
    );
    if let Some(first) = first_failure {
        detail.push_str(&format!("; the first that does not: {first}"));
    }
    (
        Check::new(failed == 0, "decode", &plan_topic.name, detail),
        values,
    )
}

fn partition_check(topic: &str, records: &[&ConsumedRecord], partitions: i32) -> Check {
    let misplaced: Vec<&&ConsumedRecord> = records
        .iter()
        .filter(|r| match &r.key {
            Some(key) if partitions > 0 => partition_for(key, partitions) != r.partition,
            _ => true,
        })
        .collect();
    let mut detail = format!(
        "{} of {} records in partition murmur2(key) mod {partitions}",
        records.len() - misplaced.len(),
        records.len()
    );
    if let Some(first) = misplaced.first() {
        let expected = match &first.key {
            Some(key) if partitions > 0 => {
                format!("belongs in partition {}", partition_for(key, partitions))
            }
            _ => "has no key".to_string(),
        };
        detail.push_str(&format!(
            "; the first that is not: {} {expected}",
            locate(first)
        ));
    }
    Check::new(misplaced.is_empty(), "partition", topic, detail)
}

/// `partition 2, offset 17, key user-5`: where a record is, for messages.
fn locate(record: &ConsumedRecord) -> String {
    let key = record
        .key
        .as_deref()
        .map_or_else(|| "none".to_string(), |k| String::from_utf8_lossy(k).into());
    format!(
        "partition {}, offset {}, key {key}",
        record.partition, record.offset
    )
}

/// The record fields that name a step's user and product.
#[derive(Clone, Copy, Debug, Default)]
struct Carriers<'p> {
    user: Option<&'p str>,
    product: Option<&'p str>,
}

impl<'p> Carriers<'p> {
    fn of(plan: &'p Plan, step: usize) -> Self {
        let mut carriers = Carriers::default();
        for field in &plan.funnel[step].encoder.fields {
            match field.value {
                ValueWriter::UserText | ValueWriter::UserNumber => {
                    carriers.user = Some(&field.name)
                }
                ValueWriter::ProductNumber | ValueWriter::ProductText => {
                    carriers.product = Some(&field.name)
                }
                _ => {}
            }
        }
        carriers
    }

    /// The fields both steps carry, so that their records can be compared.
    fn common(parent: Self, child: Self) -> (Self, Self) {
        let both = |a: Option<&'p str>, b: Option<&'p str>| a.is_some() && b.is_some();
        let user = both(parent.user, child.user);
        let product = both(parent.product, child.product);
        let keep = |c: Self| Carriers {
            user: c.user.filter(|_| user),
            product: c.product.filter(|_| product),
        };
        (keep(parent), keep(child))
    }

    /// The user and product numbers of a decoded value; `None` when a field is unreadable.
    fn identity(&self, value: &Json) -> Option<(Option<u64>, Option<u64>)> {
        let number = |field: Option<&str>| -> Option<Option<u64>> {
            let Some(field) = field else {
                return Some(None);
            };
            let found = match value.get(field)? {
                Json::Number(number) => number.as_u64(),
                Json::String(text) => text.strip_prefix("user-").unwrap_or(text).parse().ok(),
                _ => None,
            };
            found.map(Some)
        };
        Some((number(self.user)?, number(self.product)?))
    }

    fn describe(&self) -> &'static str {
        match (self.user.is_some(), self.product.is_some()) {
            (true, true) => "the same user and product",
            (true, false) => "the same user",
            (false, true) => "the same product",
            (false, false) => "any user and product (no field names them)",
        }
    }
}

fn parent_check(
    plan: &Plan,
    step: usize,
    parents: &[Decoded<'_>],
    children: &[Decoded<'_>],
) -> Check {
    let (parent_fields, child_fields) =
        Carriers::common(Carriers::of(plan, step - 1), Carriers::of(plan, step));
    let parent_topic = &plan.topic_of_step(step - 1).name;
    let subject = format!(
        "{} ({})",
        plan.funnel[step].name,
        plan.topic_of_step(step).name
    );

    // Parents and children in time order; records within a millisecond in offset order.
    let order = |d: &&Decoded<'_>| (d.record.timestamp_ms, d.record.partition, d.record.offset);
    let mut parents: Vec<&Decoded<'_>> = parents.iter().collect();
    parents.sort_by_key(order);
    let mut children: Vec<&Decoded<'_>> = children.iter().collect();
    children.sort_by_key(order);

    // Every parent not later than a child is as good as any other for it and for every later
    // child, so counting the unused ones per identity is enough.
    let mut unused: HashMap<(Option<u64>, Option<u64>), u64> = HashMap::new();
    let mut next_parent = 0;
    let mut orphans: Vec<&Decoded<'_>> = Vec::new();
    for child in &children {
        while let Some(parent) = parents
            .get(next_parent)
            .filter(|parent| parent.record.timestamp_ms <= child.record.timestamp_ms)
        {
            if let Some(identity) = parent_fields.identity(&parent.value) {
                *unused.entry(identity).or_default() += 1;
            }
            next_parent += 1;
        }
        let slot = child_fields
            .identity(&child.value)
            .and_then(|identity| unused.get_mut(&identity))
            .filter(|count| **count > 0);
        match slot {
            Some(count) => *count -= 1,
            None => orphans.push(child),
        }
    }

    let matched = children.len() - orphans.len();
    let mut detail = format!(
        "{matched} of {} records follow an earlier record of {parent_topic} for {}",
        children.len(),
        child_fields.describe()
    );
    if let Some(first) = orphans.first() {
        let time = first
            .record
            .timestamp_ms
            .map_or_else(|| "no timestamp".to_string(), |t| format!("timestamp {t}"));
        detail.push_str(&format!(
            "; {} have none, the first at {}, {time}",
            orphans.len(),
            locate(first.record)
        ));
    }
    Check::new(orphans.is_empty(), "parents", &subject, detail)
}

/// The run's start in milliseconds since the epoch, for placing parents in stages: the
/// report's, else the scenario's, else the earliest first-step record's.
fn start_ms(
    plan: &Plan,
    run: Option<&RunFacts>,
    decoded: &[Vec<Decoded<'_>>],
    step_of_topic: &HashMap<usize, usize>,
) -> Result<Option<f64>, VerifyError> {
    if let Some(run) = run {
        return Ok(Some(run.start_ns()? as f64 / 1e6));
    }
    if let Some(start) = plan.start {
        return Ok(Some(start.timestamp_millis() as f64));
    }
    let first_topic = step_of_topic
        .iter()
        .find(|(_, step)| **step == 0)
        .map(|(topic, _)| *topic);
    Ok(first_topic.and_then(|topic| {
        decoded[topic]
            .iter()
            .filter_map(|d| d.record.timestamp_ms)
            .min()
            .map(|t| t as f64)
    }))
}

fn ratio_check(
    plan: &Plan,
    step: usize,
    parents: &[Decoded<'_>],
    children: usize,
    start_ms: Option<f64>,
    run: Option<&RunFacts>,
) -> Check {
    let subject = format!(
        "{} ({})",
        plan.funnel[step].name,
        plan.topic_of_step(step).name
    );
    let skipped = |detail: String| Check {
        status: Status::Skipped,
        kind: "ratio",
        subject: subject.clone(),
        detail,
    };
    if let Some(run) = run.filter(|run| !run.complete()) {
        return skipped(format!(
            "the run did not emit every follow-up (outcome {}, {} cut), so ratios are not judged",
            run.outcome, run.follow_ups_cut
        ));
    }
    if parents.is_empty() {
        return Check::new(
            children == 0,
            "ratio",
            &subject,
            format!("{children} records and no parents"),
        );
    }
    let Some(start_ms) = start_ms else {
        return skipped("no start time to place parents in stages".into());
    };

    // Each parent has a child with the ratio of the stage it falls in: a Bernoulli trial.
    let duration = plan.load.duration();
    let (mut expected, mut variance) = (0.0, 0.0);
    for parent in parents {
        let seconds = (parent.record.timestamp_ms.unwrap_or_default() as f64 - start_ms) / 1e3;
        let ratio = if seconds >= duration {
            plan.funnel[step].ratio
        } else {
            plan.ratio(step, plan.load.stage_at(seconds.max(0.0)))
        };
        expected += ratio;
        variance += ratio * (1.0 - ratio);
    }
    let tolerance = TOLERANCE_STANDARD_ERRORS * variance.sqrt();
    let passed = (children as f64 - expected).abs() <= tolerance + 1e-9;

    let n = parents.len() as f64;
    let detail = format!(
        "{children} per {} parents = {:.4}, expected {:.4} ± {:.4} ({} standard errors)",
        parents.len(),
        children as f64 / n,
        expected / n,
        tolerance / n,
        TOLERANCE_STANDARD_ERRORS
    );
    Check::new(passed, "ratio", &subject, detail)
}

#[cfg(test)]
mod tests;
