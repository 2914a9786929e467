//! Avro's binary encoding of primitive values, written straight into a reusable buffer.
//!
//! Every event simrun emits is encoded by these few functions, so they avoid allocation and
//! intermediate value trees: a long is a zig-zag varint, a string is its length and its bytes, a
//! union branch is its index as a long. Complex values are sequences of these calls driven by the
//! schema. The reference decoder in `apache-avro` checks them in the tests.

/// Appends a `long` (or an `int`, whose encoding is the same) as a zig-zag varint.
#[inline]
pub fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends an `int`.
#[inline]
pub fn write_int(out: &mut Vec<u8>, value: i32) {
    write_long(out, i64::from(value));
}

/// Appends a `boolean` as one byte.
#[inline]
pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

/// Appends a `float` as four little-endian bytes.
#[inline]
pub fn write_float(out: &mut Vec<u8>, value: f32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a `double` as eight little-endian bytes.
#[inline]
pub fn write_double(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `bytes`: the length as a long, then the bytes.
#[inline]
pub fn write_bytes(out: &mut Vec<u8>, value: &[u8]) {
    write_long(out, value.len() as i64);
    out.extend_from_slice(value);
}

/// Appends a `string`: the length of its UTF-8 form as a long, then the UTF-8 bytes.
#[inline]
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    write_bytes(out, value.as_bytes());
}

/// Appends the branch index that starts a union value.
#[inline]
pub fn write_union_index(out: &mut Vec<u8>, index: usize) {
    write_long(out, index as i64);
}

/// Appends a string made of `prefix` followed by `number` in decimal, without allocating.
///
/// User ids (`user-42`) and other generated identifiers take this path on every event.
#[inline]
pub fn write_prefixed_decimal(out: &mut Vec<u8>, prefix: &str, number: u64) {
    let mut digits = [0u8; 20];
    let text = decimal(number, &mut digits);
    write_long(out, (prefix.len() + text.len()) as i64);
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(text);
}

/// Writes `number` in decimal into `buffer` and returns the digits.
#[inline]
pub fn decimal(mut number: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    &buffer[start..]
}

/// Reads a zig-zag varint from the front of `input`, returning the value and the bytes used.
///
/// Returns `None` when the input ends inside the varint or the varint is longer than a long.
pub fn read_long(input: &[u8]) -> Option<(i64, usize)> {
    let mut value: u64 = 0;
    for (index, byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            let decoded = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Some((decoded, index + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::{Schema, types::Value, writer::datum::GenericDatumWriter};

    fn reference(value: Value, schema: &Schema) -> Vec<u8> {
        GenericDatumWriter::builder(schema)
            .build()
            .and_then(|writer| writer.write_value_to_vec(value))
            .expect("the reference encoder accepts the value")
    }

    #[test]
    fn longs_match_the_reference_encoder_across_the_range() {
        let schema = Schema::Long;
        for value in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            300,
            -300,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            write_long(&mut out, value);
            assert_eq!(out, reference(Value::Long(value), &schema), "long {value}");
            assert_eq!(read_long(&out), Some((value, out.len())));
        }
    }

    #[test]
    fn strings_floats_and_doubles_match_the_reference_encoder() {
        let mut out = Vec::new();
        write_string(&mut out, "grüße");
        assert_eq!(
            out,
            reference(Value::String("grüße".into()), &Schema::String)
        );

        out.clear();
        write_float(&mut out, 2.5);
        assert_eq!(out, reference(Value::Float(2.5), &Schema::Float));

        out.clear();
        write_double(&mut out, -0.1);
        assert_eq!(out, reference(Value::Double(-0.1), &Schema::Double));
    }

    #[test]
    fn prefixed_decimals_are_encoded_as_one_string() {
        for number in [0, 7, 10, 42, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            write_prefixed_decimal(&mut out, "user-", number);
            let expected = reference(Value::String(format!("user-{number}")), &Schema::String);
            assert_eq!(out, expected, "number {number}");
        }
    }

    #[test]
    fn truncated_varints_are_refused() {
        assert_eq!(read_long(&[0x80, 0x80]), None);
        assert_eq!(read_long(&[]), None);
    }
}
