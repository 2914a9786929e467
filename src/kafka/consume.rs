//! Reading records back from Kafka, for `simrun tail` and `simrun verify`.
//!
//! A [`Reader`] assigns itself partitions directly: it joins no consumer group and commits
//! nothing, so it leaves no offsets behind on the cluster. It reads either up to the end offsets the partitions had when it
//! started, and then reports that it is done, or on and on as new records arrive. A bounded read
//! never waits forever: partitions that are empty, or already read to their end, count as done,
//! and a read that stops receiving anything before reaching the end is an error.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::metadata::Metadata;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::Unreachable;
use super::admin::is_client_wide;
use crate::sink::kafka::CONNECT_TIMEOUT;

/// A record as read from a topic, with owned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// Milliseconds since the Unix epoch; `None` when the record carries no timestamp.
    pub timestamp_ms: Option<i64>,
    pub value: Option<Vec<u8>>,
}

/// Where reading starts in each partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// The oldest record still kept.
    Beginning,
    /// After the newest record: only records produced from now on.
    End,
    /// The first record with a timestamp at or after this many milliseconds since the epoch.
    Time(i64),
}

/// What one call to [`Reader::next`] found.
#[derive(Debug)]
pub enum Next {
    Record(ConsumedRecord),
    /// Nothing arrived within the wait.
    Idle,
    /// A bounded read reached the end offsets of every partition.
    Done,
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    #[error(
        "topic {topic} does not exist on {servers}; `simrun topics list` shows the topics there"
    )]
    UnknownTopic { topic: String, servers: String },
    #[error(
        "nothing arrived from {servers} for {idle:?} with {left} partition(s) not read to their \
         end; check that the broker is still up (`make kafka-status`)"
    )]
    Stalled {
        servers: String,
        idle: Duration,
        left: usize,
    },
    #[error("kafka consumer: {0}")]
    Client(String),
}

/// How long a bounded read may receive nothing before it gives up.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends librdkafka's logs and errors to `tracing`; the end of a partition is no error here.
struct ReaderContext;

impl ClientContext for ReaderContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "simrun::kafka", facility, message)
            }
            _ => tracing::debug!(target: "simrun::kafka", facility, message),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return;
        }
        tracing::warn!(target: "simrun::kafka", %error, reason, "kafka consumer error");
    }
}

impl ConsumerContext for ReaderContext {}

/// A consumer with manually assigned partitions.
pub struct Reader {
    servers: String,
    consumer: BaseConsumer<ReaderContext>,
    /// For a bounded read: the end offset of each partition not yet read to its end.
    remaining: Option<HashMap<(String, i32), i64>>,
    last_progress: Instant,
}

impl Reader {
    /// Connects to `servers`, with the client-wide entries of `properties` (security and
    /// networking; producer settings are ignored), and checks that the cluster answers.
    pub fn connect(servers: &str, properties: &[(String, String)]) -> Result<Self, ConsumeError> {
        let mut config = ClientConfig::new();
        for (key, value) in properties {
            if is_client_wide(key) {
                config.set(key, value);
            }
        }
        // librdkafka assigns partitions only to a consumer with a group id; a fresh one keeps
        // readers apart, and since nothing is committed the group never holds any offsets.
        let group = format!(
            "simrun-reader-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        );
        config
            .set("bootstrap.servers", servers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_uncommitted")
            .set_log_level(RDKafkaLogLevel::Warning);
        let consumer: BaseConsumer<ReaderContext> = config
            .create_with_context(ReaderContext)
            .map_err(|e| ConsumeError::Client(e.to_string()))?;
        let reader = Reader {
            servers: servers.to_string(),
            consumer,
            remaining: None,
            last_progress: Instant::now(),
        };
        reader.metadata(None)?;
        Ok(reader)
    }

    /// The partition count of `topic`.
    pub fn partitions(&self, topic: &str) -> Result<i32, ConsumeError> {
        let metadata = self.metadata(Some(topic))?;
        match metadata.topics().iter().find(|t| t.name() == topic) {
            Some(found) if found.error().is_none() && !found.partitions().is_empty() => {
                Ok(found.partitions().len() as i32)
            }
            _ => Err(ConsumeError::UnknownTopic {
                topic: topic.to_string(),
                servers: self.servers.clone(),
            }),
        }
    }

    /// The cluster's metadata about `topic`, or about every topic.
    fn metadata(&self, topic: Option<&str>) -> Result<Metadata, ConsumeError> {
        self.consumer
            .fetch_metadata(topic, CONNECT_TIMEOUT)
            .map_err(|error| Unreachable::new(&self.servers, error).into())
    }

    /// Assigns every partition of `topics` from `start`. A `bounded` read ends at the end
    /// offsets the partitions have now; an unbounded one follows new records.
    pub fn assign(
        &mut self,
        topics: &[&str],
        start: StartAt,
        bounded: bool,
    ) -> Result<(), ConsumeError> {
        let mut assignment = TopicPartitionList::new();
        let mut remaining = HashMap::new();
        for topic in topics {
            let partitions = self.partitions(topic)?;
            for partition in 0..partitions {
                let (low, high) = self
                    .consumer
                    .fetch_watermarks(topic, partition, CONNECT_TIMEOUT)
                    .map_err(|e| ConsumeError::Client(e.to_string()))?;
                let from = match start {
                    StartAt::Beginning => low,
                    StartAt::End => high,
                    StartAt::Time(ms) => self.offset_at(topic, partition, ms)?.unwrap_or(high),
                };
                if from < high {
                    remaining.insert((topic.to_string(), partition), high);
                }
                assignment
                    .add_partition_offset(topic, partition, Offset::Offset(from.max(low)))
                    .map_err(|e| ConsumeError::Client(e.to_string()))?;
            }
        }
        self.consumer
            .assign(&assignment)
            .map_err(|e| ConsumeError::Client(e.to_string()))?;
        self.remaining = bounded.then_some(remaining);
        self.last_progress = Instant::now();
        Ok(())
    }

    /// The offset of the first record at or after `ms` in a partition; `None` when there is
    /// none yet.
    fn offset_at(&self, topic: &str, partition: i32, ms: i64) -> Result<Option<i64>, ConsumeError> {
        let mut query = TopicPartitionList::new();
        query
            .add_partition_offset(topic, partition, Offset::Offset(ms))
            .map_err(|e| ConsumeError::Client(e.to_string()))?;
        let answer = self
            .consumer
            .offsets_for_times(query, CONNECT_TIMEOUT)
            .map_err(|e| ConsumeError::Client(e.to_string()))?;
        Ok(answer
            .find_partition(topic, partition)
            .and_then(|found| match found.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            }))
    }

    /// Waits up to `wait` for the next record.
    pub fn next(&mut self, wait: Duration) -> Result<Next, ConsumeError> {
        if self.remaining.as_ref().is_some_and(HashMap::is_empty) {
            return Ok(Next::Done);
        }
        match self.consumer.poll(wait) {
            Some(Ok(message)) => {
                self.last_progress = Instant::now();
                let record = ConsumedRecord {
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    timestamp_ms: message.timestamp().to_millis(),
                    value: message.payload().map(<[u8]>::to_vec),
                };
                if let Some(remaining) = &mut self.remaining {
                    let slot = (record.topic.clone(), record.partition);
                    match remaining.get(&slot) {
                        // Produced after the read began: beyond what a bounded read covers.
                        Some(end) if record.offset >= *end => return Ok(Next::Idle),
                        Some(end) if record.offset + 1 >= *end => {
                            remaining.remove(&slot);
                        }
                        Some(_) => {}
                        None => return Ok(Next::Idle),
                    }
                }
                Ok(Next::Record(record))
            }
            Some(Err(KafkaError::PartitionEOF(_))) => {
                self.last_progress = Instant::now();
                self.settle_ends()?;
                Ok(Next::Idle)
            }
            Some(Err(error)) => Err(ConsumeError::Client(error.to_string())),
            None => {
                let idle = self.last_progress.elapsed();
                match &self.remaining {
                    Some(remaining) if idle >= STALL_TIMEOUT => Err(ConsumeError::Stalled {
                        servers: self.servers.clone(),
                        idle,
                        left: remaining.len(),
                    }),
                    _ => Ok(Next::Idle),
                }
            }
        }
    }

    /// At the end of a partition, marks every partition whose position reached its end offset
    /// as done, so that gaps in offsets (compaction, transaction markers) cannot keep a bounded
    /// read waiting.
    fn settle_ends(&mut self) -> Result<(), ConsumeError> {
        let Some(remaining) = &mut self.remaining else {
            return Ok(());
        };
        let positions = self
            .consumer
            .position()
            .map_err(|e| ConsumeError::Client(e.to_string()))?;
        for element in positions.elements() {
            if let Offset::Offset(position) = element.offset() {
                let slot = (element.topic().to_string(), element.partition());
                if remaining.get(&slot).is_some_and(|end| position >= *end) {
                    remaining.remove(&slot);
                }
            }
        }
        Ok(())
    }

    /// Reads every record of a bounded read, up to the end offsets.
    pub fn read_to_end(&mut self) -> Result<Vec<ConsumedRecord>, ConsumeError> {
        let mut records = Vec::new();
        loop {
            match self.next(Duration::from_millis(200))? {
                Next::Record(record) => records.push(record),
                Next::Idle => {}
                Next::Done => return Ok(records),
            }
        }
    }
}
