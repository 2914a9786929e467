//! What the integration tests share: a private copy of the test scenario, the broker's address,
//! the `simrun` binary, and ways to read and write the topics directly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use simrun::kafka::consume::{ConsumedRecord, Reader, StartAt};
use simrun::plan::{Overrides, Plan, plan_file};
use simrun::run::Resolved;
use simrun::sink::{Record, Sink, SinkError, TopicDelivery};

/// The broker under test: `BOOTSTRAP` (as the Makefile exports it), else localhost:9092.
pub fn bootstrap() -> String {
    std::env::var("BOOTSTRAP").unwrap_or_else(|_| "localhost:9092".to_string())
}

/// A copy of tests/integration/scenario.yaml whose topics belong to one test alone.
///
/// Its topics are deleted when it is dropped, unless the test failed: then they stay, to be
/// looked at with `simrun tail` or `simrun verify`.
pub struct Scenario {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    /// The seed and start every run of this copy uses.
    pub resolved: Resolved,
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let names: Vec<String> = self.plan().topics.iter().map(|t| t.name.clone()).collect();
        delete_topics(&names);
    }
}

/// Deletes topics, as far as they exist.
pub fn delete_topics(names: &[String]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("an admin client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let deleted = runtime.block_on(admin.delete_topics(&names, &options));
    deleted.expect("the broker answers a deletion");
}

impl Scenario {
    /// Writes the copy, naming its topics `it-<test>-<pid>-<n>-...`.
    pub fn new(test: &str) -> Self {
        static COPIES: AtomicU32 = AtomicU32::new(0);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("tests/integration/scenario.yaml"))
            .expect("tests/integration/scenario.yaml is readable");
        let suffix = format!(
            "{test}-{}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_millis() % 1_000_000,
            COPIES.fetch_add(1, Ordering::Relaxed)
        );
        let schemas = root.join("schemas").display().to_string();
        let copy = text
            .replace("name: it-", &format!("name: it-{suffix}-"))
            .replace("../../schemas", &schemas);
        assert_eq!(copy.matches(&suffix).count(), 3, "three topics renamed");

        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("scenario.yaml");
        std::fs::write(&path, copy).expect("the scenario copy is written");

        // A start of now: the broker keeps the records, and they are this run's alone.
        let resolved = Resolved {
            seed: 99,
            start: Utc::now().trunc_subsecs(3),
        };
        Scenario {
            _dir: dir,
            path,
            resolved,
        }
    }

    /// The copy's plan, with this copy's start.
    pub fn plan(&self) -> Plan {
        let overrides = Overrides {
            start: Some(self.resolved.start),
            ..Overrides::default()
        };
        match plan_file(&self.path, &overrides) {
            Ok(plan) => plan,
            Err(diagnostics) => panic!("the test scenario does not plan:\n{diagnostics}"),
        }
    }

    /// `--start` as the command line takes it.
    pub fn start_arg(&self) -> String {
        rfc3339(self.resolved.start)
    }
}

/// A time as `--start` takes it, to the millisecond.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Runs the `simrun` binary with `args`, then `-b` and the broker under test.
pub fn simrun(args: &[&str]) -> Output {
    simrun_at(args, &bootstrap())
}

/// Runs the `simrun` binary with `args` against the broker at `servers`.
pub fn simrun_at(args: &[&str], servers: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simrun"))
        .args(args)
        .args(["-b", servers])
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .output()
        .expect("the simrun binary runs")
}

/// Runs `simrun` like [`simrun`], insists that it succeeds, and returns its standard output.
pub fn simrun_ok(args: &[&str]) -> String {
    let output = simrun(args);
    assert!(
        output.status.success(),
        "simrun {args:?}: {}",
        shown(&output)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Standard output and error, for assertion messages.
pub fn shown(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every record the plan's topics hold, read to their current end.
pub fn read_back(plan: &Plan) -> Vec<ConsumedRecord> {
    let mut reader = Reader::connect(&bootstrap(), &[]).expect("the broker answers");
    let names: Vec<&str> = plan.topics.iter().map(|t| t.name.as_str()).collect();
    reader
        .assign(&names, StartAt::Beginning, true)
        .expect("the topics exist");
    reader.read_to_end().expect("the topics are read")
}

/// Produces one record, into `partition` or where the murmur2 partitioner puts it.
pub fn produce(topic: &str, partition: Option<i32>, key: &[u8], value: &[u8], timestamp_ms: i64) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("a producer");
    let mut record = BaseRecord::to(topic)
        .key(key)
        .payload(value)
        .timestamp(timestamp_ms);
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    producer
        .send(record)
        .map_err(|(error, _)| error)
        .expect("the record is queued");
    producer
        .flush(Duration::from_secs(30))
        .expect("the record is acknowledged");
}

/// A sink that keeps every record as `(topic name, key, timestamp, value)`.
pub struct Keeper {
    pub topics: Vec<String>,
    pub records: Vec<(String, Vec<u8>, i64, Vec<u8>)>,
}

impl Keeper {
    pub fn new(plan: &Plan) -> Self {
        Keeper {
            topics: plan.topics.iter().map(|t| t.name.clone()).collect(),
            records: Vec::new(),
        }
    }
}

impl Sink for Keeper {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        self.records.push((
            self.topics[record.topic].clone(),
            record.key.to_vec(),
            record.timestamp_ms,
            record.value.to_vec(),
        ));
        Ok(())
    }

    fn idle(&mut self, _wait: Duration) {}

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        vec![TopicDelivery::default(); self.topics.len()]
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}
