//! What a run did: counted while it runs, summarised for people, written as JSON for machines.
//!
//! [`Tally`] watches every emitted event; at the end it becomes a [`RunReport`]: delivery per
//! topic with failure reasons, achieved funnel ratios against what the declared ratios predict
//! for the parents actually emitted, achieved rates per stage against plan, and how far pacing
//! fell behind. `--report FILE` writes the same report as JSON.

pub mod progress;
pub mod summary;

use serde::Serialize;

use crate::plan::Plan;
use crate::sim::Emitted;
use crate::sink::TopicDelivery;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every event of the scenario was generated.
    Completed,
    /// `--max-events` was reached.
    MaxEvents,
    /// Ctrl-C stopped generation.
    Interrupted,
    /// The reader of standard output went away.
    OutputClosed,
    /// The sink failed in a way that makes going on pointless (a full disk, say).
    SinkFailed,
}

impl Outcome {
    /// Why a run stopped when its sink refused a record.
    pub fn after_sink_error(error: &crate::sink::SinkError) -> Self {
        match error {
            crate::sink::SinkError::Closed => Outcome::OutputClosed,
            _ => Outcome::SinkFailed,
        }
    }
}

/// Delivery of one topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicReport {
    pub topic: String,
    #[serde(flatten)]
    pub delivery: TopicDelivery,
}

/// One funnel step: how many events, and how the ratio came out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    pub step: String,
    pub topic: String,
    pub events: u64,
    /// Follow-ups emitted per parent emitted (none for the first step).
    pub achieved_ratio: Option<f64>,
    /// The ratio the declared ratios and overrides predict for the parents emitted.
    pub expected_ratio: Option<f64>,
    /// Whether the achieved ratio is within four standard errors of the expected one.
    pub within_tolerance: Option<bool>,
}

/// One load stage: first-step events and their rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageReport {
    pub stage: usize,
    pub first_step_events: u64,
    pub expected_events: f64,
    pub planned_rate: f64,
    pub achieved_rate: f64,
}

/// How closely emission followed the schedule.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PacingReport {
    /// The largest delay of an event behind its due time, in milliseconds.
    pub max_behind_ms: f64,
    /// The mean delay behind due time over all events, in milliseconds.
    pub mean_behind_ms: f64,
    /// Events emitted more than 100 ms after they were due.
    pub late_events: u64,
    /// How far behind the last event was, in milliseconds.
    pub behind_at_end_ms: f64,
}

/// Everything a run reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub start: String,
    pub speed: String,
    pub sink: String,
    pub outcome: Outcome,
    pub events: u64,
    pub wall_seconds: f64,
    pub simulated_seconds: f64,
    pub topics: Vec<TopicReport>,
    pub funnel: Vec<StepReport>,
    pub stages: Vec<StageReport>,
    /// Absent at speed `max`, where nothing is paced.
    pub pacing: Option<PacingReport>,
    /// Follow-ups not emitted because they were due after the last stage and `--no-drain` was given.
    pub follow_ups_cut: u64,
    /// Seconds spent waiting for the sink to acknowledge what was produced.
    pub flush_seconds: f64,
}

impl RunReport {
    /// Records that failed, over all topics.
    pub fn failed(&self) -> u64 {
        self.topics
            .iter()
            .map(|t| t.delivery.failed_total() + t.delivery.outstanding())
            .sum()
    }
}

/// Running counts of a run, fed one emitted event at a time.
#[derive(Clone, Debug)]
pub struct Tally {
    /// Events per step.
    pub events: Vec<u64>,
    /// `parents[step][stage]`: events of `step` in `stage` (the last index counts the drain).
    parents: Vec<Vec<u64>>,
    /// `children[step][stage]`: events of `step` whose parent fell in `stage` (last: drain).
    children: Vec<Vec<u64>>,
    /// First-step events per stage.
    first_step: Vec<u64>,
    /// Latest simulated offset seen, in nanoseconds.
    pub last_offset_ns: u64,
    pacing: PacingTally,
}

#[derive(Clone, Debug, Default)]
struct PacingTally {
    paced: bool,
    max_behind_ns: u64,
    total_behind_ns: u128,
    late: u64,
    last_behind_ns: u64,
    count: u64,
}

const LATE_NS: u64 = 100_000_000;

impl Tally {
    pub fn new(plan: &Plan) -> Self {
        let steps = plan.funnel.len();
        let stages = plan.load.stages.len() + 1;
        Tally {
            events: vec![0; steps],
            parents: vec![vec![0; stages]; steps],
            children: vec![vec![0; stages]; steps],
            first_step: vec![0; stages - 1],
            last_offset_ns: 0,
            pacing: PacingTally::default(),
        }
    }

    /// Counts one emitted event.
    #[inline]
    pub fn record(&mut self, event: &Emitted) {
        let drain = self.first_step.len();
        self.events[event.step] += 1;
        self.parents[event.step][event.stage.unwrap_or(drain)] += 1;
        if event.step == 0 {
            if let Some(stage) = event.stage {
                self.first_step[stage] += 1;
            }
        } else {
            self.children[event.step][event.parent_stage.unwrap_or(drain)] += 1;
        }
        self.last_offset_ns = event.offset_ns;
    }

    /// Counts how late one event went out, in nanoseconds behind its due time.
    #[inline]
    pub fn behind(&mut self, nanos: u64) {
        let pacing = &mut self.pacing;
        pacing.paced = true;
        pacing.count += 1;
        pacing.max_behind_ns = pacing.max_behind_ns.max(nanos);
        pacing.total_behind_ns += u128::from(nanos);
        pacing.last_behind_ns = nanos;
        if nanos > LATE_NS {
            pacing.late += 1;
        }
    }

    /// Total events so far.
    pub fn total(&self) -> u64 {
        self.events.iter().sum()
    }

    /// The current lag behind schedule, in nanoseconds.
    pub fn current_behind_ns(&self) -> u64 {
        self.pacing.last_behind_ns
    }

    /// Per-step reports: achieved ratios against the ratios the plan predicts for the parents
    /// actually emitted, stage by stage.
    pub fn funnel(&self, plan: &Plan) -> Vec<StepReport> {
        let drain = self.first_step.len();
        plan.funnel
            .iter()
            .enumerate()
            .map(|(step, spec)| {
                let topic = plan.topics[spec.topic].name.clone();
                let events = self.events[step];
                if step == 0 {
                    let (achieved_ratio, expected_ratio, within_tolerance) = (None, None, None);
                    let step = spec.name.clone();
                    return StepReport {
                        step,
                        topic,
                        events,
                        achieved_ratio,
                        expected_ratio,
                        within_tolerance,
                    };
                }
                let parents: u64 = self.parents[step - 1].iter().sum();
                let expected_children: f64 = self.parents[step - 1]
                    .iter()
                    .enumerate()
                    .map(|(stage, count)| {
                        let ratio = if stage == drain {
                            spec.ratio
                        } else {
                            plan.ratio(step, stage)
                        };
                        *count as f64 * ratio
                    })
                    .sum();
                let children: u64 = self.children[step].iter().sum();
                let (achieved, expected, ok) = if parents == 0 {
                    (None, None, None)
                } else {
                    let n = parents as f64;
                    let achieved = children as f64 / n;
                    let expected = expected_children / n;
                    let error = (expected * (1.0 - expected) / n).sqrt();
                    let ok = (achieved - expected).abs() <= 4.0 * error + 1e-12;
                    (Some(achieved), Some(expected), Some(ok))
                };
                StepReport {
                    step: spec.name.clone(),
                    topic,
                    events,
                    achieved_ratio: achieved,
                    expected_ratio: expected,
                    within_tolerance: ok,
                }
            })
            .collect()
    }

    /// Per-stage reports of first-step events against plan.
    pub fn stages(&self, plan: &Plan) -> Vec<StageReport> {
        plan.load
            .stages
            .iter()
            .enumerate()
            .map(|(index, stage)| StageReport {
                stage: index + 1,
                first_step_events: self.first_step[index],
                expected_events: stage.expected_events(),
                planned_rate: stage.mean_rate(),
                achieved_rate: self.first_step[index] as f64 / stage.duration,
            })
            .collect()
    }

    pub fn pacing(&self) -> Option<PacingReport> {
        let pacing = &self.pacing;
        pacing.paced.then(|| PacingReport {
            max_behind_ms: pacing.max_behind_ns as f64 / 1e6,
            mean_behind_ms: pacing.total_behind_ns as f64 / pacing.count.max(1) as f64 / 1e6,
            late_events: pacing.late,
            behind_at_end_ms: pacing.last_behind_ns as f64 / 1e6,
        })
    }
}
