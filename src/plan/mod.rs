//! The plan: a scenario checked as a whole and resolved into what a run needs.
//!
//! Reading a file ([`crate::scenario`]) checks each value on its own; planning checks them
//! together: every funnel topic is declared, every bound field exists in its schema with a
//! compatible type, `from:` names an earlier step, ratios are probabilities, stages make a
//! timeline. Problems are collected, never thrown one at a time. What comes out is a [`Plan`]:
//! schemas loaded, defaults applied, field writers compiled, stages laid out. Nothing in a plan
//! is random yet; the simulation draws from it.

pub mod distribution;
pub mod expected;
pub mod fields;
mod funnel;
mod literals;
pub mod load;
pub mod render;
mod topics;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use chrono::{DateTime, Utc};

use crate::diagnostics::Diagnostics;
use crate::encoding::record::RecordEncoder;
use crate::scenario::{self, Located, Scenario, Speed};
use distribution::{Checker, Distribution, EntityChoice, Unit};
use fields::CarrySource;
use load::LoadProfile;

/// Partitions of a topic that does not say.
pub const DEFAULT_PARTITIONS: i32 = 3;
/// Replication factor of a topic that does not say.
pub const DEFAULT_REPLICATION_FACTOR: i32 = 1;
/// Key field of a topic that does not say.
pub const DEFAULT_KEY: &str = "user_id";

/// Values given on the command line, which take precedence over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub start: Option<DateTime<Utc>>,
    pub speed: Option<Speed>,
}

/// A topic as the run will use it.
#[derive(Debug)]
pub struct TopicPlan {
    /// The name the scenario uses for it (`clicks`).
    pub local_name: String,
    /// The Kafka topic (`product-clicks`).
    pub name: String,
    pub schema_path: PathBuf,
    pub schema: Schema,
    /// The record's full name (`com.example.events.ProductClick`).
    pub record_name: String,
    /// The field whose value is the record key.
    pub key: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub config: BTreeMap<String, String>,
}

/// A population of users or products.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Population {
    pub count: u64,
    pub choice: EntityChoice,
}

/// One funnel step, ready to emit events.
#[derive(Debug)]
pub struct StepPlan {
    pub name: String,
    /// Index into [`Plan::topics`].
    pub topic: usize,
    /// Probability that an event of the previous step leads to one of this step (1 for the first).
    pub ratio: f64,
    /// Delay after the parent event, in seconds (none for the first step).
    pub delay: Option<Distribution>,
    /// How this step's record is written.
    pub encoder: RecordEncoder,
    /// What this step's events hand down to their child.
    pub carry: Vec<CarrySource>,
}

/// Where and how records go to Kafka, as the scenario says.
#[derive(Clone, Debug, Default)]
pub struct KafkaSettings {
    pub bootstrap_servers: Option<String>,
    pub producer: BTreeMap<String, String>,
}

/// A checked, resolved scenario.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub description: Option<String>,
    pub file: PathBuf,
    /// The seed; `None` means one is chosen when the run starts.
    pub seed: Option<u64>,
    /// Simulated time at the start; `None` means the wall-clock time when the run starts.
    pub start: Option<DateTime<Utc>>,
    pub speed: Speed,
    pub kafka: KafkaSettings,
    pub topics: Vec<TopicPlan>,
    pub users: Population,
    pub products: Population,
    pub price: Option<Distribution>,
    pub funnel: Vec<StepPlan>,
    pub load: LoadProfile,
}

/// Reads, checks and plans the scenario at `path`.
pub fn plan_file(path: &Path, overrides: &Overrides) -> Result<Plan, Diagnostics> {
    match std::fs::read_to_string(path) {
        Ok(text) => plan_text(path, &text, overrides),
        Err(_) => Err(scenario::read_file(path).diagnostics),
    }
}

/// Checks and plans scenario `text` as if it were the file at `path`: relative schema paths are
/// resolved against the directory of `path`, and problems name it.
pub fn plan_text(path: &Path, text: &str, overrides: &Overrides) -> Result<Plan, Diagnostics> {
    let read = scenario::read_str(path, text);
    let mut diagnostics = read.diagnostics;
    let plan = build(&read.scenario, path, overrides, &mut diagnostics);
    match plan {
        Some(plan) if diagnostics.is_empty() => Ok(plan),
        _ => {
            diagnostics.sort();
            Err(diagnostics)
        }
    }
}

/// Checks `scenario` as a whole and resolves it, adding every problem to `diagnostics`.
///
/// Returns `None` when something essential is missing; a returned plan is only usable when
/// `diagnostics` stayed empty.
pub fn build(
    scenario: &Scenario,
    file: &Path,
    overrides: &Overrides,
    diagnostics: &mut Diagnostics,
) -> Option<Plan> {
    let mut cx = Checker { file, diagnostics };
    let base = file.parent().unwrap_or(Path::new("."));

    let topics = topics::plan_topics(scenario, base, &mut cx);
    let users = population(
        scenario
            .users
            .as_ref()
            .map(|u| (&u.count, u.activity.as_ref())),
        "users",
        &mut cx,
    );
    let products = population(
        scenario
            .products
            .as_ref()
            .map(|p| (&p.count, p.popularity.as_ref())),
        "products",
        &mut cx,
    );
    let price = scenario
        .products
        .as_ref()
        .and_then(|p| p.price.as_ref())
        .and_then(|source| {
            distribution::distribution(source, "`products.price`", Unit::Number, &mut cx)
        });
    let steps = funnel::plan_steps(scenario, &topics, &mut cx);
    let load = load::plan_load(scenario, &steps, &mut cx);
    funnel::check_field_topics(scenario, &mut cx);

    let funnel = funnel::compile_funnel(scenario, &topics, &steps, price.is_some(), &mut cx);

    let speed = overrides
        .speed
        .or(scenario.speed.as_ref().map(|s| s.value))
        .unwrap_or(Speed::Factor(1.0));
    let kafka = scenario.kafka.clone().unwrap_or_default();
    Some(Plan {
        name: scenario.name.as_ref()?.value.clone(),
        description: scenario.description.clone(),
        file: file.to_path_buf(),
        seed: overrides.seed.or(scenario.seed.as_ref().map(|s| s.value)),
        start: overrides.start.or(scenario.start.as_ref().map(|s| s.value)),
        speed,
        kafka: KafkaSettings {
            bootstrap_servers: kafka.bootstrap_servers.map(|b| b.value),
            producer: kafka.producer,
        },
        topics: topics.into_iter().map(|t| t.plan).collect(),
        users: users?,
        products: products?,
        price,
        funnel: funnel?,
        load: load?,
    })
}

fn population(
    spec: Option<(&Located<i64>, Option<&scenario::ValueSource>)>,
    section: &str,
    cx: &mut Checker<'_>,
) -> Option<Population> {
    let (count, choice) = spec?;
    let what = format!("`{section}`");
    let mut ok = true;
    if count.value < 1 {
        cx.error(
            count.at,
            format!("{what}: `count` must be at least 1"),
            None,
        );
        ok = false;
    }
    let key = if section == "users" {
        "activity"
    } else {
        "popularity"
    };
    let choice = match choice {
        Some(source) => distribution::entity_choice(source, &format!("`{section}.{key}`"), cx)?,
        None => EntityChoice::Uniform,
    };
    if matches!(choice, EntityChoice::Zipf { .. })
        && count.value as u64 > distribution::ZIPF_MAX_COUNT
    {
        let message = format!(
            "{what}: a Zipf choice supports at most {} entities",
            distribution::ZIPF_MAX_COUNT
        );
        cx.error(
            count.at,
            message,
            Some("use `uniform` for larger populations".into()),
        );
        ok = false;
    }
    ok.then_some(Population {
        count: count.value as u64,
        choice,
    })
}

impl Plan {
    /// The ratio of step `step` for a parent event in stage `stage`.
    #[inline]
    pub fn ratio(&self, step: usize, stage: usize) -> f64 {
        self.load.stages[stage]
            .ratios
            .get(step)
            .copied()
            .flatten()
            .unwrap_or(self.funnel[step].ratio)
    }

    pub fn topic_of_step(&self, step: usize) -> &TopicPlan {
        &self.topics[self.funnel[step].topic]
    }
}

#[cfg(test)]
mod tests;
