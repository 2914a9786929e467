//! Encoding one scenario event as its topic's Avro record, field by field.
//!
//! Planning compiles each topic's field bindings into a [`RecordEncoder`]: one [`FieldWriter`]
//! per schema field, in schema order, each knowing exactly which bytes to produce. Constants and
//! choices among fixed values are encoded once at planning time and copied; ids and timestamps
//! are written as varints; fields without a binding get a random value of their type. While
//! writing, the encoder remembers where each field's bytes are, so that the record key and the
//! values later funnel steps copy (`from: cart.quantity`) are sliced out without decoding.

use rand::Rng;
use rand_distr::Distribution as _;
use rand_distr::weighted::WeightedAliasIndex;

use super::binary::{
    decimal, read_long, write_bytes, write_double, write_float, write_long, write_prefixed_decimal,
    write_string, write_union_index,
};
use super::random::{EventContext, RandomSchema};
use crate::plan::distribution::Distribution;
use crate::sim::rng::below;

/// What an event knows about itself when its record is written.
#[derive(Clone, Copy, Debug)]
pub struct EventFacts<'a> {
    pub user: u64,
    pub product: u64,
    /// The product's unit price.
    pub price: f64,
    /// Event time in nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The event's position in its topic, from 1.
    pub sequence: u64,
    /// Field values carried down the funnel chain, as encoded bytes, by slot.
    pub carried: &'a [Box<[u8]>],
}

/// How a number is written into its Avro type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberForm {
    /// `int` or `long`: rounded to the nearest whole number.
    Integer,
    Float,
    Double,
    /// `string`: decimal text.
    Text,
}

/// How a timestamp is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeForm {
    /// A long counting units since the epoch; the divisor turns nanoseconds into the unit.
    Long { nanos_per_unit: i64 },
    /// An RFC 3339 string with millisecond precision.
    Text,
}

/// What one field's bytes are made of.
#[derive(Debug)]
pub enum ValueWriter {
    /// `user-<n>` for string fields.
    UserText,
    /// The user number for int and long fields.
    UserNumber,
    /// The product number for int and long fields.
    ProductNumber,
    /// The product number as decimal text.
    ProductText,
    /// The product's unit price.
    Price(NumberForm),
    /// The event time.
    Time(TimeForm),
    /// A random version-4 UUID in its canonical text form.
    UuidText,
    /// A random version-4 UUID as 16 bytes.
    UuidBytes,
    /// The event's position in its topic.
    Sequence(NumberForm),
    /// Bytes fixed at planning time (`constant`).
    Fixed(Box<[u8]>),
    /// One of several pre-encoded values, equally likely (`one_of`).
    OneOf(Vec<Box<[u8]>>),
    /// One of several pre-encoded values, by weight (`weighted`).
    Weighted(WeightedAliasIndex<f64>, Vec<Box<[u8]>>),
    /// A value carried from an earlier event of the chain (`from:`), copied byte for byte.
    Carried(usize),
    /// A number drawn from a distribution.
    Number(Distribution, NumberForm),
    /// A random valid value of the field's type.
    Random(usize),
}

/// One field: an optional union branch to select, then the value.
#[derive(Debug)]
pub struct FieldWriter {
    pub name: String,
    pub union_branch: Option<usize>,
    pub value: ValueWriter,
}

/// Where an encoded key comes from: a top-level field holding a string or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySource {
    pub field: usize,
    pub is_text: bool,
}

/// The compiled form of one topic's record for one funnel step.
#[derive(Debug)]
pub struct RecordEncoder {
    pub fields: Vec<FieldWriter>,
    pub key: KeySource,
    /// The topic's schema, compiled for random values of unbound fields.
    pub random: RandomSchema,
}

/// Reused buffers for encoding: the value, the key and field boundaries.
#[derive(Debug, Default)]
pub struct Encoded {
    pub value: Vec<u8>,
    pub key: Vec<u8>,
    /// `bounds[i]..bounds[i + 1]` are the bytes of field `i`, union branch included.
    bounds: Vec<usize>,
}

impl Encoded {
    /// The bytes of field `index` as last encoded, union branch included.
    pub fn field(&self, index: usize) -> &[u8] {
        &self.value[self.bounds[index]..self.bounds[index + 1]]
    }
}

impl RecordEncoder {
    /// Writes the record for `facts` into `out`, replacing what it held.
    pub fn encode<R: Rng + ?Sized>(&self, facts: &EventFacts<'_>, rng: &mut R, out: &mut Encoded) {
        out.value.clear();
        out.bounds.clear();
        let context = EventContext {
            user: facts.user,
            product: facts.product,
            time_ns: facts.time_ns,
        };

        for field in &self.fields {
            out.bounds.push(out.value.len());
            if let Some(branch) = field.union_branch {
                write_union_index(&mut out.value, branch);
            }
            self.write_value(&field.value, facts, &context, rng, &mut out.value);
        }
        out.bounds.push(out.value.len());

        self.write_key(out);
    }

    #[inline]
    fn write_value<R: Rng + ?Sized>(
        &self,
        value: &ValueWriter,
        facts: &EventFacts<'_>,
        context: &EventContext,
        rng: &mut R,
        out: &mut Vec<u8>,
    ) {
        match value {
            ValueWriter::UserText => write_prefixed_decimal(out, "user-", facts.user),
            ValueWriter::UserNumber => write_long(out, facts.user as i64),
            ValueWriter::ProductNumber => write_long(out, facts.product as i64),
            ValueWriter::ProductText => write_prefixed_decimal(out, "", facts.product),
            ValueWriter::Price(form) => write_number(out, facts.price, *form),
            ValueWriter::Time(TimeForm::Long { nanos_per_unit }) => {
                write_long(out, facts.time_ns.div_euclid(*nanos_per_unit));
            }
            ValueWriter::Time(TimeForm::Text) => write_string(out, &rfc3339_millis(facts.time_ns)),
            ValueWriter::UuidText => {
                let bytes = uuid_v4(rng);
                let mut text = [0u8; 36];
                write_bytes(out, format_uuid(&bytes, &mut text));
            }
            ValueWriter::UuidBytes => out.extend_from_slice(&uuid_v4(rng)),
            ValueWriter::Sequence(form) => match form {
                NumberForm::Text => write_prefixed_decimal(out, "", facts.sequence),
                _ => write_number(out, facts.sequence as f64, *form),
            },
            ValueWriter::Fixed(bytes) => out.extend_from_slice(bytes),
            ValueWriter::OneOf(options) => {
                let pick = below(rng, options.len() as u64) as usize;
                out.extend_from_slice(&options[pick]);
            }
            ValueWriter::Weighted(table, options) => {
                out.extend_from_slice(&options[table.sample(rng)]);
            }
            ValueWriter::Carried(slot) => out.extend_from_slice(&facts.carried[*slot]),
            ValueWriter::Number(distribution, form) => {
                write_number(out, distribution.sample(rng), *form);
            }
            ValueWriter::Random(field) => self.random.write_field(*field, context, rng, out),
        }
    }

    /// Slices the key field's bytes out of the value and renders them as UTF-8 text.
    fn write_key(&self, out: &mut Encoded) {
        out.key.clear();
        let field = &self.fields[self.key.field];
        let mut bytes = &out.value[out.bounds[self.key.field]..out.bounds[self.key.field + 1]];
        if field.union_branch.is_some() {
            let Some((_, used)) = read_long(bytes) else {
                return;
            };
            bytes = &bytes[used..];
        }
        let Some((number, used)) = read_long(bytes) else {
            return;
        };
        if self.key.is_text {
            out.key.extend_from_slice(&bytes[used..]);
        } else if number < 0 {
            out.key.push(b'-');
            let mut digits = [0u8; 20];
            out.key
                .extend_from_slice(decimal(number.unsigned_abs(), &mut digits));
        } else {
            let mut digits = [0u8; 20];
            out.key
                .extend_from_slice(decimal(number as u64, &mut digits));
        }
    }
}

#[inline]
fn write_number(out: &mut Vec<u8>, value: f64, form: NumberForm) {
    match form {
        NumberForm::Integer => write_long(out, value.round() as i64),
        NumberForm::Float => write_float(out, value as f32),
        NumberForm::Double => write_double(out, value),
        NumberForm::Text => write_string(out, &format_number(value)),
    }
}

/// Decimal text for a number: whole numbers without a fraction, others as Rust prints them.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// 16 random bytes with the version-4 and RFC 4122 variant bits set.
#[inline]
pub fn uuid_v4<R: Rng + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

/// The canonical `8-4-4-4-12` lowercase hex form of a UUID.
pub fn format_uuid<'a>(bytes: &[u8; 16], text: &'a mut [u8; 36]) -> &'a [u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut at = 0;
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text[at] = b'-';
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0x0f)];
        at += 2;
    }
    &text[..]
}

/// `2026-11-27T08:00:00.000Z` for a time in nanoseconds since the epoch.
pub fn rfc3339_millis(time_ns: i64) -> String {
    let time = chrono::DateTime::from_timestamp_nanos(time_ns);
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Domain, stream};

    #[test]
    fn uuids_have_the_version_4_form() {
        let mut rng = stream(1, Domain::Record, 0, 0);
        let mut text = [0u8; 36];
        let bytes = uuid_v4(&mut rng);
        let formatted = std::str::from_utf8(format_uuid(&bytes, &mut text))
            .unwrap()
            .to_string();
        let parsed = apache_avro::Uuid::parse_str(&formatted).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.as_bytes(), &bytes);
        assert_eq!(parsed.to_string(), formatted);
    }

    #[test]
    fn numbers_format_without_needless_fractions() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-2.5), "-2.5");
    }

    #[test]
    fn times_render_with_milliseconds_in_utc() {
        assert_eq!(
            rfc3339_millis(1_764_230_400_123_456_789),
            "2025-11-27T08:00:00.123Z"
        );
    }
}
