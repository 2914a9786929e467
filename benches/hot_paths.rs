//! Micro-benchmarks of the work done for every generated event: choosing the user, scheduling
//! the follow-up, encoding the record (by simrun's encoder and, for comparison, by apache-avro),
//! and the random records of `simrun gen`. `make bench` measures whole runs; these say where
//! inside a run the time goes, and guard the hot paths against regressions. Run them with
//! `cargo bench --bench hot_paths`; nothing in CI does.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Serialize;

use simrun::encoding::random::{EventContext, RandomSchema};
use simrun::encoding::record::{Encoded, EventFacts, ValueWriter, format_uuid, uuid_v4};
use simrun::plan::distribution::{EntityChoice, EntitySampler};
use simrun::plan::{Overrides, Plan, plan_file, plan_text};
use simrun::sim::Simulation;
use simrun::sim::rng::{Domain, stream};

/// 2026-11-27T08:00:00Z, in nanoseconds since the Unix epoch.
const START_NS: i64 = 1_795_766_400_000_000_000;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The generation scenario of `make bench`, planned.
fn generation_plan() -> Plan {
    let path = repository().join("bench/scenarios/generation.yaml");
    plan_file(&path, &Overrides::default())
        .unwrap_or_else(|problems| panic!("the bench scenario should plan:\n{problems}"))
}

/// A small population, evenly spaced clicks for an hour, and follow-ups with `ratio`: at 1
/// every click and every cart schedules one, at 0 none does.
fn funnel_plan(ratio: f64) -> Plan {
    let text = format!(
        "name: follow-ups\n\
         topics:\n  \
           clicks: {{ schema: ../../schemas/product_clicks.avsc }}\n  \
           carts: {{ schema: ../../schemas/cart_adds.avsc }}\n  \
           purchases: {{ schema: ../../schemas/purchases.avsc }}\n\
         users: {{ count: 1000 }}\n\
         products: {{ count: 100 }}\n\
         funnel:\n  \
           - {{ step: click, topic: clicks }}\n  \
           - {{ step: cart, topic: carts, ratio: {ratio}, \
                delay: {{ exponential: {{ mean: 2s }}, max: 8s }} }}\n  \
           - {{ step: purchase, topic: purchases, ratio: {ratio}, \
                delay: {{ lognormal: {{ median: 4s, sigma: 0.5 }}, max: 12s }} }}\n\
         load:\n  arrivals: uniform\n  stages: [ {{ duration: 1h, rate: 100000 }} ]\n"
    );
    let path: PathBuf = repository().join("bench/scenarios/inline.yaml");
    plan_text(&path, &text, &Overrides::default())
        .unwrap_or_else(|problems| panic!("the follow-up scenario should plan:\n{problems}"))
}

fn sample_entities(c: &mut Criterion) {
    let mut group = c.benchmark_group("entities");
    group.throughput(Throughput::Elements(1));
    let users = EntitySampler::new(EntityChoice::Zipf { exponent: 1.05 }, 1_000_000);
    let mut rng = stream(1, Domain::Record, 0, 0);
    group.bench_function("zipf user among 1,000,000", |b| {
        b.iter(|| users.sample(&mut rng))
    });
    let products = EntitySampler::new(EntityChoice::Zipf { exponent: 1.2 }, 100_000);
    group.bench_function("zipf product among 100,000", |b| {
        b.iter(|| products.sample(&mut rng))
    });
    group.finish();
}

/// `next_event` with and without follow-ups: the difference is the cost of scheduling one
/// (drawing its delay, queueing it, taking it off the queue when due).
fn schedule_follow_ups(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulation next_event");
    group.throughput(Throughput::Elements(1));
    for (name, ratio) in [("no follow-ups", 0.0), ("every event followed up", 1.0)] {
        let plan = funnel_plan(ratio);
        let mut simulation = Simulation::new(&plan, 1, START_NS, true);
        // Run past the first minute, so the queue holds its steady-state share of follow-ups.
        for _ in 0..6_000_000 {
            simulation.next_event();
        }
        group.bench_function(name, |b| b.iter(|| simulation.next_event()));
    }
    group.finish();
}

/// The quantity every carried slot holds in these benchmarks: 2, as an Avro int.
const CARRIED_QUANTITY: i32 = 2;

/// Values handed down the chain (a purchase's quantity comes from its cart): one encoded int per
/// slot the step's encoder reads, as the simulation would carry it.
fn carried_slots(step: &simrun::plan::StepPlan) -> Vec<Box<[u8]>> {
    let slots = step
        .encoder
        .fields
        .iter()
        .filter_map(|field| match field.value {
            ValueWriter::Carried(slot) => Some(slot + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let zigzag = (CARRIED_QUANTITY << 1) as u8;
    vec![Box::new([zigzag]); slots]
}

fn facts(carried: &[Box<[u8]>]) -> EventFacts<'_> {
    EventFacts {
        user: 123_456,
        product: 4_321,
        price: 24.99,
        time_ns: START_NS,
        sequence: 1_000_000,
        carried,
    }
}

fn encode_records(c: &mut Criterion) {
    let plan = generation_plan();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for step in &plan.funnel {
        let carried = carried_slots(step);
        let facts = facts(&carried);
        let mut rng = stream(1, Domain::Chain, 0, 0);
        let mut out = Encoded::default();
        let topic = &plan.topics[step.topic].name;
        group.bench_function(format!("{} ({topic})", step.name), |b| {
            b.iter(|| {
                step.encoder.encode(black_box(&facts), &mut rng, &mut out);
                out.value.len()
            })
        });
    }
    group.finish();
}

/// A purchase as a serde type, for apache-avro's schema-aware serializer.
#[derive(Serialize)]
struct Purchase<'a> {
    user_id: &'a str,
    product_id: i32,
    timestamp: i64,
    quantity: i32,
    unit_price: f64,
    order_id: &'a str,
    currency: &'a str,
}

/// The same purchase three ways: simrun's encoder, which writes the datum straight from the
/// event's facts, and apache-avro from a `Value` tree or from a serde type. Each iteration does
/// the whole job from the same facts: format the user id, draw and format the order id, write
/// the bytes. Before timing anything, the three must agree byte for byte.
fn encode_purchase_with_apache_avro(c: &mut Criterion) {
    let plan = generation_plan();
    let step = plan.funnel.last().expect("the bench funnel has steps");
    let schema = &plan.topics[step.topic].schema;
    let carried = carried_slots(step);
    let facts = facts(&carried);
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .expect("apache-avro should accept the purchase schema");

    let as_value = |rng: &mut _, out: &mut Vec<u8>| {
        let mut uuid = [0u8; 36];
        let order_id = format_uuid(&uuid_v4(rng), &mut uuid).to_vec();
        let value = Value::Record(vec![
            (
                "user_id".into(),
                Value::String(format!("user-{}", facts.user)),
            ),
            ("product_id".into(), Value::Int(facts.product as i32)),
            (
                "timestamp".into(),
                Value::TimestampMillis(facts.time_ns / 1_000_000),
            ),
            ("quantity".into(), Value::Int(CARRIED_QUANTITY)),
            ("unit_price".into(), Value::Double(facts.price)),
            (
                "order_id".into(),
                Value::String(String::from_utf8(order_id).unwrap()),
            ),
            ("currency".into(), Value::String("EUR".into())),
        ]);
        out.clear();
        writer
            .write_value_ref(out, &value)
            .expect("the value fits the schema");
    };
    let as_serde = |rng: &mut _, out: &mut Vec<u8>| {
        let mut uuid = [0u8; 36];
        let order_id = format_uuid(&uuid_v4(rng), &mut uuid);
        let user_id = format!("user-{}", facts.user);
        let purchase = Purchase {
            user_id: &user_id,
            product_id: facts.product as i32,
            timestamp: facts.time_ns / 1_000_000,
            quantity: CARRIED_QUANTITY,
            unit_price: facts.price,
            order_id: std::str::from_utf8(order_id).unwrap(),
            currency: "EUR",
        };
        out.clear();
        writer
            .write_ser(out, &purchase)
            .expect("the purchase fits the schema");
    };

    let mut ours = Encoded::default();
    step.encoder
        .encode(&facts, &mut stream(1, Domain::Chain, 0, 0), &mut ours);
    let mut theirs = Vec::new();
    as_value(&mut stream(1, Domain::Chain, 0, 0), &mut theirs);
    assert_eq!(
        ours.value, theirs,
        "simrun and apache-avro (Value) disagree on the datum"
    );
    as_serde(&mut stream(1, Domain::Chain, 0, 0), &mut theirs);
    assert_eq!(
        ours.value, theirs,
        "simrun and apache-avro (serde) disagree on the datum"
    );

    let mut group = c.benchmark_group("encode purchase");
    group.throughput(Throughput::Elements(1));
    let mut rng = stream(1, Domain::Chain, 0, 0);
    group.bench_function("simrun encoder", |b| {
        b.iter(|| {
            step.encoder.encode(black_box(&facts), &mut rng, &mut ours);
            ours.value.len()
        })
    });
    let mut out = Vec::new();
    group.bench_function("apache-avro Value", |b| {
        b.iter(|| {
            as_value(&mut rng, &mut out);
            out.len()
        })
    });
    group.bench_function("apache-avro serde", |b| {
        b.iter(|| {
            as_serde(&mut rng, &mut out);
            out.len()
        })
    });
    group.finish();
}

/// A random record of each project schema, every field drawn from its Avro type, as
/// `simrun gen` writes them.
fn random_records(c: &mut Criterion) {
    let mut group = c.benchmark_group("random record");
    group.throughput(Throughput::Elements(1));
    for file in ["product_clicks.avsc", "cart_adds.avsc", "purchases.avsc"] {
        let path = repository().join("schemas").join(file);
        let loaded = simrun::encoding::schema::load_schema(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let random = RandomSchema::new(&loaded.schema).expect("project schemas are supported");
        let context = EventContext {
            user: 123_456,
            product: 4_321,
            time_ns: START_NS,
        };
        let mut rng = stream(1, Domain::Record, 0, 0);
        let mut datum = Vec::with_capacity(256);
        group.bench_function(file, |b| {
            b.iter(|| {
                datum.clear();
                random.write_random(black_box(&context), &mut rng, &mut datum);
                datum.len()
            })
        });
    }
    group.finish();
}

criterion_group!(
    hot_paths,
    sample_entities,
    schedule_follow_ups,
    encode_records,
    encode_purchase_with_apache_avro,
    random_records
);
criterion_main!(hot_paths);
