//! Substring matching of song titles and search text through the engines' trigram
//! indexes (migration 4): an FTS5 trigram table on SQLite, `pg_trgm` GIN indexes on
//! PostgreSQL. Semantics stay those of `LIKE '%word%'` over the folded columns:
//! case-insensitive (folded in Rust on both sides), any script, accents kept.

use super::Engine;

/// The song columns with a trigram index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedColumn {
    Title,
    SearchText,
}

impl IndexedColumn {
    fn name(self) -> &'static str {
        match self {
            IndexedColumn::Title => "title_folded",
            IndexedColumn::SearchText => "search_text",
        }
    }
}

/// A trigram index finds words of at least this many characters; shorter ones are
/// matched by reading the column.
const MIN_INDEXED_CHARS: usize = 3;

/// The condition "song `alias`.`column` contains `folded`", with `bind` adding a text
/// argument and returning its placeholder.
pub fn contains(
    engine: Engine,
    alias: &str,
    column: IndexedColumn,
    folded: &str,
    mut bind: impl FnMut(String) -> String,
) -> String {
    let name = column.name();
    if engine == Engine::Sqlite && folded.chars().count() >= MIN_INDEXED_CHARS {
        // One FTS5 phrase: rows whose column holds the characters in this order,
        // adjacent, i.e. the substring. Quotes are doubled inside the phrase.
        let phrase = format!("{name} : \"{}\"", folded.replace('"', "\"\""));
        let placeholder = bind(phrase);
        return format!(
            "{alias}.id IN (SELECT rowid FROM songs_fts WHERE songs_fts MATCH {placeholder})"
        );
    }
    // PostgreSQL plans LIKE '%word%' through its trigram index by itself.
    let placeholder = bind(like_pattern(folded));
    format!("{alias}.{name} LIKE {placeholder} ESCAPE '\\'")
}

/// `LIKE` pattern for a substring, with the pattern characters escaped.
pub fn like_pattern(folded: &str) -> String {
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
