//! The times kafka-consumer-groups' `--reset-offsets` takes: `--to-datetime` and
//! `--by-duration`, each as Kafka parses it.

/// Kafka's `--to-datetime` (`Utils.getDateTime`) as epoch milliseconds:
/// `YYYY-MM-DDTHH:mm:SS[.sss]`, then a zone (`Z`, or an offset `+HH:mm`, `+HHmm` or `+HH`,
/// or `-` the same) or nothing, which Kafka reads as UTC (it appends `Z`). Dates are checked
/// strictly, as Kafka's non-lenient `SimpleDateFormat` does: `2026-02-31` is an error. One
/// difference: the fraction is a decimal fraction (`.5` is 500 ms), where Kafka's `SSS`
/// reads the digits as a count of milliseconds (`.5` is 5 ms); with Kafka's documented three
/// digits the two agree.
pub fn parse_datetime(text: &str) -> Result<i64, String> {
    let bad = |why: String| {
        format!(
            "--to-datetime '{text}' is not YYYY-MM-DDTHH:mm:SS[.sss] followed by Z, +HH:mm, \
             -HH:mm or nothing for UTC ({why})"
        )
    };
    let (civil, offset) = split_zone(text).ok_or_else(|| bad("bad zone offset".into()))?;
    let datetime = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S%.f", civil)
        .map_err(|e| bad(e.to_string()))?;
    let timestamp = offset
        .to_timestamp(datetime)
        .map_err(|e| bad(e.to_string()))?;
    Ok(timestamp.as_millisecond())
}

/// Splits a `--to-datetime` into its civil date and time and its zone offset (UTC when it
/// names none); `None` when the zone is malformed.
fn split_zone(text: &str) -> Option<(&str, jiff::tz::Offset)> {
    if let Some(civil) = text.strip_suffix('Z') {
        return Some((civil, jiff::tz::Offset::UTC));
    }
    // As Kafka's, the zone is looked for after the `T` only: the date has '-' too.
    let time_at = text.find('T').map_or(text.len(), |t| t + 1);
    let Some(sign_at) = text[time_at..].rfind(['+', '-']).map(|at| time_at + at) else {
        return Some((text, jiff::tz::Offset::UTC));
    };
    let digit = |b: &u8| b.is_ascii_digit().then(|| i32::from(b - b'0'));
    let two = |a: &u8, b: &u8| Some(digit(a)? * 10 + digit(b)?);
    let (hours, minutes) = match text.as_bytes()[sign_at + 1..] {
        [ref h1, ref h2] => (two(h1, h2)?, 0),
        [ref h1, ref h2, ref m1, ref m2] | [ref h1, ref h2, b':', ref m1, ref m2] => {
            (two(h1, h2)?, two(m1, m2)?)
        }
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let sign = if text.as_bytes()[sign_at] == b'-' {
        -1
    } else {
        1
    };
    let offset = jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()?;
    Some((&text[..sign_at], offset))
}

/// Kafka's `--by-duration` (Java's `Duration.parse`, ISO-8601 `PnDTnHnMnS`) in
/// milliseconds: an optional sign, `P`, days, then after `T` hours, minutes and seconds
/// (with a fraction), each part optional and signed, at least one given; letters in either
/// case.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "--by-duration '{text}' is not an ISO-8601 duration PnDTnHnMnS (e.g. PT1H, P1DT12H, \
             PT0.5S), as Java's Duration.parse reads"
        )
    };
    let pattern = regex::Regex::new(
        r"(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$",
    )
    .map_err(|e| e.to_string())?;
    let caps = pattern.captures(text).ok_or_else(bad)?;
    let part = |i: usize| caps.get(i).map(|m| m.as_str());
    let (days, hours, minutes, seconds) = (part(2), part(4), part(5), part(6));
    // Java: a `T` must be followed by something, and something must be given.
    if part(3) == Some("T")
        || part(3) == Some("t")
        || [days, hours, minutes, seconds].iter().all(Option::is_none)
    {
        return Err(bad());
    }
    // Java's `Math.multiplyExact`/`addExact`: a value too large is refused, never wrapped.
    let number = |text: Option<&str>, unit_ms: i128| -> Result<i128, String> {
        let n: i128 = text.map_or(Ok(0), |t| t.parse().map_err(|_| bad()))?;
        n.checked_mul(unit_ms).ok_or_else(bad)
    };
    let parts = [
        number(days, 86_400_000)?,
        number(hours, 3_600_000)?,
        number(minutes, 60_000)?,
        number(seconds, 1000)?,
    ];
    let mut millis = parts
        .into_iter()
        .try_fold(0i128, i128::checked_add)
        .ok_or_else(bad)?;
    if let Some(fraction) = part(7).filter(|f| !f.is_empty()) {
        let digits = format!("{fraction:0<9}");
        let nanos: i128 = digits.parse().map_err(|_| bad())?;
        let negative = seconds.is_some_and(|s| s.starts_with('-'));
        millis += if negative { -nanos } else { nanos } / 1_000_000;
    }
    if part(1) == Some("-") {
        millis = -millis;
    }
    i64::try_from(millis).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::{parse_datetime, parse_duration};
    use proptest::prelude::*;

    /// Java's `Duration.parse` examples: "PT20.345S", "PT15M", "PT10H", "P2D",
    /// "P2DT3H4M", "PT-6H3M" (-6 h + 3 min), "-PT6H3M", "-PT-6H+3M".
    #[test]
    fn durations_read_as_javas_duration_parse() {
        let cases = [
            ("PT20.345S", 20_345),
            ("PT15M", 900_000),
            ("PT10H", 36_000_000),
            ("P2D", 172_800_000),
            ("P2DT3H4M", 183_840_000),
            ("PT-6H3M", -21_420_000),
            ("-PT6H3M", -21_780_000),
            ("-PT-6H+3M", 21_420_000),
            ("pt1h", 3_600_000),
            ("PT0.5S", 500),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_duration(text), Ok(millis), "{text}");
        }
        for bad in [
            "", "P", "PT", "1H", "PT1", "P1H", "PT1D", "P1W", "1 hour", "PT1.5M",
        ] {
            assert!(
                parse_duration(bad).unwrap_err().contains("--by-duration"),
                "{bad}"
            );
        }
    }

    #[test]
    fn datetimes_are_epoch_millis_utc_unless_a_zone_is_given() {
        let cases = [
            ("1970-01-01T00:00:00", 0),
            ("1970-01-01T00:00:00.000", 0),
            ("2026-11-24T19:20:48.5Z", 1_795_548_048_500),
            ("2026-11-24T19:20:48.500", 1_795_548_048_500),
            ("2000-03-01T00:00:00.001", 951_868_800_001),
            ("2000-02-29T12:00:00Z", 951_825_600_000),
            // Kafka's examples: +08:00, +0800 and +08 are the same zone.
            ("2020-11-10T16:51:38.198+08:00", 1_604_998_298_198),
            ("2020-11-10T16:51:38.198+0800", 1_604_998_298_198),
            ("2020-11-10T16:51:38.198+08", 1_604_998_298_198),
            ("2020-11-10T08:51:38.198Z", 1_604_998_298_198),
            ("1970-01-01T00:00:00-01:30", 5_400_000),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_datetime(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn bad_datetimes_are_refused() {
        let bad = [
            "",
            "yesterday",
            "2026-02-31T00:00:00",
            "2025-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-00-10T00:00:00",
            "2026-01-32T00:00:00",
            "2026-01-01T24:00:00",
            "2026-01-01T23:60:00",
            "2026-01-01T23:59:61",
            "2026-01-01",
            "2026-01-01T",
            "2026-01-01T10:00",
            "2026-01-01 10:00:00",
            "2026-01-01T10:00:00ZZ",
            "2026-01-01T10:00:00+",
            "2026-01-01T10:00:00+1",
            "2026-01-01T10:00:00+24:00",
            "2026-01-01T10:00:00+08:60",
            "2026-01-01T10:00:00+08:00:00",
            "2026-01-01T10:00:00+0é",
            "2026-01-01T10:00:00.",
            "2026-01-01T10:00:00.1234567891",
            "T+08",
            "-",
            "+",
            "Z",
            "é-é+é",
        ];
        for text in bad {
            let err = parse_datetime(text).expect_err(text);
            assert!(err.contains("--to-datetime"), "{err}");
        }
    }

    proptest! {
        /// No input panics: any string, and strings made of the formats' own characters.
        #[test]
        fn no_input_panics(text in any::<String>(), near in "[0-9T:.Z+-]{0,32}", d in "[-+0-9PTDHMS.]{0,64}") {
            let _ = parse_datetime(&text);
            let _ = parse_datetime(&near);
            let _ = parse_duration(&text);
            let _ = parse_duration(&d);
        }
    }
}
