//! Reading the library for the browse methods: songs, albums, artists and genres, a
//! page at a time, with the calling user's ratings and flags.
//!
//! Each list is one query for the page (ordered and paged in SQL) plus one query for
//! the genres of the whole page: never a query per item.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Engine, Store, StoreResult};

/// An id with the name it displays as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// What the calling user (and everyone) thinks of an item.
#[derive(Debug, Clone, Default)]
pub struct Opinion {
    pub flag: bool,
    pub rating: Option<i64>,
    pub average_rating: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct SongRow {
    pub id: i64,
    pub title: String,
    pub artist: Named,
    pub album: Named,
    pub album_artist: Option<Named>,
    pub disc: i64,
    pub track: i64,
    pub path: String,
    pub duration: f64,
    pub year: i64,
    pub bitrate: i64,
    pub sample_rate: i64,
    pub channels: i64,
    pub mime: String,
    pub size: i64,
    pub mbid: Option<String>,
    pub album_mbid: Option<String>,
    pub artist_mbid: Option<String>,
    pub album_artist_mbid: Option<String>,
    pub composer: Option<String>,
    pub comment: Option<String>,
    pub catalog_id: i64,
    pub rg_album_gain: Option<f64>,
    pub rg_album_peak: Option<f64>,
    pub rg_track_gain: Option<f64>,
    pub rg_track_peak: Option<f64>,
    pub opinion: Opinion,
    pub play_count: i64,
    pub genres: Vec<Named>,
}

#[derive(Debug, Clone)]
pub struct AlbumRow {
    pub id: i64,
    pub name: String,
    pub artist: Named,
    pub year: i64,
    pub song_count: i64,
    pub disc_count: i64,
    pub total_time: i64,
    pub mbid: Option<String>,
    pub opinion: Opinion,
    pub genres: Vec<Named>,
}

#[derive(Debug, Clone)]
pub struct ArtistRow {
    pub id: i64,
    pub name: String,
    pub album_count: i64,
    pub song_count: i64,
    pub total_time: i64,
    pub mbid: Option<String>,
    pub opinion: Opinion,
    pub genres: Vec<Named>,
}

#[derive(Debug, Clone)]
pub struct GenreRow {
    pub id: i64,
    pub name: String,
    pub albums: i64,
    pub artists: i64,
    pub songs: i64,
}

#[derive(Debug, Clone)]
pub struct PlaylistRow {
    /// `smart_N` for smart playlists.
    pub id: String,
    pub name: String,
    pub owner: String,
    pub items: i64,
    pub public: bool,
}

/// A name filter: substring (case-insensitive) or, with `exact`, the whole name.
#[derive(Debug, Clone)]
pub struct NameFilter {
    pub text: String,
    pub exact: bool,
}

/// An interval of Unix times (exclusive start, inclusive end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub after: i64,
    pub until: Option<i64>,
}

/// What narrows a top-level list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub name: Option<NameFilter>,
    pub added: Option<TimeRange>,
    pub updated: Option<TimeRange>,
}

/// Offset and limit, applied in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: Option<i64>,
}

impl Page {
    pub const ALL: Page = Page {
        offset: 0,
        limit: None,
    };
}

/// Which songs a song list holds.
#[derive(Debug, Clone)]
pub enum SongScope {
    All(ListFilter),
    Ids(Vec<i64>),
    Album(i64),
    Artist(i64),
    Genre(i64),
    /// A folded word anywhere in title, artist, album, composer, comment, genre or file name.
    Search(String),
    /// A playlist's songs in playlist order (a song listed twice comes twice).
    Playlist(i64),
    /// The songs of several albums, album by album (for nested lists).
    Albums(Vec<i64>),
    /// The songs of several artists, artist by artist (for nested lists).
    Artists(Vec<i64>),
}

#[derive(Debug, Clone)]
pub enum AlbumScope {
    All(ListFilter),
    Ids(Vec<i64>),
    /// Albums the artist is album artist of, or has songs on.
    Artist(i64),
    Genre(i64),
}

#[derive(Debug, Clone)]
pub enum ArtistScope {
    All(ListFilter),
    Ids(Vec<i64>),
    Genre(i64),
}

/// A value to bind to a placeholder.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
}

/// A query under construction: SQL text and its arguments, numbered as they are added.
struct Query {
    sql: String,
    args: Vec<Arg>,
}

impl Query {
    fn new(user_id: i64) -> Query {
        // $1 is always the calling user.
        Query {
            sql: String::new(),
            args: vec![Arg::Int(user_id)],
        }
    }

    /// Adds an argument and returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn int(&mut self, value: i64) -> String {
        self.arg(Arg::Int(value))
    }

    fn text(&mut self, value: &str) -> String {
        self.arg(Arg::Text(value.to_string()))
    }

    fn ids(&mut self, ids: &[i64]) -> String {
        if ids.is_empty() {
            return "(NULL)".into();
        }
        let list: Vec<String> = ids.iter().map(|id| self.int(*id)).collect();
        format!("({})", list.join(", "))
    }

    /// `from`, then the conditions (all must hold), the order and the page.
    fn list_clauses(
        &mut self,
        from: &str,
        conditions: &[String],
        order: &str,
        page: Page,
    ) -> String {
        let mut sql = from.to_string();
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        let limit = self.int(page.limit.unwrap_or(i64::MAX));
        let offset = self.int(page.offset);
        sql.push_str(&format!(" ORDER BY {order} LIMIT {limit} OFFSET {offset}"));
        sql
    }

    fn page(&mut self, page: Page) {
        let limit = page.limit.unwrap_or(i64::MAX);
        let limit = self.int(limit);
        let offset = self.int(page.offset);
        self.sql
            .push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    }

    async fn fetch(self, store: &Store) -> StoreResult<Vec<AnyRow>> {
        let sql = store.dialect_query(&self.sql);
        let mut query = sqlx::query(&sql);
        for arg in self.args {
            query = match arg {
                Arg::Int(value) => query.bind(value),
                Arg::Text(value) => query.bind(value),
            };
        }
        Ok(query.fetch_all(&store.pool).await?)
    }
}

/// `LIKE` pattern for a substring, with the pattern characters escaped.
pub(crate) fn like_pattern(folded: &str) -> String {
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn name_condition(q: &mut Query, column: &str, filter: &NameFilter) -> String {
    let folded = super::fold(filter.text.trim());
    if filter.exact {
        format!("{column} = {}", q.text(&folded))
    } else {
        format!(
            "{column} LIKE {} ESCAPE '\\'",
            q.text(&like_pattern(&folded))
        )
    }
}

fn time_condition(q: &mut Query, column: &str, range: TimeRange) -> String {
    let after = q.int(range.after);
    match range.until {
        Some(until) => format!("{column} > {after} AND {column} <= {}", q.int(until)),
        None => format!("{column} > {after}"),
    }
}

fn list_conditions(
    q: &mut Query,
    filter: &ListFilter,
    name: &str,
    created: &str,
    updated: &str,
) -> Vec<String> {
    let mut conditions = Vec::new();
    if let Some(f) = &filter.name {
        conditions.push(name_condition(q, name, f));
    }
    if let Some(range) = filter.added {
        conditions.push(time_condition(q, created, range));
    }
    if let Some(range) = filter.updated {
        conditions.push(time_condition(q, updated, range));
    }
    conditions
}

/// The user's opinion of an item of `kind` whose id is `column`, as three columns.
fn opinion_columns(kind: &str, column: &str) -> String {
    format!(
        "(SELECT r.rating FROM ratings r WHERE r.user_id = $1 AND r.object_kind = '{kind}' AND r.object_id = {column}), \
         (SELECT CAST(AVG(r.rating) AS {{real}}) FROM ratings r WHERE r.object_kind = '{kind}' AND r.object_id = {column}), \
         CASE WHEN EXISTS (SELECT 1 FROM flags f WHERE f.user_id = $1 AND f.object_kind = '{kind}' AND f.object_id = {column}) THEN 1 ELSE 0 END"
    )
}

const SONG_COLUMNS: &str = "s.id, s.title, s.artist_id, ar.name, s.album_id, al.name, s.album_artist_id, aa.name, \
     s.disc, s.track, s.path, s.duration, s.year, s.bitrate, s.sample_rate, s.channels, s.mime, s.size, \
     s.mbid, s.album_mbid, s.artist_mbid, s.album_artist_mbid, s.composer, s.comment, s.catalog_id, \
     s.rg_album_gain, s.rg_album_peak, s.rg_track_gain, s.rg_track_peak, \
     (SELECT COUNT(*) FROM plays p WHERE p.song_id = s.id)";

const SONG_FROM: &str =
    " FROM songs s JOIN artists ar ON ar.id = s.artist_id JOIN albums al ON al.id = s.album_id \
     LEFT JOIN artists aa ON aa.id = s.album_artist_id";

/// The three opinion columns of [`opinion_columns`], as decoded from a JSON list.
fn opinion(rating: Option<i64>, average_rating: Option<f64>, flag: i64) -> Opinion {
    Opinion {
        rating,
        average_rating,
        flag: flag != 0,
    }
}

/// A list query wrapped so that the database returns the whole list as one JSON text:
/// one row crosses from the driver instead of thousands (sqlx's per-row hand-off and
/// copies cost several times the query). Each item is the JSON array of its position
/// in `order` followed by `columns`, so the list's order never depends on how the
/// aggregate reads its input. `rest` is the FROM clause onwards.
fn json_list_sql(columns: &str, rest: &str, order: &str) -> String {
    format!(
        "SELECT CAST({{json_agg}} AS TEXT) FROM (SELECT {{json_array}}(ROW_NUMBER() OVER (ORDER BY {order}), \
         {columns}) AS j{rest}) sub"
    )
}

impl Query {
    /// Runs a [`json_list_sql`] query and decodes its items (tuples led by their
    /// position) in list order; an empty list is NULL on PostgreSQL.
    async fn fetch_json_list<T: serde::de::DeserializeOwned>(
        self,
        store: &Store,
        position: impl Fn(&T) -> i64,
    ) -> StoreResult<Vec<T>> {
        let rows = self.fetch(store).await?;
        let Some(json) = rows.first().and_then(|row| row.get::<Option<String>, _>(0)) else {
            return Ok(Vec::new());
        };
        let mut items: Vec<T> = serde_json::from_str(&json)
            .map_err(|e| super::StoreError::Invalid(format!("a list from the database: {e}")))?;
        items.sort_by_key(|item| position(item));
        Ok(items)
    }
}

/// One song as [`json_list_sql`] gives it: its position in the list, then
/// `SONG_COLUMNS` and the opinion columns, in order.
#[derive(serde::Deserialize)]
struct SongTuple(
    i64,
    i64,
    String,
    i64,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    i64,
    i64,
    String,
    f64,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    i64,
    Option<i64>,
    Option<f64>,
    i64,
);

fn song_from_tuple(t: SongTuple) -> SongRow {
    SongRow {
        id: t.1,
        title: t.2,
        artist: Named { id: t.3, name: t.4 },
        album: Named { id: t.5, name: t.6 },
        album_artist: t.7.zip(t.8).map(|(id, name)| Named { id, name }),
        disc: t.9,
        track: t.10,
        path: t.11,
        duration: t.12,
        year: t.13,
        bitrate: t.14,
        sample_rate: t.15,
        channels: t.16,
        mime: t.17,
        size: t.18,
        mbid: t.19,
        album_mbid: t.20,
        artist_mbid: t.21,
        album_artist_mbid: t.22,
        composer: t.23,
        comment: t.24,
        catalog_id: t.25,
        rg_album_gain: t.26,
        rg_album_peak: t.27,
        rg_track_gain: t.28,
        rg_track_peak: t.29,
        play_count: t.30,
        opinion: opinion(t.31, t.32, t.33),
        genres: Vec::new(),
    }
}

impl Store {
    /// Applies dialect tokens to a runtime query (`{real}`).
    pub(crate) fn dialect_query(&self, sql: &str) -> String {
        match self.engine {
            Engine::Sqlite => sql
                .replace("{real}", "REAL")
                .replace("{json_array}", "json_array")
                // Each item is JSON text already: joined as text, not re-parsed by
                // json_group_array(json(...)) (15% of a 5000-song page's query).
                .replace(
                    "{json_agg}",
                    "'[' || COALESCE(group_concat(sub.j, ','), '') || ']'",
                ),
            Engine::Postgres => sql
                .replace("{real}", "DOUBLE PRECISION")
                .replace("{json_array}", "json_build_array")
                .replace("{json_agg}", "json_agg(sub.j)"),
        }
    }

    pub async fn songs(
        &self,
        user_id: i64,
        scope: &SongScope,
        page: Page,
    ) -> StoreResult<Vec<SongRow>> {
        if let SongScope::Ids(ids) = scope {
            let fetch = |chunk: Vec<i64>| async move {
                self.songs_query(user_id, &SongScope::Ids(chunk), Page::ALL)
                    .await
            };
            if let Some(rows) = in_id_chunks(ids, page, fetch).await? {
                return Ok(rows);
            }
        }
        self.songs_query(user_id, scope, page).await
    }

    async fn songs_query(
        &self,
        user_id: i64,
        scope: &SongScope,
        page: Page,
    ) -> StoreResult<Vec<SongRow>> {
        let mut q = Query::new(user_id);
        let mut conditions = vec!["s.enabled = 1".to_string()];
        let mut joins = String::new();
        if let SongScope::Playlist(id) = scope {
            let id = q.int(*id);
            joins =
                format!(" JOIN playlist_items pi ON pi.song_id = s.id AND pi.playlist_id = {id}");
        }
        let order = match scope {
            SongScope::All(filter) => {
                conditions.extend(list_conditions(
                    &mut q,
                    filter,
                    "s.title_folded",
                    "s.created",
                    "s.updated",
                ));
                "s.title_folded, s.id"
            }
            SongScope::Ids(ids) => {
                conditions.push(format!("s.id IN {}", q.ids(ids)));
                "s.id"
            }
            SongScope::Album(id) => {
                conditions.push(format!("s.album_id = {}", q.int(*id)));
                "s.disc, s.track, s.title_folded, s.id"
            }
            SongScope::Artist(id) => {
                conditions.push(format!("s.artist_id = {}", q.int(*id)));
                "al.sort_name, s.album_id, s.disc, s.track, s.id"
            }
            SongScope::Genre(id) => {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM song_genres sg WHERE sg.song_id = s.id AND sg.genre_id = {})",
                    q.int(*id)
                ));
                "s.title_folded, s.id"
            }
            SongScope::Playlist(_) => "pi.position",
            SongScope::Albums(ids) => {
                conditions.push(format!("s.album_id IN {}", q.ids(ids)));
                "s.album_id, s.disc, s.track, s.title_folded, s.id"
            }
            SongScope::Artists(ids) => {
                conditions.push(format!("s.artist_id IN {}", q.ids(ids)));
                "s.artist_id, al.sort_name, s.album_id, s.disc, s.track, s.id"
            }
            SongScope::Search(word) => {
                conditions.push(format!(
                    "s.search_text LIKE {} ESCAPE '\\'",
                    q.text(&like_pattern(word))
                ));
                "s.id"
            }
        };
        let tail = if matches!(scope, SongScope::All(_) | SongScope::Search(_)) {
            // Page on the songs table alone (a covering index for the default order),
            // then join and compute the page's columns: a deep offset then skips index
            // entries, not joined rows.
            let limit = q.int(page.limit.unwrap_or(i64::MAX));
            let offset = q.int(page.offset);
            format!(
                " WHERE s.id IN (SELECT s.id FROM songs s WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset})",
                conditions.join(" AND ")
            )
        } else {
            q.list_clauses("", &conditions, order, page)
        };
        q.sql = json_list_sql(
            &format!("{SONG_COLUMNS}, {}", opinion_columns("song", "s.id")),
            &format!("{SONG_FROM}{joins}{tail}"),
            order,
        );
        let mut songs: Vec<SongRow> = q
            .fetch_json_list(self, |t: &SongTuple| t.0)
            .await?
            .into_iter()
            .map(song_from_tuple)
            .collect();
        let ids: Vec<i64> = songs.iter().map(|s| s.id).collect();
        let genres = self
            .genres_of("SELECT sg.song_id, g.id, g.name FROM song_genres sg JOIN genres g ON g.id = sg.genre_id WHERE sg.song_id IN", &ids)
            .await?;
        for song in &mut songs {
            song.genres = genres.get(&song.id).cloned().unwrap_or_default();
        }
        Ok(songs)
    }

    pub async fn albums(
        &self,
        user_id: i64,
        scope: &AlbumScope,
        page: Page,
    ) -> StoreResult<Vec<AlbumRow>> {
        if let AlbumScope::Ids(ids) = scope {
            let fetch = |chunk: Vec<i64>| async move {
                self.albums_query(user_id, &AlbumScope::Ids(chunk), Page::ALL)
                    .await
            };
            if let Some(rows) = in_id_chunks(ids, page, fetch).await? {
                return Ok(rows);
            }
        }
        self.albums_query(user_id, scope, page).await
    }

    async fn albums_query(
        &self,
        user_id: i64,
        scope: &AlbumScope,
        page: Page,
    ) -> StoreResult<Vec<AlbumRow>> {
        let mut q = Query::new(user_id);
        let mut conditions = Vec::new();
        let order = match scope {
            AlbumScope::All(filter) => {
                conditions.extend(list_conditions(
                    &mut q,
                    filter,
                    "al.name_folded",
                    "al.created",
                    "al.updated",
                ));
                "al.sort_name, al.id"
            }
            AlbumScope::Ids(ids) => {
                conditions.push(format!("al.id IN {}", q.ids(ids)));
                "al.id"
            }
            AlbumScope::Artist(id) => {
                let id = q.int(*id);
                conditions.push(format!(
                    "(al.album_artist_id = {id} OR EXISTS (SELECT 1 FROM songs s WHERE s.album_id = al.id AND s.artist_id = {id}))"
                ));
                "al.year, al.sort_name, al.id"
            }
            AlbumScope::Genre(id) => {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.album_id = al.id AND sg.genre_id = {})",
                    q.int(*id)
                ));
                "al.sort_name, al.id"
            }
        };
        let rest = q.list_clauses(
            " FROM albums al JOIN artists ar ON ar.id = al.album_artist_id",
            &conditions,
            order,
            page,
        );
        q.sql = json_list_sql(
            &format!(
                "al.id, al.name, al.album_artist_id, ar.name, al.year, al.song_count, al.disc_count, al.total_time, al.mbid, {}",
                opinion_columns("album", "al.id")
            ),
            &rest,
            order,
        );
        type AlbumTuple = (
            i64,
            i64,
            String,
            i64,
            String,
            i64,
            i64,
            i64,
            i64,
            Option<String>,
            Option<i64>,
            Option<f64>,
            i64,
        );
        let mut albums: Vec<AlbumRow> = q
            .fetch_json_list(self, |t: &AlbumTuple| t.0)
            .await?
            .into_iter()
            .map(|t| AlbumRow {
                id: t.1,
                name: t.2,
                artist: Named { id: t.3, name: t.4 },
                year: t.5,
                song_count: t.6,
                disc_count: t.7,
                total_time: t.8,
                mbid: t.9,
                opinion: opinion(t.10, t.11, t.12),
                genres: Vec::new(),
            })
            .collect();
        let ids: Vec<i64> = albums.iter().map(|a| a.id).collect();
        let mut genres = self
            .genres_of(
                "SELECT ag.album_id, g.id, g.name FROM album_genres ag JOIN genres g ON g.id = ag.genre_id \
                 WHERE ag.album_id IN",
                &ids,
            )
            .await?;
        for album in &mut albums {
            album.genres = genres.remove(&album.id).unwrap_or_default();
        }
        Ok(albums)
    }

    pub async fn artists(
        &self,
        user_id: i64,
        scope: &ArtistScope,
        page: Page,
    ) -> StoreResult<Vec<ArtistRow>> {
        if let ArtistScope::Ids(ids) = scope {
            let fetch = |chunk: Vec<i64>| async move {
                self.artists_query(user_id, &ArtistScope::Ids(chunk), Page::ALL)
                    .await
            };
            if let Some(rows) = in_id_chunks(ids, page, fetch).await? {
                return Ok(rows);
            }
        }
        self.artists_query(user_id, scope, page).await
    }

    async fn artists_query(
        &self,
        user_id: i64,
        scope: &ArtistScope,
        page: Page,
    ) -> StoreResult<Vec<ArtistRow>> {
        let mut q = Query::new(user_id);
        let mut conditions = Vec::new();
        let order = match scope {
            ArtistScope::All(filter) => {
                conditions.extend(list_conditions(
                    &mut q,
                    filter,
                    "ar.name_folded",
                    "ar.created",
                    "ar.updated",
                ));
                "ar.sort_name, ar.id"
            }
            ArtistScope::Ids(ids) => {
                conditions.push(format!("ar.id IN {}", q.ids(ids)));
                "ar.id"
            }
            ArtistScope::Genre(id) => {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.artist_id = ar.id AND sg.genre_id = {})",
                    q.int(*id)
                ));
                "ar.sort_name, ar.id"
            }
        };
        let rest = q.list_clauses(" FROM artists ar", &conditions, order, page);
        q.sql = json_list_sql(
            &format!(
                "ar.id, ar.name, ar.album_count, ar.song_count, ar.total_time, ar.mbid, {}",
                opinion_columns("artist", "ar.id")
            ),
            &rest,
            order,
        );
        type ArtistTuple = (
            i64,
            i64,
            String,
            i64,
            i64,
            i64,
            Option<String>,
            Option<i64>,
            Option<f64>,
            i64,
        );
        let mut artists: Vec<ArtistRow> = q
            .fetch_json_list(self, |t: &ArtistTuple| t.0)
            .await?
            .into_iter()
            .map(|t| ArtistRow {
                id: t.1,
                name: t.2,
                album_count: t.3,
                song_count: t.4,
                total_time: t.5,
                mbid: t.6,
                opinion: opinion(t.7, t.8, t.9),
                genres: Vec::new(),
            })
            .collect();
        let ids: Vec<i64> = artists.iter().map(|a| a.id).collect();
        let mut genres = self
            .genres_of(
                "SELECT ag.artist_id, g.id, g.name FROM artist_genres ag JOIN genres g ON g.id = ag.genre_id \
                 WHERE ag.artist_id IN",
                &ids,
            )
            .await?;
        for artist in &mut artists {
            artist.genres = genres.remove(&artist.id).unwrap_or_default();
        }
        Ok(artists)
    }

    /// Genres (id, name) per owner id for `select ... IN` + the ids, sorted by name.
    async fn genres_of(&self, select: &str, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Named>>> {
        let mut out: HashMap<i64, Vec<Named>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        // Chunks of 500: SQLite finds each numbered placeholder by walking the list of
        // them, so binding costs grow with the square of a statement's placeholders
        // (5000 in one statement cost a tenth of a songs page's CPU).
        for chunk in ids.chunks(ID_CHUNK) {
            let mut q = Query {
                sql: String::new(),
                args: Vec::new(),
            };
            let list = q.ids(chunk);
            q.sql = format!("{select} {list}");
            for row in q.fetch(self).await? {
                out.entry(row.get(0)).or_default().push(Named {
                    id: row.get(1),
                    name: row.get(2),
                });
            }
        }
        for list in out.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(out)
    }

    /// For the artist index: every album of each artist (as album artist or on a song).
    pub async fn albums_of_artists(&self, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Named>>> {
        let mut out: HashMap<i64, Vec<Named>> = HashMap::new();
        for chunk in ids.chunks(ID_CHUNK / 2) {
            let mut q = Query {
                sql: String::new(),
                args: Vec::new(),
            };
            let first = q.ids(chunk);
            let second = q.ids(chunk);
            q.sql = format!(
                "SELECT DISTINCT s.artist_id, al.id, al.name, al.sort_name FROM songs s JOIN albums al ON al.id = s.album_id WHERE s.artist_id IN {first} \
                 UNION SELECT al.album_artist_id, al.id, al.name, al.sort_name FROM albums al WHERE al.album_artist_id IN {second} \
                 ORDER BY 4, 2"
            );
            for row in q.fetch(self).await? {
                let entry = out.entry(row.get(0)).or_default();
                let album = Named {
                    id: row.get(1),
                    name: row.get(2),
                };
                if !entry.contains(&album) {
                    entry.push(album);
                }
            }
        }
        Ok(out)
    }

    pub async fn genres(
        &self,
        filter: Option<&NameFilter>,
        ids: Option<&[i64]>,
        page: Page,
    ) -> StoreResult<Vec<GenreRow>> {
        let mut q = Query {
            sql: String::new(),
            args: Vec::new(),
        };
        let mut conditions = Vec::new();
        if let Some(filter) = filter {
            conditions.push(name_condition(&mut q, "g.name_folded", filter));
        }
        if let Some(ids) = ids {
            conditions.push(format!("g.id IN {}", q.ids(ids)));
        }
        q.sql =
            "SELECT g.id, g.name, g.album_count, g.artist_count, g.song_count FROM genres g".into();
        if !conditions.is_empty() {
            q.sql
                .push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        q.sql.push_str(" ORDER BY g.name_folded, g.id");
        q.page(page);
        Ok(q.fetch(self)
            .await?
            .iter()
            .map(|row| GenreRow {
                id: row.get(0),
                name: row.get(1),
                albums: row.get(2),
                artists: row.get(3),
                songs: row.get(4),
            })
            .collect())
    }

    /// Playlists `user_id` may see (their own and public ones; an admin all), then
    /// smart playlists.
    pub async fn visible_playlists(
        &self,
        user_id: i64,
        admin: bool,
        filter: &ListFilter,
        page: Page,
    ) -> StoreResult<Vec<PlaylistRow>> {
        let mut q = Query::new(user_id);
        let admin = q.int(admin as i64);
        let mut conditions = vec![format!("(p.public = 1 OR p.user_id = $1 OR {admin} = 1)")];
        if let Some(name) = &filter.name {
            let name = NameFilter {
                text: name.text.clone(),
                exact: name.exact,
            };
            conditions.push(name_condition(&mut q, "LOWER(p.name)", &name));
        }
        if let Some(range) = filter.added {
            conditions.push(time_condition(&mut q, "p.created", range));
        }
        if let Some(range) = filter.updated {
            conditions.push(time_condition(&mut q, "p.updated", range));
        }
        let where_clause = conditions.join(" AND ");
        q.sql = format!(
            "SELECT * FROM (\
               SELECT 0 AS smart, p.id, p.name, u.username, (SELECT COUNT(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS items, p.public \
               FROM playlists p JOIN users u ON u.id = p.user_id WHERE {where_clause} \
               UNION ALL \
               SELECT 1 AS smart, p.id, p.name, CASE WHEN p.public = 1 THEN 'public' ELSE u.username END, \
                 CASE WHEN p.item_limit > 0 THEN p.item_limit ELSE 5000 END, p.public \
               FROM smart_playlists p JOIN users u ON u.id = p.user_id WHERE {where_clause}\
             ) lists ORDER BY smart, LOWER(name), id"
        );
        q.page(page);
        Ok(q.fetch(self)
            .await?
            .iter()
            .map(|row| {
                let smart: i64 = row.get(0);
                let id: i64 = row.get(1);
                PlaylistRow {
                    id: if smart == 1 {
                        format!("smart_{id}")
                    } else {
                        id.to_string()
                    },
                    name: row.get(2),
                    owner: row.get(3),
                    items: row.get(4),
                    public: row.get::<i64, _>(5) != 0,
                }
            })
            .collect())
    }

    /// Whether a row with this id exists in `table` (one of the library tables).
    pub async fn exists(&self, table: LibraryTable, id: i64) -> StoreResult<bool> {
        let sql = format!("SELECT COUNT(*) FROM {} WHERE id = $1", table.name());
        let count: i64 = sqlx::query(&sql)
            .bind(id)
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(count > 0)
    }
}

/// The tables `exists` may look in; a closed set, so no name ever comes from a request.
#[derive(Debug, Clone, Copy)]
pub enum LibraryTable {
    Albums,
    Artists,
    Genres,
}

impl LibraryTable {
    fn name(self) -> &'static str {
        match self {
            LibraryTable::Albums => "albums",
            LibraryTable::Artists => "artists",
            LibraryTable::Genres => "genres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VideoRow {
    pub id: i64,
    pub title: String,
    pub mime: String,
    pub resolution_x: i64,
    pub resolution_y: i64,
    pub size: i64,
}

impl Store {
    /// Videos by id, in id order.
    pub async fn videos_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<VideoRow>> {
        let mut q = Query {
            sql: String::new(),
            args: Vec::new(),
        };
        let list = q.ids(ids);
        q.sql = format!(
            "SELECT id, title, mime, resolution_x, resolution_y, size FROM videos WHERE id IN {list} ORDER BY id"
        );
        Ok(q.fetch(self)
            .await?
            .iter()
            .map(|row| VideoRow {
                id: row.get(0),
                title: row.get(1),
                mime: row.get(2),
                resolution_x: row.get(3),
                resolution_y: row.get(4),
                size: row.get(5),
            })
            .collect())
    }
}

/// A long id list (every match of a search) fetched in chunks, sorted so that the
/// concatenation keeps the id order of an `Ids` scope. None when the list fits one
/// statement (or is paged), for the caller to fetch as usual.
async fn in_id_chunks<T, F, Fut>(ids: &[i64], page: Page, fetch: F) -> StoreResult<Option<Vec<T>>>
where
    F: Fn(Vec<i64>) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Vec<T>>>,
{
    if ids.len() <= ID_CHUNK || page != Page::ALL {
        return Ok(None);
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut rows = Vec::with_capacity(sorted.len());
    for chunk in sorted.chunks(ID_CHUNK) {
        rows.extend(fetch(chunk.to_vec()).await?);
    }
    Ok(Some(rows))
}

/// Ids per statement when a list of ids is bound one placeholder each.
const ID_CHUNK: usize = 500;
