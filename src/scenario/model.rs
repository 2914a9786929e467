//! The scenario file as written: one type per section, mirroring the YAML key for key.
//!
//! These types are the reference of the scenario language (version 1). They check shapes and
//! scalar syntax only: that a ratio is a number, a duration has a unit, no key is misspelt. What
//! the values mean together (a funnel topic is declared, a bound field exists in its schema) is
//! the planner's business. Every value a later check may point at is [`Located`].

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::{Deserialize, Deserializer};

use crate::diagnostics::Position;

/// A value with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub at: Position,
}

impl<T> Located<T> {
    pub fn new(value: T, at: Position) -> Self {
        Located { value, at }
    }
}

impl<T> Deref for Located<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de> + Clone> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = marked_yaml::Spanned::<T>::deserialize(deserializer)?;
        let at = spanned
            .span()
            .start()
            .map(|mark| Position::new(mark.line(), mark.column()))
            .unwrap_or_default();
        Ok(Located {
            value: (*spanned).clone(),
            at,
        })
    }
}

/// The `kafka` section: where `simrun run` sends records unless told otherwise.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSpec {
    /// Comma-separated `host:port` list; `--bootstrap-server` and `KAFKA_BOOTSTRAP_SERVERS`
    /// take precedence.
    pub bootstrap_servers: Option<Located<String>>,
    /// librdkafka producer properties, passed through as written (`linger.ms`, `compression.type`).
    #[serde(default)]
    pub producer: BTreeMap<String, String>,
}

/// One entry of `topics`, under its local name.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The Kafka topic name; defaults to the local name.
    pub name: Option<Located<String>>,
    /// Path of the Avro schema (`.avsc`), relative to the scenario file.
    pub schema: Located<String>,
    /// Top-level schema field whose value becomes the record key; defaults to `user_id`.
    pub key: Option<Located<String>>,
    /// Partition count when simrun creates the topic; defaults to 3.
    pub partitions: Option<Located<i64>>,
    /// Replication factor when simrun creates the topic; defaults to 1.
    pub replication_factor: Option<Located<i64>>,
    /// Topic configuration when simrun creates the topic (`retention.ms`, `cleanup.policy`).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// A distribution, or a field's value source, written as a mapping with one kind key.
///
/// The same shape serves user activity, product popularity, prices, delays and field values; the
/// place it is used decides which kinds are allowed and whether parameters are numbers or
/// durations, so parameters are kept as written until then. `min` and `max`, beside the kind,
/// bound the drawn value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    /// `{ uniform: { min, max } }`: every value in the range equally likely.
    pub uniform: Option<Params>,
    /// `{ uniform_int: { min, max } }`: every integer in the range, both ends included.
    pub uniform_int: Option<Params>,
    /// `{ zipf: { exponent } }`: rank `n` drawn with weight `1 / n^exponent`.
    pub zipf: Option<Params>,
    /// `{ normal: { mean, std_dev } }`.
    pub normal: Option<Params>,
    /// `{ lognormal: { median, sigma } }`: `median * e^(sigma * Z)` for a standard normal `Z`.
    pub lognormal: Option<Params>,
    /// `{ exponential: { mean } }`.
    pub exponential: Option<Params>,
    /// `{ pareto: { scale, shape } }`: at least `scale`, heavier-tailed as `shape` falls.
    pub pareto: Option<Params>,
    /// `{ constant: V }`: always `V`.
    pub constant: Option<Located<String>>,
    /// `{ one_of: [V, ...] }`: one of the values, equally likely (fields only).
    pub one_of: Option<Vec<Located<String>>>,
    /// `{ weighted: { V: W, ... } }`: a value with probability proportional to its weight
    /// (fields only).
    pub weighted: Option<BTreeMap<String, Located<f64>>>,
    /// `{ from: STEP.FIELD }`: the value of a field of an earlier event of the same funnel chain
    /// (fields only).
    pub from: Option<Located<String>>,
    /// Lower bound on drawn values.
    pub min: Option<Located<String>>,
    /// Upper bound on drawn values.
    pub max: Option<Located<String>>,
}

/// The parameters of a distribution kind, by name, kept as written.
pub type Params = BTreeMap<String, Located<String>>;

/// A distribution or value source: a bare name (`uniform`, `uuid`, `product.price`) or a mapping.
#[derive(Clone, Debug)]
pub enum ValueSource {
    Named(Located<String>),
    Spec(Box<Located<ValueSpec>>),
}

impl ValueSource {
    pub fn at(&self) -> Position {
        match self {
            ValueSource::Named(name) => name.at,
            ValueSource::Spec(spec) => spec.at,
        }
    }
}

/// The `users` section.
#[derive(Clone, Debug)]
pub struct UsersSpec {
    /// How many distinct users exist: ids `1..=count`.
    pub count: Located<i64>,
    /// How first-step events spread over users; defaults to `uniform`.
    pub activity: Option<ValueSource>,
}

/// The `products` section.
#[derive(Clone, Debug)]
pub struct ProductsSpec {
    /// How many distinct products exist: ids `1..=count`.
    pub count: Located<i64>,
    /// How first-step events spread over products; defaults to `uniform`.
    pub popularity: Option<ValueSource>,
    /// Each product's unit price, drawn once per run.
    pub price: Option<ValueSource>,
}

/// One step of the funnel.
#[derive(Clone, Debug)]
pub struct StepSpec {
    /// The step's name, used by `ratios` overrides and `from:` bindings.
    pub step: Located<String>,
    /// Local name of the topic its events go to.
    pub topic: Located<String>,
    /// Probability that an event of the previous step is followed by one of this step.
    pub ratio: Option<Located<f64>>,
    /// How long after the previous step's event this one happens.
    pub delay: Option<ValueSource>,
    /// Where the step starts in the file, for problems about the step as a whole.
    pub at: Position,
    /// Whether the step had keys the reader did not know, already reported; a misspelt
    /// `ratio` should not also be reported as a missing one.
    pub had_unknown_keys: bool,
}

/// How first-step events are spaced within a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// A Poisson process: independent, exponentially distributed gaps.
    #[default]
    Poisson,
    /// Evenly spaced at the current rate.
    Uniform,
}

/// One stage of the load profile: a constant rate, or a linear ramp `from` → `to`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// How long the stage lasts in simulated time, as a duration (`30s`, `2m`).
    pub duration: Located<String>,
    /// First-step events per second, held for the whole stage.
    pub rate: Option<Located<f64>>,
    /// Rate at the start of a ramp.
    pub from: Option<Located<f64>>,
    /// Rate at the end of a ramp.
    pub to: Option<Located<f64>>,
    /// Funnel ratios that replace the declared ones for parent events in this stage.
    #[serde(default)]
    pub ratios: BTreeMap<String, Located<f64>>,
}

/// The `load` section.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub arrivals: Option<Located<Arrivals>>,
    pub stages: Vec<Located<StageSpec>>,
}

/// A binding of one schema field to a value source, under `fields: TOPIC:`.
#[derive(Clone, Debug)]
pub struct FieldBinding {
    pub topic: Located<String>,
    pub field: Located<String>,
    pub source: ValueSource,
}

/// How fast simulated time runs against the wall clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// Simulated seconds per wall-clock second: 1 is real time, 60 a minute per second.
    Factor(f64),
    /// No waiting at all: as fast as events can be produced.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "max" {
            return Ok(Speed::Max);
        }
        match text.parse::<f64>() {
            Ok(factor) if factor > 0.0 && factor.is_finite() => Ok(Speed::Factor(factor)),
            _ => Err(format!(
                "`{text}` is not a speed: write a positive number (1 = real time) or `max`"
            )),
        }
    }
}

impl std::fmt::Display for Speed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Speed::Factor(factor) => write!(f, "{factor}"),
            Speed::Max => f.write_str("max"),
        }
    }
}

/// A whole scenario file as written, after its shape and scalars were checked.
///
/// Sections that failed to read are absent; their problems are in the diagnostics returned
/// alongside.
#[derive(Clone, Debug, Default)]
pub struct Scenario {
    pub name: Option<Located<String>>,
    pub description: Option<String>,
    pub seed: Option<Located<u64>>,
    pub start: Option<Located<chrono::DateTime<chrono::Utc>>>,
    pub speed: Option<Located<Speed>>,
    pub kafka: Option<KafkaSpec>,
    /// Topics by local name, in file order.
    pub topics: Vec<(Located<String>, TopicSpec)>,
    /// Every local name under `topics`, including entries that failed to read, so that a
    /// broken topic is not reported a second time as undeclared wherever it is used.
    pub topic_names: Vec<Located<String>>,
    pub users: Option<UsersSpec>,
    pub products: Option<ProductsSpec>,
    pub funnel: Vec<StepSpec>,
    pub fields: Vec<FieldBinding>,
    pub load: Option<LoadSpec>,
}
