//! Advanced search: rules (field, operator, input) compiled to parameterised SQL.
//!
//! Every field of every type is a template over the type's table alias, so one small
//! compiler covers them all. User input only ever becomes a bound argument.

use super::db::{decode_id, Row, Sql};
use super::text_index::{self, IndexedColumn};
use super::{fold, now, Store, StoreResult};
use crate::values;

pub use crate::model::{FieldKind, Operator, Rule, SearchType};

/// The SQL side of each search type.
impl SearchType {
    /// The table, its alias, and the condition every result must meet anyway.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            SearchType::Song => ("songs s", "s.enabled = 1"),
            SearchType::Album => ("albums al", "1 = 1"),
            SearchType::Artist => ("artists ar", "1 = 1"),
            SearchType::Playlist => (
                "playlists p",
                "(p.public = 1 OR p.user_id = {user} OR {admin} = 1)",
            ),
            SearchType::User => ("users u", "1 = 1"),
            SearchType::Video => ("videos v", "v.enabled = 1"),
            SearchType::Label => ("songs s", "s.enabled = 1 AND s.label_id IS NOT NULL"),
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            SearchType::Song => "s.id",
            SearchType::Album => "al.id",
            SearchType::Artist => "ar.id",
            SearchType::Playlist => "p.id",
            SearchType::User => "u.id",
            SearchType::Video => "v.id",
            SearchType::Label => "s.id",
        }
    }
}

/// How a field compares; see [`FieldKind`].
use crate::model::FieldKind as Kind;

/// (field name, kind, SQL template). `{user}` is the caller (`{admin}` 1 for an admin), `{cmp}` (text) the comparison,
/// `{kind}` the object kind for ratings/flags, `{id}` the id column.
type Field = (&'static str, Kind, &'static str);

const SONG_FIELDS: &[Field] = &[
    ("anywhere", Kind::Text, "s.search_text {cmp}"),
    ("title", Kind::Text, "s.title_folded {cmp}"),
    ("name", Kind::Text, "s.title_folded {cmp}"),
    ("album", Kind::Text, "EXISTS (SELECT 1 FROM albums x WHERE x.id = s.album_id AND x.name_folded {cmp})"),
    ("artist", Kind::Text, "EXISTS (SELECT 1 FROM song_artists sa JOIN artists x ON x.id = sa.artist_id WHERE sa.song_id = s.id AND x.name_folded {cmp})"),
    ("composer", Kind::Text, "s.composer_folded {cmp}"),
    ("comment", Kind::Text, "s.comment_folded {cmp}"),
    ("lyrics", Kind::Text, "s.lyrics_folded {cmp}"),
    ("file", Kind::Text, "s.path_folded {cmp}"),
    ("label", Kind::Text, "EXISTS (SELECT 1 FROM labels l WHERE l.id = s.label_id AND l.name_folded {cmp})"),
    ("metadata", Kind::Metadata, ""),
    ("playlist_name", Kind::Text, "EXISTS (SELECT 1 FROM playlist_items pi JOIN playlists x ON x.id = pi.playlist_id WHERE pi.song_id = s.id AND (x.public = 1 OR x.user_id = {user} OR {admin} = 1) AND x.name_folded {cmp})"),
    ("favorite", Kind::Text, "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = {user} AND f.object_kind = 'song' AND f.object_id = s.id) AND s.title_folded {cmp}"),
    ("tag", Kind::Text, "EXISTS (SELECT 1 FROM song_genres sg JOIN genres g ON g.id = sg.genre_id WHERE sg.song_id = s.id AND g.name_folded {cmp})"),
    ("album_tag", Kind::Text, "EXISTS (SELECT 1 FROM songs y JOIN song_genres sg ON sg.song_id = y.id JOIN genres g ON g.id = sg.genre_id WHERE y.album_id = s.album_id AND g.name_folded {cmp})"),
    ("artist_tag", Kind::Text, "EXISTS (SELECT 1 FROM songs y JOIN song_genres sg ON sg.song_id = y.id JOIN genres g ON g.id = sg.genre_id WHERE y.artist_id = s.artist_id AND g.name_folded {cmp})"),
    ("year", Kind::Numeric, "s.year"),
    ("time", Kind::Numeric, "(s.duration / 60)"),
    ("bitrate", Kind::Numeric, "(s.bitrate / 1000)"),
    ("myrating", Kind::Numeric, "COALESCE((SELECT r.rating FROM ratings r WHERE r.user_id = {user} AND r.object_kind = 'song' AND r.object_id = s.id), 0)"),
    ("rating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'song' AND r.object_id = s.id), 0)"),
    ("albumrating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'album' AND r.object_id = s.album_id), 0)"),
    ("artistrating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'artist' AND r.object_id = s.artist_id), 0)"),
    ("played_times", Kind::Numeric, "(SELECT COUNT(*) FROM plays p WHERE p.song_id = s.id)"),
    // tonearm records no skips: nothing was ever skipped.
    ("skipped_times", Kind::Numeric, "0"),
    ("play_skip_ratio", Kind::Numeric, "(CASE WHEN EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id) THEN 100 ELSE 0 END)"),
    ("last_play", Kind::Days, "(SELECT MAX(p.played_at) FROM plays p WHERE p.song_id = s.id AND p.user_id = {user})"),
    ("played", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id)"),
    ("myplayed", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p WHERE p.song_id = s.id AND p.user_id = {user})"),
    ("myplayedalbum", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.album_id = s.album_id AND p.user_id = {user})"),
    ("myplayedartist", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.artist_id = s.artist_id AND p.user_id = {user})"),
    ("other_user", Kind::UserNumeric, "song:s.id"),
    ("other_user_album", Kind::UserNumeric, "album:s.album_id"),
    ("other_user_artist", Kind::UserNumeric, "artist:s.artist_id"),
    ("license", Kind::Ids, "0"),
    ("playlist", Kind::Ids, "playlist"),
    ("catalog", Kind::Ids, "s.catalog_id"),
    ("added", Kind::Date, "s.created"),
    ("updated", Kind::Date, "s.updated"),
    ("recent_added", Kind::Recent, "created"),
    ("recent_updated", Kind::Recent, "updated"),
    ("smartplaylist", Kind::Subsearch, ""),
];

const ALBUM_FIELDS: &[Field] = &[
    ("title", Kind::Text, "al.name_folded {cmp}"),
    ("name", Kind::Text, "al.name_folded {cmp}"),
    ("artist", Kind::Text, "EXISTS (SELECT 1 FROM artists x WHERE x.id = al.album_artist_id AND x.name_folded {cmp})"),
    ("release_type", Kind::Text, "'' {cmp}"),
    ("favorite", Kind::Text, "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = {user} AND f.object_kind = 'album' AND f.object_id = al.id) AND al.name_folded {cmp}"),
    ("tag", Kind::Text, "EXISTS (SELECT 1 FROM songs y JOIN song_genres sg ON sg.song_id = y.id JOIN genres g ON g.id = sg.genre_id WHERE y.album_id = al.id AND g.name_folded {cmp})"),
    ("year", Kind::Numeric, "al.year"),
    ("original_year", Kind::Numeric, "al.year"),
    ("time", Kind::Numeric, "(al.total_time / 60)"),
    ("myrating", Kind::Numeric, "COALESCE((SELECT r.rating FROM ratings r WHERE r.user_id = {user} AND r.object_kind = 'album' AND r.object_id = al.id), 0)"),
    ("rating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'album' AND r.object_id = al.id), 0)"),
    ("artistrating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'artist' AND r.object_id = al.album_artist_id), 0)"),
    ("played_times", Kind::Numeric, "(SELECT COUNT(*) FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.album_id = al.id)"),
    ("last_play", Kind::Days, "(SELECT MAX(p.played_at) FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.album_id = al.id AND p.user_id = {user})"),
    ("played", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.album_id = al.id)"),
    ("myplayed", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.album_id = al.id AND p.user_id = {user})"),
    ("has_image", Kind::Boolean, "al.art_kind IS NOT NULL"),
    ("image_width", Kind::Numeric, "al.art_width"),
    ("image_height", Kind::Numeric, "al.art_height"),
    ("other_user", Kind::UserNumeric, "album:al.id"),
    ("catalog", Kind::Ids, "catalog_of_album"),
];

const ARTIST_FIELDS: &[Field] = &[
    ("title", Kind::Text, "ar.name_folded {cmp}"),
    ("name", Kind::Text, "ar.name_folded {cmp}"),
    ("placeformed", Kind::Text, "ar.placeformed_folded {cmp}"),
    ("favorite", Kind::Text, "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = {user} AND f.object_kind = 'artist' AND f.object_id = ar.id) AND ar.name_folded {cmp}"),
    ("tag", Kind::Text, "EXISTS (SELECT 1 FROM songs y JOIN song_genres sg ON sg.song_id = y.id JOIN genres g ON g.id = sg.genre_id WHERE y.artist_id = ar.id AND g.name_folded {cmp})"),
    ("yearformed", Kind::Numeric, "ar.yearformed"),
    ("time", Kind::Numeric, "(ar.total_time / 60)"),
    ("myrating", Kind::Numeric, "COALESCE((SELECT r.rating FROM ratings r WHERE r.user_id = {user} AND r.object_kind = 'artist' AND r.object_id = ar.id), 0)"),
    ("rating", Kind::Numeric, "COALESCE((SELECT AVG(r.rating) FROM ratings r WHERE r.object_kind = 'artist' AND r.object_id = ar.id), 0)"),
    ("played_times", Kind::Numeric, "(SELECT COUNT(*) FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.artist_id = ar.id)"),
    ("last_play", Kind::Days, "(SELECT MAX(p.played_at) FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.artist_id = ar.id AND p.user_id = {user})"),
    ("played", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.artist_id = ar.id)"),
    ("myplayed", Kind::Boolean, "EXISTS (SELECT 1 FROM plays p JOIN songs y ON y.id = p.song_id WHERE y.artist_id = ar.id AND p.user_id = {user})"),
    ("has_image", Kind::Boolean, "EXISTS (SELECT 1 FROM albums x WHERE x.album_artist_id = ar.id AND x.art_kind IS NOT NULL)"),
    // The art an artist is shown with: their first album with art, as get_art picks it.
    ("image_width", Kind::Numeric, "COALESCE((SELECT x.art_width FROM albums x WHERE x.album_artist_id = ar.id AND x.art_kind IS NOT NULL ORDER BY x.sort_name, x.id LIMIT 1), (SELECT x.art_width FROM albums x WHERE x.art_kind IS NOT NULL AND EXISTS (SELECT 1 FROM songs y WHERE y.album_id = x.id AND y.artist_id = ar.id) ORDER BY x.sort_name, x.id LIMIT 1), 0)"),
    ("image_height", Kind::Numeric, "COALESCE((SELECT x.art_height FROM albums x WHERE x.album_artist_id = ar.id AND x.art_kind IS NOT NULL ORDER BY x.sort_name, x.id LIMIT 1), (SELECT x.art_height FROM albums x WHERE x.art_kind IS NOT NULL AND EXISTS (SELECT 1 FROM songs y WHERE y.album_id = x.id AND y.artist_id = ar.id) ORDER BY x.sort_name, x.id LIMIT 1), 0)"),
    ("other_user", Kind::UserNumeric, "artist:ar.id"),
];

const PLAYLIST_FIELDS: &[Field] = &[
    ("title", Kind::Text, "p.name_folded {cmp}"),
    ("name", Kind::Text, "p.name_folded {cmp}"),
];

const USER_FIELDS: &[Field] = &[("username", Kind::Text, "u.username_folded {cmp}")];

const VIDEO_FIELDS: &[Field] = &[
    ("title", Kind::Text, "v.title_folded {cmp}"),
    ("name", Kind::Text, "v.title_folded {cmp}"),
    ("file", Kind::Text, "v.path_folded {cmp}"),
    ("filename", Kind::Text, "v.path_folded {cmp}"),
];

/// Labels, matched through the songs' label: a song has one label at most, so a rule
/// holds for a song exactly when it holds for its label.
const LABEL_FIELDS: &[Field] = &[
    (
        "title",
        Kind::Text,
        "EXISTS (SELECT 1 FROM labels l WHERE l.id = s.label_id AND l.name_folded {cmp})",
    ),
    (
        "name",
        Kind::Text,
        "EXISTS (SELECT 1 FROM labels l WHERE l.id = s.label_id AND l.name_folded {cmp})",
    ),
    (
        "category",
        Kind::Text,
        "EXISTS (SELECT 1 FROM labels l WHERE l.id = s.label_id AND l.category_folded {cmp})",
    ),
];

fn fields(kind: SearchType) -> &'static [Field] {
    match kind {
        SearchType::Song => SONG_FIELDS,
        SearchType::Album => ALBUM_FIELDS,
        SearchType::Artist => ARTIST_FIELDS,
        SearchType::Playlist => PLAYLIST_FIELDS,
        SearchType::User => USER_FIELDS,
        SearchType::Video => VIDEO_FIELDS,
        SearchType::Label => LABEL_FIELDS,
    }
}

/// How `field` of `kind` compares, for a front to read its operators; None for a
/// field that type does not have.
pub fn field_kind(kind: SearchType, field: &str) -> Option<FieldKind> {
    let field = field_name(kind, field);
    fields(kind)
        .iter()
        .find(|(name, _, _)| *name == field)
        .map(|(_, kind, _)| *kind)
}

/// The field a rule names, after the aliases: `name` is `title` (but for users), and
/// on artists `artist` is `title` too.
fn field_name(kind: SearchType, field: &str) -> &str {
    match (kind, field) {
        (SearchType::User, _) => field,
        (_, "name") | (SearchType::Artist, "artist") => "title",
        _ => field,
    }
}

/// Why a rule cannot be compiled; the API turns it into a 401 naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    UnknownField,
    UnknownOperator,
    BadInput(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Arg {
    Int(i64),
    Real(f64),
}

/// SQL under construction: conditions and their arguments after the fixed ones.
struct Compiler {
    args: Vec<Value>,
    /// The caller and whether they are an admin, bound when a condition first names
    /// them (`{user}`, `{admin}` in the templates), so that no query carries an
    /// argument it does not use.
    user_id: i64,
    admin: bool,
    user_placeholder: Option<String>,
    admin_placeholder: Option<String>,
    /// The searches of the smart playlists that `smartplaylist` rules name, by rule.
    nested: std::collections::HashMap<usize, Search>,
    /// The metadata field ids that `metadata` rules name, by rule.
    metadata_fields: std::collections::HashMap<usize, i64>,
    engine: super::Engine,
}

#[derive(Debug, Clone)]
enum Value {
    Int(i64),
    Text(String),
}

impl Compiler {
    fn new(user_id: i64, admin: bool, engine: super::Engine) -> Compiler {
        Compiler {
            args: Vec::new(),
            user_id,
            admin,
            user_placeholder: None,
            admin_placeholder: None,
            nested: std::collections::HashMap::new(),
            metadata_fields: std::collections::HashMap::new(),
            engine,
        }
    }

    fn bind(&mut self, value: Value) -> String {
        self.args.push(value);
        format!("${}", self.args.len())
    }

    /// `sql` with `{user}` and `{admin}` replaced by their placeholders.
    fn fixed(&mut self, sql: &str) -> String {
        let mut sql = sql.to_string();
        if sql.contains("{user}") {
            let user = match &self.user_placeholder {
                Some(p) => p.clone(),
                None => {
                    let p = self.bind(Value::Int(self.user_id));
                    self.user_placeholder = Some(p.clone());
                    p
                }
            };
            sql = sql.replace("{user}", &user);
        }
        if sql.contains("{admin}") {
            let admin = match &self.admin_placeholder {
                Some(p) => p.clone(),
                None => {
                    let p = self.bind(Value::Int(self.admin as i64));
                    self.admin_placeholder = Some(p.clone());
                    p
                }
            };
            sql = sql.replace("{admin}", &admin);
        }
        sql
    }

    fn into_args(self) -> Vec<super::db::Value> {
        self.args
            .into_iter()
            .map(|value| match value {
                Value::Int(i) => super::db::Value::Int(i),
                Value::Text(t) => super::db::Value::Text(t),
            })
            .collect()
    }
}

fn text_condition(
    c: &mut Compiler,
    template: &str,
    operator: Operator,
    input: &str,
) -> Result<String, RuleError> {
    let folded = fold(input.trim());
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let (pattern, negate) = match operator {
        Operator::Contains => (format!("%{escaped}%"), false),
        Operator::NotContains => (format!("%{escaped}%"), true),
        Operator::StartsWith => (format!("{escaped}%"), false),
        Operator::EndsWith => (format!("%{escaped}"), false),
        Operator::Is => (escaped.clone(), false),
        Operator::IsNot => (escaped.clone(), true),
        _ => return Err(RuleError::UnknownOperator),
    };
    let placeholder = c.bind(Value::Text(pattern));
    let condition = template.replace("{cmp}", &format!("LIKE {placeholder} ESCAPE '\\'"));
    Ok(if negate {
        format!("NOT ({condition})")
    } else {
        format!("({condition})")
    })
}

fn numeric_condition(
    c: &mut Compiler,
    expr: &str,
    operator: Operator,
    input: &str,
) -> Result<String, RuleError> {
    let op = match operator {
        Operator::AtLeast => ">=",
        Operator::AtMost => "<=",
        Operator::Equals => "=",
        Operator::NotEquals => "<>",
        Operator::GreaterThan => ">",
        Operator::LessThan => "<",
        _ => return Err(RuleError::UnknownOperator),
    };
    let number: f64 = input
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or(RuleError::BadInput("expected a number"))?;
    // Whole numbers bind as integers, so integer columns compare exactly.
    let value = if number.fract() == 0.0 && number.abs() < 1e15 {
        Arg::Int(number as i64)
    } else {
        Arg::Real(number)
    };
    let placeholder = match value {
        Arg::Int(i) => c.bind(Value::Int(i)),
        // Bound as text and cast by the database, the same on both engines.
        Arg::Real(r) => format!("CAST({} AS {{real}})", c.bind(Value::Text(r.to_string()))),
    };
    Ok(format!("({expr} {op} {placeholder})"))
}

fn id_condition(
    c: &mut Compiler,
    kind: SearchType,
    template: &str,
    operator: Operator,
    input: &str,
) -> Result<String, RuleError> {
    let id: i64 = input
        .trim()
        .parse()
        .map_err(|_| RuleError::BadInput("expected an id"))?;
    let placeholder = c.bind(Value::Int(id));
    let positive = match template {
        // Only playlists the caller may read ({user} the caller, {admin} 1 for an admin), as `playlist`
        // and `playlist_songs` allow: someone else's private list matches nothing.
        "playlist" => format!("EXISTS (SELECT 1 FROM playlist_items pi JOIN playlists x ON x.id = pi.playlist_id WHERE pi.song_id = {} AND pi.playlist_id = {placeholder} AND (x.public = 1 OR x.user_id = {{user}} OR {{admin}} = 1))", kind.id_column()),
        "catalog_of_album" => format!("EXISTS (SELECT 1 FROM songs y WHERE y.album_id = al.id AND y.catalog_id = {placeholder})"),
        column => format!("{column} = {placeholder}"),
    };
    match operator {
        Operator::Is => Ok(format!("({positive})")),
        Operator::IsNot => Ok(format!("NOT ({positive})")),
        _ => Err(RuleError::UnknownOperator),
    }
}

/// A rule SQL cannot evaluate on both engines (sounds like, regular expressions): it
/// selects the field's text, and Rust decides.
enum Fuzzy {
    SoundsLike { code: String, negate: bool },
    Regex { pattern: regex::Regex, negate: bool },
}

impl Fuzzy {
    fn matches(&self, value: &str) -> bool {
        match self {
            Fuzzy::SoundsLike { code, negate } => {
                (super::phonetic::soundex(value) == *code) != *negate
            }
            Fuzzy::Regex { pattern, negate } => pattern.is_match(value) != *negate,
        }
    }
}

/// The text a fuzzy rule looks at: the field's own scalar expression, or for fields
/// that match through a related row, that row's name.
fn text_value(kind: SearchType, field: &str, template: &str) -> Option<String> {
    let related = match (kind, field) {
        (SearchType::Song, "album") => {
            Some("(SELECT x.name FROM albums x WHERE x.id = s.album_id)")
        }
        (SearchType::Song, "artist") => {
            Some("(SELECT x.name FROM artists x WHERE x.id = s.artist_id)")
        }
        (SearchType::Album, "artist") => {
            Some("(SELECT x.name FROM artists x WHERE x.id = al.album_artist_id)")
        }
        _ => None,
    };
    if let Some(expr) = related {
        return Some(expr.to_string());
    }
    // Plain columns: "expr {cmp}" where expr is not a subquery.
    let expr = template.strip_suffix(" {cmp}")?;
    (!expr.contains("EXISTS") && !expr.starts_with('\'')).then(|| expr.to_string())
}

fn fuzzy_rule(
    kind: SearchType,
    rule: &Rule,
    metadata_field: Option<i64>,
) -> Result<Option<(String, Fuzzy)>, RuleError> {
    if !rule.operator.is_fuzzy() {
        return Ok(None);
    }
    let field = field_name(kind, &rule.field);
    let (_, field_kind, template) = fields(kind)
        .iter()
        .find(|(name, _, _)| *name == field)
        .ok_or(RuleError::UnknownField)?;
    let expr = match field_kind {
        // The id comes from the database, never from the request.
        Kind::Metadata => format!(
            "(SELECT m.value FROM song_metadata m WHERE m.song_id = s.id AND m.field_id = {})",
            metadata_field.ok_or(RuleError::BadInput("expected a metadata field"))?
        ),
        Kind::Text => text_value(kind, field, template).ok_or(RuleError::UnknownOperator)?,
        _ => return Err(RuleError::UnknownOperator),
    };
    let fuzzy = match rule.operator {
        Operator::SoundsLike | Operator::NotSoundsLike => Fuzzy::SoundsLike {
            code: super::phonetic::soundex(&rule.input),
            negate: rule.operator == Operator::NotSoundsLike,
        },
        _ => Fuzzy::Regex {
            pattern: regex::RegexBuilder::new(&rule.input)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|_| RuleError::BadInput("not a valid regular expression"))?,
            negate: rule.operator == Operator::NotMatches,
        },
    };
    Ok(Some((format!("COALESCE({expr}, '')"), fuzzy)))
}

/// One rule as a condition, with the caller's placeholders in place.
fn compile_rule(
    c: &mut Compiler,
    kind: SearchType,
    index: usize,
    rule: &Rule,
) -> Result<String, RuleError> {
    let condition = compile_rule_text(c, kind, index, rule)?;
    Ok(c.fixed(&condition))
}

fn compile_rule_text(
    c: &mut Compiler,
    kind: SearchType,
    index: usize,
    rule: &Rule,
) -> Result<String, RuleError> {
    let field = field_name(kind, &rule.field);
    let (_, field_kind, template) = fields(kind)
        .iter()
        .find(|(name, _, _)| *name == field)
        .ok_or(RuleError::UnknownField)?;
    let input = rule.input.as_str();
    // "Contains" on a song's title or anywhere: through the trigram index.
    let indexed = match (kind, field) {
        (SearchType::Song, "title") => Some(IndexedColumn::Title),
        (SearchType::Song, "anywhere") => Some(IndexedColumn::SearchText),
        _ => None,
    };
    if let (Some(column), Operator::Contains | Operator::NotContains) = (indexed, rule.operator) {
        let engine = c.engine;
        let condition = text_index::contains(engine, "s", column, &fold(input.trim()), |text| {
            c.bind(Value::Text(text))
        });
        return Ok(if rule.operator == Operator::NotContains {
            format!("NOT ({condition})")
        } else {
            format!("({condition})")
        });
    }
    match field_kind {
        Kind::Text => text_condition(c, template, rule.operator, input),
        Kind::Numeric => numeric_condition(c, template, rule.operator, input),
        Kind::Boolean => match rule.operator {
            Operator::Is => Ok(format!("({template})")),
            Operator::IsNot => Ok(format!("NOT ({template})")),
            _ => Err(RuleError::UnknownOperator),
        },
        Kind::Ids => id_condition(c, kind, template, rule.operator, input),
        Kind::Date => {
            let when = parse_date(input).ok_or(RuleError::BadInput("expected a date"))?;
            let placeholder = c.bind(Value::Int(when));
            match rule.operator {
                Operator::Before => Ok(format!("({template} < {placeholder})")),
                Operator::After => Ok(format!("({template} > {placeholder})")),
                _ => Err(RuleError::UnknownOperator),
            }
        }
        Kind::Days => {
            let days: i64 = input
                .trim()
                .parse()
                .map_err(|_| RuleError::BadInput("expected a number of days"))?;
            let placeholder = c.bind(Value::Int(now() - days.clamp(0, 1_000_000) * 86400));
            match rule.operator {
                Operator::Before => Ok(format!("(COALESCE({template}, 0) < {placeholder})")),
                Operator::After => Ok(format!("(COALESCE({template}, 0) >= {placeholder})")),
                _ => Err(RuleError::UnknownOperator),
            }
        }
        Kind::UserNumeric => {
            let user: i64 = input
                .trim()
                .parse()
                .map_err(|_| RuleError::BadInput("expected a user id"))?;
            let (object_kind, column) = template.split_once(':').unwrap_or(("song", "s.id"));
            let user = c.bind(Value::Int(user));
            match rule.operator {
                Operator::LovedBy => Ok(format!(
                    "EXISTS (SELECT 1 FROM flags f WHERE f.user_id = {user} AND f.object_kind = '{object_kind}' AND f.object_id = {column})"
                )),
                Operator::RatedBy(stars @ 1..=5) => Ok(format!(
                    "EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = {user} AND r.object_kind = '{object_kind}' AND r.object_id = {column} AND r.rating = {stars})"
                )),
                _ => Err(RuleError::UnknownOperator),
            }
        }
        Kind::Subsearch => {
            let nested = c
                .nested
                .remove(&index)
                .ok_or(RuleError::BadInput("not a smart playlist id"))?;
            let mut inner = Vec::new();
            for (i, r) in nested.rules.iter().enumerate() {
                if r.field == "smartplaylist" || r.operator.is_fuzzy() {
                    return Err(RuleError::BadInput("that smart playlist cannot be nested"));
                }
                inner.push(compile_rule(c, SearchType::Song, usize::MAX - i, r)?);
            }
            let joined = inner.join(if nested.any { " OR " } else { " AND " });
            let positive =
                format!("s.id IN (SELECT s.id FROM songs s WHERE s.enabled = 1 AND ({joined}))");
            match rule.operator {
                Operator::Is => Ok(positive),
                Operator::IsNot => Ok(format!("NOT ({positive})")),
                _ => Err(RuleError::UnknownOperator),
            }
        }
        Kind::Metadata => {
            let field_id = *c
                .metadata_fields
                .get(&index)
                .ok_or(RuleError::BadInput("expected a metadata field"))?;
            let field_id = c.bind(Value::Int(field_id));
            let exists = |condition: &str| {
                format!(
                    "EXISTS (SELECT 1 FROM song_metadata m WHERE m.song_id = s.id AND m.field_id = {field_id} AND {condition})"
                )
            };
            match rule.operator {
                Operator::Contains
                | Operator::NotContains
                | Operator::StartsWith
                | Operator::EndsWith
                | Operator::Is
                | Operator::IsNot => {
                    // "Does not contain" and "is not" hold for songs without the
                    // field too, as they do for other text fields.
                    let positive_operator = match rule.operator {
                        Operator::NotContains => Operator::Contains,
                        Operator::IsNot => Operator::Is,
                        other => other,
                    };
                    let condition =
                        text_condition(c, "m.value_folded {cmp}", positive_operator, input)?;
                    Ok(if positive_operator == rule.operator {
                        exists(&condition)
                    } else {
                        format!("NOT {}", exists(&condition))
                    })
                }
                _ => {
                    let condition = numeric_condition(c, "m.value_number", rule.operator, input)?;
                    Ok(exists(&condition))
                }
            }
        }
        Kind::Recent => {
            let count: i64 = input
                .trim()
                .parse()
                .map_err(|_| RuleError::BadInput("expected a count"))?;
            let placeholder = c.bind(Value::Int(count.clamp(0, 1_000_000)));
            Ok(format!(
                "s.id IN (SELECT y.id FROM songs y ORDER BY y.{template} DESC, y.id DESC LIMIT {placeholder})"
            ))
        }
    }
}

fn parse_date(text: &str) -> Option<i64> {
    use chrono::NaiveDate;
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// A whole search.
#[derive(Debug, Clone)]
pub struct Search {
    pub kind: SearchType,
    pub rules: Vec<Rule>,
    /// `or` instead of `and`.
    pub any: bool,
    pub random: bool,
}

/// A search with fuzzy rules, compiled as far as SQL goes.
struct FuzzyQuery {
    compiler: Compiler,
    /// One per rule: a condition, or for a fuzzy rule the text it tests.
    conditions: Vec<String>,
    fuzzy: Vec<(usize, Fuzzy)>,
}

impl Store {
    /// The id of a metadata field given by id or by (case-insensitive) name.
    async fn metadata_field(&self, subtype: Option<&str>) -> StoreResult<Option<i64>> {
        let Some(subtype) = subtype.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let id: i64 = subtype.parse().unwrap_or(-1);
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT id FROM metadata_fields WHERE id = $1 OR name = $2 ORDER BY id LIMIT 1",
                    values![id, subtype.to_lowercase()],
                ),
                decode_id,
            )
            .await
    }

    /// The search with fuzzy rules: every candidate row comes back with each SQL rule's
    /// truth and each fuzzy rule's text; Rust combines them, shuffles and pages.
    async fn search_with_fuzzy(
        &self,
        search: &Search,
        query: FuzzyQuery,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<i64>> {
        let FuzzyQuery {
            mut compiler,
            conditions,
            fuzzy,
        } = query;
        let (table, base) = search.kind.table();
        let base = compiler.fixed(base);
        let id = search.kind.id_column();
        let columns: Vec<String> = conditions
            .iter()
            .enumerate()
            .map(|(index, condition)| {
                let value = if fuzzy.iter().any(|(i, _)| *i == index) {
                    condition.clone()
                } else {
                    format!("CASE WHEN {condition} THEN 'y' ELSE '' END")
                };
                format!("{value} AS rule_{index}")
            })
            .collect();
        let sql = Sql::bound(
            self.dialect_query(&format!(
                "SELECT {id} AS id, {} FROM {table} WHERE {base} ORDER BY {id}",
                columns.join(", ")
            )),
            compiler.into_args(),
        );
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, Vec<String>)> {
            let id = r.int("id")?;
            let mut values = Vec::new();
            while let Some(value) = r.next_text()? {
                values.push(value);
            }
            Ok((id, values))
        }
        let rows = self.db.fetch_all(sql, decode).await?;
        let mut ids: Vec<i64> = rows
            .into_iter()
            .filter(|(_, values)| {
                let mut results = values.iter().enumerate().map(|(index, value)| {
                    match fuzzy.iter().find(|(i, _)| *i == index) {
                        Some((_, test)) => test.matches(value),
                        None => !value.is_empty(),
                    }
                });
                if search.any {
                    results.any(|r| r)
                } else {
                    results.all(|r| r)
                }
            })
            .map(|(id, _)| id)
            .collect();
        if search.random {
            use rand::seq::SliceRandom;
            ids.shuffle(&mut rand::thread_rng());
        }
        Ok(ids
            .into_iter()
            .skip(offset.max(0) as usize)
            .take(limit.clamp(0, i64::MAX) as usize)
            .collect())
    }

    /// Ids matching the search, paged. Err names the index of the bad rule.
    pub async fn search_ids(
        &self,
        user_id: i64,
        admin: bool,
        search: &Search,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Result<Vec<i64>, (usize, RuleError)>> {
        let mut compiler = Compiler::new(user_id, admin, self.engine);
        for (index, rule) in search.rules.iter().enumerate() {
            if search.kind == SearchType::Song && rule.field == "metadata" {
                match self.metadata_field(rule.subtype.as_deref()).await? {
                    Some(id) => {
                        compiler.metadata_fields.insert(index, id);
                    }
                    None => {
                        return Ok(Err((
                            index,
                            RuleError::BadInput("subtype names no metadata field"),
                        )))
                    }
                }
            }
        }
        if search.kind == SearchType::Song {
            for (index, rule) in search.rules.iter().enumerate() {
                if rule.field == "smartplaylist" {
                    // The front passes the smart playlist's number.
                    let id: Option<i64> = rule.input.trim().parse().ok();
                    let list = match id {
                        Some(id) => self.smartlist(id).await?,
                        None => None,
                    };
                    // Someone else's private smart playlist is treated as no smart
                    // playlist at all, so its rules neither apply nor leak.
                    if let Some(list) =
                        list.filter(|list| list.row.public || list.owner_id == user_id || admin)
                    {
                        compiler.nested.insert(index, list.search);
                    }
                }
            }
        }
        let mut conditions = Vec::new();
        let mut fuzzy = Vec::new();
        for (index, rule) in search.rules.iter().enumerate() {
            match fuzzy_rule(
                search.kind,
                rule,
                compiler.metadata_fields.get(&index).copied(),
            ) {
                Err(error) => return Ok(Err((index, error))),
                Ok(Some((expr, test))) => {
                    conditions.push(compiler.fixed(&expr));
                    fuzzy.push((index, test));
                }
                Ok(None) => match compile_rule(&mut compiler, search.kind, index, rule) {
                    Ok(condition) => conditions.push(condition),
                    Err(error) => return Ok(Err((index, error))),
                },
            }
        }
        if !fuzzy.is_empty() {
            let query = FuzzyQuery {
                compiler,
                conditions,
                fuzzy,
            };
            return self
                .search_with_fuzzy(search, query, offset, limit)
                .await
                .map(Ok);
        }
        let (table, base) = search.kind.table();
        let joined = if conditions.is_empty() {
            "1 = 1".to_string()
        } else {
            conditions.join(if search.any { " OR " } else { " AND " })
        };
        let id = search.kind.id_column();
        // `+id`: sorting the matches is cheap, and keeps SQLite from walking the whole
        // table in id order instead of filtering through a covering index.
        let order = if search.random {
            "RANDOM()".to_string()
        } else {
            format!("+{id}")
        };
        let base = compiler.fixed(base);
        let limit = compiler.bind(Value::Int(limit));
        let offset = compiler.bind(Value::Int(offset));
        let sql = Sql::bound(
            self.dialect_query(&format!(
                "SELECT {id} AS id FROM {table} WHERE {base} AND ({joined}) ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            )),
            compiler.into_args(),
        );
        let ids = self.db.fetch_all(sql, decode_id).await?;
        Ok(Ok(ids))
    }
}
