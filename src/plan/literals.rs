//! Literal values written in a scenario (`constant`, `one_of`, `weighted`), encoded once.
//!
//! A literal is read as the field's Avro type: a number for numeric fields, a symbol for enums,
//! `true`/`false` for booleans, `null` or `~` for a union's null branch. For a union the first
//! branch the literal fits is used, and its index is encoded with it, so at run time choosing a
//! value is copying its bytes.

use apache_avro::Schema;
use apache_avro::schema::UuidSchema;
use rand_distr::weighted::WeightedAliasIndex;

use super::distribution::Checker;
use crate::diagnostics::Position;
use crate::encoding::binary::{
    write_bool, write_bytes, write_double, write_float, write_long, write_string, write_union_index,
};
use crate::encoding::record::ValueWriter;
use crate::scenario::Located;

pub(super) fn weighted(
    what: &str,
    values: Vec<Located<String>>,
    weights: Vec<f64>,
    branches: &[(Option<usize>, &Schema)],
    type_name: &str,
    at: Position,
    cx: &mut Checker<'_>,
) -> Option<(Option<usize>, ValueWriter)> {
    if values.is_empty() || weights.iter().sum::<f64>() <= 0.0 {
        cx.error(
            at,
            format!("{what}: `weighted` needs at least one positive weight"),
            None,
        );
        return None;
    }
    let refs: Vec<&Located<String>> = values.iter().collect();
    let encoded = encode_all(what, &refs, branches, type_name, cx)?;
    let table = WeightedAliasIndex::new(weights).ok()?;
    Some((None, ValueWriter::Weighted(table, encoded)))
}

pub(super) fn encode_all(
    what: &str,
    values: &[&Located<String>],
    branches: &[(Option<usize>, &Schema)],
    type_name: &str,
    cx: &mut Checker<'_>,
) -> Option<Vec<Box<[u8]>>> {
    let mut encoded = Vec::with_capacity(values.len());
    let mut ok = true;
    for value in values {
        match encode_literal(&value.value, branches) {
            Some(bytes) => encoded.push(bytes),
            None => {
                let message = format!("{what}: `{}` is not a valid {type_name}", value.value);
                cx.error(value.at, message, None);
                ok = false;
            }
        }
    }
    ok.then_some(encoded)
}

/// Encodes a literal written in the scenario as a value of the first branch it fits.
fn encode_literal(text: &str, branches: &[(Option<usize>, &Schema)]) -> Option<Box<[u8]>> {
    let is_null = matches!(text, "null" | "~");
    for (branch, schema) in branches {
        let mut out = Vec::new();
        if let Some(index) = branch {
            write_union_index(&mut out, *index);
        }
        let fits = match schema {
            Schema::Null => is_null,
            _ if is_null && branches.iter().any(|(_, s)| matches!(s, Schema::Null)) => false,
            Schema::Boolean => match text {
                "true" => {
                    write_bool(&mut out, true);
                    true
                }
                "false" => {
                    write_bool(&mut out, false);
                    true
                }
                _ => false,
            },
            Schema::Int | Schema::Date | Schema::TimeMillis => text
                .parse::<i32>()
                .map(|n| write_long(&mut out, i64::from(n)))
                .is_ok(),
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => {
                text.parse::<i64>().map(|n| write_long(&mut out, n)).is_ok()
            }
            Schema::Float => text
                .parse::<f32>()
                .map(|n| write_float(&mut out, n))
                .is_ok(),
            Schema::Double => text
                .parse::<f64>()
                .map(|n| write_double(&mut out, n))
                .is_ok(),
            Schema::String => {
                write_string(&mut out, text);
                true
            }
            Schema::Uuid(UuidSchema::String) => match apache_avro::Uuid::parse_str(text) {
                Ok(uuid) => {
                    write_string(&mut out, &uuid.to_string());
                    true
                }
                Err(_) => false,
            },
            Schema::Bytes => {
                write_bytes(&mut out, text.as_bytes());
                true
            }
            Schema::Enum(enumeration) => match enumeration.symbols.iter().position(|s| s == text) {
                Some(index) => {
                    write_long(&mut out, index as i64);
                    true
                }
                None => false,
            },
            Schema::Fixed(fixed) if fixed.size == text.len() => {
                out.extend_from_slice(text.as_bytes());
                true
            }
            _ => false,
        };
        if fits {
            return Some(out.into_boxed_slice());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_take_the_first_union_branch_they_fit() {
        let schema = Schema::parse_str(r#"["null", "int", "string"]"#).unwrap();
        let Schema::Union(union) = &schema else {
            panic!("a union")
        };
        let branches: Vec<_> = union
            .variants()
            .iter()
            .enumerate()
            .map(|(i, s)| (Some(i), s))
            .collect();
        assert_eq!(
            encode_literal("null", &branches).as_deref(),
            Some(&[0u8][..])
        );
        assert_eq!(
            encode_literal("3", &branches).as_deref(),
            Some(&[2u8, 6][..])
        );
        assert_eq!(
            encode_literal("x", &branches).as_deref(),
            Some(&[4u8, 2, b'x'][..])
        );
    }
}
