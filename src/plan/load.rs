//! The load profile: first-step events per second over simulated time, and its arithmetic.
//!
//! Each stage holds a rate or ramps linearly between two. Arrivals are placed by inverting the
//! cumulative intensity `Λ(t) = ∫ rate`: a Poisson process puts event `i` at `Λ⁻¹(S_i)`, where
//! `S_i` sums unit exponential gaps; evenly spaced arrivals put it at `Λ⁻¹(i)`. Within a ramp
//! `Λ` is quadratic, so the inverse has a closed form and no numeric search is needed.

use super::distribution::Checker;
use super::funnel::{StepDraft, check_ratio};
use crate::diagnostics::{Position, suggestion};
use crate::scenario::{Arrivals, Scenario, SimDuration};

/// One stage, laid out on the simulated timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Seconds from the start of the run to the start of this stage.
    pub start: f64,
    /// Length in seconds.
    pub duration: f64,
    /// Rate at the start of the stage, in first-step events per second.
    pub from: f64,
    /// Rate at the end of the stage (equal to `from` for a constant stage).
    pub to: f64,
    /// Ratio overrides by funnel step index (`None`: the step's declared ratio).
    pub ratios: Vec<Option<f64>>,
    /// `Λ` at the start of the stage: expected first-step events before it.
    cumulative: f64,
}

impl Stage {
    pub fn end(&self) -> f64 {
        self.start + self.duration
    }

    /// Expected first-step events in this stage.
    pub fn expected_events(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.duration
    }

    pub fn mean_rate(&self) -> f64 {
        (self.from + self.to) / 2.0
    }

    pub fn is_ramp(&self) -> bool {
        self.from != self.to
    }

    pub fn sim_duration(&self) -> SimDuration {
        SimDuration::from_secs_f64(self.duration)
    }

    /// The offset `τ` into the stage at which `Λ` has grown by `x` since the stage began.
    fn invert(&self, x: f64) -> f64 {
        let slope = (self.to - self.from) / self.duration;
        if slope == 0.0 {
            return x / self.from;
        }
        // Solve from·τ + slope·τ²/2 = x for the root in [0, duration]; this form stays accurate
        // when the slope is tiny.
        let discriminant = (self.from * self.from + 2.0 * slope * x).max(0.0);
        2.0 * x / (self.from + libm::sqrt(discriminant))
    }
}

/// The whole profile.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadProfile {
    pub arrivals: Arrivals,
    pub stages: Vec<Stage>,
}

impl LoadProfile {
    /// Lays out stages given as `(duration in seconds, from, to, ratio overrides)`.
    pub fn new(arrivals: Arrivals, specs: Vec<(f64, f64, f64, Vec<Option<f64>>)>) -> Self {
        let mut stages = Vec::with_capacity(specs.len());
        let mut start = 0.0;
        let mut cumulative = 0.0;
        for (duration, from, to, ratios) in specs {
            let stage = Stage {
                start,
                duration,
                from,
                to,
                ratios,
                cumulative,
            };
            start += duration;
            cumulative += stage.expected_events();
            stages.push(stage);
        }
        LoadProfile { arrivals, stages }
    }

    /// Seconds of simulated time the stages cover.
    pub fn duration(&self) -> f64 {
        self.stages.last().map_or(0.0, Stage::end)
    }

    /// Expected first-step events over the whole profile.
    pub fn total_expected(&self) -> f64 {
        self.stages.iter().map(Stage::expected_events).sum()
    }

    /// The highest first-step rate anywhere in the profile.
    pub fn peak_rate(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// The stage that simulated second `t` falls in; the last stage for times past the end.
    pub fn stage_at(&self, t: f64) -> usize {
        let after = self.stages.partition_point(|stage| stage.start <= t);
        after.saturating_sub(1)
    }

    /// Where `Λ` reaches `x`, searching forward from stage `hint`; `None` past the profile.
    ///
    /// Returns the time in seconds and the stage it falls in. Callers walk forward in time, so
    /// passing the previous stage as `hint` keeps this constant-time.
    pub fn time_of(&self, x: f64, hint: usize) -> Option<(f64, usize)> {
        let mut index = hint.min(self.stages.len().checked_sub(1)?);
        while index > 0 && self.stages[index].cumulative > x {
            index -= 1;
        }
        loop {
            let stage = &self.stages[index];
            let within = x - stage.cumulative;
            if within < stage.expected_events() && stage.expected_events() > 0.0 {
                let offset = stage.invert(within).clamp(0.0, stage.duration);
                return Some((stage.start + offset, index));
            }
            index += 1;
            if index == self.stages.len() {
                return None;
            }
        }
    }
}

/// Lays out the `load` section, checking each stage; `steps` names the funnel's steps.
pub(super) fn plan_load(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(specs: &[(f64, f64, f64)]) -> LoadProfile {
        let specs = specs
            .iter()
            .map(|&(d, f, t)| (d, f, t, Vec::new()))
            .collect();
        LoadProfile::new(Arrivals::Poisson, specs)
    }

    #[test]
    fn constant_stages_invert_linearly() {
        let load = profile(&[(10.0, 100.0, 100.0), (10.0, 50.0, 50.0)]);
        assert_eq!(load.total_expected(), 1500.0);
        assert_eq!(load.time_of(0.0, 0), Some((0.0, 0)));
        assert_eq!(load.time_of(500.0, 0), Some((5.0, 0)));
        assert_eq!(load.time_of(1250.0, 0), Some((15.0, 1)));
        assert_eq!(load.time_of(1500.0, 0), None);
    }

    #[test]
    fn ramps_invert_their_quadratic_intensity() {
        let load = profile(&[(10.0, 0.0, 100.0)]);
        assert_eq!(load.total_expected(), 500.0);
        // Λ(τ) = 5 τ², so Λ = 125 at τ = 5.
        let (t, _) = load.time_of(125.0, 0).unwrap();
        assert!((t - 5.0).abs() < 1e-9, "{t}");

        let down = profile(&[(10.0, 100.0, 0.0)]);
        // Λ(τ) = 100 τ − 5 τ², so Λ = 375 at τ = 5.
        let (t, _) = down.time_of(375.0, 0).unwrap();
        assert!((t - 5.0).abs() < 1e-9, "{t}");
    }

    #[test]
    fn silent_stages_are_skipped() {
        let load = profile(&[(5.0, 10.0, 10.0), (5.0, 0.0, 0.0), (5.0, 10.0, 10.0)]);
        let (t, stage) = load.time_of(60.0, 0).unwrap();
        assert_eq!(stage, 2);
        assert!((t - 11.0).abs() < 1e-9, "{t}");
    }

    #[test]
    fn stage_lookup_follows_boundaries() {
        let load = profile(&[(10.0, 1.0, 1.0), (5.0, 1.0, 1.0)]);
        assert_eq!(load.stage_at(0.0), 0);
        assert_eq!(load.stage_at(9.99), 0);
        assert_eq!(load.stage_at(10.0), 1);
        assert_eq!(load.stage_at(100.0), 1);
        assert_eq!(load.peak_rate(), 1.0);
        assert_eq!(load.duration(), 15.0);
    }
}
