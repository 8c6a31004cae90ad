//! Ampache's convention for smart playlists: they share the playlists' id space on the
//! wire as `smart_N`, where the store keeps them apart by a flag.

use crate::model::PlaylistRow;

/// The N of `smart_N`.
pub fn smart_id(text: &str) -> Option<i64> {
    text.trim()
        .strip_prefix("smart_")?
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// A playlist's id as clients see it: `N`, or `smart_N` for a smart playlist.
pub fn playlist_id(row: &PlaylistRow) -> String {
    if row.smart {
        format!("smart_{}", row.id)
    } else {
        row.id.to_string()
    }
}

/// A `smartplaylist` rule's input as the store takes it: the smart playlist's number,
/// whether the client wrote `smart_N` or `N`.
pub fn smart_rule_input(field: &str, input: &str) -> String {
    match (field, smart_id(input)) {
        ("smartplaylist", Some(id)) => id.to_string(),
        _ => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_ids() {
        assert_eq!(smart_id("smart_12"), Some(12));
        assert_eq!(smart_id("12"), None);
        assert_eq!(smart_id("smart_0"), None);
        assert_eq!(smart_rule_input("smartplaylist", "smart_3"), "3");
        assert_eq!(smart_rule_input("title", "smart_3"), "smart_3");
    }
}
