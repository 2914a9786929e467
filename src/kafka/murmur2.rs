//! The partition Kafka's Java client gives a keyed record, so simrun can check where its records
//! landed.
//!
//! The producer uses librdkafka's `murmur2_random` partitioner, which promises the choice of
//! Java's default partitioner: `(murmur2(key) & 0x7fffffff) % partitions`. Verification checks
//! that promise on every record read back, with the hash below written to match Kafka's
//! `Utils.murmur2` bit for bit (the tests hold vectors computed by Kafka's own Java code).

/// Kafka's 32-bit murmur2 hash of `data`, as the signed number Java returns.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut hash = SEED ^ data.len() as u32;

    // Whole 4-byte words, little-endian.
    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        hash = hash.wrapping_mul(M);
        hash ^= k;
    }

    // The last one to three bytes.
    let tail = words.remainder();
    if !tail.is_empty() {
        for (index, byte) in tail.iter().enumerate().rev() {
            hash ^= u32::from(*byte) << (8 * index);
        }
        hash = hash.wrapping_mul(M);
    }

    hash ^= hash >> 13;
    hash = hash.wrapping_mul(M);
    hash ^= hash >> 15;
    hash as i32
}

/// The partition, out of `partitions`, that Java's default partitioner picks for `key`.
///
/// `partitions` must be positive.
pub fn partition_for(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(key, Utils.murmur2, partition of 3, partition of 7)`, printed by Kafka 4.1.1's Java code
    /// through tools/kafka/Murmur2Vectors.java.
    const JAVA_VECTORS: [(&str, i32, i32, i32); 15] = [
        ("", 275646681, 0, 2),
        ("a", -1563381124, 1, 5),
        ("ab", 316155434, 2, 0),
        ("abc", 479470107, 0, 4),
        ("abcd", -1323649548, 2, 5),
        ("abcde", 461995741, 1, 4),
        ("user-1", 1404122828, 2, 3),
        ("user-42", 1459644460, 1, 1),
        ("user-12345", -243491053, 1, 1),
        ("user-199999", -1773400386, 2, 0),
        ("21", -973932308, 0, 3),
        ("hello, world", 853996457, 2, 6),
        ("été", -2101193575, 1, 4),
        ("日本語", 1431860170, 1, 6),
        (
            "the quick brown fox jumps over the lazy dog",
            -890066680,
            1,
            3,
        ),
    ];

    #[test]
    fn hashes_match_kafkas_java_implementation() {
        for (key, hash, _, _) in JAVA_VECTORS {
            assert_eq!(murmur2(key.as_bytes()), hash, "murmur2 of {key:?}");
        }
    }

    #[test]
    fn bytes_above_127_hash_as_java_hashes_them() {
        assert_eq!(murmur2(&[0xff, 0x80, 0x7f, 0x00, 0xfe]), -1958495739);
    }

    #[test]
    fn partitions_match_javas_default_partitioner() {
        for (key, _, of_3, of_7) in JAVA_VECTORS {
            assert_eq!(partition_for(key.as_bytes(), 3), of_3, "{key:?} among 3");
            assert_eq!(partition_for(key.as_bytes(), 7), of_7, "{key:?} among 7");
        }
    }
}
