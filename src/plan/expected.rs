//! What a plan should produce on average: events per step, topic and stage, from rates and ratios.
//!
//! First-step events in a stage are the integral of its rate; each later step expects its
//! parent step's count times its ratio. Events are counted by the stage in which their chain
//! begins, and ratio overrides are applied by that stage too. A follow-up whose parent falls
//! into the next stage uses that stage's ratio in a real run, so with stage-specific ratios the
//! figures here are close estimates rather than exact expectations; the run's report compares
//! achieved ratios by the parent's actual stage.

use super::Plan;

/// Expected event counts of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    /// `by_stage[stage][step]`: events of `step` whose chain begins in `stage`.
    pub by_stage: Vec<Vec<f64>>,
}

impl Expected {
    pub fn of(plan: &Plan) -> Self {
        let by_stage = plan
            .load
            .stages
            .iter()
            .enumerate()
            .map(|(stage, spec)| {
                let mut counts = Vec::with_capacity(plan.funnel.len());
                let mut previous = spec.expected_events();
                counts.push(previous);
                for step in 1..plan.funnel.len() {
                    previous *= plan.ratio(step, stage);
                    counts.push(previous);
                }
                counts
            })
            .collect();
        Expected { by_stage }
    }

    /// Expected events of `step` over the whole run.
    pub fn step_total(&self, step: usize) -> f64 {
        self.by_stage.iter().map(|counts| counts[step]).sum()
    }

    /// Expected events of every step over the whole run.
    pub fn total(&self) -> f64 {
        self.by_stage.iter().flatten().sum()
    }

    /// Expected events per topic in `stage` (or the whole run for `None`), by topic index.
    pub fn per_topic(&self, plan: &Plan, stage: Option<usize>) -> Vec<f64> {
        let mut totals = vec![0.0; plan.topics.len()];
        for (index, counts) in self.by_stage.iter().enumerate() {
            if stage.is_some_and(|s| s != index) {
                continue;
            }
            for (step, count) in counts.iter().enumerate() {
                totals[plan.funnel[step].topic] += count;
            }
        }
        totals
    }

    /// Events per first-step event across all steps, at the ratios of `stage`.
    pub fn fan_out(plan: &Plan, stage: usize) -> f64 {
        let mut chain = 1.0;
        let mut total = 1.0;
        for step in 1..plan.funnel.len() {
            chain *= plan.ratio(step, stage);
            total += chain;
        }
        total
    }

    /// The highest rate of events across all topics, at steady state: each stage's peak
    /// first-step rate times its fan-out.
    pub fn peak_rate_all_topics(plan: &Plan) -> f64 {
        plan.load
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| stage.from.max(stage.to) * Self::fan_out(plan, index))
            .fold(0.0, f64::max)
    }
}
