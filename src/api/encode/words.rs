//! Scans of text eight bytes at a time, for the encoders' checks of what must be
//! escaped or mended. Each test is the classic "has a byte less than n" bit trick:
//! a byte borrows into its top bit only when it is below n. The tests are exact (a
//! word is flagged only when one of its bytes matches), so words that are not
//! flagged are copied unchecked.

const ONES: u64 = 0x0101_0101_0101_0101;
const TOPS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `word` is below `n` (at most 0x80).
pub fn has_byte_below(word: u64, n: u8) -> bool {
    word.wrapping_sub(ONES * u64::from(n)) & !word & TOPS != 0
}

/// Whether any byte of `word` is `byte`.
pub fn has_byte(word: u64, byte: u8) -> bool {
    has_byte_below(word ^ (ONES * u64::from(byte)), 1)
}

/// The first position at or after `at` that starts a word of `bytes` which
/// `flagged` flags, or the length when none does. The last bytes (fewer than
/// eight) are tested as one word padded with `a`, which no caller flags: most of a
/// song's strings are short (a mime type, a name), and byte by byte their ends
/// were most of the scan.
pub fn skip_unflagged_words(bytes: &[u8], mut at: usize, flagged: impl Fn(u64) -> bool) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        if flagged(u64::from_le_bytes(chunk.try_into().unwrap_or_default())) {
            return at;
        }
        at += 8;
    }
    let rest = bytes.get(at..).unwrap_or_default();
    let mut word = [b'a'; 8];
    word[..rest.len()].copy_from_slice(rest);
    if rest.is_empty() || !flagged(u64::from_le_bytes(word)) {
        bytes.len()
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_a_word_exactly_when_one_byte_matches() {
        for byte in 0..=255u8 {
            for place in 0..8 {
                let mut word = *b"abcdefgh";
                word[place] = byte;
                let word = u64::from_le_bytes(word);
                assert_eq!(
                    has_byte_below(word, 0x20),
                    byte < 0x20,
                    "{byte:#x} at {place}"
                );
                assert_eq!(has_byte(word, b']'), byte == b']', "{byte:#x} at {place}");
                assert_eq!(has_byte(word, 0xef), byte == 0xef, "{byte:#x} at {place}");
            }
        }
    }

    #[test]
    fn skips_only_whole_unflagged_words() {
        let text = b"0123456789abcdef]x";
        let flags = |byte| move |word| has_byte(word, byte);
        assert_eq!(skip_unflagged_words(text, 0, flags(b']')), 16);
        assert_eq!(skip_unflagged_words(text, 3, flags(b'9')), 3);
        assert_eq!(skip_unflagged_words(text, 0, flags(b'z')), text.len());
        assert_eq!(skip_unflagged_words(text, 9, flags(b'x')), 17);
        assert_eq!(skip_unflagged_words(text, 11, flags(b'x')), 11);
        assert_eq!(skip_unflagged_words(text, 11, flags(b'0')), text.len());
        assert_eq!(skip_unflagged_words(b"abc", 0, flags(b'c')), 0);
        assert_eq!(skip_unflagged_words(b"abc", 3, flags(b'c')), 3);
        assert_eq!(skip_unflagged_words(b"", 0, flags(b'c')), 0);
    }
}
