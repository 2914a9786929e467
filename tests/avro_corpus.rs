//! The random generator and the JSON renderer checked against apache-avro, schema by schema.
//!
//! Every schema in `tests/fixtures/schemas` gets a thousand generated datums. apache-avro's
//! decoder must read each one using exactly all of its bytes, the value must validate against
//! the schema, encoding the value again must give the same bytes, and the JSON rendering must
//! succeed. The first three records of each schema are snapshots, so a change in what a seed
//! generates is seen in review.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use rand_pcg::Pcg64Mcg;
use simrun::encoding::json::JsonRenderer;
use simrun::encoding::random::{EventContext, RandomSchema};
use simrun::encoding::schema::load_schema;

/// Datums generated and checked per schema.
const RECORDS: usize = 1_000;

/// The seed of every corpus run.
const SEED: u128 = 20_240_501;

/// 2024-05-01T12:00:00Z, in nanoseconds.
const START_NS: i64 = 1_714_564_800_000_000_000;

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schemas")
        .join(file)
}

fn schema(file: &str) -> Schema {
    load_schema(&fixture(file))
        .unwrap_or_else(|error| panic!("{error}"))
        .schema
}

/// The context of record `index`: users and products vary, time advances 1.5 s a record.
fn context(index: usize) -> EventContext {
    let index = index as u64;
    EventContext {
        user: 1 + index * 7 % 500,
        product: 1 + index * 13 % 200,
        time_ns: START_NS + index as i64 * 1_500_000_000,
    }
}

/// Generates `count` datums of `schema` from `seed`, one per context.
fn generate(schema: &Schema, seed: u128, count: usize) -> Vec<Vec<u8>> {
    let random = RandomSchema::new(schema).unwrap_or_else(|error| panic!("{error}"));
    let mut rng = Pcg64Mcg::new(seed);
    (0..count)
        .map(|index| {
            let mut datum = Vec::new();
            random.write_random(&context(index), &mut rng, &mut datum);
            datum
        })
        .collect()
}

fn decode(schema: &Schema, datum: &[u8]) -> Value {
    let reader = GenericDatumReader::builder(schema).build().unwrap();
    let mut rest = datum;
    let value = reader.read_value(&mut rest).unwrap();
    assert!(rest.is_empty(), "{} bytes left after the value", rest.len());
    value
}

/// True when the value holds a map of two or more entries anywhere.
///
/// apache-avro decodes maps into a `HashMap`, so encoding such a value again writes its entries
/// in another order: the bytes differ while the value is the same.
fn has_reorderable_map(value: &Value) -> bool {
    match value {
        Value::Map(entries) => entries.len() > 1 || entries.values().any(has_reorderable_map),
        Value::Array(items) => items.iter().any(has_reorderable_map),
        Value::Record(fields) => fields.iter().any(|(_, field)| has_reorderable_map(field)),
        Value::Union(_, inner) => has_reorderable_map(inner),
        _ => false,
    }
}

/// Runs the four checks on a thousand datums of `file` and snapshots the first three as JSON.
fn check_corpus_schema(file: &str) {
    let schema = schema(file);
    let reader = GenericDatumReader::builder(&schema).build().unwrap();
    let writer = GenericDatumWriter::builder(&schema).build().unwrap();
    let renderer = JsonRenderer::new(&schema).unwrap();

    let mut first = Vec::new();
    for (index, datum) in generate(&schema, SEED, RECORDS).iter().enumerate() {
        let at = format!("{file}, record {index}");

        // (a) decodes using exactly all the bytes
        let mut rest = datum.as_slice();
        let value = reader
            .read_value(&mut rest)
            .unwrap_or_else(|error| panic!("{at}: {error}"));
        assert!(
            rest.is_empty(),
            "{at}: {} bytes left after the value",
            rest.len()
        );

        // (b) validates against the schema
        assert!(value.validate(&schema), "{at}: {value:?} does not validate");

        // (c) encodes back to the same bytes (or, with reordered map entries, the same value)
        let again = writer
            .write_value_to_vec(value.clone())
            .unwrap_or_else(|error| panic!("{at}: {error}"));
        if has_reorderable_map(&value) {
            assert_eq!(again.len(), datum.len(), "{at}: re-encoded length");
            assert_eq!(decode(&schema, &again), value, "{at}: re-encoded value");
        } else {
            assert_eq!(&again, datum, "{at}: re-encoded bytes");
        }

        // (d) renders as JSON, from the bytes and from the decoded value alike
        let json = renderer
            .render(datum)
            .unwrap_or_else(|error| panic!("{at}: {error}"));
        assert_eq!(renderer.render_value(&value).unwrap(), json, "{at}");
        if index < 3 {
            first.push(json);
        }
    }

    let name = file.trim_end_matches(".avsc");
    insta::assert_json_snapshot!(name, first);
}

macro_rules! corpus {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_corpus_schema($file);
            }
        )*

        /// Every schema the corpus tests.
        const CORPUS: &[&str] = &[$($file),*];
    };
}

corpus! {
    the_specification_linked_list_round_trips => "spec_long_list.avsc",
    the_specification_md5_fixed_round_trips => "spec_md5_fixed.avsc",
    a_record_of_md5_references_round_trips => "spec_foo_with_md5.avsc",
    the_specification_suit_enum_round_trips => "spec_suit_enum.avsc",
    the_specification_map_of_longs_round_trips => "spec_map_of_longs.avsc",
    the_specification_nullable_string_round_trips => "spec_nullable_string.avsc",
    the_specification_array_of_strings_round_trips => "spec_array_of_strings.avsc",
    every_primitive_round_trips => "primitives.avsc",
    nested_records_across_namespaces_round_trip => "nested_records.avsc",
    unions_of_every_kind_round_trip => "union_heavy.avsc",
    dates_and_times_of_day_round_trip => "logical_dates_and_times.avsc",
    timestamps_of_every_unit_round_trip => "logical_timestamps.avsc",
    uuids_as_text_and_fixed_round_trip => "logical_uuid.avsc",
    decimals_on_bytes_and_fixed_round_trip => "logical_decimal.avsc",
    durations_round_trip => "logical_duration.avsc",
    big_decimals_round_trip => "logical_big_decimal.avsc",
    a_recursive_tree_round_trips => "recursive_tree.avsc",
    mutually_recursive_records_round_trip => "mutual_recursion.avsc",
    arrays_of_records_round_trip => "array_of_records.avsc",
    maps_of_unions_round_trip => "map_of_unions.avsc",
    nested_collections_round_trip => "nested_collections.avsc",
    named_types_reused_by_reference_round_trip => "named_type_reuse.avsc",
    event_fields_in_every_form_round_trip => "event_fields_variants.avsc",
    the_cart_add_event_round_trips => "project_cart_adds.avsc",
    the_product_click_event_round_trips => "project_product_clicks.avsc",
    the_purchase_event_round_trips => "project_purchases.avsc",
}

#[test]
fn every_fixture_schema_is_in_the_corpus() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".avsc"))
        .collect();
    let tested: BTreeSet<String> = CORPUS.iter().map(|file| file.to_string()).collect();
    assert_eq!(on_disk, tested);
    assert!(tested.len() >= 22);
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_different_ones() {
    for file in CORPUS {
        let schema = schema(file);
        let first = generate(&schema, 7, 50);
        assert_eq!(first, generate(&schema, 7, 50), "{file}");
        assert_ne!(first, generate(&schema, 8, 50), "{file}");
    }
}

#[test]
fn the_project_events_carry_the_context_user_product_and_time() {
    for file in [
        "project_cart_adds.avsc",
        "project_product_clicks.avsc",
        "project_purchases.avsc",
    ] {
        let schema = schema(file);
        for (index, datum) in generate(&schema, SEED, 200).iter().enumerate() {
            let Value::Record(fields) = decode(&schema, datum) else {
                panic!("{file}: not a record");
            };
            let context = context(index);
            let user = Value::String(format!("user-{}", context.user));
            let product = Value::Int(context.product as i32);
            let time = Value::TimestampMillis(context.time_ns / 1_000_000);
            assert_eq!(fields[0], ("user_id".into(), user), "{file} {index}");
            assert_eq!(fields[1], ("product_id".into(), product), "{file} {index}");
            assert_eq!(fields[2], ("timestamp".into(), time), "{file} {index}");
        }
    }
}

#[test]
fn nested_and_union_event_fields_carry_the_context_where_their_type_fits() {
    let schema = schema("event_fields_variants.avsc");
    let renderer = JsonRenderer::new(&schema).unwrap();
    let mut mistyped_users = BTreeSet::new();
    for (index, datum) in generate(&schema, SEED, 200).iter().enumerate() {
        let json = renderer.render(datum).unwrap();
        let context = context(index);
        let micros = context.time_ns / 1_000;
        let millis = context.time_ns / 1_000_000;

        assert_eq!(json["user_id"], context.user);
        assert_eq!(json["product_id"], context.product.to_string());
        assert_eq!(json["timestamp"], micros);
        assert_eq!(json["payload"]["user_id"], context.user);
        assert_eq!(json["payload"]["product_id"], context.product);
        assert_eq!(json["payload"]["timestamp"], context.time_ns);
        for visit in json["history"].as_array().unwrap() {
            assert_eq!(visit["timestamp"], millis);
            assert_eq!(visit["product_id"], context.product);
        }
        assert!(json["mistyped"]["timestamp"].is_string());
        mistyped_users.insert(json["mistyped"]["user_id"].to_string());
    }
    assert!(
        mistyped_users.len() > 100,
        "a mistyped field gets random values"
    );
}

/// The length of the linked list `value` starts.
fn list_length(value: &Value) -> usize {
    let Value::Record(fields) = value else {
        panic!("not a record");
    };
    match &fields[1].1 {
        Value::Union(1, next) => 1 + list_length(next),
        _ => 1,
    }
}

/// The number of records in the tree `value` starts, and its depth.
fn tree_size_and_depth(value: &Value) -> (usize, usize) {
    let Value::Record(fields) = value else {
        panic!("not a record");
    };
    let mut children: Vec<&Value> = Vec::new();
    if let Value::Array(items) = &fields[1].1 {
        children.extend(items);
    }
    if let Value::Map(entries) = &fields[2].1 {
        children.extend(entries.values());
    }
    if let Value::Union(1, parent) = &fields[3].1 {
        children.push(parent);
    }
    children
        .into_iter()
        .map(tree_size_and_depth)
        .fold((1, 1), |(size, depth), (child_size, child_depth)| {
            (size + child_size, depth.max(child_depth + 1))
        })
}

#[test]
fn recursive_values_stop_within_the_depth_limit() {
    let list = schema("spec_long_list.avsc");
    let lengths: Vec<usize> = generate(&list, SEED, RECORDS)
        .iter()
        .map(|datum| list_length(&decode(&list, datum)))
        .collect();
    assert!(
        lengths.iter().all(|&length| length <= 5),
        "lists stop by five records"
    );
    assert!(
        lengths.iter().any(|&length| length >= 3),
        "lists do recurse"
    );

    let tree = schema("recursive_tree.avsc");
    let shapes: Vec<(usize, usize)> = generate(&tree, SEED, RECORDS)
        .iter()
        .map(|datum| tree_size_and_depth(&decode(&tree, datum)))
        .collect();
    assert!(
        shapes.iter().all(|&(_, depth)| depth <= 5),
        "trees stop by five levels"
    );
    let largest = shapes.iter().map(|&(size, _)| size).max().unwrap();
    assert!(
        (10..=2_000).contains(&largest),
        "largest tree: {largest} records"
    );
}
