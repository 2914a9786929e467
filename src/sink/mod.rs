//! Sinks: where a run's records go.
//!
//! Every sink takes the same records, in the same order: a topic, a key, a timestamp and an
//! Avro datum. `kafka` produces them to a cluster, `embedded` to an in-process Kafka-protocol
//! broker, `stdout` prints them as JSON Lines, `avro-files` writes one Avro container file per
//! topic, and `null` only counts them. Each sink accounts for every record it was handed:
//! acknowledged, or failed with a reason.

pub mod files;
pub mod kafka;
pub mod null;
pub mod stdout;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// One record, as handed to a sink.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Index of the topic in the list the sink was opened with.
    pub topic: usize,
    pub key: &'a [u8],
    pub value: &'a [u8],
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

/// The sinks `--sink` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    /// A Kafka cluster.
    Kafka,
    /// An in-process Kafka-protocol broker (librdkafka's mock cluster).
    Embedded,
    /// JSON Lines on standard output.
    Stdout,
    /// One Avro object container file per topic under `--out`.
    AvroFiles,
    /// Encode every record, then discard it.
    Null,
}

impl std::fmt::Display for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SinkKind::Kafka => "kafka",
            SinkKind::Embedded => "embedded",
            SinkKind::Stdout => "stdout",
            SinkKind::AvroFiles => "avro-files",
            SinkKind::Null => "null",
        })
    }
}

/// What became of the records of one topic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopicDelivery {
    /// Records handed to the sink.
    pub produced: u64,
    /// Records the destination confirmed (written, or acknowledged by the broker).
    pub acknowledged: u64,
    /// Records that failed, by reason.
    pub failed: BTreeMap<String, u64>,
}

impl TopicDelivery {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Records neither acknowledged nor failed: still in flight.
    pub fn outstanding(&self) -> u64 {
        self.produced
            .saturating_sub(self.acknowledged + self.failed_total())
    }
}

/// Why a sink could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The same advice as elsewhere, and one more way out: the broker simrun brings along.
    #[error("{0}, or use --sink embedded")]
    Unreachable(crate::kafka::Unreachable),
    #[error("cannot configure the Kafka producer: {0}")]
    Config(String),
    #[error("cannot start the embedded broker: {0}")]
    Embedded(String),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write Avro data for topic {topic}: {reason}")]
    Avro { topic: String, reason: String },
    /// The reader went away (`simrun ... | head`): not a failure, a request to stop.
    #[error("the reader of standard output went away")]
    Closed,
}

/// A destination for records.
pub trait Sink {
    /// Takes one record. May wait while the destination's buffer is full; never drops it.
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError>;

    /// Serves the destination (delivery reports, timers) for up to `wait`, returning early when
    /// there is nothing to do. Runs use it instead of sleeping while pacing.
    fn idle(&mut self, wait: Duration) {
        std::thread::sleep(wait);
    }

    /// Waits until every record taken is acknowledged or failed, or `timeout` passes; what is
    /// still in flight then is counted as failed.
    fn finish(&mut self, timeout: Duration) -> Result<(), SinkError>;

    /// Delivery so far, by topic index.
    fn delivery(&self) -> Vec<TopicDelivery>;

    /// A short description for the summary: `kafka at localhost:9092`.
    fn describe(&self) -> String;
}
