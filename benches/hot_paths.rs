//! Micro-benchmarks of the work done for every generated event: choosing the user, scheduling
//! the follow-up, encoding the record. `make bench` measures whole runs; these say where inside
//! a run the time goes, and guard the hot paths against regressions. Run them with
//! `cargo bench --bench hot_paths`; nothing in CI does.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use simrun::encoding::record::{Encoded, EventFacts, ValueWriter};
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

fn encode_records(c: &mut Criterion) {
    let plan = generation_plan();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for step in &plan.funnel {
        // Values handed down the chain (a purchase's quantity comes from its cart): one encoded
        // int per slot, as the simulation would carry it.
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
        let carried: Vec<Box<[u8]>> = vec![Box::new([4u8]); slots];
        let facts = EventFacts {
            user: 123_456,
            product: 4_321,
            price: 24.99,
            time_ns: START_NS,
            sequence: 1_000_000,
            carried: &carried,
        };
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

criterion_group!(
    hot_paths,
    sample_entities,
    schedule_follow_ups,
    encode_records
);
criterion_main!(hot_paths);
