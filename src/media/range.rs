//! HTTP byte ranges (RFC 9110 section 14) for the play endpoint: one range is served
//! as 206, a range that starts past the end is 416, and anything else (malformed
//! headers, other units, several ranges) is ignored, which the RFC allows, so the
//! whole file goes out with 200.

/// What to send for a `Range` header against a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: the whole file, 200.
    Whole,
    /// Bytes `start..=end` (inclusive, within the file), 206.
    Part { start: u64, end: u64 },
    /// The range cannot be satisfied: 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

impl ByteRange {
    /// Reads the `Range` header value `header` (None when absent).
    pub fn parse(header: Option<&str>, size: u64) -> ByteRange {
        let Some(header) = header else {
            return ByteRange::Whole;
        };
        let header = header.trim();
        let Some((unit, spec)) = header.split_once('=') else {
            return ByteRange::Whole;
        };
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return ByteRange::Whole;
        }
        let spec = spec.trim();
        if spec.contains(',') {
            // Several ranges: serving multipart/byteranges buys players nothing.
            return ByteRange::Whole;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return ByteRange::Whole;
        };
        let (first, last) = (first.trim(), last.trim());
        let number = |text: &str| -> Option<u64> {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Too many digits for a u64 is still a well-formed (huge) number.
            Some(text.parse::<u64>().unwrap_or(u64::MAX))
        };
        match (first.is_empty(), last.is_empty()) {
            // `bytes=-n`: the last n bytes.
            (true, false) => {
                let Some(suffix) = number(last) else {
                    return ByteRange::Whole;
                };
                if suffix == 0 || size == 0 {
                    return ByteRange::Unsatisfiable;
                }
                ByteRange::Part {
                    start: size.saturating_sub(suffix),
                    end: size - 1,
                }
            }
            // `bytes=a-`: from a to the end.
            (false, true) => {
                let Some(start) = number(first) else {
                    return ByteRange::Whole;
                };
                if start >= size {
                    return ByteRange::Unsatisfiable;
                }
                ByteRange::Part {
                    start,
                    end: size - 1,
                }
            }
            // `bytes=a-b`.
            (false, false) => {
                let (Some(start), Some(end)) = (number(first), number(last)) else {
                    return ByteRange::Whole;
                };
                if end < start {
                    return ByteRange::Whole;
                }
                if start >= size {
                    return ByteRange::Unsatisfiable;
                }
                ByteRange::Part {
                    start,
                    end: end.min(size - 1),
                }
            }
            (true, true) => ByteRange::Whole,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange::{self, *};

    fn parse(header: &str) -> ByteRange {
        ByteRange::parse(Some(header), 1000)
    }

    #[test]
    fn single_ranges() {
        assert_eq!(ByteRange::parse(None, 1000), Whole);
        assert_eq!(parse("bytes=0-99"), Part { start: 0, end: 99 });
        assert_eq!(parse("bytes=10-10"), Part { start: 10, end: 10 });
        assert_eq!(
            parse("bytes=900-5000"),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse("bytes=500-"),
            Part {
                start: 500,
                end: 999
            }
        );
        assert_eq!(
            parse("bytes=-100"),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(parse("bytes=-5000"), Part { start: 0, end: 999 });
        assert_eq!(parse(" Bytes = 1 - 2 "), Part { start: 1, end: 2 });
        assert_eq!(
            parse("bytes=0-99999999999999999999999"),
            Part { start: 0, end: 999 }
        );
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(parse("bytes=1000-"), Unsatisfiable);
        assert_eq!(parse("bytes=1000-2000"), Unsatisfiable);
        assert_eq!(parse("bytes=99999999999999999999999-"), Unsatisfiable);
        assert_eq!(parse("bytes=-0"), Unsatisfiable);
        assert_eq!(ByteRange::parse(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(ByteRange::parse(Some("bytes=-5"), 0), Unsatisfiable);
    }

    #[test]
    fn ignored() {
        for header in [
            "",
            "bytes",
            "bytes=",
            "bytes=-",
            "bytes=abc",
            "bytes=5-1",
            "bytes=1-2,5-6",
            "bytes=0x10-20",
            "bytes=+1-2",
            "items=0-10",
            "bytes=1-2-3",
        ] {
            assert_eq!(parse(header), Whole, "{header:?}");
        }
    }
}
