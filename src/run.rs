//! A run: the simulation driven against the wall clock into a sink, then a report.
//!
//! An event due at simulated offset `t` leaves at wall time `t / speed` after the run began.
//! The loop waits (serving the sink meanwhile) when it is ahead of schedule by more than a
//! millisecond, and otherwise emits at once; being behind is measured for every event and
//! reported, never hidden. At speed `max` nothing waits. Generation stops early on
//! `--max-events`, Ctrl-C, or a closed standard output; whatever was handed to the sink is then
//! flushed, so the report accounts for every record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use apache_avro::Schema;
use chrono::{DateTime, Utc};

use crate::kafka::admin::{Admin, AdminError, Provisioned, TopicRequest};
use crate::plan::{Plan, TopicPlan};
use crate::report::progress::Progress;
use crate::report::{Outcome, RunReport, Tally, TopicReport};
use crate::scenario::Speed;
use crate::sim::Simulation;
use crate::sink::files::AvroFilesSink;
use crate::sink::kafka::{KafkaOptions, KafkaSink};
use crate::sink::null::NullSink;
use crate::sink::stdout::{JsonLinesSink, StdoutTopic};
use crate::sink::{Record, Sink, SinkError, SinkKind};

/// How a run is carried out, beyond what the plan says.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub sink: SinkKind,
    /// Directory for `avro-files`.
    pub out: Option<PathBuf>,
    /// Cluster for the `kafka` sink.
    pub bootstrap_servers: Option<String>,
    /// `-X KEY=VALUE` producer properties, applied after the scenario's.
    pub properties: Vec<(String, String)>,
    pub max_events: Option<u64>,
    /// Emit follow-ups due after the last stage (the default).
    pub drain: bool,
    /// Create the scenario's topics before producing to Kafka.
    pub create_topics: bool,
    /// Draw a progress line on a terminal.
    pub progress: bool,
    /// How long to wait at the end for acknowledgements.
    pub flush_timeout: Duration,
    /// Set by a Ctrl-C handler to stop generation.
    pub stop: Arc<AtomicBool>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            sink: SinkKind::Null,
            out: None,
            bootstrap_servers: None,
            properties: Vec::new(),
            max_events: None,
            drain: true,
            create_topics: true,
            progress: false,
            flush_timeout: Duration::from_secs(60),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Topics(#[from] AdminError),
    #[error("--sink avro-files needs --out DIR, the directory for the files")]
    MissingOut,
}

/// The seed and start a run actually used, after defaults.
#[derive(Clone, Copy, Debug)]
pub struct Resolved {
    pub seed: u64,
    pub start: DateTime<Utc>,
}

impl Resolved {
    /// Takes the plan's seed and start, or picks them now.
    pub fn of(plan: &Plan) -> Self {
        let start = plan.start.unwrap_or_else(Utc::now);
        let seed = plan.seed.unwrap_or_else(seed_from_clock);
        Resolved { seed, start }
    }

    pub fn start_ns(&self) -> i64 {
        self.start.timestamp_nanos_opt().unwrap_or_default()
    }
}

/// A seed for a run given none, from the clock and the process id. Runs report the seed they
/// used, so that such a run can be replayed.
pub fn seed_from_clock() -> u64 {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// Runs `plan` into the sink `options` name and reports what happened.
pub fn run(plan: &Plan, resolved: Resolved, options: &RunOptions) -> Result<RunReport, RunError> {
    let mut sink = open_sink(plan, resolved.seed, options)?;
    Ok(drive(plan, resolved, options, sink.as_mut()))
}

/// A topic as a sink sees it: its name and schema, and how to create it on Kafka.
#[derive(Clone, Copy, Debug)]
pub struct SinkTopic<'a> {
    pub name: &'a str,
    pub schema: &'a Schema,
    pub partitions: i32,
    pub replication_factor: i32,
    /// Topic configuration set when the topic is created.
    pub config: &'a BTreeMap<String, String>,
}

impl<'a> SinkTopic<'a> {
    /// The sink's view of a planned topic.
    pub fn of(topic: &'a TopicPlan) -> Self {
        SinkTopic {
            name: &topic.name,
            schema: &topic.schema,
            partitions: topic.partitions,
            replication_factor: topic.replication_factor,
            config: &topic.config,
        }
    }

    fn request(&self) -> TopicRequest {
        TopicRequest {
            name: self.name.to_string(),
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            config: self.config.clone(),
        }
    }
}

/// Opens the sink a run asked for, creating Kafka topics first where needed.
pub fn open_sink<'p>(
    plan: &'p Plan,
    seed: u64,
    options: &RunOptions,
) -> Result<Box<dyn Sink + 'p>, RunError> {
    let topics: Vec<SinkTopic<'p>> = plan.topics.iter().map(SinkTopic::of).collect();
    let properties: Vec<(String, String)> = plan
        .kafka
        .producer
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    open_topics(&topics, properties, seed, options)
}

/// Opens the sink `options` name for `topics`, creating them first on Kafka unless told not to.
///
/// Records name their topic by its index in `topics`. `properties` are producer properties
/// that `options.properties` (`-X`) override; `seed` fixes the sync markers of `avro-files`.
pub fn open_topics<'a>(
    topics: &[SinkTopic<'a>],
    mut properties: Vec<(String, String)>,
    seed: u64,
    options: &RunOptions,
) -> Result<Box<dyn Sink + 'a>, RunError> {
    properties.extend(options.properties.iter().cloned());

    let sink: Box<dyn Sink + 'a> = match options.sink {
        SinkKind::Null => Box::new(NullSink::new(topics.len())),
        SinkKind::Stdout => {
            let topics = topics.iter().map(|t| StdoutTopic {
                name: t.name,
                schema: t.schema,
            });
            Box::new(JsonLinesSink::stdout(topics.collect()))
        }
        SinkKind::AvroFiles => {
            let dir = options.out.as_deref().ok_or(RunError::MissingOut)?;
            let topics: Vec<(&str, &Schema)> = topics.iter().map(|t| (t.name, t.schema)).collect();
            Box::new(AvroFilesSink::create(dir, &topics, seed)?)
        }
        SinkKind::Embedded => {
            let topics: Vec<(String, i32)> = topics
                .iter()
                .map(|t| (t.name.to_string(), t.partitions))
                .collect();
            Box::new(KafkaSink::embedded(properties, &topics)?)
        }
        SinkKind::Kafka => {
            let servers = options
                .bootstrap_servers
                .clone()
                .unwrap_or_else(|| "localhost:9092".into());
            if options.create_topics {
                provision_topics(topics, &servers, &properties)?;
            }
            let kafka = KafkaOptions {
                bootstrap_servers: servers,
                properties,
            };
            let names = topics.iter().map(|t| t.name.to_string()).collect();
            Box::new(KafkaSink::connect(&kafka, names)?)
        }
    };
    Ok(sink)
}

/// Creates the plan's topics on `servers`, leaving matching ones alone.
pub fn provision(
    plan: &Plan,
    servers: &str,
    properties: &[(String, String)],
) -> Result<Vec<(String, Provisioned)>, AdminError> {
    let topics: Vec<SinkTopic<'_>> = plan.topics.iter().map(SinkTopic::of).collect();
    provision_topics(&topics, servers, properties)
}

/// Creates `topics` on `servers`, leaving matching ones alone.
pub fn provision_topics(
    topics: &[SinkTopic<'_>],
    servers: &str,
    properties: &[(String, String)],
) -> Result<Vec<(String, Provisioned)>, AdminError> {
    let admin = Admin::connect(servers, properties)?;
    let requests: Vec<TopicRequest> = topics.iter().map(SinkTopic::request).collect();
    let outcome = admin.ensure(&requests)?;
    for (name, provisioned) in &outcome {
        match provisioned {
            Provisioned::Created => tracing::info!(topic = %name, "created topic"),
            Provisioned::AlreadyMatching => {
                tracing::debug!(topic = %name, "topic already exists as planned")
            }
        }
    }
    Ok(outcome)
}

/// How often, in events, the loop looks at the clock for progress and Ctrl-C at speed max.
const CHECK_EVERY: u64 = 4096;

/// The emission loop: simulation → pacing → sink, then flush and report.
pub fn drive(
    plan: &Plan,
    resolved: Resolved,
    options: &RunOptions,
    sink: &mut dyn Sink,
) -> RunReport {
    let mut simulation = Simulation::new(plan, resolved.seed, resolved.start_ns(), options.drain);
    let mut tally = Tally::new(plan);
    let progress = Progress::start(options.progress, plan.load.duration());
    let began = Instant::now();
    let mut last_progress = began;
    let max_events = options.max_events.unwrap_or(u64::MAX);
    let mut outcome = Outcome::Completed;

    while let Some(event) = simulation.next_event() {
        // Pacing: wait while ahead of schedule, measure how far behind otherwise.
        if let Speed::Factor(speed) = plan.speed {
            let due = Duration::from_secs_f64(event.offset_ns as f64 / 1e9 / speed);
            let mut elapsed = began.elapsed();
            while due > elapsed + Duration::from_millis(1) {
                sink.idle(due - elapsed);
                elapsed = began.elapsed();
                if options.stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            tally.behind(elapsed.saturating_sub(due).as_nanos() as u64);
        }
        if options.stop.load(Ordering::Relaxed) {
            outcome = Outcome::Interrupted;
            break;
        }

        let encoded = simulation.encoded();
        let record = Record {
            topic: event.topic,
            key: &encoded.key,
            value: &encoded.value,
            timestamp_ms: event.timestamp_ms,
        };
        if let Err(error) = sink.send(&record) {
            if !matches!(error, SinkError::Closed) {
                tracing::error!(%error, "the sink failed; stopping generation");
            }
            outcome = Outcome::after_sink_error(&error);
            break;
        }
        tally.record(&event);

        let total = tally.total();
        if total >= max_events {
            outcome = Outcome::MaxEvents;
            break;
        }
        if total % CHECK_EVERY == 0 {
            let now = Instant::now();
            if now.duration_since(last_progress) >= Duration::from_millis(200) {
                last_progress = now;
                let wall = now.duration_since(began).as_secs_f64();
                let simulated = event.offset_ns as f64 / 1e9;
                progress.update(
                    total,
                    total as f64 / wall,
                    simulated,
                    tally.current_behind_ns() as f64 / 1e6,
                );
            }
        }
    }
    let generated = began.elapsed();

    // Everything handed over is now acknowledged or failed.
    let flush_began = Instant::now();
    match sink.finish(options.flush_timeout) {
        Ok(()) | Err(SinkError::Closed) => {}
        Err(error) => tracing::warn!(%error, "the sink did not finish cleanly"),
    }
    let flush_seconds = flush_began.elapsed().as_secs_f64();
    progress.finish();

    let delivery = sink.delivery();
    let complete = outcome == Outcome::Completed && options.drain;
    let mut funnel = tally.funnel(plan);
    if !complete {
        // Follow-ups of a cut-short run were never emitted, so their ratios are not judged.
        funnel
            .iter_mut()
            .for_each(|step| step.within_tolerance = None);
    }
    RunReport {
        scenario: plan.name.clone(),
        file: plan.file.display().to_string(),
        seed: resolved.seed,
        start: resolved
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        speed: plan.speed.to_string(),
        sink: sink.describe(),
        outcome,
        events: tally.total(),
        wall_seconds: generated.as_secs_f64() + flush_seconds,
        simulated_seconds: tally.last_offset_ns as f64 / 1e9,
        topics: plan
            .topics
            .iter()
            .zip(delivery)
            .map(|(topic, delivery)| TopicReport {
                topic: topic.name.clone(),
                delivery,
            })
            .collect(),
        funnel,
        stages: tally.stages(plan),
        pacing: tally.pacing(),
        follow_ups_cut: simulation.counters().cut_by_no_drain,
        flush_seconds,
    }
}
