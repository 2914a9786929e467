//! The `kafka` and `embedded` sinks: producing records with librdkafka.
//!
//! The producer is configured for load that must arrive intact: `acks=all`, idempotence on, and
//! Java's `murmur2_random` partitioner, so a key lands in the partition a Java client or Kafka
//! Streams would choose and topics keyed by user stay co-partitioned. The scenario's `producer`
//! properties and `-X KEY=VALUE` flags override these, in that order.
//!
//! Every record ends in one of two counts: acknowledged by the broker, or failed with the
//! broker's or librdkafka's reason. A full local queue means waiting for deliveries, never
//! dropping. Whatever is still in flight when the flush deadline passes is purged and counted
//! as failed, so the numbers always add up.
//!
//! An idempotent producer sends nothing until the broker has given it a producer id.
//! librdkafka asks for one with its first metadata, and when that attempt fails it tries again
//! only half a second later. The sink waits for the id before the run's clock starts, so that
//! the first records of a paced run are not held back and delivered late in one burst;
//! librdkafka's statistics say when the id has come.
//!
//! The embedded sink runs the same producer against librdkafka's mock cluster, an in-process
//! Kafka-protocol broker, so that a machine with nothing installed can run a scenario.
//!
//! Handing a record to librdkafka costs more than generating it (a copy, a topic lookup under
//! a lock, an allocation, later its delivery report), so the sink does not do it on the
//! generating thread. Records are copied into batches of about a thousand, and a producer
//! thread of the sink's own hands them to librdkafka and serves delivery reports; on a machine
//! with two cores this is what lets a run keep up with Kafka's own ProducerPerformance. A batch
//! goes over when it is full and whenever the run waits for its schedule, so paced records are
//! not held back, and only a few batches may wait at once, so a slow broker slows generation
//! down instead of filling memory. Records keep their order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::PurgeConfig;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DefaultProducerContext, Producer, ProducerContext,
};

use super::{Record, Sink, SinkError, TopicDelivery};
use crate::kafka::Unreachable;

/// Producer properties simrun sets unless the scenario or `-X` says otherwise.
pub const PRODUCER_DEFAULTS: [(&str, &str); 6] = [
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("partitioner", "murmur2_random"),
    ("linger.ms", "5"),
    ("message.timeout.ms", "60000"),
    ("client.id", "simrun"),
];

/// How long to wait for a broker's first answer before calling it unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to produce and with which properties.
#[derive(Clone, Debug)]
pub struct KafkaOptions {
    pub bootstrap_servers: String,
    /// Properties in order of precedence: later entries win.
    pub properties: Vec<(String, String)>,
}

impl KafkaOptions {
    /// Builds the librdkafka configuration: defaults, then `properties`, then the servers.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in PRODUCER_DEFAULTS {
            config.set(key, value);
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config.set("bootstrap.servers", &self.bootstrap_servers);
        if is_idempotent(&config) && config.get("statistics.interval.ms").is_none() {
            config.set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
        }
        config.set_log_level(RDKafkaLogLevel::Warning);
        config
    }
}

/// How often librdkafka reports statistics when simrun sets the interval: often enough that
/// the wait for the producer id ends soon after the id arrives, rarely enough to cost nothing.
const STATISTICS_INTERVAL_MS: &str = "100";

fn is_idempotent(config: &ClientConfig) -> bool {
    config.get("enable.idempotence") == Some("true")
}

/// Counts deliveries as librdkafka reports them.
struct DeliveryCounter {
    acknowledged: Vec<AtomicU64>,
    failed: Mutex<Vec<BTreeMap<String, u64>>>,
    /// Whether librdkafka's statistics have shown an idempotent producer with its id.
    has_producer_id: AtomicBool,
}

impl DeliveryCounter {
    fn new(topics: usize) -> Self {
        DeliveryCounter {
            acknowledged: (0..topics).map(|_| AtomicU64::new(0)).collect(),
            failed: Mutex::new(vec![BTreeMap::new(); topics]),
            has_producer_id: AtomicBool::new(false),
        }
    }

    fn fail(&self, topic: usize, reason: String) {
        if let Ok(mut failed) = self.failed.lock() {
            *failed[topic].entry(reason).or_default() += 1;
        }
    }
}

impl ClientContext for DeliveryCounter {
    /// Only watches for the producer id; a search in the text is enough for that, and cheaper
    /// than parsing the whole report every time.
    fn stats_raw(&self, statistics: &[u8]) {
        const ASSIGNED: &[u8] = br#""idemp_state": "Assigned""#;
        if !self.has_producer_id.load(Ordering::Relaxed)
            && statistics.windows(ASSIGNED.len()).any(|w| w == ASSIGNED)
        {
            self.has_producer_id.store(true, Ordering::Relaxed);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(target: "simrun::kafka", %error, reason, "kafka client error");
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(target: "simrun::kafka", facility, message),
            RDKafkaLogLevel::Warning => tracing::warn!(target: "simrun::kafka", facility, message),
            _ => tracing::debug!(target: "simrun::kafka", facility, message),
        }
    }
}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, topic: usize) {
        match result {
            Ok(_) => {
                self.acknowledged[topic].fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => self.fail(topic, describe_error(error)),
        }
    }
}

/// A failure reason that reads well in a summary.
fn describe_error(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(code) => code.to_string(),
        None => error.to_string(),
    }
}

/// A librdkafka producer fed by a thread of its own, optionally with the embedded broker it
/// talks to.
pub struct KafkaSink {
    producer: Arc<BaseProducer<DeliveryCounter>>,
    /// Records taken but not yet handed to the producer thread.
    batch: Batch,
    /// `None` once the producer thread has been stopped.
    handoff: Option<Handoff>,
    produced: Vec<u64>,
    description: String,
    // Declared after the producer, so it is dropped after it.
    embedded: Option<MockCluster<'static, DefaultProducerContext>>,
}

/// The way to the producer thread: full batches go over, emptied ones come back for reuse.
struct Handoff {
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    thread: JoinHandle<()>,
}

/// A batch is handed over once it holds this many records...
const BATCH_RECORDS: usize = 1024;
/// ...or this many bytes of keys and values.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches that may wait for the producer thread before the generating thread must wait too.
const BATCHES_WAITING: usize = 4;
/// How often an idle producer thread serves delivery reports.
const IDLE_POLL: Duration = Duration::from_millis(10);

/// Records on their way to the producer thread: keys and values back to back.
#[derive(Debug, Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Batched>,
}

/// Where one record of a [`Batch`] is, and what else it carries.
#[derive(Clone, Copy, Debug)]
struct Batched {
    topic: usize,
    key_len: usize,
    value_len: usize,
    timestamp_ms: i64,
}

impl Batch {
    fn push(&mut self, record: &Record<'_>) {
        self.bytes.extend_from_slice(record.key);
        self.bytes.extend_from_slice(record.value);
        self.records.push(Batched {
            topic: record.topic,
            key_len: record.key.len(),
            value_len: record.value.len(),
            timestamp_ms: record.timestamp_ms,
        });
    }

    fn is_full(&self) -> bool {
        self.records.len() >= BATCH_RECORDS || self.bytes.len() >= BATCH_BYTES
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
    }

    /// The records, in the order they were pushed.
    fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let mut at = 0;
        self.records.iter().map(move |batched| {
            let key = &self.bytes[at..at + batched.key_len];
            at += batched.key_len;
            let value = &self.bytes[at..at + batched.value_len];
            at += batched.value_len;
            Record {
                topic: batched.topic,
                key,
                value,
                timestamp_ms: batched.timestamp_ms,
            }
        })
    }
}

/// Waits, at most [`CONNECT_TIMEOUT`], until the idempotent producer has its producer id. A
/// broker that never gives one is not an error here: librdkafka keeps asking, records wait in its
/// queue, and a run reports them late or failed as they turn out.
fn wait_for_producer_id(producer: &BaseProducer<DeliveryCounter>) {
    let began = Instant::now();
    while !producer.context().has_producer_id.load(Ordering::Relaxed) {
        if began.elapsed() > CONNECT_TIMEOUT {
            tracing::warn!(
                target: "simrun::kafka",
                "no producer id from the broker within {CONNECT_TIMEOUT:?}; producing anyway"
            );
            return;
        }
        producer.poll(Duration::from_millis(10));
    }
    tracing::debug!(target: "simrun::kafka", waited = ?began.elapsed(), "producer id assigned");
}

/// The producer thread: hands each batch's records to librdkafka, in order, and serves
/// delivery reports, until the sink closes the way in.
fn produce_batches(
    producer: &BaseProducer<DeliveryCounter>,
    topics: &[String],
    full: Receiver<Batch>,
    empty: Sender<Batch>,
) {
    loop {
        match full.recv_timeout(IDLE_POLL) {
            Ok(mut batch) => {
                for record in batch.records() {
                    produce_one(producer, topics, &record);
                }
                producer.poll(Duration::ZERO);
                batch.clear();
                // The sink may be gone already; then the batch is simply dropped.
                let _ = empty.send(batch);
            }
            Err(RecvTimeoutError::Timeout) => producer.poll(Duration::ZERO),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Hands one record to librdkafka, waiting while its queue is full; a record it refuses is
/// counted as failed.
fn produce_one(producer: &BaseProducer<DeliveryCounter>, topics: &[String], record: &Record<'_>) {
    let mut pending = BaseRecord::with_opaque_to(&topics[record.topic], record.topic)
        .key(record.key)
        .payload(record.value)
        .timestamp(record.timestamp_ms);
    loop {
        match producer.send(pending) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                // The local queue is full: serve deliveries until there is room again.
                pending = returned;
                producer.poll(Duration::from_millis(5));
            }
            Err((error, _)) => {
                producer
                    .context()
                    .fail(record.topic, describe_error(&error));
                return;
            }
        }
    }
}

impl KafkaSink {
    /// Connects to a cluster and checks within [`CONNECT_TIMEOUT`] that it answers.
    pub fn connect(options: &KafkaOptions, topics: Vec<String>) -> Result<Self, SinkError> {
        let description = format!("kafka at {}", options.bootstrap_servers);
        Self::open(options, topics, description, None)
    }

    /// Starts an embedded broker with `topics` as `(name, partitions)` and connects to it.
    pub fn embedded(
        properties: Vec<(String, String)>,
        topics: &[(String, i32)],
    ) -> Result<Self, SinkError> {
        let cluster = MockCluster::new(1).map_err(|e| SinkError::Embedded(e.to_string()))?;
        for (name, partitions) in topics {
            cluster
                .create_topic(name, *partitions, 1)
                .map_err(|e| SinkError::Embedded(format!("cannot create topic {name}: {e}")))?;
        }
        let options = KafkaOptions {
            bootstrap_servers: cluster.bootstrap_servers(),
            properties,
        };
        let description = format!(
            "embedded broker at {} (librdkafka mock cluster)",
            options.bootstrap_servers
        );
        let names = topics.iter().map(|(name, _)| name.clone()).collect();
        Self::open(&options, names, description, Some(cluster))
    }

    fn open(
        options: &KafkaOptions,
        topics: Vec<String>,
        description: String,
        embedded: Option<MockCluster<'static, DefaultProducerContext>>,
    ) -> Result<Self, SinkError> {
        let config = options.client_config();
        let context = DeliveryCounter::new(topics.len());
        let producer: BaseProducer<DeliveryCounter> = config
            .create_with_context(context)
            .map_err(|error| SinkError::Config(error.to_string()))?;

        // A cluster that does not answer is reported now, not after the first message times out.
        if let Err(error) = producer.client().fetch_metadata(None, CONNECT_TIMEOUT) {
            let reason = describe_error(&error);
            return Err(SinkError::Unreachable(Unreachable::new(
                &options.bootstrap_servers,
                reason,
            )));
        }

        if is_idempotent(&config) {
            wait_for_producer_id(&producer);
        }

        let producer = Arc::new(producer);
        let (full, full_out) = mpsc::sync_channel(BATCHES_WAITING);
        let (empty_in, empty) = mpsc::channel();
        let thread = {
            let producer = Arc::clone(&producer);
            let topics = topics.clone();
            std::thread::Builder::new()
                .name("simrun-produce".into())
                .spawn(move || produce_batches(&producer, &topics, full_out, empty_in))
                .map_err(|error| {
                    SinkError::Config(format!("cannot start the producer thread: {error}"))
                })?
        };

        Ok(KafkaSink {
            producer,
            batch: Batch::default(),
            handoff: Some(Handoff {
                full,
                empty,
                thread,
            }),
            produced: vec![0; topics.len()],
            description,
            embedded,
        })
    }

    /// Hands the records taken so far to the producer thread, waiting if it is behind.
    fn hand_over(&mut self) {
        if self.batch.records.is_empty() {
            return;
        }
        let Some(handoff) = &self.handoff else {
            return;
        };
        let spare = handoff.empty.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, spare);
        if let Err(mpsc::SendError(lost)) = handoff.full.send(batch) {
            // The thread only ends early by panicking; its records will never be sent.
            for record in &lost.records {
                let reason = "simrun's producer thread stopped".to_string();
                self.producer.context().fail(record.topic, reason);
            }
        }
    }

    /// Closes the way to the producer thread and waits until it has handed over everything.
    fn stop_thread(&mut self) {
        if let Some(Handoff { full, thread, .. }) = self.handoff.take() {
            drop(full);
            if thread.join().is_err() {
                tracing::error!("simrun's Kafka producer thread panicked");
            }
        }
    }

    /// The embedded broker's address, when there is one.
    pub fn embedded_servers(&self) -> Option<String> {
        self.embedded.as_ref().map(MockCluster::bootstrap_servers)
    }
}

impl Sink for KafkaSink {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        self.batch.push(record);
        self.produced[record.topic] += 1;
        if self.batch.is_full() {
            self.hand_over();
        }
        Ok(())
    }

    fn idle(&mut self, wait: Duration) {
        // The run is ahead of its schedule: what it has taken goes out now.
        self.hand_over();
        std::thread::sleep(wait);
    }

    fn finish(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.hand_over();
        self.stop_thread();
        if self.producer.flush(timeout).is_err() {
            // Whatever is left will not arrive in time: purge it, so each record is reported
            // as failed through its delivery callback.
            self.producer
                .purge(PurgeConfig::default().queue().inflight());
            self.producer.poll(Duration::from_millis(500));
        }
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        let context = self.producer.context();
        let failed = context.failed.lock().map(|f| f.clone()).unwrap_or_default();
        (0..self.produced.len())
            .map(|topic| TopicDelivery {
                produced: self.produced[topic],
                acknowledged: context.acknowledged[topic].load(Ordering::Relaxed),
                failed: failed.get(topic).cloned().unwrap_or_default(),
            })
            .collect()
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

impl Drop for KafkaSink {
    /// A sink dropped without [`Sink::finish`] still stops its thread before the producer and
    /// the embedded broker go.
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(properties: &[(&str, &str)]) -> KafkaOptions {
        KafkaOptions {
            bootstrap_servers: "localhost:1".into(),
            properties: properties
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        }
    }

    #[test]
    fn statistics_are_asked_for_only_to_learn_the_producer_id() {
        let idempotent = options(&[]).client_config();
        assert_eq!(
            idempotent.get("statistics.interval.ms"),
            Some(STATISTICS_INTERVAL_MS)
        );

        let chosen = options(&[("statistics.interval.ms", "5000")]).client_config();
        assert_eq!(chosen.get("statistics.interval.ms"), Some("5000"));

        let plain = options(&[("enable.idempotence", "false")]).client_config();
        assert_eq!(plain.get("statistics.interval.ms"), None);
    }

    #[test]
    fn only_an_assigned_idempotence_state_counts_as_having_the_id() {
        let counter = DeliveryCounter::new(1);
        let report = |state: &str| format!(r#"{{"eos": {{ "idemp_state": "{state}", "x": 1 }}}}"#);

        counter.stats_raw(report("WaitPID").as_bytes());
        assert!(!counter.has_producer_id.load(Ordering::Relaxed));

        counter.stats_raw(report("Assigned").as_bytes());
        assert!(counter.has_producer_id.load(Ordering::Relaxed));
    }

    #[test]
    fn the_embedded_sink_opens_with_its_producer_id() {
        let sink = KafkaSink::embedded(Vec::new(), &[("clicks".to_string(), 3)])
            .expect("the embedded broker should start");
        assert!(
            sink.producer
                .context()
                .has_producer_id
                .load(Ordering::Relaxed)
        );
    }
}
