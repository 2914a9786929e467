//! Planning as a whole: defaults, overrides, and what the plan expects a run to produce.

use std::path::PathBuf;

use super::expected::Expected;
use super::{Overrides, Plan, plan_text};
use crate::scenario::Speed;

fn plan_with(text: &str, overrides: &Overrides) -> Plan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/inline.yaml");
    plan_text(&path, text, overrides).unwrap_or_else(|d| panic!("plans:\n{d}"))
}

const MINIMAL: &str = "name: minimal
seed: 5
topics:
  clicks: { schema: ../schemas/product_clicks.avsc }
  carts: { schema: ../schemas/cart_adds.avsc, partitions: 6 }
users: { count: 10 }
products: { count: 4 }
funnel:
  - { step: click, topic: clicks }
  - { step: cart, topic: carts, ratio: 0.5, delay: { constant: 1s } }
load:
  stages:
    - { duration: 10s, rate: 100 }
    - { duration: 20s, from: 0, to: 10, ratios: { cart: 0.1 } }
";

#[test]
fn unstated_settings_take_their_documented_defaults() {
    let plan = plan_with(MINIMAL, &Overrides::default());
    let clicks = &plan.topics[0];
    assert_eq!(
        clicks.name, "clicks",
        "the Kafka name defaults to the local name"
    );
    assert_eq!((clicks.partitions, clicks.replication_factor), (3, 1));
    assert_eq!(clicks.key, "user_id");
    assert_eq!(plan.topics[1].partitions, 6);
    assert_eq!(plan.speed, Speed::Factor(1.0));
    assert_eq!(
        plan.start, None,
        "no start means the wall clock at run time"
    );
    assert_eq!(plan.seed, Some(5));
    assert!(plan.price.is_none());
}

#[test]
fn command_line_overrides_win_over_the_file() {
    let start = "2030-01-01T00:00:00Z".parse().unwrap();
    let overrides = Overrides {
        seed: Some(9),
        start: Some(start),
        speed: Some(Speed::Max),
    };
    let plan = plan_with(MINIMAL, &overrides);
    assert_eq!(plan.seed, Some(9));
    assert_eq!(plan.start, Some(start));
    assert_eq!(plan.speed, Speed::Max);
}

#[test]
fn expected_counts_follow_rates_ratios_and_overrides() {
    let plan = plan_with(MINIMAL, &Overrides::default());
    let expected = Expected::of(&plan);
    // Stage 1: 100/s for 10 s; stage 2: a ramp 0 → 10/s over 20 s holds 100.
    assert_eq!(expected.by_stage[0], vec![1000.0, 500.0]);
    assert_eq!(expected.by_stage[1], vec![100.0, 10.0]);
    assert_eq!(expected.step_total(1), 510.0);
    assert_eq!(expected.per_topic(&plan, None), vec![1100.0, 510.0]);
    assert_eq!(Expected::peak_rate_all_topics(&plan), 150.0);
}

#[test]
fn stage_overrides_replace_only_the_named_step() {
    let plan = plan_with(MINIMAL, &Overrides::default());
    assert_eq!(plan.ratio(1, 0), 0.5);
    assert_eq!(plan.ratio(1, 1), 0.1);
}
