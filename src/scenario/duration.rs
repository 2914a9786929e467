//! Durations as scenario files write them: `250ms`, `40s`, `2m`, `1h`, `1h30m`, `1.5s`.
//!
//! A duration is one or more `NUMBER UNIT` parts, largest unit first, with units `ms`, `s`, `m`
//! and `h`. A bare number is refused: `40` could mean seconds or milliseconds, and a wrong guess
//! would silently stretch a load profile by a factor of a thousand.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A non-negative span of simulated time, held in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration {
    nanos: u64,
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration { nanos: 0 };

    pub fn from_nanos(nanos: u64) -> Self {
        SimDuration { nanos }
    }

    pub fn from_secs_f64(seconds: f64) -> Self {
        SimDuration {
            nanos: (seconds * 1e9).round().max(0.0) as u64,
        }
    }

    pub fn as_nanos(self) -> u64 {
        self.nanos
    }

    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }
}

const UNITS: [(&str, u64); 4] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
];

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "`{0}` is not a duration: it has no unit; write it like `40s`, `250ms`, `2m` or `1h30m`"
    )]
    MissingUnit(String),
    #[error("`{0}` is not a duration; write it like `40s`, `250ms`, `2m` or `1h30m`")]
    Malformed(String),
    #[error("`{text}` is not a duration: unknown unit `{unit}`; the units are ms, s, m and h")]
    UnknownUnit { text: String, unit: String },
    #[error("`{0}` is not a duration: units must go from largest to smallest, each once")]
    UnitOrder(String),
}

impl FromStr for SimDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DurationError::Malformed(text.to_string()));
        }
        if trimmed.parse::<f64>().is_ok() {
            return Err(DurationError::MissingUnit(text.to_string()));
        }

        let mut nanos: f64 = 0.0;
        let mut rest = trimmed;
        let mut last_unit_rank: Option<usize> = None;
        while !rest.is_empty() {
            // One part: a number, then letters naming the unit.
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(0);
            if number_len == 0 {
                return Err(DurationError::Malformed(text.to_string()));
            }
            let number: f64 = rest[..number_len]
                .parse()
                .map_err(|_| DurationError::Malformed(text.to_string()))?;
            rest = &rest[number_len..];

            let unit_len = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let Some(rank) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(DurationError::UnknownUnit {
                    text: text.to_string(),
                    unit: unit.to_string(),
                });
            };
            if last_unit_rank.is_some_and(|last| rank <= last) {
                return Err(DurationError::UnitOrder(text.to_string()));
            }
            last_unit_rank = Some(rank);
            nanos += number * UNITS[rank].1 as f64;
        }
        Ok(SimDuration {
            nanos: nanos.round() as u64,
        })
    }
}

impl fmt::Display for SimDuration {
    /// Writes the duration in the same notation it is read in, e.g. `1h30m` or `250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.nanos;
        for (name, size) in UNITS {
            if rest >= size {
                write!(f, "{}{name}", rest / size)?;
                rest %= size;
            }
        }
        if rest > 0 {
            write!(f, "{rest}ns")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> f64 {
        text.parse::<SimDuration>().unwrap().as_secs_f64()
    }

    #[test]
    fn reads_every_documented_form() {
        assert_eq!(secs("250ms"), 0.25);
        assert_eq!(secs("40s"), 40.0);
        assert_eq!(secs("2m"), 120.0);
        assert_eq!(secs("1h"), 3600.0);
        assert_eq!(secs("1h30m"), 5400.0);
        assert_eq!(secs("1.5s"), 1.5);
        assert_eq!(secs("1m30s500ms"), 90.5);
    }

    #[test]
    fn refuses_bare_numbers_unknown_units_and_disorder() {
        assert!(matches!(
            "40".parse::<SimDuration>(),
            Err(DurationError::MissingUnit(_))
        ));
        assert!(matches!(
            "4d".parse::<SimDuration>(),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            "30m1h".parse::<SimDuration>(),
            Err(DurationError::UnitOrder(_))
        ));
        assert!(matches!(
            "s".parse::<SimDuration>(),
            Err(DurationError::Malformed(_))
        ));
        assert!(matches!(
            "".parse::<SimDuration>(),
            Err(DurationError::Malformed(_))
        ));
    }

    #[test]
    fn displays_in_the_notation_it_reads() {
        for text in ["250ms", "40s", "2m", "1h30m", "1h", "1m30s500ms"] {
            assert_eq!(text.parse::<SimDuration>().unwrap().to_string(), text);
        }
    }
}
