//! `simrun gen` over every schema of the Avro corpus, into the stdout sink.
//!
//! For each schema of `tests/fixtures/schemas`, gen produces a thousand messages into the
//! stdout sink, through the library and on a clock that does not wait. Every line must parse,
//! and agree with the record the sink was handed: its key, its timestamp and its value, which
//! must decode from the Avro bytes using all of them and validate against the schema. The same
//! seed must give the same output, and the first lines of each schema are a snapshot, so a
//! change in what a seed generates is seen in review.
//!
//! gen needs a record with a string, int or long field for the key. A schema without one is
//! refused (the snapshot keeps the message), and gen then runs on a record wrapping it as the
//! type of a `value` field next to a `user_id` key, so that every type of the corpus goes
//! through gen all the same.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use chrono::TimeZone as _;
use serde_json::{Value as Json, json};
use simrun::encoding::json::JsonRenderer;
use simrun::encoding::random::{EventContext, RandomSchema};
use simrun::encoding::schema::{load_schema, parse_schema};
use simrun::generate::{Clock, GenSettings, Generator, generate};
use simrun::run::RunOptions;
use simrun::sim::rng::{Domain, below, stream};
use simrun::sink::stdout::{JsonLinesSink, StdoutTopic};
use simrun::sink::{Record, Sink, SinkError, TopicDelivery};

/// Messages generated per schema.
const COUNT: u64 = 1_000;

/// Lines of each schema kept in its snapshot.
const SNAPSHOT_LINES: usize = 3;

const TOPIC: &str = "corpus";

fn relative(file: &str) -> String {
    format!("tests/fixtures/schemas/{file}")
}

fn settings(key_field: &str, seed: u64) -> GenSettings {
    GenSettings {
        topic: TOPIC.into(),
        key_field: key_field.into(),
        interval: Duration::from_millis(1_500),
        count: COUNT,
        users: 500,
        products: 200,
        seed,
        start: chrono::Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
        partitions: 3,
        replication_factor: 1,
    }
}

/// A clock that jumps over every wait.
#[derive(Default)]
struct InstantClock {
    now: Cell<Duration>,
}

impl Clock for InstantClock {
    fn elapsed(&self) -> Duration {
        self.now.get()
    }

    fn wait(&mut self, duration: Duration, _sink: &mut dyn Sink, _stop: &AtomicBool) {
        self.now.set(self.now.get() + duration);
    }
}

/// The stdout sink writing into memory, keeping a copy of every record it was handed.
struct Captured<'a> {
    lines: JsonLinesSink<'a, Vec<u8>>,
    records: Vec<(Vec<u8>, Vec<u8>, i64)>,
}

impl Sink for Captured<'_> {
    fn send(&mut self, record: &Record<'_>) -> Result<(), SinkError> {
        let copy = (
            record.key.to_vec(),
            record.value.to_vec(),
            record.timestamp_ms,
        );
        self.records.push(copy);
        self.lines.send(record)
    }

    fn finish(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.lines.finish(timeout)
    }

    fn delivery(&self) -> Vec<TopicDelivery> {
        self.lines.delivery()
    }

    fn describe(&self) -> String {
        self.lines.describe()
    }
}

/// What one gen run printed, and the records behind the lines.
struct Output {
    text: String,
    records: Vec<(Vec<u8>, Vec<u8>, i64)>,
}

fn run_gen(generator: &Generator) -> Output {
    let topics = vec![StdoutTopic {
        name: TOPIC,
        schema: generator.schema(),
    }];
    let mut sink = Captured {
        lines: JsonLinesSink::new(topics, Vec::new()),
        records: Vec::new(),
    };
    let report = generate(
        generator,
        &RunOptions::default(),
        &mut sink,
        &mut InstantClock::default(),
    );
    assert_eq!(report.records, COUNT);
    assert_eq!(report.failed(), 0, "{}", report.summary());
    let bytes = sink.lines.into_inner().unwrap();
    Output {
        text: String::from_utf8(bytes).unwrap(),
        records: sink.records,
    }
}

/// The first top-level field gen accepts as the key, if any.
fn usable_key(file: &str) -> Option<String> {
    let loaded = load_schema(Path::new(&relative(file))).unwrap();
    let Schema::Record(record) = &loaded.schema else {
        return None;
    };
    record
        .fields
        .iter()
        .map(|field| field.name.clone())
        .find(|name| Generator::new(loaded.clone(), settings(name, 1)).is_ok())
}

/// The corpus schema as the `value` field of a record keyed by `user_id`.
fn wrapped(file: &str) -> Generator {
    let text = std::fs::read_to_string(relative(file)).unwrap();
    let inner: Json = serde_json::from_str(&text).unwrap();
    let wrapper = json!({
        "type": "record",
        "name": "GenWrapper",
        "namespace": "simrun.test",
        "fields": [
            {"name": "user_id", "type": "string"},
            {"name": "value", "type": inner}
        ]
    });
    let origin = format!("{file} wrapped");
    let loaded = parse_schema(wrapper.to_string(), Path::new(&origin)).unwrap();
    Generator::new(loaded, settings("user_id", SEED)).unwrap_or_else(|e| panic!("{e}"))
}

const SEED: u64 = 20_240_501;

/// Runs gen on `file` (or its wrapped form), checks every line and snapshots the first ones.
fn check_gen(file: &str) {
    let (generator, key_field, refusal) = match usable_key(file) {
        Some(key) => {
            let generator = Generator::load(Path::new(&relative(file)), settings(&key, SEED));
            (generator.unwrap(), key, None)
        }
        None => {
            let refused = Generator::load(Path::new(&relative(file)), settings("user_id", SEED));
            let error = refused.expect_err("gen refuses a schema without a usable key");
            assert!(error.is_usage());
            (
                wrapped(file),
                "user_id".to_string(),
                Some(error.to_string()),
            )
        }
    };
    let schema = generator.schema();
    let reader = GenericDatumReader::builder(schema).build().unwrap();
    let renderer = JsonRenderer::new(schema).unwrap();
    let output = run_gen(&generator);

    let lines: Vec<&str> = output.text.lines().collect();
    assert_eq!(lines.len(), COUNT as usize, "{file}: one line per message");
    assert!(output.text.ends_with('\n'));
    for (index, (line, (key, datum, timestamp_ms))) in lines.iter().zip(&output.records).enumerate()
    {
        let at = format!("{file}, message {index}");
        let parsed: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));

        // The Avro bytes: one value using all of them, valid for the schema.
        let mut rest = datum.as_slice();
        let value = reader
            .read_value(&mut rest)
            .unwrap_or_else(|error| panic!("{at}: {error}"));
        assert!(rest.is_empty(), "{at}: {} bytes left", rest.len());
        assert!(value.validate(schema), "{at}: {value:?} does not validate");

        // The line: the record's topic, key, timestamp and value.
        assert_eq!(parsed["topic"], TOPIC, "{at}");
        assert_eq!(parsed["key"].as_str().unwrap().as_bytes(), &key[..], "{at}");
        assert_eq!(parsed["timestamp"], *timestamp_ms, "{at}");
        assert_eq!(parsed["value"], renderer.render(datum).unwrap(), "{at}");

        // The key is the key field's value; the timestamp follows the schedule.
        let field = &parsed["value"][&key_field];
        let as_text = field
            .as_str()
            .map_or_else(|| field.to_string(), str::to_string);
        assert_eq!(as_text.as_bytes(), &key[..], "{at}");
        let start_ms = settings(&key_field, SEED).start.timestamp_millis();
        assert_eq!(*timestamp_ms, start_ms + 1_500 * index as i64, "{at}");
    }

    assert_eq!(run_gen(&generator).text, output.text, "{file}: same seed");

    let first: Vec<Json> = lines[..SNAPSHOT_LINES]
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let snapshot = json!({
        "key_field": key_field,
        "refused": refusal,
        "first_lines": first,
    });
    insta::assert_json_snapshot!(file.trim_end_matches(".avsc"), snapshot);
}

macro_rules! corpus {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_gen($file);
            }
        )*

        /// Every schema the corpus tests.
        const CORPUS: &[&str] = &[$($file),*];
    };
}

corpus! {
    gen_writes_the_specification_linked_list => "spec_long_list.avsc",
    gen_writes_the_specification_md5_fixed_wrapped => "spec_md5_fixed.avsc",
    gen_writes_a_record_of_md5_references_wrapped => "spec_foo_with_md5.avsc",
    gen_writes_the_specification_suit_enum_wrapped => "spec_suit_enum.avsc",
    gen_writes_the_specification_map_of_longs_wrapped => "spec_map_of_longs.avsc",
    gen_writes_the_specification_nullable_string_wrapped => "spec_nullable_string.avsc",
    gen_writes_the_specification_array_of_strings_wrapped => "spec_array_of_strings.avsc",
    gen_writes_every_primitive => "primitives.avsc",
    gen_writes_nested_records_across_namespaces => "nested_records.avsc",
    gen_writes_unions_of_every_kind_wrapped => "union_heavy.avsc",
    gen_writes_dates_and_times_of_day => "logical_dates_and_times.avsc",
    gen_writes_timestamps_of_every_unit => "logical_timestamps.avsc",
    gen_writes_uuids_as_text_and_fixed => "logical_uuid.avsc",
    gen_writes_decimals_on_bytes_and_fixed_wrapped => "logical_decimal.avsc",
    gen_writes_durations_wrapped => "logical_duration.avsc",
    gen_writes_big_decimals_wrapped => "logical_big_decimal.avsc",
    gen_writes_a_recursive_tree => "recursive_tree.avsc",
    gen_writes_mutually_recursive_records_wrapped => "mutual_recursion.avsc",
    gen_writes_arrays_of_records => "array_of_records.avsc",
    gen_writes_maps_of_unions_wrapped => "map_of_unions.avsc",
    gen_writes_nested_collections_wrapped => "nested_collections.avsc",
    gen_writes_named_types_reused_by_reference_wrapped => "named_type_reuse.avsc",
    gen_writes_event_fields_in_every_form => "event_fields_variants.avsc",
    gen_writes_the_cart_add_event => "project_cart_adds.avsc",
    gen_writes_the_product_click_event => "project_product_clicks.avsc",
    gen_writes_the_purchase_event => "project_purchases.avsc",
}

#[test]
fn every_fixture_schema_goes_through_gen() {
    let mut on_disk: Vec<String> = std::fs::read_dir("tests/fixtures/schemas")
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".avsc"))
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = CORPUS.iter().map(|file| file.to_string()).collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}

#[test]
fn gen_records_are_what_the_random_generator_writes_for_the_same_draws() {
    // gen builds records through the scenario encoder with no bindings; for a schema gen takes
    // directly, that must give exactly the bytes the random generator writes for the whole
    // record, given the message's user, product and time drawn first from the same stream.
    let mut compared = 0;
    for file in CORPUS {
        let Some(key) = usable_key(file) else {
            continue;
        };
        let settings = settings(&key, SEED);
        let generator = Generator::load(Path::new(&relative(file)), settings.clone()).unwrap();
        let random = RandomSchema::new(generator.schema()).unwrap();
        let output = run_gen(&generator);

        for (index, (_, datum, _)) in output.records.iter().enumerate().take(200) {
            let index = index as u64;
            let mut rng = stream(settings.seed, Domain::Record, index, 0);
            let context = EventContext {
                user: 1 + below(&mut rng, settings.users),
                product: 1 + below(&mut rng, settings.products),
                time_ns: generator.time_ns(index),
            };
            let mut expected = Vec::new();
            random.write_random(&context, &mut rng, &mut expected);
            assert_eq!(datum, &expected, "{file}, message {index}");
        }
        compared += 1;
    }
    assert!(compared >= 10, "{compared} schemas compared");
}
