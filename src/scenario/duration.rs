//! Durations in scenario files: `"100ms"`, `"3s"`, `"2m"`, `"1h"`, `"28d"` or a plain number of seconds.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A non-negative span of simulated time, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Seconds(pub f64);

impl Seconds {
    pub const fn new(seconds: f64) -> Self {
        Self(seconds)
    }

    pub const fn millis(ms: f64) -> Self {
        Self(ms / 1000.0)
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// Parses `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"1d"` and sums like `"1h30m"`;
/// a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "invalid duration \"{text}\": expected a number and a unit such as \"250ms\", \"3s\", \"2m\", \"1h30m\" or \"28d\""
        )
    };
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Ok(seconds);
    }
    let mut rest = text;
    let mut total = 0.0;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(split);
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit.trim() {
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => return Err(invalid()),
            other => {
                return Err(format!(
                    "unknown duration unit \"{other}\" in \"{text}\": use ms, s, m, h or d"
                ));
            }
        };
        total += value * scale;
        rest = tail;
    }
    Ok(total)
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0.0 && s.abs() < 1.0 {
            write!(f, "{}ms", round(s * 1000.0))
        } else if s >= 86_400.0 && (s / 86_400.0).fract() == 0.0 {
            write!(f, "{}d", s / 86_400.0)
        } else if s >= 3600.0 && (s / 3600.0).fract() == 0.0 {
            write!(f, "{}h", s / 3600.0)
        } else if s >= 60.0 && (s / 60.0).fract() == 0.0 {
            write!(f, "{}m", s / 60.0)
        } else if s > 60.0 && s.fract() == 0.0 {
            write!(f, "{}m{}s", (s / 60.0).floor(), s % 60.0)
        } else {
            write!(f, "{}s", round(s))
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// The longest time any duration may be: a year. Runs, requests, timeouts and faults all
/// fit; anything longer is a typo or an attack, and the engine is spared it.
pub const MAX_TIME_S: f64 = 365.0 * 86_400.0;

/// A duration as the format allows it: a finite number of seconds, at most [`MAX_TIME_S`]
/// either way (negative ones are judged where they are used).
fn bounded(seconds: f64) -> Result<Seconds, String> {
    if !seconds.is_finite() {
        Err(format!(
            "a duration must be a finite number of seconds (got {seconds})"
        ))
    } else if seconds.abs() > MAX_TIME_S {
        Err(format!(
            "a duration is at most 365d (got {seconds}s): longer is beyond what a run can use"
        ))
    } else {
        Ok(Seconds(seconds))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as \"250ms\", \"3s\", \"2m\", \"1h\" or a number of seconds",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_duration(v).and_then(bounded).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                bounded(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                bounded(v as f64).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                bounded(v as f64).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration("3s").unwrap(), 3.0);
        assert_eq!(parse_duration("2m").unwrap(), 120.0);
        assert_eq!(parse_duration("1h").unwrap(), 3600.0);
        assert_eq!(parse_duration("28d").unwrap(), 28.0 * 86_400.0);
        assert_eq!(parse_duration("1.5").unwrap(), 1.5);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert!((parse_duration("800us").unwrap() - 0.0008).abs() < 1e-15);
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5 5").is_err());
        assert!(
            parse_duration("3 parsecs")
                .unwrap_err()
                .contains("unknown duration unit")
        );
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn displays_round_trip() {
        for text in ["100ms", "3s", "2m", "1h", "28d", "1.5s", "9m12s"] {
            let secs = Seconds(parse_duration(text).unwrap());
            assert_eq!(secs.to_string(), text);
        }
    }
}
