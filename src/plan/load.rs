//! The load profile: first-step events per second over simulated time, and its arithmetic.
//!
//! Each stage holds a rate or ramps linearly between two. Arrivals are placed by inverting the
//! cumulative intensity `Λ(t) = ∫ rate`: a Poisson process puts event `i` at `Λ⁻¹(S_i)`, where
//! `S_i` sums unit exponential gaps; evenly spaced arrivals put it at `Λ⁻¹(i)`. Within a ramp
//! `Λ` is quadratic, so the inverse has a closed form and no numeric search is needed.

use crate::scenario::{Arrivals, SimDuration};

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
