//! Planning topics: names, schemas, keys, partitions and configuration.
//!
//! Each entry under `topics` is resolved into a [`TopicPlan`]: its Kafka name checked, its schema
//! loaded and required to be a record whose full name no other topic defines differently, its key
//! field found and of a usable type, its partition count and replication factor defaulted.

use std::collections::HashMap;
use std::path::Path;

use apache_avro::Schema;

use super::distribution::Checker;
use super::fields::{self, RecordShape};
use super::{DEFAULT_KEY, DEFAULT_PARTITIONS, DEFAULT_REPLICATION_FACTOR, TopicPlan};
use crate::diagnostics::suggestion;
use crate::encoding::schema::load_schema;
use crate::scenario::{Located, Scenario};

/// A topic while planning.
pub(super) struct PlannedTopic {
    pub(super) plan: TopicPlan,
}

pub(super) fn plan_topics(
    scenario: &Scenario,
    base: &Path,
    cx: &mut Checker<'_>,
) -> Vec<PlannedTopic> {
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
