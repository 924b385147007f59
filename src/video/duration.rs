//! Durations as recipes write them (`"500ms"`, `"1.5s"`, `"2m"`, a bare number).

/// Parses a duration as written in recipes: `"500ms"`, `"1s"`, `"1.5s"`, `"2m"`,
/// `"1h"`, or a bare number of seconds (`"3"`). Returns seconds; zero, negative and
/// non-finite durations are errors.
pub(crate) fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. \"500ms\", \"1s\", \"2m\")"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (use ms, s, m or h)"
            ));
        }
    };
    let seconds = value * scale;
    if seconds.is_finite() && seconds > 0.0 {
        Ok(seconds)
    } else {
        Err(format!("`{text}` must be a positive duration"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, want) in [
            ("500ms", 0.5),
            ("1s", 1.0),
            ("1.5s", 1.5),
            (" 2m ", 120.0),
            ("2min", 120.0),
            ("3", 3.0),
            ("0.25", 0.25),
            ("1h", 3600.0),
            ("10 sec", 10.0),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in [
            "", "s", "ms", "1 parsec", "-1s", "0", "0ms", "inf", "NaN", "1e400",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
