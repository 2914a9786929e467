//! `simrun gen` against a real Kafka broker: the topic it creates, and exactly the records it
//! promised, each in the partition Java's partitioner gives its key.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use simrun::generate::{Clock, GenSettings, Generator, generate};
use simrun::kafka::admin::Admin;
use simrun::kafka::consume::{Reader, StartAt};
use simrun::kafka::murmur2::partition_for;
use simrun::run::RunOptions;
use simrun::sink::{Record, Sink, SinkError, TopicDelivery};

use crate::support::{bootstrap, delete_topics, rfc3339, shown, simrun};

const SCHEMA: &str = "schemas/product_clicks.avsc";
const SEED: u64 = 5;

/// A topic name no other test or run uses. The topic is deleted when the guard is dropped,
/// unless the test failed: then it stays, to be looked at with `simrun tail`.
struct FreshTopic(String);

impl FreshTopic {
    fn new(test: &str) -> Self {
        static TOPICS: AtomicU32 = AtomicU32::new(0);
        FreshTopic(format!(
            "it-gen-{test}-{}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_millis() % 1_000_000,
            TOPICS.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for FreshTopic {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            delete_topics(std::slice::from_ref(&self.0));
        }
    }
}

/// Runs `simrun gen` with `args` against the broker under test.
fn simrun_gen(args: &[&str]) -> Output {
    simrun(&[&["gen"], args].concat())
}

/// A clock that jumps over every wait.
#[derive(Default)]
struct InstantClock(std::cell::Cell<Duration>);

impl Clock for InstantClock {
    fn elapsed(&self) -> Duration {
        self.0.get()
    }

    fn wait(
        &mut self,
        duration: Duration,
        _sink: &mut dyn Sink,
        _stop: &std::sync::atomic::AtomicBool,
    ) {
        self.0.set(self.0.get() + duration);
    }
}

/// Keeps every record as `(key, timestamp, value)`.
#[derive(Default)]
struct Kept(Vec<(Vec<u8>, i64, Vec<u8>)>);

impl Sink for Kept {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let kept = (
            record.key.to_vec(),
            record.timestamp_ms,
            record.value.to_vec(),
        );
        self.0.push(kept);
        Ok(())
    }

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        vec![TopicDelivery::default()]
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// What gen makes for these settings, generated in memory.
fn expected(
    topic: &str,
    interval: Duration,
    count: u64,
    start: DateTime<Utc>,
) -> Vec<(Vec<u8>, i64, Vec<u8>)> {
    let settings = GenSettings {
        topic: topic.into(),
        key_field: "user_id".into(),
        interval,
        count,
        users: 1000,
        products: 200,
        seed: SEED,
        start,
        partitions: 3,
        replication_factor: 1,
    };
    let generator = Generator::load(Path::new(SCHEMA), settings).expect("the schema loads");
    let mut kept = Kept::default();
    generate(
        &generator,
        &RunOptions::default(),
        &mut kept,
        &mut InstantClock::default(),
    );
    let mut records = kept.0;
    records.sort();
    records
}

/// Every record of `topic` as `(partition, key, timestamp, value)`.
fn read_back(topic: &str) -> Vec<(i32, Vec<u8>, i64, Vec<u8>)> {
    let mut reader = Reader::connect(&bootstrap(), &[]).expect("the broker answers");
    reader
        .assign(&[topic], StartAt::Beginning, true)
        .expect("the topic exists");
    let records = reader.read_to_end().expect("the topic is read");
    records
        .into_iter()
        .map(|record| {
            let key = record.key.expect("every record has a key");
            let timestamp = record.timestamp_ms.expect("every record has a timestamp");
            let value = record.value.expect("every record has a value");
            (record.partition, key, timestamp, value)
        })
        .collect()
}

/// Runs `simrun gen` of `count` messages `interval` seconds apart with [`SEED`] from `start`.
fn seeded_gen(topic: &str, interval: &str, count: u64, start: DateTime<Utc>) -> Output {
    let (seed, count, start) = (SEED.to_string(), count.to_string(), rfc3339(start));
    simrun_gen(&[
        "-t", topic, "-s", SCHEMA, "-i", interval, "-c", &count, "--seed", &seed, "--start", &start,
    ])
}

#[test]
fn gen_creates_the_topic_and_kafka_holds_exactly_the_records_of_its_seed() {
    let guard = FreshTopic::new("records");
    let topic = guard.0.clone();
    let start = Utc::now().trunc_subsecs(3);
    let output = seeded_gen(&topic, "0", 300, start);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let row: Vec<&str> = stderr
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{topic} ")))
        .expect("a delivery row for the topic")
        .split_whitespace()
        .collect();
    assert_eq!(row, [topic.as_str(), "300", "300", "0"]);

    // Created with the default layout.
    let admin = Admin::connect(&bootstrap(), &[]).expect("the broker answers");
    let created = admin.list().unwrap().into_iter().find(|t| t.name == topic);
    let created = created.expect("gen created the topic");
    assert_eq!((created.partitions, created.replication_factor), (3, 1));

    // No record lost, none duplicated, none altered; each in its murmur2 partition.
    let found = read_back(&topic);
    for (partition, key, ..) in &found {
        assert_eq!(*partition, partition_for(key, 3));
    }
    let mut found: Vec<(Vec<u8>, i64, Vec<u8>)> = found
        .into_iter()
        .map(|(_, key, time, value)| (key, time, value))
        .collect();
    found.sort();
    let same = found == expected(&topic, Duration::ZERO, 300, start);
    assert!(
        same,
        "the records on Kafka differ from what the seed generates"
    );
}

#[test]
fn paced_records_carry_start_plus_i_intervals_as_their_kafka_timestamps() {
    let guard = FreshTopic::new("paced");
    let topic = guard.0.clone();
    let start = Utc::now().trunc_subsecs(3);
    let output = seeded_gen(&topic, "0.1", 4, start);
    assert_eq!(output.status.code(), Some(0), "{}", shown(&output));

    let mut times: Vec<i64> = read_back(&topic)
        .into_iter()
        .map(|(_, _, time, _)| time)
        .collect();
    times.sort_unstable();
    let start_ms = start.timestamp_millis();
    assert_eq!(
        times,
        [start_ms, start_ms + 100, start_ms + 200, start_ms + 300]
    );
}

#[test]
fn a_topic_of_another_layout_is_refused_with_the_flags_that_would_fit_it() {
    let guard = FreshTopic::new("layout");
    let topic = guard.0.clone();
    let first = simrun_gen(&[
        "-t",
        &topic,
        "-s",
        SCHEMA,
        "-i",
        "0",
        "-c",
        "10",
        "--partitions",
        "5",
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", shown(&first));
    let admin = Admin::connect(&bootstrap(), &[]).expect("the broker answers");
    let created = admin.list().unwrap().into_iter().find(|t| t.name == topic);
    assert_eq!(created.map(|t| t.partitions), Some(5));

    let second = simrun_gen(&["-t", &topic, "-s", SCHEMA, "-i", "0", "-c", "10"]);
    assert_eq!(second.status.code(), Some(1), "{}", shown(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(
        stderr,
        format!(
            "error: topic {topic} exists with 5 partitions and replication factor 1, but gen was \
             asked for 3 and 1; pass --partitions 5 --replication-factor 1 to produce to it as \
             it is, or delete the topic\n"
        )
    );
    assert_eq!(
        read_back(&topic).len(),
        10,
        "nothing produced by the refused run"
    );
}
