//! Random, valid values for any Avro schema, written straight to Avro binary.
//!
//! Fields that a scenario does not bind still need a value, and `simrun gen` needs whole records.
//! [`RandomSchema`] compiles a schema once into a table of nodes (named types resolved to
//! indices, so recursive types are cycles; enum sizes, fixed sizes and decimal bounds worked out
//! ahead) and then writes values with the functions of [`super::binary`], with no intermediate
//! value tree. Values look plausible rather than merely valid: strings are short pronounceable
//! words, numbers are small and non-negative, collections hold zero to four entries, dates and
//! timestamps lie near the event's time. Fields named `user_id`, `product_id` and `timestamp`,
//! at any depth, take the event's user, product and time when their type can hold them.
//!
//! Recursive types are bounded: below five nested records every union takes one of its
//! shallowest branches (usually `null`) and every array and map is empty, and arrays and maps
//! hold fewer entries the deeper they are. A schema whose records can only be finished by
//! another copy of themselves is refused when compiled.
//!
//! **Portability.** The same seed must give the same bytes on every machine. Randomness comes
//! only from the generator passed in, through `next_u32`, `next_u64` and `fill_bytes`; numbers
//! are derived with integer arithmetic and IEEE basic operations (a double is a whole number of
//! hundredths divided by 100, which every platform rounds the same way). Nothing here calls
//! `f64::ln`, `exp`, `powf`, `sin` or the like, whose results differ between platforms' math
//! libraries; anything transcendental added later must use `libm`.

mod compile;
mod draw;

use apache_avro::Schema;
use rand::Rng;

use super::binary::{
    write_bool, write_bytes, write_double, write_float, write_int, write_long,
    write_prefixed_decimal, write_union_index,
};
use super::record::{format_uuid, uuid_v4};
use compile::{ContextSlot, ContextValue, Node};
pub use compile::{Field, NodeId};

/// What the event being written knows about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventContext {
    /// The user the event belongs to: `user_id` fields get `user-<n>` or `n`.
    pub user: u64,
    /// The product the event is about: `product_id` fields get `n` or its decimal text.
    pub product: u64,
    /// The event time in nanoseconds since the Unix epoch: `timestamp` fields get it in their
    /// unit, and other dates and times are drawn near it.
    pub time_ns: i64,
}

/// Why a schema cannot be compiled for random values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RandomSchemaError {
    /// A reference to a named type that the schema does not define.
    #[error(
        "{location} refers to the type `{name}`, which the schema does not define; define it \
        before its first use or correct the name"
    )]
    UnresolvedName {
        /// The full name that was looked up.
        name: String,
        /// Where the reference is.
        location: String,
    },

    /// An enum without symbols has no values.
    #[error("enum `{name}` has no symbols, so no value of it exists; give it at least one symbol")]
    EmptyEnum {
        /// The enum's name.
        name: String,
    },

    /// A union without branches has no values.
    #[error("{location} is a union with no branches, so no value of it exists; add a branch")]
    EmptyUnion {
        /// Where the union is.
        location: String,
    },

    /// A record that always contains another copy of itself.
    #[error(
        "record `{record}` can never be complete: its field `{field}` always needs another \
        record of the same cycle; make that field nullable ([\"null\", ...]) or move the \
        recursion into an array or a map"
    )]
    EndlessRecursion {
        /// The record's full name.
        record: String,
        /// The field through which it requires itself.
        field: String,
    },
}

/// The most entries an array or map gets.
const ITEMS_MAX: usize = 4;

/// The number of nested records from which unions take their shallowest branch and arrays and
/// maps are empty. Top-level fields are at depth one.
const DEPTH_LIMIT: usize = 5;

/// Ints are drawn below this.
const INT_BOUND: u64 = 1_000;

/// Longs are drawn below this.
const LONG_BOUND: u64 = 1_000_000;

/// Floats and doubles are whole hundredths below this many hundredths (under 1000.00).
const HUNDREDTHS_BOUND: u64 = 100_000;

/// Timestamps are drawn within this many nanoseconds of the event time (one hour).
const INSTANT_SPREAD_NS: i64 = 3_600_000_000_000;

/// Dates are drawn within this many days of the event's date.
const DATE_SPREAD_DAYS: i64 = 30;

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// A schema compiled for writing random values.
#[derive(Clone, Debug)]
pub struct RandomSchema {
    nodes: Vec<Node>,
    root: NodeId,
}

impl RandomSchema {
    /// Compiles `schema`, refusing types that have no finite value.
    pub fn new(schema: &Schema) -> Result<Self, RandomSchemaError> {
        let (nodes, root) = compile::compile(schema)?;
        Ok(Self { nodes, root })
    }

    /// The node of the whole schema.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// The fields of the top-level record, in schema order; empty when the top is not a record.
    pub fn fields(&self) -> &[Field] {
        match &self.nodes[self.root.index()] {
            Node::Record { fields, .. } => fields,
            _ => &[],
        }
    }

    /// Appends one random value of the whole schema to `out`.
    pub fn write_random<R: Rng + ?Sized>(
        &self,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        self.write_at(self.root, 0, context, rng, out);
    }

    /// Appends a value for top-level field number `index`, exactly as [`Self::write_random`]
    /// would write it (so `user_id`, `product_id` and `timestamp` take the event's values).
    ///
    /// # Panics
    ///
    /// When `index` is not the index of a field of [`Self::fields`].
    pub fn write_field<R: Rng + ?Sized>(
        &self,
        index: usize,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        self.write_field_at(&self.fields()[index], 1, context, rng, out);
    }

    /// Appends a random value of the type at `node`, as if it were a top-level field's type
    /// (no field name, so no event fact is taken at this level).
    pub fn write_node<R: Rng + ?Sized>(
        &self,
        node: NodeId,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        self.write_at(node, 1, context, rng, out);
    }

    fn write_field_at<R: Rng + ?Sized>(
        &self,
        field: &Field,
        depth: usize,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        match field.context {
            Some(slot) => write_context(slot, context, out),
            None => self.write_at(field.node, depth, context, rng, out),
        }
    }

    /// Writes a value of `node`, which sits inside `depth` records.
    fn write_at<R: Rng + ?Sized>(
        &self,
        node: NodeId,
        depth: usize,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        match &self.nodes[node.index()] {
            Node::Null => {}
            Node::Boolean => write_bool(out, rng.next_u32() & 1 == 1),
            Node::Int => write_int(out, draw::below(rng, INT_BOUND) as i32),
            Node::Long => write_long(out, draw::below(rng, LONG_BOUND) as i64),
            Node::Float => write_float(out, hundredths(rng) as f32),
            Node::Double => write_double(out, hundredths(rng)),
            Node::Bytes => {
                let mut bytes = [0u8; 16];
                let length = 1 + draw::below(rng, 16) as usize;
                rng.fill_bytes(&mut bytes[..length]);
                write_bytes(out, &bytes[..length]);
            }
            Node::String => {
                let mut buffer = [0u8; draw::WORD_MAX];
                write_bytes(out, draw::word(rng, &mut buffer));
            }
            Node::Record { fields, .. } => {
                for field in fields {
                    self.write_field_at(field, depth + 1, context, rng, out);
                }
            }
            Node::Enum { symbols } => write_int(out, draw::below(rng, u64::from(*symbols)) as i32),
            Node::Array(items) => {
                let count = collection_len(rng, depth);
                if count > 0 {
                    write_long(out, count as i64);
                    for _ in 0..count {
                        self.write_at(*items, depth, context, rng, out);
                    }
                }
                write_long(out, 0);
            }
            Node::Map(values) => {
                let count = collection_len(rng, depth);
                if count > 0 {
                    write_long(out, count as i64);
                    let mut keys = MapKeys::default();
                    for _ in 0..count {
                        keys.write_unique(rng, out);
                        self.write_at(*values, depth, context, rng, out);
                    }
                }
                write_long(out, 0);
            }
            Node::Union {
                branches,
                shallowest,
            } => {
                let branch = if depth >= DEPTH_LIMIT {
                    shallowest[draw::below(rng, shallowest.len() as u64) as usize] as usize
                } else {
                    draw::below(rng, branches.len() as u64) as usize
                };
                write_union_index(out, branch);
                self.write_at(branches[branch], depth, context, rng, out);
            }
            Node::Fixed { size } => {
                let start = out.len();
                out.resize(start + size, 0);
                rng.fill_bytes(&mut out[start..]);
            }
            Node::Date => {
                let today = context.time_ns.div_euclid(NANOS_PER_DAY);
                let offset = draw::between(rng, -DATE_SPREAD_DAYS, DATE_SPREAD_DAYS);
                write_long(out, today + offset);
            }
            Node::TimeMillis => write_long(out, draw::below(rng, 86_400_000) as i64),
            Node::TimeMicros => write_long(out, draw::below(rng, 86_400_000_000) as i64),
            Node::Instant(unit) => {
                let offset = draw::between(rng, -INSTANT_SPREAD_NS, INSTANT_SPREAD_NS);
                let instant = context.time_ns.saturating_add(offset);
                write_long(out, unit.convert(instant));
            }
            Node::UuidText => {
                let mut text = [0u8; 36];
                write_bytes(out, format_uuid(&uuid_v4(rng), &mut text));
            }
            Node::UuidBinary { length_prefixed } => {
                let bytes = uuid_v4(rng);
                if *length_prefixed {
                    write_bytes(out, &bytes);
                } else {
                    out.extend_from_slice(&bytes);
                }
            }
            Node::Decimal { bound, fixed } => {
                let unscaled = signed_below(rng, *bound);
                match fixed {
                    Some(size) => draw::write_sign_extended(out, unscaled, *size),
                    None => {
                        let (bytes, start) = draw::minimal_twos_complement(unscaled);
                        write_bytes(out, &bytes[start..]);
                    }
                }
            }
            Node::BigDecimal => write_big_decimal(rng, out),
            Node::Duration => {
                let months = draw::below(rng, 13) as u32;
                let days = draw::below(rng, 31) as u32;
                let millis = draw::below(rng, 86_400_000) as u32;
                for part in [months, days, millis] {
                    out.extend_from_slice(&part.to_le_bytes());
                }
            }
        }
    }
}

/// Writes the event fact a `user_id`, `product_id` or `timestamp` field takes.
///
/// A number too large for an `int` field keeps its low 31 bits, so it stays non-negative.
fn write_context(slot: ContextSlot, context: &EventContext, out: &mut Vec<u8>) {
    if let Some(branch) = slot.branch {
        write_union_index(out, branch);
    }
    let number = |value: u64, narrow: bool| {
        if narrow {
            (value & 0x7fff_ffff) as i64
        } else {
            value as i64
        }
    };
    match slot.value {
        ContextValue::UserText => write_prefixed_decimal(out, "user-", context.user),
        ContextValue::UserNumber { narrow } => write_long(out, number(context.user, narrow)),
        ContextValue::ProductText => write_prefixed_decimal(out, "", context.product),
        ContextValue::ProductNumber { narrow } => write_long(out, number(context.product, narrow)),
        ContextValue::Time(unit) => write_long(out, unit.convert(context.time_ns)),
    }
}

/// A number of whole hundredths in `[0, 1000)`.
fn hundredths<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    draw::below(rng, HUNDREDTHS_BOUND) as f64 / 100.0
}

/// A magnitude below `bound`, negative one time in four.
fn signed_below<R: Rng + ?Sized>(rng: &mut R, bound: u64) -> i128 {
    let magnitude = i128::from(draw::below(rng, bound));
    if draw::one_in(rng, 4) {
        -magnitude
    } else {
        magnitude
    }
}

/// How many entries an array or map inside `depth` records gets: up to four near the top, one
/// fewer for each level below, none from the depth limit on.
fn collection_len<R: Rng + ?Sized>(rng: &mut R, depth: usize) -> usize {
    let most = ITEMS_MAX.min(DEPTH_LIMIT.saturating_sub(depth));
    draw::below(rng, most as u64 + 1) as usize
}

/// The keys of one map so far, to keep them distinct.
#[derive(Default)]
struct MapKeys {
    keys: [[u8; draw::WORD_MAX + 1]; ITEMS_MAX],
    lengths: [usize; ITEMS_MAX],
    count: usize,
}

impl MapKeys {
    /// Writes a key that differs from the earlier ones of this map.
    fn write_unique<R: Rng + ?Sized>(&mut self, rng: &mut R, out: &mut Vec<u8>) {
        let slot = self.count;
        let mut buffer = [0u8; draw::WORD_MAX];
        let mut length;
        let mut attempt = 0;
        loop {
            let word = draw::word(rng, &mut buffer);
            length = word.len();
            self.keys[slot][..length].copy_from_slice(word);
            attempt += 1;
            if attempt >= 8 {
                // Earlier keys all end in a letter or another position's digit, so this one is
                // new whatever its letters.
                self.keys[slot][length] = b'0' + slot as u8;
                length += 1;
            }
            let key = &self.keys[slot][..length];
            let taken =
                (0..slot).any(|earlier| &self.keys[earlier][..self.lengths[earlier]] == key);
            if !taken {
                break;
            }
        }
        self.lengths[slot] = length;
        self.count += 1;
        write_bytes(out, &self.keys[slot][..length]);
    }
}

/// Writes a `big-decimal`: bytes holding the unscaled value's bytes and then the scale.
fn write_big_decimal<R: Rng + ?Sized>(rng: &mut R, out: &mut Vec<u8>) {
    let scale = draw::below(rng, 5) as i64;
    let bound = 10u64.pow(scale as u32 + 4);
    let (bytes, start) = draw::minimal_twos_complement(signed_below(rng, bound));
    let unscaled = &bytes[start..];

    let inner = draw::varint_len(unscaled.len() as i64) + unscaled.len() + draw::varint_len(scale);
    write_long(out, inner as i64);
    write_bytes(out, unscaled);
    write_long(out, scale);
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::types::Value;
    use rand_pcg::Pcg64Mcg;

    const CONTEXT: EventContext = EventContext {
        user: 42,
        product: 7,
        time_ns: 1_714_564_800_123_456_789,
    };

    fn schema(text: &str) -> Schema {
        Schema::parse_str(text).expect("the test schema is valid")
    }

    /// Decodes one datum, checking that it uses every byte.
    fn decode(schema: &Schema, bytes: &[u8]) -> Value {
        let reader = GenericDatumReader::builder(schema).build().unwrap();
        let mut rest = bytes;
        let value = reader.read_value(&mut rest).unwrap();
        assert!(rest.is_empty(), "{} bytes left after the value", rest.len());
        value
    }

    fn generate(schema: &Schema, seed: u128) -> Value {
        let random = RandomSchema::new(schema).unwrap();
        let mut out = Vec::new();
        random.write_random(&CONTEXT, &mut Pcg64Mcg::new(seed), &mut out);
        decode(schema, &out)
    }

    fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
        let Value::Record(fields) = value else {
            panic!("not a record: {value:?}");
        };
        &fields.iter().find(|(field, _)| field == name).unwrap().1
    }

    #[test]
    fn event_fields_take_the_context_at_any_depth_and_in_their_unit() {
        let schema = schema(
            r#"{"type":"record","name":"Outer","fields":[
                {"name":"user_id","type":"string"},
                {"name":"product_id","type":"long"},
                {"name":"timestamp","type":{"type":"long","logicalType":"timestamp-micros"}},
                {"name":"inner","type":{"type":"record","name":"Inner","fields":[
                    {"name":"user_id","type":"int"},
                    {"name":"product_id","type":"string"},
                    {"name":"timestamp","type":"long"}
                ]}}
            ]}"#,
        );
        let value = generate(&schema, 1);

        assert_eq!(field(&value, "user_id"), &Value::String("user-42".into()));
        assert_eq!(field(&value, "product_id"), &Value::Long(7));
        assert_eq!(
            field(&value, "timestamp"),
            &Value::TimestampMicros(1_714_564_800_123_456)
        );
        let inner = field(&value, "inner");
        assert_eq!(field(inner, "user_id"), &Value::Int(42));
        assert_eq!(field(inner, "product_id"), &Value::String("7".into()));
        assert_eq!(field(inner, "timestamp"), &Value::Long(1_714_564_800_123));
    }

    #[test]
    fn a_union_event_field_takes_its_first_branch_that_fits() {
        let schema = schema(
            r#"{"type":"record","name":"R","fields":[
                {"name":"user_id","type":["null","boolean","long","string"]},
                {"name":"timestamp","type":["null",
                    {"type":"long","logicalType":"local-timestamp-nanos"}]}
            ]}"#,
        );
        for seed in 0..20 {
            let value = generate(&schema, seed);
            let expected_user = Value::Union(2, Box::new(Value::Long(42)));
            assert_eq!(field(&value, "user_id"), &expected_user);
            let time = Value::LocalTimestampNanos(CONTEXT.time_ns);
            assert_eq!(field(&value, "timestamp"), &Value::Union(1, Box::new(time)));
        }
    }

    #[test]
    fn an_event_field_of_another_type_gets_a_random_value() {
        let schema = schema(
            r#"{"type":"record","name":"R","fields":[
                {"name":"timestamp","type":"string"},
                {"name":"user_id","type":"double"}
            ]}"#,
        );
        let values: Vec<Value> = (0..10).map(|seed| generate(&schema, seed)).collect();
        assert!(
            values
                .iter()
                .any(|value| field(value, "timestamp") != field(&values[0], "timestamp"))
        );
        assert!(matches!(field(&values[0], "user_id"), Value::Double(_)));
    }

    #[test]
    fn int_ids_keep_their_low_31_bits() {
        let schema =
            schema(r#"{"type":"record","name":"R","fields":[{"name":"user_id","type":"int"}]}"#);
        let random = RandomSchema::new(&schema).unwrap();
        let context = EventContext {
            user: (1 << 40) + 5,
            ..CONTEXT
        };
        let mut out = Vec::new();
        random.write_random(&context, &mut Pcg64Mcg::new(0), &mut out);
        assert_eq!(field(&decode(&schema, &out), "user_id"), &Value::Int(5));
    }

    #[test]
    fn writing_fields_one_by_one_gives_the_same_bytes_as_the_whole_record() {
        let schema = schema(
            r#"{"type":"record","name":"R","fields":[
                {"name":"user_id","type":"string"},
                {"name":"tags","type":{"type":"array","items":"string"}},
                {"name":"note","type":["null","string"]}
            ]}"#,
        );
        let random = RandomSchema::new(&schema).unwrap();
        let names: Vec<&str> = random.fields().iter().map(Field::name).collect();
        assert_eq!(names, ["user_id", "tags", "note"]);

        for seed in 0..50 {
            let mut whole = Vec::new();
            random.write_random(&CONTEXT, &mut Pcg64Mcg::new(seed), &mut whole);

            let mut rng = Pcg64Mcg::new(seed);
            let mut pieces = Vec::new();
            for index in 0..random.fields().len() {
                random.write_field(index, &CONTEXT, &mut rng, &mut pieces);
            }
            assert_eq!(pieces, whole, "seed {seed}");
        }

        let tags = random.fields()[1].node();
        let mut out = Vec::new();
        random.write_node(tags, &CONTEXT, &mut Pcg64Mcg::new(3), &mut out);
        let array = Schema::parse_str(r#"{"type":"array","items":"string"}"#).unwrap();
        assert!(matches!(decode(&array, &out), Value::Array(_)));
    }

    #[test]
    fn recursive_lists_end_within_the_depth_limit_but_do_recurse() {
        let schema = schema(
            r#"{"type":"record","name":"LongList","fields":[
                {"name":"value","type":"long"},
                {"name":"next","type":["null","LongList"]}
            ]}"#,
        );
        let mut longest = 0;
        for seed in 0..500 {
            let mut value = generate(&schema, seed);
            let mut length = 1;
            while let Value::Union(1, next) = field(&value, "next").clone() {
                value = *next;
                length += 1;
            }
            longest = longest.max(length);
        }
        assert_eq!(longest, DEPTH_LIMIT, "lists reach the limit and stop there");
    }

    #[test]
    fn records_that_always_contain_themselves_are_refused() {
        let direct =
            schema(r#"{"type":"record","name":"Loop","fields":[{"name":"again","type":"Loop"}]}"#);
        let error = RandomSchema::new(&direct).unwrap_err();
        assert_eq!(
            error,
            RandomSchemaError::EndlessRecursion {
                record: "Loop".into(),
                field: "again".into()
            }
        );
        assert!(error.to_string().contains("make that field nullable"));

        let through_two = schema(
            r#"{"type":"record","name":"A","namespace":"x","fields":[
                {"name":"ok","type":["null","A"]},
                {"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":"A"}]}}
            ]}"#,
        );
        assert!(matches!(
            RandomSchema::new(&through_two),
            Err(RandomSchemaError::EndlessRecursion { .. })
        ));

        let escaped_by_array = schema(
            r#"{"type":"record","name":"Tree","fields":[
                {"name":"children","type":{"type":"array","items":"Tree"}}
            ]}"#,
        );
        assert!(RandomSchema::new(&escaped_by_array).is_ok());
    }

    #[test]
    fn types_without_values_are_refused_with_their_place() {
        let empty_enum = schema(r#"{"type":"enum","name":"Nothing","symbols":[]}"#);
        assert_eq!(
            RandomSchema::new(&empty_enum).unwrap_err(),
            RandomSchemaError::EmptyEnum {
                name: "Nothing".into()
            }
        );

        let empty_union =
            schema(r#"{"type":"record","name":"R","fields":[{"name":"u","type":[]}]}"#);
        let error = RandomSchema::new(&empty_union).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("field `u` of record `R` is a union with no")
        );
    }

    #[test]
    fn decimals_stay_within_their_precision_and_fixed_size() {
        let schema = schema(
            r#"{"type":"record","name":"R","fields":[
                {"name":"small","type":{"type":"fixed","name":"One","size":1,
                    "logicalType":"decimal","precision":4,"scale":1}},
                {"name":"wide","type":{"type":"bytes","logicalType":"decimal","precision":3,"scale":2}}
            ]}"#,
        );
        let mut negative = false;
        for seed in 0..300 {
            let value = generate(&schema, seed);
            for (name, limit) in [("small", 127), ("wide", 999)] {
                let Value::Decimal(decimal) = field(&value, name) else {
                    panic!("{name} is not a decimal");
                };
                let bytes = Vec::<u8>::try_from(decimal).unwrap();
                let unscaled = bytes
                    .iter()
                    .fold(if bytes[0] & 0x80 != 0 { -1i64 } else { 0 }, |acc, b| {
                        (acc << 8) | i64::from(*b)
                    });
                assert!(unscaled.abs() <= limit, "{name}: {unscaled}");
                negative |= unscaled < 0;
            }
        }
        assert!(negative, "negative decimals occur");
    }

    #[test]
    fn map_keys_are_distinct() {
        let schema = schema(r#"{"type":"map","values":"int"}"#);
        let random = RandomSchema::new(&schema).unwrap();
        let mut full_maps = 0;
        for seed in 0..300 {
            let mut out = Vec::new();
            random.write_random(&CONTEXT, &mut Pcg64Mcg::new(seed), &mut out);
            let written = crate::encoding::binary::read_long(&out).unwrap().0;
            let Value::Map(map) = decode(&schema, &out) else {
                panic!("not a map")
            };
            assert_eq!(map.len() as i64, written, "seed {seed}");
            full_maps += usize::from(written == ITEMS_MAX as i64);
        }
        assert!(full_maps > 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
        let schema = schema(
            r#"{"type":"record","name":"R","fields":[
                {"name":"a","type":"string"},{"name":"b","type":"double"},
                {"name":"c","type":{"type":"map","values":["null","long"]}}
            ]}"#,
        );
        let random = RandomSchema::new(&schema).unwrap();
        let run = |seed: u128| {
            let mut rng = Pcg64Mcg::new(seed);
            let mut out = Vec::new();
            for _ in 0..20 {
                random.write_random(&CONTEXT, &mut rng, &mut out);
            }
            out
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}
