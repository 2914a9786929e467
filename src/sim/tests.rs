//! Scheduler behaviour: ordering, ties, drain, ratio overrides, correlation and determinism.

use std::path::PathBuf;

use super::{Emitted, Simulation};
use crate::encoding::json::JsonRenderer;
use crate::plan::{Overrides, Plan, plan_text};

const START_NS: i64 = 1_764_230_400_000_000_000;

/// Plans scenario text whose schema paths are relative to the repository's `scenarios/`.
fn plan(text: &str) -> Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/inline.yaml");
    match plan_text(&path, text, &Overrides::default()) {
        Ok(plan) => plan,
        Err(diagnostics) => panic!("the test scenario should plan:\n{diagnostics}"),
    }
}

/// A three-step scenario with the given load, funnel tail and fields.
fn scenario(load: &str, cart: &str, purchase: &str) -> String {
    format!(
        "name: t\n\
         topics:\n  \
           clicks: {{ schema: ../schemas/product_clicks.avsc }}\n  \
           carts: {{ schema: ../schemas/cart_adds.avsc }}\n  \
           purchases: {{ schema: ../schemas/purchases.avsc }}\n\
         users: {{ count: 50 }}\n\
         products: {{ count: 20, price: {{ uniform: {{ min: 1, max: 9 }} }} }}\n\
         funnel:\n  \
           - {{ step: click, topic: clicks }}\n  \
           - {{ step: cart, topic: carts, {cart} }}\n  \
           - {{ step: purchase, topic: purchases, {purchase} }}\n\
         fields:\n  \
           carts: {{ quantity: {{ uniform_int: {{ min: 1, max: 9 }} }} }}\n  \
           purchases: {{ quantity: {{ from: cart.quantity }}, unit_price: product.price }}\n\
         load:\n{load}"
    )
}

/// Every event of a run with its key and value bytes.
fn collect(plan: &Plan, seed: u64, drain: bool) -> Vec<(Emitted, Vec<u8>, Vec<u8>)> {
    let mut simulation = Simulation::new(plan, seed, START_NS, drain);
    let mut events = Vec::new();
    while let Some(event) = simulation.next_event() {
        let encoded = simulation.encoded();
        events.push((event, encoded.key.clone(), encoded.value.clone()));
    }
    events
}

#[test]
fn events_leave_in_time_order_and_ties_go_to_the_earlier_chain_then_step() {
    // Arrivals every second; carts exactly one second later tie with the next chain's click.
    let text = scenario(
        "  arrivals: uniform\n  stages: [ { duration: 5s, rate: 1 } ]\n",
        "ratio: 1, delay: { constant: 1s }",
        "ratio: 1, delay: { constant: 0s }",
    );
    let plan = plan(&text);
    let events = collect(&plan, 1, true);
    let order: Vec<(u64, u64, usize)> = events
        .iter()
        .map(|(e, _, _)| (e.offset_ns / 1_000_000_000, e.chain, e.step))
        .collect();

    assert_eq!(
        &order[..7],
        &[
            (0, 0, 0),
            (1, 0, 1),
            (1, 0, 2),
            (1, 1, 0),
            (2, 1, 1),
            (2, 1, 2),
            (2, 2, 0)
        ]
    );
    let keys: Vec<_> = events
        .iter()
        .map(|(e, _, _)| (e.offset_ns, e.chain, e.step))
        .collect();
    assert!(
        keys.windows(2).all(|pair| pair[0] < pair[1]),
        "strictly increasing (time, chain, step)"
    );
}

#[test]
fn follow_ups_due_after_the_last_stage_are_drained_unless_told_not_to() {
    let text = scenario(
        "  stages: [ { duration: 10s, rate: 50 } ]\n",
        "ratio: 0.5, delay: { constant: 3s }",
        "ratio: 0.5, delay: { constant: 3s }",
    );
    let plan = plan(&text);
    let end = 10_000_000_000;

    let drained = collect(&plan, 3, true);
    let late: Vec<_> = drained
        .iter()
        .filter(|(e, _, _)| e.offset_ns >= end)
        .collect();
    assert!(
        !late.is_empty(),
        "some follow-ups fall after the stages and are still emitted"
    );
    assert!(late.iter().all(|(e, _, _)| e.stage.is_none() && e.step > 0));

    // Without drain, the run is the drained one cut at the end: an event before the end has
    // all its ancestors before the end too, so nothing else changes.
    let mut simulation = Simulation::new(&plan, 3, START_NS, false);
    let mut cut_short = Vec::new();
    while let Some(event) = simulation.next_event() {
        let encoded = simulation.encoded();
        cut_short.push((event, encoded.key.clone(), encoded.value.clone()));
    }
    let expected: Vec<_> = drained
        .iter()
        .filter(|(e, _, _)| e.offset_ns < end)
        .cloned()
        .collect();
    assert_eq!(cut_short, expected);
    let cut_children = late
        .iter()
        .filter(|(e, _, _)| e.parent_stage.is_some())
        .count();
    assert_eq!(simulation.counters().cut_by_no_drain, cut_children as u64);
}

#[test]
fn stage_ratio_overrides_apply_to_parents_in_that_stage() {
    let text = scenario(
        "  stages:\n    \
           - { duration: 10s, rate: 100, ratios: { cart: 0 } }\n    \
           - { duration: 10s, rate: 100, ratios: { cart: 1 } }\n",
        "ratio: 0.5, delay: { constant: 0s }",
        "ratio: 0, delay: { constant: 0s }",
    );
    let plan = plan(&text);
    let events = collect(&plan, 5, true);

    let clicks_in = |stage| {
        events
            .iter()
            .filter(|(e, _, _)| e.step == 0 && e.stage == Some(stage))
            .count()
    };
    let carts_from = |stage| {
        events
            .iter()
            .filter(|(e, _, _)| e.step == 1 && e.parent_stage == Some(stage))
            .count()
    };
    assert!(clicks_in(0) > 0 && clicks_in(1) > 0);
    assert_eq!(carts_from(0), 0, "ratio 0 in the first stage");
    assert_eq!(carts_from(1), clicks_in(1), "ratio 1 in the second stage");
    assert!(
        events.iter().all(|(e, _, _)| e.step < 2),
        "purchase ratio 0"
    );
}

#[test]
fn follow_ups_share_their_chain_user_and_product_and_copy_bound_fields() {
    let text = scenario(
        "  stages: [ { duration: 20s, rate: 50 } ]\n",
        "ratio: 0.6, delay: { exponential: { mean: 2s } }",
        "ratio: 0.6, delay: { uniform: { min: 1s, max: 2s } }",
    );
    let plan = plan(&text);
    let events = collect(&plan, 9, true);
    let cart_renderer = JsonRenderer::new(&plan.topics[1].schema).unwrap();
    let purchase_renderer = JsonRenderer::new(&plan.topics[2].schema).unwrap();

    let mut purchases = 0;
    for (event, key, value) in &events {
        if event.step == 0 {
            continue;
        }
        let parent = events
            .iter()
            .find(|(p, _, _)| p.chain == event.chain && p.step + 1 == event.step)
            .expect("every follow-up has a parent");
        assert!(parent.0.offset_ns <= event.offset_ns);
        assert_eq!(
            (parent.0.user, parent.0.product),
            (event.user, event.product)
        );
        assert_eq!(key, &format!("user-{}", event.user).into_bytes());
        if event.step == 2 {
            purchases += 1;
            let cart = cart_renderer.render(&parent.2).unwrap();
            let purchase = purchase_renderer.render(value).unwrap();
            assert_eq!(purchase["quantity"], cart["quantity"]);
            assert_eq!(purchase["product_id"].as_u64(), Some(event.product));
        }
    }
    assert!(
        purchases > 50,
        "enough purchases to mean something: {purchases}"
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let text = scenario(
        "  stages: [ { duration: 5s, from: 10, to: 100 } ]\n",
        "ratio: 0.3, delay: { lognormal: { median: 1s, sigma: 0.5 } }",
        "ratio: 0.3, delay: { exponential: { mean: 1s } }",
    );
    let plan = plan(&text);
    let first = collect(&plan, 42, true);
    let second = collect(&plan, 42, true);
    let other = collect(&plan, 43, true);
    assert_eq!(first, second);
    assert_ne!(first, other);
}

#[test]
fn a_chain_looks_the_same_whatever_else_is_generated() {
    // The same seed under a different load: chain 0's first event is drawn from its own
    // stream, so its user, product and record bytes are unchanged.
    let calm = plan(&scenario(
        "  stages: [ { duration: 5s, rate: 10 } ]\n",
        "ratio: 0.3, delay: { constant: 1s }",
        "ratio: 0.3, delay: { constant: 1s }",
    ));
    let busy = plan(&scenario(
        "  stages: [ { duration: 5s, rate: 1000 } ]\n",
        "ratio: 0.3, delay: { constant: 1s }",
        "ratio: 0.3, delay: { constant: 1s }",
    ));
    let first_of = |plan: &Plan| {
        let events = collect(plan, 77, true);
        events
            .into_iter()
            .find(|(e, _, _)| e.chain == 0 && e.step == 0)
            .map(|(e, k, _)| (e.user, e.product, k))
    };
    assert_eq!(first_of(&calm), first_of(&busy));
}

#[test]
fn arrivals_follow_the_stage_rates() {
    let text = scenario(
        "  stages:\n    - { duration: 20s, rate: 200 }\n    - { duration: 20s, from: 0, to: 400 }\n",
        "ratio: 0, delay: { constant: 0s }",
        "ratio: 0, delay: { constant: 0s }",
    );
    let plan = plan(&text);
    let events = collect(&plan, 11, true);
    for (stage, expected) in [(0, 4000.0), (1, 4000.0)] {
        let count = events
            .iter()
            .filter(|(e, _, _)| e.stage == Some(stage))
            .count() as f64;
        // A Poisson count: within four standard deviations of its mean.
        assert!(
            (count - expected).abs() < 4.0 * f64::sqrt(expected),
            "stage {stage}: {count}"
        );
    }
    // Within the ramp, the second half (higher rate) holds about three quarters of the events.
    let late_half = events
        .iter()
        .filter(|(e, _, _)| e.stage == Some(1) && e.offset_ns >= 30_000_000_000)
        .count() as f64;
    assert!((late_half / 4000.0 - 0.75).abs() < 0.03, "{late_half}");
}
