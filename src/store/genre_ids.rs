//! A song's genre ids as its row keeps them (`songs.genre_ids`, migration 15): the
//! ids in decimal, comma-separated, each once, in the order of the song's tags; ''
//! for none. The scanner writes them with the song's `song_genres` rows, and lists
//! read them with the song instead of by a second query.

/// The text of `ids`, each once, in their first order.
pub fn to_text(ids: &[i64]) -> String {
    let mut text = String::new();
    for (at, id) in ids.iter().enumerate() {
        if ids[..at].contains(id) {
            continue;
        }
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(&id.to_string());
    }
    text
}

/// The ids of `text`; a part that is not a number (never written so) is skipped.
pub fn parse(text: &str) -> impl Iterator<Item = i64> + '_ {
    text.split(',').filter_map(|part| part.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_once_each_in_order() {
        assert_eq!(to_text(&[]), "");
        assert_eq!(to_text(&[17, 3, 17, 5]), "17,3,5");
        assert_eq!(parse("17,3,5").collect::<Vec<_>>(), vec![17, 3, 5]);
        assert_eq!(parse("").count(), 0);
    }
}
