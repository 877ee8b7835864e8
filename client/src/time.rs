//! Event times: RFC 3339 UTC text <-> milliseconds since 1970 (the protocol's `time`).

/// Why a time was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time {input:?}: {reason} (use milliseconds since 1970 or RFC 3339 such as 2026-03-01T08:30:00Z)")]
pub struct TimeError {
    input: String,
    reason: &'static str,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Howard Hinnant's algorithm, proleptic Gregorian calendar.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// True for a UTC month as the time-release report names it: `YYYY-MM`, year 1970-9999,
/// month 01-12 (the node refuses anything else with 400 `invalid_period`).
pub fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 7 || b.get(4) != Some(&b'-') {
        return false;
    }
    let number = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|d| d.parse::<u32>().ok())
    };
    number(0..4).is_some_and(|y| y >= 1970) && number(5..7).is_some_and(|m| (1..=12).contains(&m))
}

/// The last millisecond RFC 3339 can write (four-digit years): 9999-12-31T23:59:59.999Z.
pub const MAX_TIME_MS: u64 = 253_402_300_799_999;

/// This machine's clock: milliseconds since 1970 (0 before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Parses milliseconds (`1767225600000`) or RFC 3339 (`2026-01-01T00:00:00Z`,
/// `2026-01-01T01:00:00.250+01:00`) into milliseconds since 1970, at most [`MAX_TIME_MS`] (so
/// that every time parsed is one [`format_time`] writes back).
pub fn parse_time(s: &str) -> Result<u64, TimeError> {
    let e = |reason| TimeError {
        input: s.chars().take(40).collect(),
        reason,
    };
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let ms: u64 = s.parse().map_err(|_| e("number too large"))?;
        if ms > MAX_TIME_MS {
            return Err(e("after 9999-12-31T23:59:59.999Z"));
        }
        return Ok(ms);
    }
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(e("not RFC 3339"));
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, TimeError> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| e("not RFC 3339"))
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(i64::from(y), mo)
        || h > 23
        || mi > 59
        || sec > 59
    {
        return Err(e("date or time out of range"));
    }
    let mut i = 19;
    let mut millis = 0u64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        if frac.is_empty() {
            return Err(e("empty fraction"));
        }
        let padded: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
        millis = padded.parse().map_err(|_| e("bad fraction"))?;
    }
    let offset_min: i64 = match &s[i..] {
        "Z" | "z" => 0,
        off if off.len() == 6
            && (off.starts_with('+') || off.starts_with('-'))
            && off.as_bytes()[3] == b':' =>
        {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return Err(e("offset out of range"));
            }
            let m = i64::from(oh * 60 + om);
            if off.starts_with('-') {
                -m
            } else {
                m
            }
        }
        _ => return Err(e("missing or bad time zone offset")),
    };
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_min * 60;
    if secs < 0 {
        return Err(e("before 1970"));
    }
    let ms = secs as u64 * 1000 + millis;
    if ms > MAX_TIME_MS {
        return Err(e("after 9999-12-31T23:59:59.999Z"));
    }
    Ok(ms)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Formats milliseconds since 1970 as RFC 3339 UTC with milliseconds only when non-zero.
pub fn format_time(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    match ms % 1000 {
        0 => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        f => format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        assert!(is_month("2026-12") && is_month("1970-01"));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "+026-01",
            "1969-12",
            "２０２６-01",
        ] {
            assert!(!is_month(bad), "{bad}");
        }
    }

    #[test]
    fn table() {
        let ok = [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-01-01T00:00:00Z", 1_767_225_600_000),
            ("2026-01-01T01:00:00.25+01:00", 1_767_225_600_250),
            ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
            ("1767225600000", 1_767_225_600_000),
        ];
        for (s, want) in ok {
            assert_eq!(parse_time(s), Ok(want), "{s}");
        }
        for bad in [
            "2025-02-29T00:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00",
            "yesterday",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    /// Found by the `time_parse` fuzz target (client/fuzz): milliseconds beyond year 9999 were
    /// accepted, and `format_time` wrote them with a six-digit year no parser reads back.
    #[test]
    fn milliseconds_beyond_year_9999_are_refused() {
        assert_eq!(format_time(MAX_TIME_MS), "9999-12-31T23:59:59.999Z");
        assert_eq!(parse_time("253402300799999"), Ok(MAX_TIME_MS));
        assert_eq!(parse_time("9999-12-31T23:59:59.999Z"), Ok(MAX_TIME_MS));
        for bad in [
            "253402300800000",
            "17672254000600000",
            "9999-12-31T23:59:59.999-00:01",
        ] {
            let err = parse_time(bad).unwrap_err().to_string();
            assert!(
                err.contains("after 9999-12-31T23:59:59.999Z"),
                "{bad}: {err}"
            );
        }
    }

    /// Found by the `time_parse` fuzz target: a six-byte offset with a multi-byte character
    /// (`+4ϼ00`) was sliced inside the character and panicked.
    #[test]
    fn offsets_with_non_ascii_characters_are_refused() {
        for bad in [
            "2026-01-01T00:00:00+4\u{3fc}00",
            "2026-01-01T00:00:00+\u{e9}:00",
            "2026-01-01T00:00:00+01\u{2236}0",
        ] {
            let err = parse_time(bad).unwrap_err().to_string();
            assert!(err.contains("invalid time"), "{bad}: {err}");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [
            0u64,
            1_767_225_600_000,
            1_709_251_199_999,
            4_102_444_800_123,
        ] {
            assert_eq!(parse_time(&format_time(ms)), Ok(ms));
        }
    }
}
