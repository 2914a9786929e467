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
//! The embedded sink runs the same producer against librdkafka's mock cluster, an in-process
//! Kafka-protocol broker, so that a machine with nothing installed can run a scenario.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
        config.set_log_level(RDKafkaLogLevel::Warning);
        config
    }
}

/// Counts deliveries as librdkafka reports them.
struct DeliveryCounter {
    acknowledged: Vec<AtomicU64>,
    failed: Mutex<Vec<BTreeMap<String, u64>>>,
}

impl DeliveryCounter {
    fn new(topics: usize) -> Self {
        DeliveryCounter {
            acknowledged: (0..topics).map(|_| AtomicU64::new(0)).collect(),
            failed: Mutex::new(vec![BTreeMap::new(); topics]),
        }
    }

    fn fail(&self, topic: usize, reason: String) {
        if let Ok(mut failed) = self.failed.lock() {
            *failed[topic].entry(reason).or_default() += 1;
        }
    }
}

impl ClientContext for DeliveryCounter {
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

/// A librdkafka producer, optionally with the embedded broker it talks to.
pub struct KafkaSink {
    // Declared before the broker, so it is dropped first.
    producer: BaseProducer<DeliveryCounter>,
    topics: Vec<String>,
    produced: Vec<u64>,
    since_poll: u32,
    description: String,
    embedded: Option<MockCluster<'static, DefaultProducerContext>>,
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
        let context = DeliveryCounter::new(topics.len());
        let producer: BaseProducer<DeliveryCounter> = options
            .client_config()
            .create_with_context(context)
            .map_err(|error| SinkError::Config(error.to_string()))?;

        // A cluster that does not answer is reported now, not after the first message times out.
        if let Err(error) = producer.client().fetch_metadata(None, CONNECT_TIMEOUT) {
            return Err(SinkError::Unreachable {
                servers: options.bootstrap_servers.clone(),
                timeout: CONNECT_TIMEOUT,
                reason: describe_error(&error),
            });
        }

        let produced = vec![0; topics.len()];
        Ok(KafkaSink {
            producer,
            topics,
            produced,
            since_poll: 0,
            description,
            embedded,
        })
    }

    /// The embedded broker's address, when there is one.
    pub fn embedded_servers(&self) -> Option<String> {
        self.embedded.as_ref().map(MockCluster::bootstrap_servers)
    }
}

/// How many records to hand over between two polls for delivery reports.
const POLL_EVERY: u32 = 1024;

impl Sink for KafkaSink {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let mut pending = BaseRecord::with_opaque_to(&self.topics[record.topic], record.topic)
            .key(record.key)
            .payload(record.value)
            .timestamp(record.timestamp_ms);
        loop {
            match self.producer.send(pending) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // The local queue is full: serve deliveries until there is room again.
                    pending = returned;
                    self.producer.poll(Duration::from_millis(5));
                }
                Err((error, _)) => {
                    self.producer
                        .context()
                        .fail(record.topic, describe_error(&error));
                    break;
                }
            }
        }
        self.produced[record.topic] += 1;

        self.since_poll += 1;
        if self.since_poll >= POLL_EVERY {
            self.since_poll = 0;
            self.producer.poll(Duration::ZERO);
        }
        Ok(())
    }

    fn idle(&mut self, wait: Duration) {
        self.producer.poll(wait);
    }

    fn finish(&mut self, timeout: Duration) -> Result<(), SinkError> {
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
        (0..self.topics.len())
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
