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
pub mod load;
pub mod render;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use chrono::{DateTime, Utc};

use crate::diagnostics::{Diagnostics, Position, suggestion};
use crate::encoding::record::RecordEncoder;
use crate::encoding::schema::load_schema;
use crate::scenario::{self, Arrivals, Located, Scenario, SimDuration, Speed};
use distribution::{Checker, Distribution, EntityChoice, Unit};
use fields::{BindingRef, CarryPlan, CarrySource, FunnelView, RecordShape};
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

    let topics = plan_topics(scenario, base, &mut cx);
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
    let steps = plan_steps(scenario, &topics, &mut cx);
    let load = plan_load(scenario, &steps, &mut cx);
    check_field_topics(scenario, &mut cx);

    let funnel = compile_funnel(scenario, &topics, &steps, price.is_some(), &mut cx);

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

/// A topic while planning.
struct PlannedTopic {
    plan: TopicPlan,
}

fn plan_topics(scenario: &Scenario, base: &Path, cx: &mut Checker<'_>) -> Vec<PlannedTopic> {
    let mut topics: Vec<PlannedTopic> = Vec::new();
    let mut records: HashMap<String, (Schema, String)> = HashMap::new();

    for (local, spec) in &scenario.topics {
        let what = format!("topic `{}`", local.value);
        let name = spec.name.clone().unwrap_or_else(|| local.clone());
        check_topic_name(&name, &what, cx);
        if let Some(other) = topics.iter().find(|t| t.plan.name == name.value) {
            let message = format!(
                "{what}: Kafka topic `{}` is also used by topic `{}`",
                name.value, other.plan.local_name
            );
            cx.error(
                name.at,
                message,
                Some("give each topic its own Kafka name".into()),
            );
        }

        // The schema, its top-level record, and its record name against the others'.
        let schema_path = base.join(&spec.schema.value);
        let loaded = match load_schema(&schema_path) {
            Ok(loaded) => loaded,
            Err(error) => {
                cx.error(spec.schema.at, format!("{what}: {error}"), None);
                continue;
            }
        };
        let record_name = match loaded.record() {
            Ok(record) => record.name.fullname(None),
            Err(error) => {
                cx.error(spec.schema.at, format!("{what}: {error}"), None);
                continue;
            }
        };
        match records.get(&record_name) {
            Some((schema, other)) if *schema != loaded.schema => {
                let message = format!(
                    "{what}: record `{record_name}` is also defined, differently, by topic `{other}`"
                );
                cx.error(
                    spec.schema.at,
                    message,
                    Some("give each record a unique name".into()),
                );
            }
            _ => {
                records.insert(
                    record_name.clone(),
                    (loaded.schema.clone(), local.value.clone()),
                );
            }
        }

        // The key field: present, and a string or an integer.
        let key = spec
            .key
            .clone()
            .map(|k| k.value)
            .unwrap_or_else(|| DEFAULT_KEY.to_string());
        let key_at = spec.key.as_ref().map_or(local.at, |k| k.at);
        let Ok(record) = loaded.record() else {
            continue;
        };
        let shape = RecordShape::new(&loaded.schema, record);
        match shape.field_index(&key) {
            None => {
                let message = format!(
                    "{what}: key field `{key}` is not in record `{}`",
                    record.name.name()
                );
                cx.error(key_at, message, Some(suggestion(&key, shape.field_names())));
            }
            Some(index) if !fields::key_type_ok(&shape, &record.fields[index].schema) => {
                let message = format!(
                    "{what}: key field `{key}` is {}; a key must be a string, int or long",
                    fields::describe_type(&record.fields[index].schema)
                );
                cx.error(key_at, message, None);
            }
            Some(_) => {}
        }

        let partitions = positive(
            spec.partitions.as_ref(),
            DEFAULT_PARTITIONS,
            &what,
            "partitions",
            cx,
        );
        let replication_factor = positive(
            spec.replication_factor.as_ref(),
            DEFAULT_REPLICATION_FACTOR,
            &what,
            "replication_factor",
            cx,
        );
        topics.push(PlannedTopic {
            plan: TopicPlan {
                local_name: local.value.clone(),
                name: name.value,
                schema_path,
                schema: loaded.schema,
                record_name,
                key,
                partitions,
                replication_factor,
                config: spec.config.clone(),
            },
        });
    }
    topics
}

fn check_topic_name(name: &Located<String>, what: &str, cx: &mut Checker<'_>) {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.value.is_empty() || name.value.len() > 249 || !name.value.chars().all(legal) {
        let message = format!("{what}: `{}` is not a legal Kafka topic name", name.value);
        let help = "use up to 249 letters, digits, `.`, `_` and `-`";
        cx.error(name.at, message, Some(help.into()));
    } else if name.value == "." || name.value == ".." {
        cx.error(
            name.at,
            format!("{what}: `{}` is not a legal Kafka topic name", name.value),
            None,
        );
    }
}

fn positive(
    value: Option<&Located<i64>>,
    default: i32,
    what: &str,
    key: &str,
    cx: &mut Checker<'_>,
) -> i32 {
    match value {
        None => default,
        Some(v) if v.value >= 1 && v.value <= i64::from(i32::MAX) => v.value as i32,
        Some(v) => {
            cx.error(
                v.at,
                format!("{what}: `{key}` must be a positive whole number"),
                None,
            );
            default
        }
    }
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

/// A funnel step before its encoder is compiled.
struct StepDraft {
    name: String,
    topic: Option<usize>,
    ratio: f64,
    delay: Option<Distribution>,
}

fn plan_steps(
    scenario: &Scenario,
    topics: &[PlannedTopic],
    cx: &mut Checker<'_>,
) -> Vec<StepDraft> {
    let funnel = &scenario.funnel;
    if funnel.len() < 2 && !scenario.funnel.is_empty() {
        let message = "the funnel needs at least two steps: a first step driven by the load \
                       profile and one that follows it";
        cx.error(funnel[0].at, message, None);
    }

    let mut drafts = Vec::with_capacity(funnel.len());
    for (index, step) in funnel.iter().enumerate() {
        let what = format!("funnel step `{}`", step.step.value);
        if funnel[..index]
            .iter()
            .any(|earlier| earlier.step.value == step.step.value)
        {
            cx.error(
                step.step.at,
                format!("{what}: the name is used twice"),
                None,
            );
        }
        let topic = topics
            .iter()
            .position(|t| t.plan.local_name == step.topic.value);
        if topic.is_none() && !declared(scenario, &step.topic.value) {
            let message = format!(
                "{what}: topic `{}` is not declared under `topics`",
                step.topic.value
            );
            let help = suggestion(
                &step.topic.value,
                topics.iter().map(|t| t.plan.local_name.as_str()),
            );
            cx.error(step.topic.at, message, Some(help));
        }

        let (ratio, delay) = if index == 0 {
            if let Some(ratio) = &step.ratio {
                let message =
                    format!("{what}: the first step's rate comes from `load`; it takes no `ratio`");
                cx.error(
                    ratio.at,
                    message,
                    Some("remove `ratio` from the first step".into()),
                );
            }
            if let Some(delay) = &step.delay {
                let message = format!("{what}: the first step takes no `delay`");
                cx.error(
                    delay.at(),
                    message,
                    Some("remove `delay` from the first step".into()),
                );
            }
            (1.0, None)
        } else {
            let ratio = match &step.ratio {
                Some(ratio) => {
                    check_ratio(ratio, &what, cx);
                    ratio.value
                }
                None if step.had_unknown_keys => 0.0,
                None => {
                    let message = format!("{what}: missing `ratio`");
                    let help = "say which share of the previous step's events lead here, e.g. `ratio: 0.1`";
                    cx.error(step.at, message, Some(help.into()));
                    0.0
                }
            };
            let delay = match &step.delay {
                Some(source) => {
                    distribution::distribution(source, &format!("{what} delay"), Unit::Duration, cx)
                        .map(|mut d| {
                            // A delay cannot send an event into its parent's past.
                            d.min = Some(d.min.unwrap_or(0.0).max(0.0));
                            d
                        })
                }
                None if step.had_unknown_keys => None,
                None => {
                    let message = format!("{what}: missing `delay`");
                    let help = "say how long after the previous step it happens, e.g. \
                                `delay: { exponential: { mean: 40s } }`";
                    cx.error(step.at, message, Some(help.into()));
                    None
                }
            };
            (ratio, delay)
        };
        drafts.push(StepDraft {
            name: step.step.value.clone(),
            topic,
            ratio,
            delay,
        });
    }
    drafts
}

/// Whether `name` is a key under `topics`, whether or not its entry could be read.
fn declared(scenario: &Scenario, name: &str) -> bool {
    scenario
        .topic_names
        .iter()
        .any(|declared| declared.value == name)
}

fn check_ratio(ratio: &Located<f64>, what: &str, cx: &mut Checker<'_>) {
    if !(0.0..=1.0).contains(&ratio.value) {
        let message = format!("{what}: ratio {} is not a probability", ratio.value);
        cx.error(
            ratio.at,
            message,
            Some("a ratio lies between 0 and 1".into()),
        );
    }
}

fn plan_load(
    scenario: &Scenario,
    steps: &[StepDraft],
    cx: &mut Checker<'_>,
) -> Option<LoadProfile> {
    let load = scenario.load.as_ref()?;
    let arrivals = load
        .arrivals
        .as_ref()
        .map_or(Arrivals::Poisson, |a| a.value);
    if load.stages.is_empty() {
        cx.error(
            Position::default(),
            "`load.stages` is empty",
            Some("give at least one stage".into()),
        );
        return None;
    }

    let mut specs = Vec::with_capacity(load.stages.len());
    let mut ok = true;
    for (index, stage) in load.stages.iter().enumerate() {
        let what = format!("load stage {}", index + 1);
        let duration = match stage.duration.value.parse::<SimDuration>() {
            Ok(duration) if duration > SimDuration::ZERO => duration.as_secs_f64(),
            Ok(_) => {
                cx.error(
                    stage.duration.at,
                    format!("{what}: `duration` must be positive"),
                    None,
                );
                ok = false;
                continue;
            }
            Err(error) => {
                cx.error(stage.duration.at, format!("{what}: {error}"), None);
                ok = false;
                continue;
            }
        };
        let (from, to) = match (&stage.rate, &stage.from, &stage.to) {
            (Some(rate), None, None) => (rate, rate),
            (None, Some(from), Some(to)) => (from, to),
            _ => {
                let message = format!("{what}: give either `rate`, or both `from` and `to`");
                cx.error(stage.at, message, None);
                ok = false;
                continue;
            }
        };
        let rates = if std::ptr::eq(from, to) {
            vec![from]
        } else {
            vec![from, to]
        };
        for rate in rates {
            if rate.value < 0.0 || !rate.value.is_finite() {
                cx.error(rate.at, format!("{what}: a rate cannot be negative"), None);
                ok = false;
            }
        }

        // Ratio overrides apply to follow-up steps only.
        let mut ratios = vec![None; steps.len()];
        for (name, ratio) in &stage.ratios {
            match steps.iter().position(|s| s.name == *name) {
                Some(0) => {
                    let message =
                        format!("{what}: `{name}` is the first step; its rate is the stage's rate");
                    cx.error(ratio.at, message, None);
                    ok = false;
                }
                Some(step) => {
                    check_ratio(ratio, &what, cx);
                    ratios[step] = Some(ratio.value);
                }
                None => {
                    let message = format!("{what}: `ratios` names no funnel step `{name}`");
                    let help = suggestion(name, steps.iter().skip(1).map(|s| s.name.as_str()));
                    cx.error(ratio.at, message, Some(help));
                    ok = false;
                }
            }
        }
        specs.push((duration, from.value, to.value, ratios));
    }
    ok.then(|| LoadProfile::new(arrivals, specs))
}

fn check_field_topics(scenario: &Scenario, cx: &mut Checker<'_>) {
    for binding in &scenario.fields {
        if !declared(scenario, &binding.topic.value) {
            let message = format!(
                "`fields`: topic `{}` is not declared under `topics`",
                binding.topic.value
            );
            let names = scenario.topic_names.iter().map(|name| name.value.as_str());
            cx.error(
                binding.topic.at,
                message,
                Some(suggestion(&binding.topic.value, names)),
            );
        }
    }
}

/// Compiles every step's record encoder, once all topics and steps are known.
fn compile_funnel(
    scenario: &Scenario,
    topics: &[PlannedTopic],
    steps: &[StepDraft],
    has_price: bool,
    cx: &mut Checker<'_>,
) -> Option<Vec<StepPlan>> {
    let topic_indices: Vec<usize> = steps.iter().map(|s| s.topic).collect::<Option<_>>()?;
    let shapes: Vec<RecordShape<'_>> = topics
        .iter()
        .map(|t| {
            let record = crate::encoding::schema::top_level_record(&t.plan.schema).ok();
            record.map(|r| RecordShape::new(&t.plan.schema, r))
        })
        .collect::<Option<_>>()?;
    let step_names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
    let step_shapes: Vec<&RecordShape<'_>> = topic_indices.iter().map(|&t| &shapes[t]).collect();
    let view = FunnelView {
        step_names: &step_names,
        step_shapes: &step_shapes,
    };

    // Every field a binding names must exist in its topic's record.
    for binding in &scenario.fields {
        let Some(topic) = topics
            .iter()
            .position(|t| t.plan.local_name == binding.topic.value)
        else {
            continue;
        };
        if shapes[topic].field_index(&binding.field.value).is_none() {
            let record = &shapes[topic].record.name.name();
            let message = format!(
                "`fields.{}`: record `{record}` has no field `{}`",
                binding.topic.value, binding.field.value
            );
            let help = suggestion(&binding.field.value, shapes[topic].field_names());
            cx.error(binding.field.at, message, Some(help));
        }
    }

    // What each step copies from earlier steps, then where those values travel.
    let bindings_of = |topic: usize| -> Vec<BindingRef<'_>> {
        scenario
            .fields
            .iter()
            .filter(|b| b.topic.value == topics[topic].plan.local_name)
            .map(|b| BindingRef {
                field: &b.field,
                source: &b.source,
            })
            .collect()
    };
    let mut silent = Diagnostics::new();
    let mut quiet = Checker {
        file: cx.file,
        diagnostics: &mut silent,
    };
    let wanted: Vec<Vec<fields::CarriedValue>> = topic_indices
        .iter()
        .enumerate()
        .map(|(step, &topic)| {
            bindings_of(topic)
                .iter()
                .filter_map(|b| fields::carried_reference(b, step, &view, &mut quiet))
                .collect()
        })
        .collect();
    let carry = CarryPlan::new(steps.len(), &wanted);

    let mut funnel = Vec::with_capacity(steps.len());
    for (step, draft) in steps.iter().enumerate() {
        let topic = topic_indices[step];
        let shape = &shapes[topic];
        let key_field = shape.field_index(&topics[topic].plan.key)?;
        let bindings = bindings_of(topic);
        let encoder = fields::compile_encoder(
            shape,
            &topics[topic].plan.schema,
            &bindings,
            key_field,
            step,
            &view,
            &carry,
            has_price,
            cx,
        );
        let Some(encoder) = encoder else { continue };
        funnel.push(StepPlan {
            name: draft.name.clone(),
            topic,
            ratio: draft.ratio,
            delay: draft.delay,
            encoder,
            carry: carry.handed_down(step),
        });
    }
    (funnel.len() == steps.len() && steps.len() >= 2).then_some(funnel)
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
