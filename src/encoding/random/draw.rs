//! Small, portable draws: integers in a range, readable words and decimal bytes.
//!
//! Everything here uses only `next_u32`/`next_u64`/`fill_bytes` of the generator and integer
//! arithmetic, so a seed gives the same values on every platform and with every version of
//! `rand` that keeps the generator's output sequence. Uniform integers come from
//! [`crate::sim::rng::below`] and UUIDs from [`crate::encoding::record::uuid_v4`], so that
//! scenario fields and random fields draw them the same way.

use rand::Rng;

pub(super) use crate::sim::rng::below;

/// A uniform integer in `low..=high`.
#[inline]
pub(super) fn between<R: Rng + ?Sized>(rng: &mut R, low: i64, high: i64) -> i64 {
    debug_assert!(low <= high);
    let span = high.wrapping_sub(low) as u64;
    match span.checked_add(1) {
        Some(count) => low.wrapping_add(below(rng, count) as i64),
        None => rng.next_u64() as i64,
    }
}

/// True once in `n` draws.
#[inline]
pub(super) fn one_in<R: Rng + ?Sized>(rng: &mut R, n: u64) -> bool {
    below(rng, n) == 0
}

/// The longest word [`word`] makes.
pub(super) const WORD_MAX: usize = 8;

/// A pronounceable lowercase word of two to four consonant-vowel syllables (`kovali`).
pub(super) fn word<'a, R: Rng + ?Sized>(rng: &mut R, buffer: &'a mut [u8; WORD_MAX]) -> &'a [u8] {
    const CONSONANTS: &[u8; 16] = b"bdfghjklmnprstvz";
    const VOWELS: &[u8; 5] = b"aeiou";

    let syllables = 2 + below(rng, 3) as usize;
    for syllable in 0..syllables {
        let draw = below(rng, 16 * 5) as usize;
        buffer[2 * syllable] = CONSONANTS[draw / 5];
        buffer[2 * syllable + 1] = VOWELS[draw % 5];
    }
    &buffer[..2 * syllables]
}

/// The shortest big-endian two's-complement form of `value` (at least one byte).
pub(super) fn minimal_twos_complement(value: i128) -> ([u8; 16], usize) {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let redundant_zero = bytes[start] == 0x00 && bytes[start + 1] & 0x80 == 0;
        let redundant_ones = bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0;
        if !(redundant_zero || redundant_ones) {
            break;
        }
        start += 1;
    }
    (bytes, start)
}

/// Appends `value` as exactly `size` big-endian two's-complement bytes, sign-extended.
///
/// `value` must fit in `size` bytes; the caller bounds it when compiling the schema.
pub(super) fn write_sign_extended(out: &mut Vec<u8>, value: i128, size: usize) {
    let bytes = value.to_be_bytes();
    let sign = if value < 0 { 0xff } else { 0x00 };
    if size > bytes.len() {
        out.resize(out.len() + size - bytes.len(), sign);
        out.extend_from_slice(&bytes);
    } else {
        out.extend_from_slice(&bytes[bytes.len() - size..]);
    }
}

/// How many bytes `value` takes as a zig-zag varint.
pub(super) fn varint_len(value: i64) -> usize {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    let mut length = 1;
    while zigzag >= 0x80 {
        zigzag >>= 7;
        length += 1;
    }
    length
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn between_includes_both_ends_and_handles_the_full_range() {
        let mut rng = Pcg64Mcg::new(2);
        let draws: Vec<i64> = (0..200).map(|_| between(&mut rng, -2, 2)).collect();
        assert!(draws.iter().all(|value| (-2..=2).contains(value)));
        assert!(draws.contains(&-2) && draws.contains(&2));
        let _ = between(&mut rng, i64::MIN, i64::MAX);
    }

    #[test]
    fn words_are_lowercase_syllables_of_readable_length() {
        let mut rng = Pcg64Mcg::new(3);
        let mut buffer = [0u8; WORD_MAX];
        for _ in 0..500 {
            let word = word(&mut rng, &mut buffer);
            assert!((4..=WORD_MAX).contains(&word.len()), "{word:?}");
            assert!(word.iter().all(u8::is_ascii_lowercase));
        }
    }

    #[test]
    fn twos_complement_forms_are_minimal_or_sign_extended() {
        let minimal = |value: i128| {
            let (bytes, start) = minimal_twos_complement(value);
            bytes[start..].to_vec()
        };
        assert_eq!(minimal(0), [0x00]);
        assert_eq!(minimal(127), [0x7f]);
        assert_eq!(minimal(128), [0x00, 0x80]);
        assert_eq!(minimal(-1), [0xff]);
        assert_eq!(minimal(-128), [0x80]);
        assert_eq!(minimal(-129), [0xff, 0x7f]);

        let extended = |value: i128, size: usize| {
            let mut out = Vec::new();
            write_sign_extended(&mut out, value, size);
            out
        };
        assert_eq!(extended(-2, 3), [0xff, 0xff, 0xfe]);
        assert_eq!(extended(258, 2), [0x01, 0x02]);
        assert_eq!(extended(-1, 18)[..3], [0xff, 0xff, 0xff]);
        assert_eq!(extended(5, 18).len(), 18);
        assert_eq!(extended(0, 0), Vec::<u8>::new());
    }

    #[test]
    fn varint_lengths_match_the_encoder() {
        for value in [0, 1, -1, 63, -64, 64, 8191, 8192, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            crate::encoding::binary::write_long(&mut out, value);
            assert_eq!(varint_len(value), out.len(), "value {value}");
        }
    }
}
