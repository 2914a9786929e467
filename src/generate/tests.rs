use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::TimeZone as _;

use super::*;
use crate::encoding::json::datum_to_json;
use crate::encoding::schema::parse_schema;
use crate::sink::{SinkError, TopicDelivery};

const HALF_SECOND: Duration = Duration::from_millis(500);

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()
}

fn settings(interval: Duration, count: u64) -> GenSettings {
    GenSettings {
        topic: "clicks".into(),
        key_field: "user_id".into(),
        interval,
        count,
        users: 1000,
        products: 200,
        seed: 7,
        start: start(),
        partitions: 3,
        replication_factor: 1,
    }
}

fn clicks_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/product_clicks.avsc")
}

fn clicks(settings: GenSettings) -> Generator {
    Generator::load(&clicks_schema(), settings).unwrap()
}

fn inline(text: &str, settings: GenSettings) -> Result<Generator, GenError> {
    Generator::new(
        parse_schema(text.into(), Path::new("inline.avsc"))?,
        settings,
    )
}

/// A clock that never waits: it records the waits asked for and jumps ahead by them. Sinks may
/// share its time to pretend that sending takes a while.
#[derive(Default)]
struct FakeClock {
    now: Rc<Cell<Duration>>,
    waits: Vec<Duration>,
    /// Sets the stop flag during this wait (counting from 1), as Ctrl-C would.
    stop_during_wait: Option<usize>,
}

impl Clock for FakeClock {
    fn elapsed(&self) -> Duration {
        self.now.get()
    }

    fn wait(&mut self, duration: Duration, _sink: &mut dyn Sink, stop: &AtomicBool) {
        self.waits.push(duration);
        self.now.set(self.now.get() + duration);
        if self.stop_during_wait == Some(self.waits.len()) {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Keeps every record; optionally takes time per record or refuses records from some point.
#[derive(Default)]
struct Captured {
    records: Vec<(Vec<u8>, Vec<u8>, i64)>,
    delivery: TopicDelivery,
    send_takes: Option<(Rc<Cell<Duration>>, Duration)>,
    refuse_from: Option<usize>,
}

impl Sink for Captured {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        if self.refuse_from == Some(self.records.len()) {
            // What the stdout sink says when its reader has gone away.
            return Err(SinkError::Closed);
        }
        if let Some((now, takes)) = &self.send_takes {
            now.set(now.get() + *takes);
        }
        let (key, value) = (record.key.to_vec(), record.value.to_vec());
        self.records.push((key, value, record.timestamp_ms));
        self.delivery.produced += 1;
        self.delivery.acknowledged += 1;
        Ok(())
    }

    fn finish(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        vec![self.delivery.clone()]
    }

    fn describe(&self) -> String {
        "captured".into()
    }
}

fn run(generator: &Generator, sink: &mut Captured, clock: &mut FakeClock) -> GenReport {
    generate(generator, &RunOptions::default(), sink, clock)
}

#[test]
fn half_second_intervals_ask_for_four_half_second_waits_between_five_messages() {
    let generator = clicks(settings(HALF_SECOND, 5));
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    let report = run(&generator, &mut sink, &mut clock);

    assert_eq!(clock.waits, vec![HALF_SECOND; 4]);
    assert_eq!(report.outcome, Outcome::Completed);
    assert_eq!(report.records, 5);
    assert_eq!(report.topics[0].delivery.acknowledged, 5);
    assert_eq!(report.wall_seconds, 2.0);
}

#[test]
fn a_zero_interval_never_waits() {
    let generator = clicks(settings(Duration::ZERO, 50));
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    let report = run(&generator, &mut sink, &mut clock);

    assert!(clock.waits.is_empty(), "{:?}", clock.waits);
    assert_eq!(report.records, 50);
    assert_eq!(sink.records.len(), 50);
}

#[test]
fn time_spent_sending_is_taken_from_the_wait_so_the_schedule_does_not_drift() {
    let generator = clicks(settings(HALF_SECOND, 5));
    let clock_time = Rc::new(Cell::new(Duration::ZERO));
    let mut clock = FakeClock {
        now: clock_time.clone(),
        ..FakeClock::default()
    };
    let mut sink = Captured {
        send_takes: Some((clock_time.clone(), Duration::from_millis(100))),
        ..Captured::default()
    };
    run(&generator, &mut sink, &mut clock);
    assert_eq!(clock.waits, vec![Duration::from_millis(400); 4]);

    // A sink slower than the interval is never waited for: messages follow at once.
    let mut clock = FakeClock::default();
    let mut sink = Captured {
        send_takes: Some((clock.now.clone(), Duration::from_millis(700))),
        ..Captured::default()
    };
    run(&generator, &mut sink, &mut clock);
    assert!(clock.waits.is_empty(), "{:?}", clock.waits);
}

#[test]
fn message_i_is_stamped_start_plus_i_intervals_in_the_record_and_its_timestamp_field() {
    let generator = clicks(settings(HALF_SECOND, 6));
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    run(&generator, &mut sink, &mut clock);

    let start_ms = start().timestamp_millis();
    for (index, (_, value, timestamp_ms)) in sink.records.iter().enumerate() {
        let expected = start_ms + 500 * index as i64;
        assert_eq!(*timestamp_ms, expected, "message {index}");
        let json = datum_to_json(generator.schema(), value).unwrap();
        assert_eq!(json["timestamp"], expected, "message {index}");
    }
}

/// The records of a run of `count` messages with `seed`.
fn records(seed: u64, count: u64) -> Vec<(Vec<u8>, Vec<u8>, i64)> {
    let generator = clicks(GenSettings {
        seed,
        ..settings(Duration::ZERO, count)
    });
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    run(&generator, &mut sink, &mut clock);
    sink.records
}

#[test]
fn a_seed_fixes_every_message_whatever_the_count() {
    let five = records(7, 5);
    let ten = records(7, 10);
    assert_eq!(five, records(7, 5));
    assert_eq!(five[..], ten[..5]);
    assert_ne!(five, records(8, 5));
}

#[test]
fn users_and_products_come_from_their_populations_and_users_are_the_keys() {
    let generator = clicks(GenSettings {
        users: 3,
        products: 4,
        ..settings(Duration::ZERO, 300)
    });
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    run(&generator, &mut sink, &mut clock);

    let mut users = BTreeSet::new();
    let mut products = BTreeSet::new();
    for (key, value, _) in &sink.records {
        let json = datum_to_json(generator.schema(), value).unwrap();
        assert_eq!(json["user_id"].as_str().unwrap().as_bytes(), key.as_slice());
        users.insert(json["user_id"].as_str().unwrap().to_string());
        products.insert(json["product_id"].as_i64().unwrap());
    }
    assert_eq!(
        users.into_iter().collect::<Vec<_>>(),
        ["user-1", "user-2", "user-3"]
    );
    assert_eq!(products.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[test]
fn an_int_key_field_gives_its_decimal_text_as_the_key() {
    let schema = r#"{"type":"record","name":"Reading","fields":[
        {"name":"sensor","type":"int"},{"name":"value","type":"double"}]}"#;
    let generator = inline(
        schema,
        GenSettings {
            key_field: "sensor".into(),
            ..settings(Duration::ZERO, 20)
        },
    )
    .unwrap();
    let (mut sink, mut clock) = (Captured::default(), FakeClock::default());
    run(&generator, &mut sink, &mut clock);

    let keys: BTreeSet<&[u8]> = sink.records.iter().map(|(key, ..)| &key[..]).collect();
    assert!(keys.len() > 5, "random ints vary: {keys:?}");
    for (key, value, _) in &sink.records {
        let json = datum_to_json(generator.schema(), value).unwrap();
        assert_eq!(json["sensor"].to_string().as_bytes(), key.as_slice());
    }
}

#[test]
fn a_missing_key_field_is_refused_with_the_fields_the_record_has() {
    let error = Generator::load(
        &clicks_schema(),
        GenSettings {
            key_field: "usr_id".into(),
            ..settings(Duration::ZERO, 1)
        },
    );
    let error = error.unwrap_err();
    assert!(error.is_usage());
    let message = error.to_string();
    assert!(message.ends_with(
        "record `com.example.events.ProductClick` has no field `usr_id` to take the key from; \
         its fields are `user_id`, `product_id`, `timestamp`, `device`, `referrer`; did you \
         mean `user_id`? Name the key field with -k/--key-field"
    ));
    assert!(message.starts_with(&clicks_schema().display().to_string()));

    let far = Generator::load(
        &clicks_schema(),
        GenSettings {
            key_field: "customer".into(),
            ..settings(Duration::ZERO, 1)
        },
    );
    let message = far.unwrap_err().to_string();
    assert!(message.ends_with(
        "to take the key from; its fields are `user_id`, `product_id`, `timestamp`, `device`, \
         `referrer`; `user_id` or `product_id` can be the key: name it with -k/--key-field"
    ));

    let unkeyable = r#"{"type":"record","name":"R","fields":[
        {"name":"score","type":"double"},{"name":"tags","type":{"type":"array","items":"string"}}
    ]}"#;
    let message = inline(unkeyable, settings(Duration::ZERO, 1))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "inline.avsc: record `R` has no field `user_id` to take the key from; its fields are \
         `score`, `tags`, and none is a plain string, int or long, which a key must be; add such \
         a field to the schema"
    );
}

#[test]
fn key_fields_of_other_types_and_schemas_that_are_not_records_are_refused() {
    let double = r#"{"type":"record","name":"R","fields":[{"name":"user_id","type":"double"}]}"#;
    let error = inline(double, settings(Duration::ZERO, 1)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "inline.avsc: key field `user_id` of record `R` is a double; a key must be a top-level \
         string, int or long field. Name another with -k/--key-field"
    );

    let nullable =
        r#"{"type":"record","name":"R","fields":[{"name":"user_id","type":["null","string"]}]}"#;
    let error = inline(nullable, settings(Duration::ZERO, 1)).unwrap_err();
    assert!(error.to_string().contains("is a union [null, string];"));

    let error = inline(
        r#"{"type":"map","values":"long"}"#,
        settings(Duration::ZERO, 1),
    );
    let error = error.unwrap_err();
    assert!(error.is_usage());
    assert!(
        error.to_string().contains("a record is needed here"),
        "{error}"
    );
}

#[test]
fn ctrl_c_during_a_wait_stops_before_the_next_message() {
    let generator = clicks(settings(HALF_SECOND, 10));
    let mut sink = Captured::default();
    let mut clock = FakeClock {
        stop_during_wait: Some(2),
        ..FakeClock::default()
    };
    let report = run(&generator, &mut sink, &mut clock);
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(report.records, 2);
    assert_eq!(sink.records.len(), 2);
}

#[test]
fn a_refusing_sink_ends_generation_and_the_report_says_so() {
    let generator = clicks(settings(Duration::ZERO, 10));
    let mut sink = Captured {
        refuse_from: Some(3),
        ..Captured::default()
    };
    let report = run(&generator, &mut sink, &mut FakeClock::default());
    assert_eq!(report.outcome, Outcome::OutputClosed);
    assert_eq!(report.records, 3);
}

#[test]
fn the_wall_clock_stops_waiting_once_stop_is_set() {
    // Were the flag ignored, this test would wait an hour.
    let stop = AtomicBool::new(true);
    let mut sink = crate::sink::null::NullSink::new(1);
    WallClock::new().wait(Duration::from_secs(3600), &mut sink, &stop);
}

#[test]
fn the_summary_shows_the_delivery_table_with_every_failure_reason() {
    let mut delivery = TopicDelivery {
        produced: 10,
        acknowledged: 7,
        ..TopicDelivery::default()
    };
    delivery
        .failed
        .insert("Broker: Request timed out".into(), 2);
    let report = GenReport {
        sink: "kafka at localhost:9092".into(),
        outcome: Outcome::Completed,
        seed: 7,
        start: "2026-11-27T08:00:00Z".into(),
        interval_seconds: 0.5,
        records: 10,
        wall_seconds: 4.5,
        flush_seconds: 0.25,
        topics: vec![TopicReport {
            topic: "clicks".into(),
            delivery,
        }],
    };
    assert_eq!(report.failed(), 3);
    insta::assert_snapshot!(report.summary(), @r"
    simrun: gen completed on kafka at localhost:9092
      seed 7, start 2026-11-27T08:00:00Z, interval 0.5s; 10 records in 4.5s wall

      topic   produced  acknowledged  failed
      clicks        10             7       3
      clicks: 2 failed: Broker: Request timed out
      clicks: 1 never confirmed before the flush deadline

    flush: 0.25s waiting for acknowledgements
    ");
}
