//! `simrun gen`: records of any Avro schema, paced into a single topic.
//!
//! This keeps the workflow of the generator simrun replaces (`-t TOPIC -s SCHEMA -k FIELD -i
//! SECONDS -c COUNT`) while building each record exactly as a scenario builds the fields it does
//! not bind: through a [`RecordEncoder`] without bindings, so `user_id`, `product_id` and
//! `timestamp` take the message's user, product and time where their type fits, every other
//! field a random valid value of its type, and the key is sliced out of the encoded value the
//! same way.
//!
//! Message `i` draws everything from its own stream `(seed, Domain::Record, i)`, so it does not
//! depend on the messages before it or on `--count`. Its user is one of `--users` and its
//! product one of `--products`, equally likely. Its event time, which is also the Kafka record
//! timestamp, is not drawn: it is `start + i × interval`. Sending follows the same schedule on a
//! [`Clock`], so a slow sink is caught up rather than letting the schedule drift; tests drive
//! the loop with a clock that only records the waits it is asked for.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use apache_avro::Schema;
use chrono::{DateTime, Utc};

use crate::encoding::random::RandomSchemaError;
use crate::encoding::record::{Encoded, EventFacts, RecordEncoder};
use crate::encoding::schema::{LoadedSchema, SchemaError, load_schema};
use crate::kafka::admin::AdminError;
use crate::plan::distribution::{EntityChoice, EntitySampler};
use crate::plan::fields::{RecordShape, describe_type, key_type_ok, unbound_encoder};
use crate::report::progress::Progress;
use crate::report::summary::{delivery, outcome_text};
use crate::report::{Outcome, TopicReport};
use crate::run::{self, RunError, RunOptions, SinkTopic};
use crate::sim::rng::{Domain, stream};
use crate::sink::{Record, Sink, SinkError};

/// What to generate, after the command line has been read.
#[derive(Clone, Debug)]
pub struct GenSettings {
    /// The destination topic.
    pub topic: String,
    /// The top-level field whose value becomes the record key.
    pub key_field: String,
    /// Time between two messages, on the wall clock and in event time; zero for no waiting.
    pub interval: Duration,
    /// How many messages to produce.
    pub count: u64,
    /// The size of the user population: user ids are `1..=users`.
    pub users: u64,
    /// The size of the product catalogue: product ids are `1..=products`.
    pub products: u64,
    /// The seed every value is drawn from.
    pub seed: u64,
    /// The event time of the first message.
    pub start: DateTime<Utc>,
    /// Partitions of the topic when gen creates it.
    pub partitions: i32,
    /// Replication factor of the topic when gen creates it.
    pub replication_factor: i32,
}

/// Why gen cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The schema file cannot be read or parsed, or its top level is not a record.
    #[error(transparent)]
    Schema(#[from] SchemaError),

    /// The key field is not a field of the record.
    #[error("{path}: record `{record}` has no field `{key}` to take the key from; {advice}")]
    MissingKey {
        /// The schema file.
        path: String,
        /// The record's name.
        record: String,
        /// The key field asked for.
        key: String,
        /// The fields the record does have, and which of them could be the key.
        advice: String,
    },

    /// The key field has a type that cannot be a key.
    #[error(
        "{path}: key field `{key}` of record `{record}` is {found}; a key must be a top-level \
         string, int or long field. Name another with -k/--key-field"
    )]
    KeyType {
        /// The schema file.
        path: String,
        /// The record's name.
        record: String,
        /// The key field asked for.
        key: String,
        /// Its type, described.
        found: String,
    },

    /// The schema has types without a finite value.
    #[error("{path}: {source}")]
    Unsatisfiable {
        /// The schema file.
        path: String,
        /// What cannot be generated.
        source: RandomSchemaError,
    },

    /// The topic exists with another layout than the one asked for.
    #[error(
        "topic {topic} exists with {found_partitions} partitions and replication factor \
         {found_replication}, but gen was asked for {partitions} and {replication}; pass \
         --partitions {found_partitions} --replication-factor {found_replication} to produce to \
         it as it is, or delete the topic"
    )]
    TopicMismatch {
        /// The topic.
        topic: String,
        /// Partitions asked for.
        partitions: i32,
        /// Replication factor asked for.
        replication: i32,
        /// Partitions the topic has.
        found_partitions: i32,
        /// Replication factor the topic has.
        found_replication: i32,
    },

    /// The sink cannot be opened or the topic cannot be created.
    #[error(transparent)]
    Sink(RunError),
}

impl GenError {
    /// Whether the command line or the schema is at fault (exit code 2), rather than the
    /// destination (exit code 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            GenError::Schema(_)
                | GenError::MissingKey { .. }
                | GenError::KeyType { .. }
                | GenError::Unsatisfiable { .. }
                | GenError::Sink(RunError::MissingOut)
        )
    }
}

/// A schema compiled for gen, with the settings it generates under.
#[derive(Debug)]
pub struct Generator {
    loaded: LoadedSchema,
    record_name: String,
    encoder: RecordEncoder,
    users: EntitySampler,
    products: EntitySampler,
    settings: GenSettings,
    /// Topic configuration for creation; gen sets none.
    config: BTreeMap<String, String>,
}

impl Generator {
    /// Reads the schema file at `path` and prepares to generate its records.
    pub fn load(path: &std::path::Path, settings: GenSettings) -> Result<Self, GenError> {
        Self::new(load_schema(path)?, settings)
    }

    /// Prepares to generate records of `loaded`: checks the key field and compiles the writers.
    pub fn new(loaded: LoadedSchema, settings: GenSettings) -> Result<Self, GenError> {
        let path = loaded.path.display().to_string();
        let record = loaded.record()?;
        let shape = RecordShape::new(&loaded.schema, record);
        let record_name = record.name.fullname(None);

        // The key: a top-level field, of a type a key can have.
        let key = &settings.key_field;
        let Some(key_index) = shape.field_index(key) else {
            return Err(GenError::MissingKey {
                path,
                record: record_name,
                key: key.clone(),
                advice: key_advice(key, &shape),
            });
        };
        let key_schema = &record.fields[key_index].schema;
        if !key_type_ok(&shape, key_schema) {
            return Err(GenError::KeyType {
                path,
                record: record_name,
                key: key.clone(),
                found: article(&describe_type(key_schema)),
            });
        }

        let encoder = unbound_encoder(&shape, &loaded.schema, key_index)
            .map_err(|source| GenError::Unsatisfiable { path, source })?;
        Ok(Generator {
            users: EntitySampler::new(EntityChoice::Uniform, settings.users.max(1)),
            products: EntitySampler::new(EntityChoice::Uniform, settings.products.max(1)),
            loaded,
            record_name,
            encoder,
            settings,
            config: BTreeMap::new(),
        })
    }

    /// The settings gen runs with.
    pub fn settings(&self) -> &GenSettings {
        &self.settings
    }

    /// The schema records are written in.
    pub fn schema(&self) -> &Schema {
        &self.loaded.schema
    }

    /// The full name of the record type.
    pub fn record_name(&self) -> &str {
        &self.record_name
    }

    /// The topic as the sinks need it.
    pub fn sink_topic(&self) -> SinkTopic<'_> {
        SinkTopic {
            name: &self.settings.topic,
            schema: &self.loaded.schema,
            partitions: self.settings.partitions,
            replication_factor: self.settings.replication_factor,
            config: &self.config,
        }
    }

    /// The event time of message `index`, in nanoseconds since the Unix epoch.
    pub fn time_ns(&self, index: u64) -> i64 {
        let start = self
            .settings
            .start
            .timestamp_nanos_opt()
            .unwrap_or_default();
        let offset = self.offset(index).as_nanos();
        start.saturating_add(i64::try_from(offset).unwrap_or(i64::MAX))
    }

    /// How long after the first message message `index` is due.
    fn offset(&self, index: u64) -> Duration {
        let nanos = self
            .settings
            .interval
            .as_nanos()
            .saturating_mul(u128::from(index));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Encodes message `index` into `out` (key and value) and returns its timestamp in
    /// milliseconds since the Unix epoch.
    pub fn encode(&self, index: u64, out: &mut Encoded) -> i64 {
        let mut rng = stream(self.settings.seed, Domain::Record, index, 0);
        let user = self.users.sample(&mut rng);
        let product = self.products.sample(&mut rng);
        let time_ns = self.time_ns(index);
        let facts = EventFacts {
            user,
            product,
            // Only bound fields write a price, and gen binds none.
            price: 0.0,
            time_ns,
            sequence: index + 1,
            carried: &[],
        };
        self.encoder.encode(&facts, &mut rng, out);
        time_ns.div_euclid(1_000_000)
    }

    /// Opens the sink `options` name for the topic, creating the topic on Kafka if missing.
    pub fn open_sink(&self, options: &RunOptions) -> Result<Box<dyn Sink + '_>, GenError> {
        let opened = run::open_topics(
            &[self.sink_topic()],
            Vec::new(),
            self.settings.seed,
            options,
        );
        opened.map_err(|error| match error {
            RunError::Topics(AdminError::Mismatch {
                name,
                partitions,
                replication,
                found_partitions,
                found_replication,
            }) => GenError::TopicMismatch {
                topic: name,
                partitions,
                replication,
                found_partitions,
                found_replication,
            },
            other => GenError::Sink(other),
        })
    }
}

/// What to do about a missing key field: the fields the record has, and those that can be keys.
fn key_advice(key: &str, shape: &RecordShape<'_>) -> String {
    let quoted = |names: &[&str]| {
        let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
        quoted.join(", ")
    };
    let names: Vec<&str> = shape.field_names().collect();
    let keys: Vec<&str> = shape
        .record
        .fields
        .iter()
        .filter(|field| key_type_ok(shape, &field.schema))
        .map(|field| field.name.as_str())
        .collect();

    let close = crate::diagnostics::suggestion(key, keys.iter().copied());
    match (names.is_empty(), keys.as_slice()) {
        (true, _) => "the record has no fields at all".into(),
        (false, []) => format!(
            "its fields are {}, and none is a plain string, int or long, which a key must be; \
             add such a field to the schema",
            quoted(&names)
        ),
        _ if close.starts_with("did you mean") => format!(
            "its fields are {}; {close} Name the key field with -k/--key-field",
            quoted(&names)
        ),
        (false, keys) => format!(
            "its fields are {}; {} can be the key: name it with -k/--key-field",
            quoted(&names),
            quoted(keys).replace(", ", " or ")
        ),
    }
}

/// `an int`, `a union [null, string]` (the type names that start with `u` sound like `you`).
fn article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// Time as the generation loop sees it: how long it has been running, and a way to wait.
pub trait Clock {
    /// Time since the clock started.
    fn elapsed(&self) -> Duration;

    /// Waits for `duration` while serving `sink`, or less if `stop` is set meanwhile.
    fn wait(&mut self, duration: Duration, sink: &mut dyn Sink, stop: &AtomicBool);
}

/// The wall clock, for real runs.
#[derive(Debug)]
pub struct WallClock {
    began: Instant,
}

impl WallClock {
    /// A clock started now.
    pub fn new() -> Self {
        WallClock {
            began: Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The longest stretch a wait serves the sink before looking at the stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(100);

impl Clock for WallClock {
    fn elapsed(&self) -> Duration {
        self.began.elapsed()
    }

    fn wait(&mut self, duration: Duration, sink: &mut dyn Sink, stop: &AtomicBool) {
        let deadline = Instant::now() + duration;
        loop {
            let now = Instant::now();
            if now >= deadline || stop.load(Ordering::Relaxed) {
                return;
            }
            sink.idle((deadline - now).min(STOP_CHECK));
        }
    }
}

/// What a gen run did.
#[derive(Clone, Debug, PartialEq)]
pub struct GenReport {
    /// The sink, described.
    pub sink: String,
    /// Whether every message was produced, or what stopped generation.
    pub outcome: Outcome,
    /// The seed the values were drawn from.
    pub seed: u64,
    /// The event time of the first message, RFC 3339.
    pub start: String,
    /// Seconds between messages.
    pub interval_seconds: f64,
    /// Messages handed to the sink.
    pub records: u64,
    /// Seconds from the first message until the sink had accounted for every one.
    pub wall_seconds: f64,
    /// Seconds spent waiting at the end for acknowledgements.
    pub flush_seconds: f64,
    /// Delivery of the topic.
    pub topics: Vec<TopicReport>,
}

impl GenReport {
    /// Records that failed or were never confirmed.
    pub fn failed(&self) -> u64 {
        self.topics
            .iter()
            .map(|t| t.delivery.failed_total() + t.delivery.outstanding())
            .sum()
    }

    /// The end-of-run summary for stderr: a line on the run, then the delivery table.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;

        let mut out = String::new();
        let _ = writeln!(
            out,
            "simrun: gen {} on {}",
            outcome_text(self.outcome),
            self.sink
        );
        let _ = writeln!(
            out,
            "  seed {}, start {}, interval {}s; {} records in {:.1}s wall",
            self.seed, self.start, self.interval_seconds, self.records, self.wall_seconds
        );
        out.push('\n');
        delivery(&mut out, &self.topics);
        out.push('\n');
        let _ = writeln!(
            out,
            "flush: {:.2}s waiting for acknowledgements",
            self.flush_seconds
        );
        out
    }
}

/// Produces the messages of `generator` into `sink` on the schedule of `clock`, then flushes.
///
/// Generation stops early when `options.stop` is set (Ctrl-C) or the sink refuses a record (a
/// closed standard output). Of `options`, only `stop`, `progress` and `flush_timeout` apply.
pub fn generate(
    generator: &Generator,
    options: &RunOptions,
    sink: &mut dyn Sink,
    clock: &mut dyn Clock,
) -> GenReport {
    let settings = generator.settings();
    let paced = !settings.interval.is_zero();
    let schedule = generator.offset(settings.count.saturating_sub(1));
    let progress = Progress::start(options.progress && paced, schedule.as_secs_f64());
    let began = clock.elapsed();
    let mut encoded = Encoded::default();
    let mut outcome = Outcome::Completed;
    let mut sent = 0;

    for index in 0..settings.count {
        // Pacing: message `index` leaves `index` intervals after the first one.
        if paced {
            let due = began + generator.offset(index);
            let now = clock.elapsed();
            if due > now {
                clock.wait(due - now, sink, &options.stop);
            }
        }
        if options.stop.load(Ordering::Relaxed) {
            outcome = Outcome::Interrupted;
            break;
        }

        let timestamp_ms = generator.encode(index, &mut encoded);
        let record = Record {
            topic: 0,
            key: &encoded.key,
            value: &encoded.value,
            timestamp_ms,
        };
        if let Err(error) = sink.send(&record) {
            if !matches!(error, SinkError::Closed) {
                tracing::error!(%error, "the sink failed; stopping generation");
            }
            outcome = Outcome::after_sink_error(&error);
            break;
        }
        sent += 1;

        if paced {
            let elapsed = clock.elapsed().saturating_sub(began);
            let due = generator.offset(index);
            let rate = sent as f64 / elapsed.as_secs_f64().max(1e-9);
            let behind_ms = elapsed.saturating_sub(due).as_secs_f64() * 1e3;
            progress.update(sent, rate, due.as_secs_f64(), behind_ms);
        }
    }

    // Everything handed over is now acknowledged or failed.
    let flush_began = clock.elapsed();
    match sink.finish(options.flush_timeout) {
        Ok(()) | Err(SinkError::Closed) => {}
        Err(error) => tracing::warn!(%error, "the sink did not finish cleanly"),
    }
    let ended = clock.elapsed();
    progress.finish();

    let topics = sink
        .delivery()
        .into_iter()
        .map(|delivery| TopicReport {
            topic: settings.topic.clone(),
            delivery,
        })
        .collect();
    GenReport {
        sink: sink.describe(),
        outcome,
        seed: settings.seed,
        start: settings
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        interval_seconds: settings.interval.as_secs_f64(),
        records: sent,
        wall_seconds: ended.saturating_sub(began).as_secs_f64(),
        flush_seconds: ended.saturating_sub(flush_began).as_secs_f64(),
        topics,
    }
}

#[cfg(test)]
mod tests;
