//! Searches by rules: what they return, how each field compares, and the comparisons
//! themselves, by meaning. A front turns its own way of naming them into these (the
//! Ampache front: the numbered `rule_N_operator`), and the store compiles them.

/// What a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    Song,
    Album,
    Artist,
    Playlist,
    User,
    Video,
    /// Record labels; the results are the songs those labels published.
    Label,
}

impl SearchType {
    pub fn parse(text: &str) -> Option<SearchType> {
        Some(match text {
            "song" => SearchType::Song,
            "album" => SearchType::Album,
            "artist" => SearchType::Artist,
            "playlist" => SearchType::Playlist,
            "user" => SearchType::User,
            "video" => SearchType::Video,
            "label" => SearchType::Label,
            _ => return None,
        })
    }
}

/// How a field compares, which decides the operators that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text, compared case-insensitively.
    Text,
    Numeric,
    /// Holds or not (`played`, `has_image`).
    Boolean,
    /// An id, is or is not (`catalog`, `playlist`).
    Ids,
    /// Before or after a date.
    Date,
    /// Last played more than, or within, N days ago.
    Days,
    /// Input is a user id: loved by, or rated N by, that user.
    UserNumeric,
    /// The N most recent.
    Recent,
    /// In, or not in, the results of a smart playlist.
    Subsearch,
    /// A custom metadata field (named by the rule's subtype): text or number.
    Metadata,
}

/// A comparison, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    /// Equal text; for yes/no fields, ids and smart playlists: holds.
    Is,
    /// Not equal text; for yes/no fields, ids and smart playlists: does not hold.
    IsNot,
    SoundsLike,
    NotSoundsLike,
    /// A regular expression matches.
    Matches,
    NotMatches,
    AtLeast,
    AtMost,
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    /// Dates: before the input; days: last played more than N days ago.
    Before,
    /// Dates: after the input; days: played within the last N days.
    After,
    LovedBy,
    /// Rated exactly this many stars (1 to 5) by the user.
    RatedBy(u8),
}

impl Operator {
    /// Sounds-like and regular expressions: SQL cannot evaluate them the same way on
    /// both engines, so the store tests them in Rust.
    pub fn is_fuzzy(self) -> bool {
        matches!(
            self,
            Operator::SoundsLike
                | Operator::NotSoundsLike
                | Operator::Matches
                | Operator::NotMatches
        )
    }
}

/// One rule of a search.
#[derive(Debug, Clone)]
pub struct Rule {
    pub field: String,
    pub operator: Operator,
    pub input: String,
    /// Which metadata field a `metadata` rule looks at (id or name).
    pub subtype: Option<String>,
}
