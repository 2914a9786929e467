//! Distributions: checked once at planning time, then sampled millions of times.
//!
//! A scenario writes a distribution as a mapping with one kind key and optional `min`/`max`
//! bounds. The place it is used decides its unit: delays take durations (`40s`), prices and
//! field values take plain numbers. Entity choices (which user, which product) are a separate,
//! discrete kind: uniform over `1..=count` or Zipf by rank.
//!
//! Sampling uses inverse transforms and Box–Muller with `libm`, so a seed gives the same values
//! on every machine. Bounds truncate rather than clamp: a value outside them is drawn again, up
//! to 64 times, and only then clamped, so the shape inside the bounds is kept without piling
//! probability onto the bounds themselves.

use rand::Rng;
use rand_distr::Distribution as _;
use rand_distr::weighted::WeightedAliasIndex;

use crate::diagnostics::{Diagnostics, Position};
use crate::scenario::{Located, SimDuration, ValueSource, ValueSpec};
use crate::sim::rng::{below, standard_exponential, standard_normal, unit, unit_open};

/// The shape of a continuous (or integer) distribution, in its unit (seconds for delays).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    Uniform { min: f64, max: f64 },
    UniformInt { min: i64, max: i64 },
    Normal { mean: f64, std_dev: f64 },
    LogNormal { median: f64, sigma: f64 },
    Exponential { mean: f64 },
    Pareto { scale: f64, shape: f64 },
    Constant(f64),
}

/// A checked distribution with its optional bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distribution {
    pub shape: Shape,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

const BOUNDED_ATTEMPTS: usize = 64;

impl Distribution {
    pub fn constant(value: f64) -> Self {
        Distribution {
            shape: Shape::Constant(value),
            min: None,
            max: None,
        }
    }

    /// Draws one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if self.min.is_none() && self.max.is_none() {
            return self.shape.sample(rng);
        }
        let low = self.min.unwrap_or(f64::NEG_INFINITY);
        let high = self.max.unwrap_or(f64::INFINITY);
        let mut value = self.shape.sample(rng);
        for _ in 1..BOUNDED_ATTEMPTS {
            if (low..=high).contains(&value) {
                return value;
            }
            value = self.shape.sample(rng);
        }
        value.clamp(low, high)
    }

    /// The mean of the unbounded shape, used for planning estimates.
    pub fn mean(&self) -> f64 {
        let mean = match self.shape {
            Shape::Uniform { min, max } => (min + max) / 2.0,
            Shape::UniformInt { min, max } => (min + max) as f64 / 2.0,
            Shape::Normal { mean, .. } => mean,
            Shape::LogNormal { median, sigma } => median * libm::exp(sigma * sigma / 2.0),
            Shape::Exponential { mean } => mean,
            Shape::Pareto { scale, shape } if shape > 1.0 => shape * scale / (shape - 1.0),
            Shape::Pareto { .. } => f64::INFINITY,
            Shape::Constant(value) => value,
        };
        let low = self.min.unwrap_or(f64::NEG_INFINITY);
        let high = self.max.unwrap_or(f64::INFINITY);
        mean.clamp(low, high)
    }

    /// The largest value a draw can take, if there is one.
    pub fn upper_bound(&self) -> Option<f64> {
        let inherent = match self.shape {
            Shape::Uniform { max, .. } => Some(max),
            Shape::UniformInt { max, .. } => Some(max as f64),
            Shape::Constant(value) => Some(value),
            _ => None,
        };
        match (inherent, self.max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether every drawn value is a whole number.
    pub fn is_integral(&self) -> bool {
        match self.shape {
            Shape::UniformInt { .. } => true,
            Shape::Constant(value) => value.fract() == 0.0,
            _ => false,
        }
    }
}

impl Shape {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Shape::Uniform { min, max } => min + (max - min) * unit(rng),
            Shape::UniformInt { min, max } => {
                let span = (max - min) as u64 + 1;
                min.wrapping_add(below(rng, span) as i64) as f64
            }
            Shape::Normal { mean, std_dev } => mean + std_dev * standard_normal(rng),
            Shape::LogNormal { median, sigma } => median * libm::exp(sigma * standard_normal(rng)),
            Shape::Exponential { mean } => mean * standard_exponential(rng),
            Shape::Pareto { scale, shape } => scale * libm::pow(unit_open(rng), -1.0 / shape),
            Shape::Constant(value) => value,
        }
    }
}

/// The unit a distribution's parameters are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers.
    Number,
    /// Durations such as `40s`, held as seconds.
    Duration,
}

/// Which users or products first-step events pick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EntityChoice {
    /// Every id in `1..=count` equally likely.
    Uniform,
    /// Id `n` chosen with weight `1 / n^exponent`: id 1 is the most frequent.
    Zipf { exponent: f64 },
}

/// The largest population a Zipf choice builds its table for (12 bytes per entity).
pub const ZIPF_MAX_COUNT: u64 = 50_000_000;

/// A ready-to-sample choice over `1..=count`.
#[derive(Clone, Debug)]
pub enum EntitySampler {
    Uniform { count: u64 },
    Table(WeightedAliasIndex<f64>),
}

impl EntitySampler {
    /// Builds the sampler; Zipf builds an alias table in time and memory linear in `count`.
    pub fn new(choice: EntityChoice, count: u64) -> Self {
        match choice {
            EntityChoice::Uniform => EntitySampler::Uniform { count },
            EntityChoice::Zipf { exponent } => {
                let weights = (1..=count)
                    .map(|rank| libm::pow(rank as f64, -exponent))
                    .collect();
                match WeightedAliasIndex::new(weights) {
                    Ok(table) => EntitySampler::Table(table),
                    // Weights are finite and positive by construction; a failure could only come
                    // from an empty population, which planning refuses.
                    Err(_) => EntitySampler::Uniform { count },
                }
            }
        }
    }

    /// Draws an id in `1..=count`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match self {
            EntitySampler::Uniform { count } => 1 + below(rng, *count),
            EntitySampler::Table(table) => 1 + table.sample(rng) as u64,
        }
    }
}

// ----- Reading distributions from the scenario -----

/// The distribution kinds, by the key that introduces them.
pub const KINDS: [&str; 8] = [
    "uniform",
    "uniform_int",
    "zipf",
    "normal",
    "lognormal",
    "exponential",
    "pareto",
    "constant",
];

/// Turns a written distribution into a checked one, reporting problems into `diagnostics`.
///
/// `what` names the place for messages ("the `cart` delay"); `unit` decides how parameters read.
pub fn distribution(
    source: &ValueSource,
    what: &str,
    unit: Unit,
    cx: &mut Checker<'_>,
) -> Option<Distribution> {
    let spec = match source {
        ValueSource::Named(name) => {
            let message = format!("{what}: `{}` is not a distribution here", name.value);
            let help = "write a mapping such as `{ exponential: { mean: 40s } }` or \
                        `{ uniform: { min: 1, max: 5 } }`";
            cx.error(name.at, message, Some(help.into()));
            return None;
        }
        ValueSource::Spec(spec) => spec,
    };
    let kind = single_kind(spec, what, &KINDS, cx)?;
    let shape = match kind {
        "uniform" => {
            let params = spec.uniform.as_ref()?;
            let [min, max] = cx.params(params, ["min", "max"], spec.at, what, unit)?;
            if min > max {
                cx.error(
                    spec.at,
                    format!("{what}: `min` is greater than `max`"),
                    None,
                );
                return None;
            }
            Shape::Uniform { min, max }
        }
        "uniform_int" => {
            let params = spec.uniform_int.as_ref()?;
            let [min, max] = cx.params(params, ["min", "max"], spec.at, what, unit)?;
            if min.fract() != 0.0 || max.fract() != 0.0 || min > max {
                let message = format!("{what}: `uniform_int` needs whole numbers with min ≤ max");
                cx.error(spec.at, message, None);
                return None;
            }
            Shape::UniformInt {
                min: min as i64,
                max: max as i64,
            }
        }
        "normal" => {
            let params = spec.normal.as_ref()?;
            let [mean, std_dev] = cx.params(params, ["mean", "std_dev"], spec.at, what, unit)?;
            cx.require(
                std_dev >= 0.0,
                spec.at,
                what,
                "`std_dev` must not be negative",
            )?;
            Shape::Normal { mean, std_dev }
        }
        "lognormal" => {
            let params = spec.lognormal.as_ref()?;
            let [median, sigma] =
                cx.params_mixed(params, ["median", "sigma"], spec.at, what, unit)?;
            cx.require(median > 0.0, spec.at, what, "`median` must be positive")?;
            cx.require(sigma >= 0.0, spec.at, what, "`sigma` must not be negative")?;
            Shape::LogNormal { median, sigma }
        }
        "exponential" => {
            let params = spec.exponential.as_ref()?;
            let [mean] = cx.params(params, ["mean"], spec.at, what, unit)?;
            cx.require(mean > 0.0, spec.at, what, "`mean` must be positive")?;
            Shape::Exponential { mean }
        }
        "pareto" => {
            let params = spec.pareto.as_ref()?;
            let [scale, shape] =
                cx.params_mixed(params, ["scale", "shape"], spec.at, what, unit)?;
            cx.require(scale > 0.0, spec.at, what, "`scale` must be positive")?;
            cx.require(shape > 0.0, spec.at, what, "`shape` must be positive")?;
            Shape::Pareto { scale, shape }
        }
        "constant" => {
            let value = spec.constant.as_ref()?;
            Shape::Constant(cx.scalar(value, what, unit)?)
        }
        _ => {
            let message = format!("{what}: `{kind}` chooses among users or products only");
            cx.error(
                spec.at,
                message,
                Some("use it under `activity` or `popularity`".into()),
            );
            return None;
        }
    };
    let min = match &spec.min {
        Some(bound) => Some(cx.scalar(bound, what, unit)?),
        None => None,
    };
    let max = match &spec.max {
        Some(bound) => Some(cx.scalar(bound, what, unit)?),
        None => None,
    };
    if let (Some(low), Some(high)) = (min, max) {
        cx.require(low <= high, spec.at, what, "`min` is greater than `max`")?;
    }
    Some(Distribution { shape, min, max })
}

/// Reads `activity` or `popularity`: `uniform` or `{ zipf: { exponent } }`.
pub fn entity_choice(
    source: &ValueSource,
    what: &str,
    cx: &mut Checker<'_>,
) -> Option<EntityChoice> {
    match source {
        ValueSource::Named(name) if name.value == "uniform" => Some(EntityChoice::Uniform),
        ValueSource::Named(name) => {
            let message = format!(
                "{what}: `{}` is not a way to choose among entities",
                name.value
            );
            let help = "write `uniform` or `{ zipf: { exponent: 1.1 } }`";
            cx.error(name.at, message, Some(help.into()));
            None
        }
        ValueSource::Spec(spec) => {
            let kind = single_kind(spec, what, &["uniform", "zipf"], cx)?;
            if kind == "uniform" {
                return Some(EntityChoice::Uniform);
            }
            let params = spec.zipf.as_ref()?;
            let [exponent] = cx.params(params, ["exponent"], spec.at, what, Unit::Number)?;
            cx.require(
                exponent >= 0.0,
                spec.at,
                what,
                "`exponent` must not be negative",
            )?;
            if spec.min.is_some() || spec.max.is_some() {
                let message = format!("{what}: `min` and `max` do not apply to entity choices");
                cx.error(spec.at, message, None);
                return None;
            }
            Some(EntityChoice::Zipf { exponent })
        }
    }
}

/// Finds the one kind key a spec uses, among those `allowed`.
pub fn single_kind<'a>(
    spec: &Located<ValueSpec>,
    what: &str,
    allowed: &[&'a str],
    cx: &mut Checker<'_>,
) -> Option<&'a str> {
    let present = present_kinds(spec);
    match present.as_slice() {
        [kind] if allowed.contains(kind) => allowed.iter().copied().find(|a| a == kind),
        [kind] => {
            let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
            let message = format!("{what}: `{kind}` is not allowed here");
            cx.error(
                spec.at,
                message,
                Some(format!("use one of {}", list.join(", "))),
            );
            None
        }
        [] => {
            let list: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
            let message = format!("{what}: no kind given");
            cx.error(
                spec.at,
                message,
                Some(format!("add one of {}", list.join(", "))),
            );
            None
        }
        several => {
            let list: Vec<String> = several.iter().map(|k| format!("`{k}`")).collect();
            let message = format!("{what}: give one kind, not {}", list.join(" and "));
            cx.error(spec.at, message, None);
            None
        }
    }
}

/// The kind keys a spec sets, in a fixed order.
pub fn present_kinds(spec: &ValueSpec) -> Vec<&'static str> {
    let flags = [
        ("uniform", spec.uniform.is_some()),
        ("uniform_int", spec.uniform_int.is_some()),
        ("zipf", spec.zipf.is_some()),
        ("normal", spec.normal.is_some()),
        ("lognormal", spec.lognormal.is_some()),
        ("exponential", spec.exponential.is_some()),
        ("pareto", spec.pareto.is_some()),
        ("constant", spec.constant.is_some()),
        ("one_of", spec.one_of.is_some()),
        ("weighted", spec.weighted.is_some()),
        ("from", spec.from.is_some()),
    ];
    flags
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect()
}

/// Collects problems about one scenario file while values are checked.
pub struct Checker<'a> {
    pub file: &'a std::path::Path,
    pub diagnostics: &'a mut Diagnostics,
}

impl Checker<'_> {
    pub fn error(&mut self, at: Position, message: impl Into<String>, help: Option<String>) {
        let mut diagnostic = crate::diagnostics::Diagnostic::new(self.file, Some(at), message);
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    /// Reports `problem` unless `ok`; returns `None` when it reported.
    pub fn require(&mut self, ok: bool, at: Position, what: &str, problem: &str) -> Option<()> {
        if ok {
            Some(())
        } else {
            self.error(at, format!("{what}: {problem}"), None);
            None
        }
    }

    /// Reads one scalar in `unit`.
    pub fn scalar(&mut self, text: &Located<String>, what: &str, unit: Unit) -> Option<f64> {
        let value = text.value.trim();
        match unit {
            Unit::Duration => match value.parse::<SimDuration>() {
                Ok(duration) => Some(duration.as_secs_f64()),
                Err(error) => {
                    self.error(text.at, format!("{what}: {error}"), None);
                    None
                }
            },
            Unit::Number => match value.parse::<f64>() {
                Ok(number) if number.is_finite() => Some(number),
                _ => {
                    self.error(text.at, format!("{what}: `{value}` is not a number"), None);
                    None
                }
            },
        }
    }

    /// Reads exactly the named parameters, all in `unit`, refusing unknown ones.
    pub fn params<const N: usize>(
        &mut self,
        params: &crate::scenario::Params,
        names: [&str; N],
        at: Position,
        what: &str,
        unit: Unit,
    ) -> Option<[f64; N]> {
        self.params_with(params, names, at, what, |_| unit)
    }

    /// Like [`Checker::params`], but only the first parameter takes `unit`; the rest are plain
    /// numbers (a lognormal's median is a duration for delays, its sigma never is).
    pub fn params_mixed<const N: usize>(
        &mut self,
        params: &crate::scenario::Params,
        names: [&str; N],
        at: Position,
        what: &str,
        unit: Unit,
    ) -> Option<[f64; N]> {
        self.params_with(params, names, at, what, |index| {
            if index == 0 { unit } else { Unit::Number }
        })
    }

    fn params_with<const N: usize>(
        &mut self,
        params: &crate::scenario::Params,
        names: [&str; N],
        at: Position,
        what: &str,
        unit_of: impl Fn(usize) -> Unit,
    ) -> Option<[f64; N]> {
        let mut ok = true;
        for (name, value) in params {
            if !names.contains(&name.as_str()) {
                let message = format!("{what}: unknown parameter `{name}`");
                let help = crate::diagnostics::suggestion(name, names.iter().copied());
                self.error(value.at, message, Some(help));
                ok = false;
            }
        }
        let mut values = [0.0; N];
        for (index, name) in names.iter().enumerate() {
            match params.get(*name) {
                Some(text) => match self.scalar(text, what, unit_of(index)) {
                    Some(value) => values[index] = value,
                    None => ok = false,
                },
                None => {
                    self.error(at, format!("{what}: missing parameter `{name}`"), None);
                    ok = false;
                }
            }
        }
        ok.then_some(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Domain, stream};

    fn moments(distribution: Distribution, n: usize) -> (f64, f64) {
        let mut rng = stream(11, Domain::Record, 0, 0);
        let values: Vec<f64> = (0..n).map(|_| distribution.sample(&mut rng)).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        (mean, variance.sqrt())
    }

    fn unbounded(shape: Shape) -> Distribution {
        Distribution {
            shape,
            min: None,
            max: None,
        }
    }

    #[test]
    fn each_shape_has_its_documented_moments() {
        let n = 200_000;
        let cases = [
            (
                Shape::Uniform { min: 2.0, max: 6.0 },
                4.0,
                (16.0f64 / 12.0).sqrt(),
            ),
            (
                Shape::UniformInt { min: 1, max: 3 },
                2.0,
                (2.0f64 / 3.0).sqrt(),
            ),
            (
                Shape::Normal {
                    mean: 10.0,
                    std_dev: 2.0,
                },
                10.0,
                2.0,
            ),
            (Shape::Exponential { mean: 40.0 }, 40.0, 40.0),
            (
                Shape::Pareto {
                    scale: 1.0,
                    shape: 5.0,
                },
                1.25,
                (5.0f64 / (16.0 * 3.0)).sqrt(),
            ),
        ];
        for (shape, mean, std_dev) in cases {
            let (got_mean, got_std) = moments(unbounded(shape), n);
            assert!(
                (got_mean - mean).abs() < 0.01 * mean.abs().max(1.0),
                "{shape:?}: {got_mean}"
            );
            assert!(
                (got_std - std_dev).abs() < 0.03 * std_dev,
                "{shape:?}: {got_std}"
            );
        }

        let lognormal = unbounded(Shape::LogNormal {
            median: 25.0,
            sigma: 0.8,
        });
        let mut rng = stream(5, Domain::Record, 0, 0);
        let mut values: Vec<f64> = (0..n).map(|_| lognormal.sample(&mut rng)).collect();
        values.sort_by(f64::total_cmp);
        let median = values[n / 2];
        assert!((median - 25.0).abs() < 0.5, "median {median}");
        let (mean, _) = moments(lognormal, n);
        assert!(
            (mean - lognormal.mean()).abs() < 0.02 * lognormal.mean(),
            "mean {mean}"
        );
    }

    #[test]
    fn bounds_truncate_without_piling_onto_the_bound() {
        let bounded = Distribution {
            shape: Shape::Exponential { mean: 40.0 },
            min: None,
            max: Some(60.0),
        };
        let mut rng = stream(2, Domain::Record, 0, 0);
        let values: Vec<f64> = (0..100_000).map(|_| bounded.sample(&mut rng)).collect();
        assert!(values.iter().all(|v| (0.0..=60.0).contains(v)));
        let at_bound = values.iter().filter(|v| **v == 60.0).count();
        assert_eq!(at_bound, 0);
    }

    #[test]
    fn zipf_prefers_low_ranks_in_proportion() {
        let sampler = EntitySampler::new(EntityChoice::Zipf { exponent: 1.0 }, 1000);
        let mut rng = stream(9, Domain::Record, 0, 0);
        let mut counts = vec![0u32; 1001];
        let n = 300_000;
        for _ in 0..n {
            let id = sampler.sample(&mut rng);
            assert!((1..=1000).contains(&id));
            counts[id as usize] += 1;
        }
        let ratio = f64::from(counts[1]) / f64::from(counts[2]);
        assert!((ratio - 2.0).abs() < 0.1, "rank 1 / rank 2 = {ratio}");
        let harmonic: f64 = (1..=1000).map(|k| 1.0 / k as f64).sum();
        let expected_first = n as f64 / harmonic;
        assert!((f64::from(counts[1]) - expected_first).abs() < 0.03 * expected_first);
    }

    #[test]
    fn uniform_entities_cover_every_id() {
        let sampler = EntitySampler::new(EntityChoice::Uniform, 10);
        let mut rng = stream(4, Domain::Record, 0, 0);
        let mut seen = [false; 11];
        for _ in 0..1000 {
            seen[sampler.sample(&mut rng) as usize] = true;
        }
        assert!(seen[1..].iter().all(|s| *s));
        assert!(!seen[0]);
    }
}
