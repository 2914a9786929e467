//! Field bindings: from `fields: TOPIC: FIELD: SOURCE` to the writers that encode each field.
//!
//! For every funnel step, each top-level field of its topic's record gets a writer: the bound
//! source if there is one, the event's user, product or time for fields named `user_id`,
//! `product_id` and `timestamp`, and otherwise a random valid value of the field's type. A
//! binding is accepted only if its values fit the field's Avro type (for a union, the first
//! branch that fits is chosen); constants and choices are encoded once, here.
//!
//! `from: STEP.FIELD` copies the bytes of a field of an earlier event of the same chain. The
//! values a chain must carry are numbered into slots: [`CarryPlan`] says, for each step, which
//! values its event hands down to the next one.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{Name, RecordSchema, UuidSchema};

use super::distribution::{self, Checker, Unit};
use super::literals::{encode_all, weighted};
use crate::diagnostics::{Position, suggestion};
use crate::encoding::random::{RandomSchema, RandomSchemaError};
use crate::encoding::record::{
    FieldWriter, KeySource, NumberForm, RecordEncoder, TimeForm, ValueWriter,
};
use crate::scenario::{Located, ValueSource, ValueSpec};

/// The named sources a field can be bound to without parameters.
pub const NAMED_SOURCES: [&str; 6] = [
    "user.id",
    "product.id",
    "product.price",
    "event.timestamp",
    "uuid",
    "sequence",
];

/// What a topic's record looks like, for binding checks.
#[derive(Debug)]
pub struct RecordShape<'s> {
    pub record: &'s RecordSchema,
    names: HashMap<String, &'s Schema>,
}

impl<'s> RecordShape<'s> {
    pub fn new(schema: &'s Schema, record: &'s RecordSchema) -> Self {
        let names = apache_avro::schema::ResolvedSchema::try_from(schema)
            .map(|resolved| {
                resolved
                    .get_names()
                    .iter()
                    .map(|(name, schema)| (name.fullname(None), *schema))
                    .collect()
            })
            .unwrap_or_default();
        RecordShape { record, names }
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.record.lookup.get(name).copied()
    }

    pub fn field_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.record.fields.iter().map(|field| field.name.as_str())
    }

    /// Follows a named reference to its definition.
    fn resolve(&self, schema: &'s Schema) -> &'s Schema {
        match schema {
            Schema::Ref { name } => self.lookup(name).unwrap_or(schema),
            other => other,
        }
    }

    fn lookup(&self, name: &Name) -> Option<&'s Schema> {
        self.names.get(&name.fullname(None)).copied()
    }

    /// The branches a value may take: each union branch with its index, or the type itself.
    fn branches(&self, schema: &'s Schema) -> Vec<(Option<usize>, &'s Schema)> {
        match self.resolve(schema) {
            Schema::Union(union) => union
                .variants()
                .iter()
                .enumerate()
                .map(|(index, branch)| (Some(index), self.resolve(branch)))
                .collect(),
            other => vec![(None, other)],
        }
    }
}

/// A `from:` reference that checked out: the step and field it copies.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CarriedValue {
    pub step: usize,
    pub field: usize,
}

/// For each step, the values its events receive from their parent, in slot order.
#[derive(Clone, Debug, Default)]
pub struct CarryPlan {
    pub inherited: Vec<Vec<CarriedValue>>,
}

/// How a step builds the carried values its child receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarrySource {
    /// A value the step itself inherited, by slot.
    Inherited(usize),
    /// One of the step's own fields, by index.
    Own(usize),
}

impl CarryPlan {
    /// Lays out slots so that every step inherits what it or any later step copies.
    pub fn new(steps: usize, wanted: &[Vec<CarriedValue>]) -> Self {
        let mut inherited = vec![Vec::new(); steps];
        for (step, wants) in wanted.iter().enumerate() {
            for value in wants {
                for slots in inherited.iter_mut().take(step + 1).skip(value.step + 1) {
                    if !slots.contains(value) {
                        slots.push(value.clone());
                    }
                }
            }
        }
        for slots in &mut inherited {
            slots.sort();
        }
        CarryPlan { inherited }
    }

    pub fn slot(&self, step: usize, value: &CarriedValue) -> Option<usize> {
        self.inherited.get(step)?.iter().position(|v| v == value)
    }

    /// What step `step` hands to its child, slot by slot.
    pub fn handed_down(&self, step: usize) -> Vec<CarrySource> {
        let Some(next) = self.inherited.get(step + 1) else {
            return Vec::new();
        };
        next.iter()
            .map(|value| match self.slot(step, value) {
                Some(slot) => CarrySource::Inherited(slot),
                None => CarrySource::Own(value.field),
            })
            .collect()
    }
}

/// The funnel as field compilation needs it: step names and their topics' record shapes.
pub struct FunnelView<'a, 's> {
    pub step_names: &'a [String],
    pub step_shapes: &'a [&'a RecordShape<'s>],
}

/// A field binding as written, with the funnel step it is compiled for.
pub struct BindingRef<'a> {
    pub field: &'a Located<String>,
    pub source: &'a ValueSource,
}

/// Checks a `from:` reference for step `step` and returns what it copies.
pub fn carried_reference(
    binding: &BindingRef<'_>,
    step: usize,
    funnel: &FunnelView<'_, '_>,
    cx: &mut Checker<'_>,
) -> Option<CarriedValue> {
    let ValueSource::Spec(spec) = binding.source else {
        return None;
    };
    let from = spec.from.as_ref()?;
    let what = format!("field `{}`", binding.field.value);
    let Some((step_name, field_name)) = from.value.split_once('.') else {
        let message = format!(
            "{what}: `from: {}` must name a step and a field",
            from.value
        );
        cx.error(
            from.at,
            message,
            Some("write it like `from: cart.quantity`".into()),
        );
        return None;
    };
    let earlier = &funnel.step_names[..step];
    let Some(source_step) = earlier.iter().position(|name| name == step_name) else {
        let later = funnel.step_names[step..]
            .iter()
            .any(|name| name == step_name);
        let problem = if later {
            format!(
                "step `{step_name}` comes after `{}` in the funnel",
                funnel.step_names[step]
            )
        } else {
            format!("there is no step `{step_name}`")
        };
        let help = suggestion(step_name, earlier.iter().map(String::as_str));
        cx.error(
            from.at,
            format!("{what}: cannot copy from `{}`: {problem}", from.value),
            Some(help),
        );
        return None;
    };
    let shape = funnel.step_shapes[source_step];
    let Some(field) = shape.field_index(field_name) else {
        let message = format!(
            "{what}: step `{step_name}` has no field `{field_name}` in record `{}`",
            shape.record.name.name()
        );
        cx.error(
            from.at,
            message,
            Some(suggestion(field_name, shape.field_names())),
        );
        return None;
    };
    Some(CarriedValue {
        step: source_step,
        field,
    })
}

/// Compiles the writers of one step's record.
#[allow(clippy::too_many_arguments)]
pub fn compile_encoder(
    shape: &RecordShape<'_>,
    schema: &Schema,
    bindings: &[BindingRef<'_>],
    key_field: usize,
    step: usize,
    funnel: &FunnelView<'_, '_>,
    carry: &CarryPlan,
    has_price: bool,
    cx: &mut Checker<'_>,
) -> Option<RecordEncoder> {
    let random = match RandomSchema::new(schema) {
        Ok(random) => random,
        Err(error) => {
            let message = format!("record `{}`: {error}", shape.record.name.name());
            cx.error(Position::default(), message, None);
            return None;
        }
    };

    let mut ok = true;
    let mut fields = Vec::with_capacity(shape.record.fields.len());
    for (index, field) in shape.record.fields.iter().enumerate() {
        let binding = bindings.iter().find(|b| b.field.value == field.name);
        let writer = match binding {
            Some(binding) => {
                let input = BindingInput {
                    shape,
                    step,
                    funnel,
                    carry,
                    has_price,
                };
                bind(&input, binding, &field.schema, cx)
            }
            None => Some(default_writer(shape, &field.name, &field.schema, index)),
        };
        match writer {
            Some((union_branch, value)) => fields.push(FieldWriter {
                name: field.name.clone(),
                union_branch,
                value,
            }),
            None => ok = false,
        }
    }

    ok.then_some(RecordEncoder {
        fields,
        key: key_source(shape, key_field),
        random,
    })
}

/// An encoder with no bindings: every field gets its default writer (the event's user, product
/// or time for `user_id`, `product_id` and `timestamp` where the type fits, a random valid value
/// otherwise). `simrun gen` writes its records with it, so they are built exactly as the
/// unbound fields of a scenario's records are.
///
/// `key_field` must be the index of a top-level field whose type passes [`key_type_ok`].
pub fn unbound_encoder(
    shape: &RecordShape<'_>,
    schema: &Schema,
    key_field: usize,
) -> Result<RecordEncoder, RandomSchemaError> {
    let random = RandomSchema::new(schema)?;
    let fields = shape
        .record
        .fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let (union_branch, value) = default_writer(shape, &field.name, &field.schema, index);
            FieldWriter {
                name: field.name.clone(),
                union_branch,
                value,
            }
        })
        .collect();
    Ok(RecordEncoder {
        fields,
        key: key_source(shape, key_field),
        random,
    })
}

/// Where the key of a record comes from: field `key_field`, read as text or as a number.
fn key_source(shape: &RecordShape<'_>, key_field: usize) -> KeySource {
    let key_schema = &shape.record.fields[key_field].schema;
    KeySource {
        field: key_field,
        is_text: shape.branches(key_schema).iter().any(|(_, s)| is_text(s)),
    }
}

/// Whether a key field's type is acceptable: a string or an integer, possibly in a union.
pub fn key_type_ok(shape: &RecordShape<'_>, schema: &Schema) -> bool {
    let branches = shape.branches(schema);
    let usable = |s: &Schema| is_text(s) || matches!(s, Schema::Int | Schema::Long);
    // A nullable key would give some records no key at all; only plain types are accepted.
    branches.len() == 1 && usable(branches[0].1)
}

fn is_text(schema: &Schema) -> bool {
    matches!(schema, Schema::String | Schema::Uuid(UuidSchema::String))
}

/// Writers for fields without a binding: the event's facts for the well-known names, where the
/// type fits; a random value otherwise.
fn default_writer(
    shape: &RecordShape<'_>,
    name: &str,
    schema: &Schema,
    index: usize,
) -> (Option<usize>, ValueWriter) {
    let named = match name {
        "user_id" => "user.id",
        "product_id" => "product.id",
        "timestamp" => "event.timestamp",
        _ => "",
    };
    if !named.is_empty() {
        for (branch, target) in shape.branches(schema) {
            if let Some(writer) = named_writer(named, target, false) {
                return (branch, writer);
            }
        }
    }
    (None, ValueWriter::Random(index))
}

/// What [`bind`] needs to know about the step being compiled.
struct BindingInput<'a, 's> {
    shape: &'a RecordShape<'s>,
    step: usize,
    funnel: &'a FunnelView<'a, 's>,
    carry: &'a CarryPlan,
    has_price: bool,
}

fn bind(
    input: &BindingInput<'_, '_>,
    binding: &BindingRef<'_>,
    schema: &Schema,
    cx: &mut Checker<'_>,
) -> Option<(Option<usize>, ValueWriter)> {
    let shape = input.shape;
    let what = format!("field `{}`", binding.field.value);
    let branches = shape.branches(schema);
    let type_name = describe_type(schema);

    match binding.source {
        ValueSource::Named(name) => {
            let source = name.value.as_str();
            if !NAMED_SOURCES.contains(&source) {
                let message = format!("{what}: unknown value source `{source}`");
                let help = suggestion(source, NAMED_SOURCES);
                cx.error(name.at, message, Some(help));
                return None;
            }
            if source == "product.price" && !input.has_price {
                let message = format!("{what}: `product.price` needs `products.price`");
                let help = "declare a price distribution, e.g. \
                            `price: { lognormal: { median: 25.0, sigma: 0.8 } }`";
                cx.error(name.at, message, Some(help.into()));
                return None;
            }
            let found = branches.iter().find_map(|(branch, target)| {
                named_writer(source, target, true).map(|writer| (*branch, writer))
            });
            if found.is_none() {
                let message = format!("{what}: `{source}` cannot be written as {type_name}");
                cx.error(name.at, message, Some(named_help(source).into()));
            }
            found
        }
        ValueSource::Spec(spec) => {
            bind_spec(input, binding, spec, schema, &branches, &type_name, cx)
        }
    }
}

fn bind_spec(
    input: &BindingInput<'_, '_>,
    binding: &BindingRef<'_>,
    spec: &Located<ValueSpec>,
    schema: &Schema,
    branches: &[(Option<usize>, &Schema)],
    type_name: &str,
    cx: &mut Checker<'_>,
) -> Option<(Option<usize>, ValueWriter)> {
    let what = format!("field `{}`", binding.field.value);
    let mut allowed: Vec<&str> = distribution::KINDS
        .iter()
        .copied()
        .filter(|k| *k != "zipf")
        .collect();
    allowed.extend(["one_of", "weighted", "from"]);
    let kind = distribution::single_kind(spec, &what, &allowed, cx)?;

    match kind {
        "constant" | "one_of" | "weighted" => {
            let values: Vec<&Located<String>> = match kind {
                "constant" => spec.constant.iter().collect(),
                "one_of" => spec.one_of.iter().flatten().collect(),
                _ => {
                    let mut values = Vec::new();
                    let mut weights = Vec::new();
                    for (value, weight) in spec.weighted.iter().flatten() {
                        if weight.value < 0.0 || !weight.value.is_finite() {
                            let message = format!("{what}: weights must be positive numbers");
                            cx.error(weight.at, message, None);
                            return None;
                        }
                        values.push(Located::new(value.clone(), weight.at));
                        weights.push(weight.value);
                    }
                    return weighted(&what, values, weights, branches, type_name, spec.at, cx);
                }
            };
            if values.is_empty() {
                cx.error(
                    spec.at,
                    format!("{what}: `{kind}` needs at least one value"),
                    None,
                );
                return None;
            }
            let encoded = encode_all(&what, &values, branches, type_name, cx)?;
            if kind == "constant" {
                let bytes = encoded.into_iter().next()?;
                return Some((None, ValueWriter::Fixed(bytes)));
            }
            Some((None, ValueWriter::OneOf(encoded)))
        }
        "from" => {
            let value = carried_reference(binding, input.step, input.funnel, cx)?;
            let source_shape = input.funnel.step_shapes[value.step];
            let source_schema = &source_shape.record.fields[value.field].schema;
            let slot = input.carry.slot(input.step, &value)?;
            let from = spec.from.as_ref()?;
            let source_type = source_shape.resolve(source_schema);
            if same_encoding(source_type, input.shape.resolve(schema)) {
                return Some((None, ValueWriter::Carried(slot)));
            }
            for (branch, target) in branches {
                if branch.is_some() && same_encoding(source_type, target) {
                    return Some((*branch, ValueWriter::Carried(slot)));
                }
            }
            let message = format!(
                "{what}: cannot copy `{}` ({}) into {type_name}",
                from.value,
                describe_type(source_schema)
            );
            cx.error(
                from.at,
                message,
                Some("bind fields of the same Avro type".into()),
            );
            None
        }
        _ => {
            let distribution = distribution::distribution(binding.source, &what, Unit::Number, cx)?;
            let found = branches.iter().find_map(|(branch, target)| {
                number_form(target, distribution.is_integral()).map(|form| (*branch, form))
            });
            match found {
                Some((branch, form)) => Some((branch, ValueWriter::Number(distribution, form))),
                None => {
                    let message =
                        format!("{what}: a `{kind}` number cannot be written as {type_name}");
                    cx.error(
                        spec.at,
                        message,
                        Some("bind numbers to int, long, float or double".into()),
                    );
                    None
                }
            }
        }
    }
}

/// The writer for a named source into one (non-union) type, if the type can hold it.
///
/// `strict` is false for the implicit well-known field names, where only the natural types
/// count (a `timestamp` string is left to the random generator rather than formatted).
fn named_writer(source: &str, target: &Schema, strict: bool) -> Option<ValueWriter> {
    let integer = matches!(target, Schema::Int | Schema::Long);
    match source {
        "user.id" if is_text(target) && matches!(target, Schema::String) => {
            Some(ValueWriter::UserText)
        }
        "user.id" if integer => Some(ValueWriter::UserNumber),
        "product.id" if integer => Some(ValueWriter::ProductNumber),
        "product.id" if matches!(target, Schema::String) => Some(ValueWriter::ProductText),
        "product.price" => match target {
            Schema::Double => Some(ValueWriter::Price(NumberForm::Double)),
            Schema::Float => Some(ValueWriter::Price(NumberForm::Float)),
            Schema::String => Some(ValueWriter::Price(NumberForm::Text)),
            _ => None,
        },
        "event.timestamp" => time_form(target, strict).map(ValueWriter::Time),
        "uuid" => match target {
            Schema::String | Schema::Uuid(UuidSchema::String) => Some(ValueWriter::UuidText),
            Schema::Uuid(UuidSchema::Fixed(_)) => Some(ValueWriter::UuidBytes),
            Schema::Fixed(fixed) if fixed.size == 16 => Some(ValueWriter::UuidBytes),
            _ => None,
        },
        "sequence" => match target {
            Schema::Int | Schema::Long => Some(ValueWriter::Sequence(NumberForm::Integer)),
            Schema::String => Some(ValueWriter::Sequence(NumberForm::Text)),
            _ => None,
        },
        _ => None,
    }
}

fn time_form(target: &Schema, strict: bool) -> Option<TimeForm> {
    let nanos_per_unit = match target {
        Schema::Long | Schema::TimestampMillis | Schema::LocalTimestampMillis => 1_000_000,
        Schema::TimestampMicros | Schema::LocalTimestampMicros => 1_000,
        Schema::TimestampNanos | Schema::LocalTimestampNanos => 1,
        Schema::String if strict => return Some(TimeForm::Text),
        _ => return None,
    };
    Some(TimeForm::Long { nanos_per_unit })
}

fn number_form(target: &Schema, integral: bool) -> Option<NumberForm> {
    match target {
        Schema::Int | Schema::Long => Some(NumberForm::Integer),
        Schema::Float => Some(NumberForm::Float),
        Schema::Double => Some(NumberForm::Double),
        Schema::String if integral => Some(NumberForm::Text),
        _ => None,
    }
}

fn named_help(source: &str) -> &'static str {
    match source {
        "user.id" => "user ids go into string, int or long fields",
        "product.id" => "product ids go into int, long or string fields",
        "product.price" => "prices go into double, float or string fields",
        "event.timestamp" => "event times go into long fields (timestamp-millis, -micros, -nanos)",
        "uuid" => "uuids go into string fields or fixed fields of 16 bytes",
        _ => "sequence numbers go into int, long or string fields",
    }
}

/// Whether values of `a` can be copied byte for byte into a field of type `b`.
fn same_encoding(a: &Schema, b: &Schema) -> bool {
    let integer = |s: &Schema| matches!(s, Schema::Int | Schema::Long);
    a == b || (integer(a) && integer(b))
}

/// A short human name for a field's type: `int`, `enum Device`, `union [null, string]`.
pub fn describe_type(schema: &Schema) -> String {
    match schema {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int => "int".into(),
        Schema::Long => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes => "bytes".into(),
        Schema::String => "string".into(),
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(union) => {
            let names: Vec<String> = union.variants().iter().map(describe_type).collect();
            format!("union [{}]", names.join(", "))
        }
        Schema::Record(record) => format!("record {}", record.name.name()),
        Schema::Enum(enumeration) => format!("enum {}", enumeration.name.name()),
        Schema::Fixed(fixed) => format!("fixed {} ({} bytes)", fixed.name.name(), fixed.size),
        Schema::Decimal(_) | Schema::BigDecimal => "decimal".into(),
        Schema::Uuid(_) => "uuid".into(),
        Schema::Date => "date".into(),
        Schema::TimeMillis => "time-millis".into(),
        Schema::TimeMicros => "time-micros".into(),
        Schema::TimestampMillis => "timestamp-millis".into(),
        Schema::TimestampMicros => "timestamp-micros".into(),
        Schema::TimestampNanos => "timestamp-nanos".into(),
        Schema::LocalTimestampMillis => "local-timestamp-millis".into(),
        Schema::LocalTimestampMicros => "local-timestamp-micros".into(),
        Schema::LocalTimestampNanos => "local-timestamp-nanos".into(),
        Schema::Duration(_) => "duration".into(),
        Schema::Ref { name } => name.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_values_reach_every_step_that_needs_them() {
        // Step 2 copies field 3 of step 0; step 2 also copies field 1 of step 1.
        let wanted = vec![
            Vec::new(),
            Vec::new(),
            vec![
                CarriedValue { step: 0, field: 3 },
                CarriedValue { step: 1, field: 1 },
            ],
        ];
        let plan = CarryPlan::new(3, &wanted);
        assert!(plan.inherited[0].is_empty());
        assert_eq!(plan.inherited[1], vec![CarriedValue { step: 0, field: 3 }]);
        assert_eq!(plan.inherited[2].len(), 2);
        assert_eq!(plan.handed_down(0), vec![CarrySource::Own(3)]);
        assert_eq!(
            plan.handed_down(1),
            vec![CarrySource::Inherited(0), CarrySource::Own(1)]
        );
        assert!(plan.handed_down(2).is_empty());
    }
}
