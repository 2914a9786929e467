//! Planning the funnel: steps checked in order, then each step's record encoder compiled.
//!
//! Steps are checked first on their own (names, topics, ratios, delays); once every topic and
//! step is known, the field bindings are compiled into one encoder per step, with the values a
//! chain carries from step to step laid out in slots.

use super::StepPlan;
use super::distribution::{self, Checker, Distribution, Unit};
use super::fields::{self, BindingRef, CarryPlan, FunnelView, RecordShape};
use super::topics::PlannedTopic;
use crate::diagnostics::{Diagnostics, suggestion};
use crate::scenario::{Located, Scenario};

/// A funnel step before its encoder is compiled.
pub(super) struct StepDraft {
    pub(super) name: String,
    topic: Option<usize>,
    ratio: f64,
    delay: Option<Distribution>,
}

pub(super) fn plan_steps(
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

pub(super) fn check_ratio(ratio: &Located<f64>, what: &str, cx: &mut Checker<'_>) {
    if !(0.0..=1.0).contains(&ratio.value) {
        let message = format!("{what}: ratio {} is not a probability", ratio.value);
        cx.error(
            ratio.at,
            message,
            Some("a ratio lies between 0 and 1".into()),
        );
    }
}

pub(super) fn check_field_topics(scenario: &Scenario, cx: &mut Checker<'_>) {
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
pub(super) fn compile_funnel(
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
