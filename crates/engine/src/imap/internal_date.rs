//! IMAP INTERNALDATE (`date-time`, RFC 3501): ` 2-Jan-2024 10:00:00 +0100` ⇄ Unix seconds.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an INTERNALDATE; `None` for anything malformed.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ')?;
    let (clock, zone) = rest.trim().split_once(' ')?;
    let mut d = date.split('-');
    let day: u8 = d.next()?.trim().parse().ok()?;
    let name = d.next()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))? as u8 + 1;
    let year: i32 = d.next()?.parse().ok()?;
    let mut c = clock.split(':');
    let (h, m, s): (u8, u8, u8) = (
        c.next()?.parse().ok()?,
        c.next()?.parse().ok()?,
        c.next()?.parse().ok()?,
    );
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = zone.get(1..5)?;
    let (zh, zm): (i8, i8) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    let offset = UtcOffset::from_hms(sign * zh, sign * zm, 0).ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let at = PrimitiveDateTime::new(date, Time::from_hms(h, m, s).ok()?).assume_offset(offset);
    Some(at.unix_timestamp())
}

/// Formats Unix seconds as a quoted INTERNALDATE in UTC, for APPEND.
pub fn format(seconds: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(format!(
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(parse(" 1-Jan-1970 00:00:00 +0000"), Some(0));
        assert_eq!(parse("02-Jan-2024 10:00:00 +0100"), Some(1_704_186_000));
        assert_eq!(parse("2-jan-2024 09:00:00 -0000"), Some(1_704_186_000));
        assert_eq!(parse("32-Jan-2024 09:00:00 +0000"), None);
        assert_eq!(parse("nonsense"), None);
        let shown = format(1_704_186_000).unwrap();
        assert_eq!(shown, "\"02-Jan-2024 09:00:00 +0000\"");
        assert_eq!(parse(shown.trim_matches('"')), Some(1_704_186_000));
    }
}
