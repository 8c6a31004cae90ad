//! Reading the library for the browse methods: songs, albums, artists and genres, a
//! page at a time, with the calling user's ratings and flags.
//!
//! Each list is one query for the page (ordered and paged in SQL) plus one query for
//! the genres of the whole page: never a query per item.

use std::collections::HashMap;

use futures_util::StreamExt;

pub use crate::model::{AlbumRow, ArtistRow, GenreRow, Named, Opinion, PlaylistRow, SongRow};

use super::db::{decode_count, decode_id, Row, Sql, Value, ID_CHUNK};
use super::genre_ids;
use super::names::NameTable;
use super::row_batches::RowBatches;
use super::text_index::{self, IndexedColumn};
use super::{Engine, Store, StoreError, StoreResult};

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

impl ListFilter {
    /// Whether it lets every item through.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.added.is_none() && self.updated.is_none()
    }
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

/// Matches a search reads with their rows at most, where its query reads the rows
/// to find them ([`Store::song_page`]): two chunks of a list, the rows PostgreSQL's
/// two chunks in flight hold anyway, so memory stays bounded at any limit.
const ROWS_WITH_IDS: i64 = 2 * ID_CHUNK as i64;

/// Songs a batch of a streamed chunk holds ([`Store::song_batches`]).
const SONG_BATCH: usize = 100;

/// Songs in batches, as they are read ([`Store::song_batches`]).
pub type SongBatchStream =
    std::pin::Pin<Box<dyn futures_core::Stream<Item = StoreResult<Vec<SongRow>>> + Send>>;

/// The start of a page of songs ([`Store::song_page`]).
pub struct SongPage {
    /// The page's song ids, in order.
    pub ids: Vec<i64>,
    /// The rows of the first of `ids`, in that order, without their names and
    /// opinions yet ([`Store::complete_songs`]).
    pub read: Vec<SongRow>,
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

/// A query under construction: SQL text and its arguments, numbered as they are added.
pub(super) struct Query {
    pub(super) sql: String,
    args: Vec<Value>,
    engine: Engine,
}

impl Query {
    fn new(engine: Engine, user_id: i64) -> Query {
        // $1 is always the calling user.
        Query {
            sql: String::new(),
            args: vec![Value::Int(user_id)],
            engine,
        }
    }

    pub(super) fn bare(engine: Engine) -> Query {
        Query {
            sql: String::new(),
            args: Vec::new(),
            engine,
        }
    }

    /// Adds an argument and returns its placeholder.
    fn arg(&mut self, arg: Value) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn int(&mut self, value: i64) -> String {
        self.arg(Value::Int(value))
    }

    fn text(&mut self, value: &str) -> String {
        self.arg(Value::Text(value.to_string()))
    }

    /// The set of `ids`, for [`IdSet::holds`]. On SQLite a list of placeholders
    /// (a statement cached per list length); on PostgreSQL one array parameter: a
    /// list of 250 placeholders cost 2 ms of planning at each execution, more than the
    /// query itself.
    pub(super) fn id_set(&mut self, ids: &[i64]) -> IdSet {
        if ids.is_empty() {
            return IdSet::Empty;
        }
        if self.engine == Engine::Postgres {
            return IdSet::Array(self.arg(Value::IntList(ids.to_vec())));
        }
        // Written straight into one string: a string a placeholder, joined after,
        // was 2.7% of a SQLite search_songs answer's CPU (three lists of 500).
        let mut list = String::with_capacity(ids.len() * 7);
        for id in ids {
            if !list.is_empty() {
                list.push_str(", ");
            }
            self.args.push(Value::Int(*id));
            list.push('$');
            list.push_str(itoa::Buffer::new().format(self.args.len()));
        }
        IdSet::List(list)
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

    /// The query as the store's engine runs it.
    pub(super) fn into_sql(self, store: &Store) -> Sql {
        Sql {
            text: store.dialect_query(&self.sql),
            args: self.args,
        }
    }

    /// Runs the query on the store's native connection, decoding each row.
    pub(super) async fn fetch<T: Send + 'static>(
        self,
        store: &Store,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let sql = self.into_sql(store);
        store.db.fetch_all(sql, decode).await
    }
}

/// A set of ids bound to a [`Query`] ([`Query::id_set`]), to test columns against;
/// one set serves several tests without binding its ids again.
pub(super) enum IdSet {
    Empty,
    List(String),
    Array(String),
}

impl IdSet {
    /// The condition that `column` is one of the set's ids. On PostgreSQL `= ANY`
    /// of the array: one index scan that descends once per id, where `IN (SELECT
    /// unnest(..))` hashed the ids and joined them (1.27 -> 1.1 ms for a 500-song
    /// chunk in `psql`, prepared).
    pub(super) fn holds(&self, column: &str) -> String {
        match self {
            IdSet::Empty => format!("{column} IN (NULL)"),
            IdSet::List(list) => format!("{column} IN ({list})"),
            IdSet::Array(param) => format!("{column} = ANY({param}::BIGINT[])"),
        }
    }

    /// The same condition for a table that may be small or unindexed for it, as a
    /// semi-join with the set (PostgreSQL hashes the ids, or probes an index per id).
    /// On a table PostgreSQL reads whole, `= ANY` of a parameter compares each row
    /// with every id once the statement's plan is generic (from its sixth run): the
    /// opinions of 500 songs against 1,000 ratings, 1,000 flags and 2,000 plays took
    /// 2.55 ms a chunk so, 1.2 ms as a semi-join (`psql`, prepared, ten runs).
    pub(super) fn holds_by_join(&self, column: &str) -> String {
        match self {
            IdSet::Array(param) => format!("{column} IN (SELECT unnest({param}::BIGINT[]))"),
            _ => self.holds(column),
        }
    }
}

pub(crate) use super::text_index::like_pattern;

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

/// The user's opinion of the items of a page of `kind` (ids in `column`), as three
/// columns (`rating`, `average_rating`, `flag`) and the joins that give them: the
/// kind's ratings grouped once per query rather than looked up three times a row.
/// For album and artist pages, whose kinds have few ratings; songs, which users rate
/// by the thousand, have theirs read by id beside the rows
/// ([`Store::song_opinions_query`]).
///
/// The flag is cast to BIGINT: PostgreSQL types `CASE ... THEN 1` as INTEGER, and
/// the decoder's first try (BIGINT) failed on every row, building an error it threw
/// away.
fn opinion_joins(kind: &str, column: &str) -> (&'static str, String) {
    (
        "op.rating AS rating, op.average_rating AS average_rating, \
         CAST(CASE WHEN fl.object_id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS flag",
        format!(
            " LEFT JOIN (SELECT r.object_id AS object_id, MAX(CASE WHEN r.user_id = $1 THEN r.rating END) AS rating, \
               CAST(AVG(r.rating) AS {{real}}) AS average_rating FROM ratings r \
               WHERE r.object_kind = '{kind}' GROUP BY r.object_id) op ON op.object_id = {column} \
             LEFT JOIN flags fl ON fl.user_id = $1 AND fl.object_kind = '{kind}' AND fl.object_id = {column}"
        ),
    )
}

/// A song's columns, named for [`decode_song`].
///
/// Artist, album and genre names come from [`super::names`], not from joins; genre
/// ids from the song's row ([`super::genre_ids`]); play counts and opinions from
/// [`Store::song_opinions_query`].
const SONG_COLUMNS: &str = "s.id AS id, s.title AS title, s.artist_id AS artist_id, \
     s.album_id AS album_id, s.album_artist_id AS album_artist_id, \
     s.disc AS disc, s.track AS track, s.path AS path, s.duration AS duration, s.year AS year, s.bitrate AS bitrate, \
     s.sample_rate AS sample_rate, s.channels AS channels, s.mime AS mime, s.size AS size, \
     s.mbid AS mbid, s.album_mbid AS album_mbid, s.artist_mbid AS artist_mbid, s.album_artist_mbid AS album_artist_mbid, \
     s.composer AS composer, s.comment AS comment, s.catalog_id AS catalog_id, \
     s.rg_album_gain AS rg_album_gain, s.rg_album_peak AS rg_album_peak, s.rg_track_gain AS rg_track_gain, \
     s.rg_track_peak AS rg_track_peak, s.genre_ids AS genre_ids";

const SONG_FROM: &str = " FROM songs s";

/// The genres whose ids a row keeps in its `genre_ids` column (songs, albums and
/// artists: migrations 15 and 16), their names left for [`Store::name_genres`].
///
/// Reading them with the row replaced a query per chunk of the link tables
/// (`song_genres`, `album_genres`, `artist_genres`): one index probe per item, a
/// quarter of PostgreSQL's CPU on a 5000-song page.
fn decode_genre_ids(r: &mut dyn Row) -> StoreResult<Vec<Named>> {
    Ok(genre_ids::parse(&r.text("genre_ids")?)
        .map(|id| Named {
            id,
            name: Default::default(),
        })
        .collect())
}

fn decode_song_opinion(r: &mut dyn Row) -> StoreResult<SongOpinion> {
    Ok(SongOpinion {
        part: r.int("part")?,
        song_id: r.int("id")?,
        user_id: r.int("user_id")?,
        value: r.int("value")?,
    })
}

fn decode_opinion(r: &mut dyn Row) -> StoreResult<Opinion> {
    Ok(Opinion {
        rating: r.opt_int("rating")?,
        average_rating: r.opt_real("average_rating")?,
        flag: r.int("flag")? != 0,
    })
}

fn decode_song(r: &mut dyn Row) -> StoreResult<SongRow> {
    Ok(SongRow {
        id: r.int("id")?,
        title: r.text("title")?,
        // Names are filled in by `fill_names`.
        artist: Named {
            id: r.int("artist_id")?,
            name: Default::default(),
        },
        album: Named {
            id: r.int("album_id")?,
            name: Default::default(),
        },
        album_artist: r.opt_int("album_artist_id")?.map(|id| Named {
            id,
            name: Default::default(),
        }),
        disc: r.int("disc")?,
        track: r.int("track")?,
        path: r.text("path")?,
        duration: r.real("duration")?,
        year: r.int("year")?,
        bitrate: r.int("bitrate")?,
        sample_rate: r.int("sample_rate")?,
        channels: r.int("channels")?,
        mime: r.text("mime")?,
        size: r.int("size")?,
        mbid: r.opt_text("mbid")?,
        album_mbid: r.opt_text("album_mbid")?,
        artist_mbid: r.opt_text("artist_mbid")?,
        album_artist_mbid: r.opt_text("album_artist_mbid")?,
        composer: r.opt_text("composer")?,
        comment: r.opt_text("comment")?,
        catalog_id: r.int("catalog_id")?,
        rg_album_gain: r.opt_real("rg_album_gain")?,
        rg_album_peak: r.opt_real("rg_album_peak")?,
        rg_track_gain: r.opt_real("rg_track_gain")?,
        rg_track_peak: r.opt_real("rg_track_peak")?,
        // Names are filled in by `fill_names`.
        genres: decode_genre_ids(r)?,
        // Filled in by `fill_song_opinions`.
        play_count: 0,
        opinion: Opinion::default(),
    })
}

/// One fact of [`Store::song_opinions_query`]: a rating (by `user_id`), the caller's flag,
/// or a play count.
struct SongOpinion {
    part: i64,
    song_id: i64,
    user_id: i64,
    value: i64,
}

const RATING: i64 = 1;
const FLAG: i64 = 2;
const PLAYS: i64 = 3;

/// Puts `opinions` into `songs` (each song's place in `index`): the caller's rating
/// and flag, the average of every user's rating (the sum divided by the count in
/// floating point, as AVG does), the play count.
fn fill_song_opinions(
    user_id: i64,
    opinions: &[SongOpinion],
    songs: &mut [SongRow],
    index: &HashMap<i64, usize>,
) {
    // Each song's ratings summed and counted, by its place in `songs`.
    let mut ratings = vec![(0_i64, 0_i64); songs.len()];
    for fact in opinions {
        let Some(&at) = index.get(&fact.song_id) else {
            continue;
        };
        let song = &mut songs[at];
        match fact.part {
            RATING => {
                if fact.user_id == user_id {
                    song.opinion.rating = Some(fact.value);
                }
                ratings[at].0 += fact.value;
                ratings[at].1 += 1;
            }
            FLAG => song.opinion.flag = true,
            PLAYS => song.play_count = fact.value,
            _ => {}
        }
    }
    for (song, (sum, count)) in songs.iter_mut().zip(ratings) {
        if count > 0 {
            song.opinion.average_rating = Some(sum as f64 / count as f64);
        }
    }
}

/// Rows a streamed list page hands on at a time ([`super::row_batches`]).
const LIST_BATCH: usize = 250;

/// A page of a list as it is read: its size first (XML writes it before the items),
/// then its rows in batches.
pub struct Batches<T> {
    pub total: usize,
    pub batches: std::pin::Pin<Box<dyn futures_core::Stream<Item = StoreResult<Vec<T>>> + Send>>,
}

impl<T: Send + 'static> Batches<T> {
    fn empty() -> Batches<T> {
        Batches {
            total: 0,
            batches: Box::pin(futures_util::stream::empty()),
        }
    }
}

/// A list of albums or artists: its table and what a row shows.
struct ListKind {
    table: &'static str,
    alias: &'static str,
    /// The selected columns, named for the kind's decoder.
    columns: &'static str,
    /// The kind of the user's ratings and flags.
    opinion: &'static str,
}

const ALBUM_LIST: ListKind = ListKind {
    table: "albums",
    alias: "al",
    columns: "al.id AS id, al.name AS name, al.album_artist_id AS artist_id, \
              al.year AS year, al.song_count AS song_count, al.disc_count AS disc_count, \
              al.total_time AS total_time, al.mbid AS mbid, al.genre_ids AS genre_ids",
    opinion: "album",
};

const ARTIST_LIST: ListKind = ListKind {
    table: "artists",
    alias: "ar",
    columns: "ar.id AS id, ar.name AS name, ar.album_count AS album_count, \
              ar.song_count AS song_count, ar.total_time AS total_time, ar.mbid AS mbid, \
              ar.summary AS summary, ar.placeformed AS placeformed, ar.yearformed AS yearformed, \
              ar.genre_ids AS genre_ids",
    opinion: "artist",
};

/// The queries of a page of albums or artists.
struct PageSql {
    /// The page's rows, in order, read by the page's ids.
    rows: Sql,
    /// The page's ids, in order.
    ids: Sql,
    /// The page's rows, in order, read along the list's index from its first item
    /// to its last: the rows come as the index is walked, where reading them by id
    /// sorted them all before giving the first (`rows`). It takes three more
    /// arguments: the first item's id, the last's, and how many.
    rows_between: Sql,
}

impl PageSql {
    /// The page of `kind` whose items hold `conditions` (with `q`'s arguments), in
    /// the order of `order` (columns of the kind's table, the last one its id).
    fn new(
        store: &Store,
        mut q: Query,
        kind: &'static ListKind,
        conditions: &[String],
        order: &[&str],
        page: Page,
    ) -> PageSql {
        let ListKind { table, alias, .. } = kind;
        let in_order = |alias: &str| {
            order
                .iter()
                .map(|column| format!("{alias}.{column}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (order_by, order_of_other) = (in_order(alias), in_order("other"));
        let rest = q.list_clauses(
            &format!(" FROM {table} {alias}"),
            conditions,
            &order_by,
            page,
        );
        let page_ids = format!("SELECT {alias}.id{rest}");
        let (opinion, joins) = opinion_joins(kind.opinion, &format!("{alias}.id"));
        let select = format!(
            "SELECT {}, {opinion} FROM {table} {alias}{joins}",
            kind.columns
        );
        let sql = |text: String| Sql {
            text: store.dialect_query(&text),
            args: q.args.clone(),
        };
        let arguments = q.args.len();
        let item = |n: usize| {
            format!(
                "(SELECT {order_of_other} FROM {table} other WHERE other.id = ${})",
                arguments + n
            )
        };
        let mut between = conditions.to_vec();
        between.push(format!("({order_by}) >= {}", item(1)));
        between.push(format!("({order_by}) <= {}", item(2)));
        PageSql {
            rows: sql(format!(
                "{select} WHERE {alias}.id IN ({page_ids}) ORDER BY {order_by}"
            )),
            ids: sql(format!("SELECT {alias}.id AS id{rest}")),
            rows_between: sql(format!(
                "{select} WHERE {} ORDER BY {order_by} LIMIT ${}",
                between.join(" AND "),
                arguments + 3
            )),
        }
    }

    /// Reads the page as it goes: its ids (for its size), then its rows in
    /// batches.
    async fn stream<T: Send + 'static>(
        self,
        store: &Store,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Option<(usize, RowBatches<T>)>> {
        let ids = store.db.fetch_all(self.ids, decode_id).await?;
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(None);
        };
        let mut rows = self.rows_between;
        rows.args.extend([
            Value::Int(*first),
            Value::Int(*last),
            Value::Int(ids.len() as i64),
        ]);
        let batches = store.db.stream_batches(rows, decode, LIST_BATCH);
        Ok(Some((ids.len(), batches)))
    }
}

fn decode_artist(r: &mut dyn Row) -> StoreResult<ArtistRow> {
    Ok(ArtistRow {
        id: r.int("id")?,
        name: r.text("name")?,
        album_count: r.int("album_count")?,
        song_count: r.int("song_count")?,
        total_time: r.int("total_time")?,
        mbid: r.opt_text("mbid")?,
        summary: r.opt_text("summary")?,
        place_formed: r.opt_text("placeformed")?,
        year_formed: r.int("yearformed")?,
        genres: decode_genre_ids(r)?,
        opinion: decode_opinion(r)?,
    })
}

fn decode_album(r: &mut dyn Row) -> StoreResult<AlbumRow> {
    Ok(AlbumRow {
        id: r.int("id")?,
        name: r.text("name")?,
        // The name from `names`.
        artist: Named {
            id: r.int("artist_id")?,
            name: Default::default(),
        },
        year: r.int("year")?,
        song_count: r.int("song_count")?,
        disc_count: r.int("disc_count")?,
        total_time: r.int("total_time")?,
        mbid: r.opt_text("mbid")?,
        genres: decode_genre_ids(r)?,
        opinion: decode_opinion(r)?,
    })
}

/// A row of an album or artist page: what its page's query leaves for the store to
/// fill in from memory.
trait PageRow: Sized + Send + 'static {
    /// Names `rows`' genres, and anything else read from memory (an album's artist
    /// name).
    fn finish<'a>(
        store: &'a Store,
        rows: &'a mut [Self],
    ) -> impl std::future::Future<Output = StoreResult<()>> + Send + 'a;
}

impl PageRow for ArtistRow {
    async fn finish(store: &Store, artists: &mut [ArtistRow]) -> StoreResult<()> {
        store
            .name_genres(artists, |artist| &mut artist.genres)
            .await
    }
}

impl PageRow for AlbumRow {
    async fn finish(store: &Store, albums: &mut [AlbumRow]) -> StoreResult<()> {
        store.name_genres(albums, |album| &mut album.genres).await?;
        let artist_ids: Vec<i64> = albums.iter().map(|a| a.artist.id).collect();
        let artist_names = store.names(NameTable::Artists, &artist_ids).await?;
        for (album, artist_name) in albums.iter_mut().zip(artist_names) {
            album.artist.name = artist_name;
        }
        Ok(())
    }
}

impl Store {
    /// Names the genres of `items` (their ids read with their rows) from the name
    /// cache, and sorts each item's by name.
    async fn name_genres<T>(
        &self,
        items: &mut [T],
        genres: fn(&mut T) -> &mut Vec<Named>,
    ) -> StoreResult<()> {
        let mut ids = Vec::new();
        for item in items.iter_mut() {
            ids.extend(genres(item).iter().map(|genre| genre.id));
        }
        let mut names = self.names(NameTable::Genres, &ids).await?.into_iter();
        for item in items.iter_mut() {
            let list = genres(item);
            for genre in list.iter_mut() {
                genre.name = names.next().unwrap_or_default();
            }
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(())
    }

    /// A page of albums or artists read whole, in one query.
    async fn page_rows<T: PageRow>(
        &self,
        sql: PageSql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut rows = self.db.fetch_all(sql.rows, decode).await?;
        T::finish(self, &mut rows).await?;
        Ok(rows)
    }

    /// A page of albums or artists as it is read: how many, then the rows in
    /// batches ([`super::row_batches`]).
    async fn page_batches<T: PageRow>(
        &self,
        sql: PageSql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Batches<T>> {
        let Some((total, batches)) = sql.stream(self, decode).await? else {
            return Ok(Batches::empty());
        };
        let batches = futures_util::stream::unfold(
            (self.clone(), batches),
            |(store, mut batches)| async move {
                let batch = match batches.next_batch().await? {
                    Ok(mut rows) => T::finish(&store, &mut rows).await.map(|()| rows),
                    Err(error) => Err(error),
                };
                Some((batch, (store, batches)))
            },
        );
        Ok(Batches {
            total,
            batches: Box::pin(batches),
        })
    }

    /// Applies dialect tokens to a runtime query (`{real}`).
    pub(crate) fn dialect_query(&self, sql: &str) -> String {
        match self.engine {
            Engine::Sqlite => sql.replace("{real}", "REAL"),
            Engine::Postgres => sql.replace("{real}", "DOUBLE PRECISION"),
        }
    }

    /// Songs of a scope, a page of them, in the scope's order.
    pub async fn songs(
        &self,
        user_id: i64,
        scope: &SongScope,
        page: Page,
    ) -> StoreResult<Vec<SongRow>> {
        let ids = match scope {
            // By id, in id order, each once.
            SongScope::Ids(ids) => {
                let mut sorted = ids.clone();
                sorted.sort_unstable();
                sorted.dedup();
                let mut rows = Vec::with_capacity(sorted.len());
                for chunk in sorted.chunks(ID_CHUNK) {
                    rows.extend(self.songs_by_ids(user_id, chunk).await?);
                }
                let limit = page.limit.unwrap_or(i64::MAX).max(0) as usize;
                return Ok(rows
                    .into_iter()
                    .skip(page.offset.max(0) as usize)
                    .take(limit)
                    .collect());
            }
            _ => self.song_page(scope, page).await?,
        };
        let mut rows = Vec::with_capacity(ids.ids.len());
        let mut batches = self.song_page_rows(user_id, ids, false);
        while let Some(batch) = batches.next().await {
            rows.extend(batch?);
        }
        Ok(rows)
    }

    /// The ids of a page of a scope's songs, in order. Paging reads ids alone, on the
    /// scope's index where it has one, so a page costs the same at any offset: the
    /// wide rows are read for the page's ids only ([`Store::songs_by_ids`]).
    pub async fn song_page_ids(&self, scope: &SongScope, page: Page) -> StoreResult<Vec<i64>> {
        if matches!(scope, SongScope::All(filter) if filter.is_empty()) {
            if let Some(ids) = self.song_order_page(page).await? {
                return Ok(ids);
            }
        }
        let mut q = Query::bare(self.engine);
        let mut conditions = vec!["s.enabled = 1".to_string()];
        let mut joins = String::new();
        if let SongScope::Playlist(id) = scope {
            let id = q.int(*id);
            joins =
                format!(" JOIN playlist_items pi ON pi.song_id = s.id AND pi.playlist_id = {id}");
        }
        let order = match scope {
            SongScope::All(filter) => {
                let mut filter = filter.clone();
                if let Some(name) = filter.name.take_if(|name| !name.exact) {
                    conditions.push(text_index::contains(
                        self.engine,
                        "s",
                        IndexedColumn::Title,
                        &super::fold(name.text.trim()),
                        |text| q.arg(Value::Text(text)),
                    ));
                }
                conditions.extend(list_conditions(
                    &mut q,
                    &filter,
                    "s.title_folded",
                    "s.created",
                    "s.updated",
                ));
                "s.title_folded, s.id"
            }
            SongScope::Ids(ids) => {
                conditions.push(q.id_set(ids).holds("s.id"));
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
                conditions.push(q.id_set(ids).holds("s.album_id"));
                "s.album_id, s.disc, s.track, s.title_folded, s.id"
            }
            SongScope::Artists(ids) => {
                conditions.push(q.id_set(ids).holds("s.artist_id"));
                "s.artist_id, al.sort_name, s.album_id, s.disc, s.track, s.id"
            }
            SongScope::Search(word) => return self.searched_page_ids(word, page).await,
        };
        if order.contains("al.") {
            joins.push_str(" JOIN albums al ON al.id = s.album_id");
        }
        let rest = q.list_clauses(&format!(" FROM songs s{joins}"), &conditions, order, page);
        q.sql = format!("SELECT s.id AS id{rest}");
        q.fetch(self, decode_id).await
    }

    /// How many chunks of a song list to read at once, while the answer is written.
    /// PostgreSQL runs a chunk's queries in its own processes while this one decodes
    /// and writes the previous chunk: two in flight took a 5000-song page from 62 to
    /// 54 ms and search_songs from 14 to 10 ms on a long-lived cluster (builds
    /// alternated; three gave no more). On the benchmark's freshly scanned cluster
    /// the page stayed at 56–63 ms; why it gains nothing there is not known yet. On
    /// SQLite the reading is this process's own CPU: two in flight saved 1 ms of a
    /// page's 26 for 2–3.5 ms more CPU, throughput lost under load, so one is read
    /// ahead.
    pub fn song_chunks_in_flight(&self) -> usize {
        match self.engine {
            Engine::Sqlite => 1,
            Engine::Postgres => 2,
        }
    }

    /// A page of the ids of the songs whose search text holds `word` (folded), in
    /// id order.
    async fn searched_page_ids(&self, word: &str, page: Page) -> StoreResult<Vec<i64>> {
        let mut q = Query::bare(self.engine);
        let ids =
            text_index::enabled_in_id_order(self.engine, IndexedColumn::SearchText, word, |text| {
                q.arg(Value::Text(text))
            });
        let rest = q.list_clauses(ids.from, &ids.conditions, ids.id, page);
        q.sql = format!("SELECT {} AS id{rest}", ids.id);
        q.fetch(self, decode_id).await
    }

    /// A page of the songs whose search text holds `word` (folded), in id order, with
    /// the rows of its first [`ROWS_WITH_IDS`] read by the query that finds them,
    /// where that query reads each match's row anyway: on PostgreSQL, whose trigram
    /// index gives candidates that are checked against their rows' text, and on
    /// SQLite for a word too short for its trigram index. None elsewhere (SQLite's
    /// index gives ids without the rows).
    ///
    /// Reading the ids and then the rows by id visited each match's table page
    /// twice and descended the primary key once per match: for a word in 1,000 of
    /// 100,000 titles, PostgreSQL spent 3.2 ms on the ids and 2 × 4.2 ms on the rows,
    /// against 6.7–7.5 ms for the rows at once (`pg_stat_statements`, mean of 200
    /// searches, builds alternated); the answer came 1–2.5 ms sooner (of 17–20 ms on
    /// a slow day of this machine). The rows in two halves read side by side took
    /// 13–14 ms of PostgreSQL's time and came no sooner.
    async fn searched_page_with_rows(
        &self,
        word: &str,
        page: Page,
    ) -> StoreResult<Option<SongPage>> {
        let mut q = Query::bare(self.engine);
        let ids =
            text_index::enabled_in_id_order(self.engine, IndexedColumn::SearchText, word, |text| {
                q.arg(Value::Text(text))
            });
        if !ids.reads_song_rows {
            return Ok(None);
        }
        let wanted = page.limit.unwrap_or(i64::MAX).max(0);
        // One row more than are held tells whether more follow.
        let asked = if wanted > ROWS_WITH_IDS {
            ROWS_WITH_IDS + 1
        } else {
            wanted
        };
        let rest = q.list_clauses(
            ids.from,
            &ids.conditions,
            ids.id,
            Page {
                offset: page.offset,
                limit: Some(asked),
            },
        );
        q.sql = format!("SELECT {SONG_COLUMNS}{rest}");
        let read = q.fetch(self, decode_song).await?;
        let mut page_ids: Vec<i64> = read.iter().map(|song| song.id).collect();
        if wanted > asked && read.len() as i64 == asked {
            let more = Page {
                offset: page.offset + asked,
                limit: page.limit.map(|limit| limit - asked),
            };
            page_ids.extend(self.searched_page_ids(word, more).await?);
        }
        Ok(Some(SongPage {
            ids: page_ids,
            read,
        }))
    }

    /// A page of a scope's songs: its ids, and the rows of the first ones where the
    /// query that found them read them too ([`Store::complete_songs`] finishes
    /// those); the others are read by id ([`Store::songs_by_ids`]).
    pub async fn song_page(&self, scope: &SongScope, page: Page) -> StoreResult<SongPage> {
        if let SongScope::Search(word) = scope {
            if let Some(found) = self.searched_page_with_rows(word, page).await? {
                return Ok(found);
            }
        }
        Ok(SongPage {
            ids: self.song_page_ids(scope, page).await?,
            read: Vec::new(),
        })
    }

    /// The songs of a page ([`Store::song_page`]) as they are read, a chunk of
    /// [`ID_CHUNK`] at a time and [`Store::song_chunks_in_flight`] at once: the rows
    /// read with the ids finished ([`Store::complete_songs`]), the others read by id,
    /// in batches as they come ([`Store::song_batches`]: search_songs for 1,000
    /// matches on SQLite, 13.9-14.5 -> 12.2-12.6 ms JSON, 14.3-14.4 -> 13.1 ms XML,
    /// curl p50 of 200, builds alternated, on a slow day); `whole_list` when they
    /// are a stretch of the whole song list in its order
    /// ([`Store::songs_of_whole_list`]).
    pub fn song_page_rows(
        &self,
        user_id: i64,
        found: SongPage,
        whole_list: bool,
    ) -> SongBatchStream {
        let SongPage { ids, read } = found;
        let total = ids.len();
        let ids = std::sync::Arc::new(ids);
        // Each chunk's start, with the rows of it already read.
        let mut read = read.into_iter();
        let starts: Vec<(usize, Vec<SongRow>)> = (0..total)
            .step_by(ID_CHUNK)
            .map(|start| {
                let len = ID_CHUNK.min(total - start);
                (start, read.by_ref().take(len).collect())
            })
            .collect();
        let store = self.clone();
        let chunks = futures_util::stream::iter(starts)
            .map(move |(start, held)| {
                let (store, ids) = (store.clone(), ids.clone());
                async move {
                    let chunk = &ids[start..(start + ID_CHUNK).min(ids.len())];
                    if held.is_empty() && !whole_list {
                        return store.song_batches(user_id, chunk);
                    }
                    let rest = chunk[held.len()..].to_vec();
                    let songs = async move {
                        let mut songs = store.complete_songs(user_id, held).await?;
                        if !rest.is_empty() {
                            songs.extend(if whole_list {
                                store.songs_of_whole_list(user_id, &rest).await?
                            } else {
                                store.songs_by_ids(user_id, &rest).await?
                            });
                        }
                        Ok(songs)
                    };
                    Box::pin(futures_util::stream::once(songs)) as SongBatchStream
                }
            })
            .buffered(self.song_chunks_in_flight())
            .flatten();
        Box::pin(chunks)
    }

    /// Rows read by [`Store::song_page`] with their names and the caller's opinions,
    /// as [`Store::songs_by_ids`] gives them.
    async fn complete_songs(
        &self,
        user_id: i64,
        mut rows: Vec<SongRow>,
    ) -> StoreResult<Vec<SongRow>> {
        let mut unique: Vec<i64> = rows.iter().map(|song| song.id).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() {
            return Ok(rows);
        }
        let opinions = self
            .db
            .fetch_all(
                self.song_opinions_query(user_id, &unique).into_sql(self),
                decode_song_opinion,
            )
            .await?;
        self.finish_songs(user_id, &mut rows, &opinions).await?;
        Ok(rows)
    }

    /// Fills in the names and opinions of `rows`; returns where each id's row is.
    async fn finish_songs(
        &self,
        user_id: i64,
        rows: &mut [SongRow],
        opinions: &[SongOpinion],
    ) -> StoreResult<HashMap<i64, usize>> {
        self.fill_names(rows).await?;
        let index: HashMap<i64, usize> = rows
            .iter()
            .enumerate()
            .map(|(at, song)| (song.id, at))
            .collect();
        fill_song_opinions(user_id, opinions, rows, &index);
        Ok(index)
    }

    /// The songs of `ids` (at most a few hundred: see [`ID_CHUNK`]), in that order,
    /// an id listed twice giving its song twice; ids of missing or disabled songs
    /// give nothing. One query for the rows, one for their genres.
    pub async fn songs_by_ids(&self, user_id: i64, ids: &[i64]) -> StoreResult<Vec<SongRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut q = Query::new(self.engine, user_id);
        let ids_hold = q.id_set(&unique).holds("s.id");
        q.sql = format!("SELECT {SONG_COLUMNS}{SONG_FROM} WHERE {ids_hold} AND s.enabled = 1");
        self.songs_from(user_id, q, &unique, ids).await
    }

    /// The songs of `ids` as [`Store::songs_by_ids`] gives them, in batches of
    /// [`SONG_BATCH`] as they are read, so that the first are written while the
    /// others are read: a chunk read whole waited for its last row before its
    /// first was written, and then the next chunk's read waited on the writing.
    /// Ids in increasing order, each once (a search's, a page of ids), stream;
    /// others (a playlist's order) come in one batch.
    pub fn song_batches(&self, user_id: i64, ids: &[i64]) -> SongBatchStream {
        let store = self.clone();
        if ids.is_empty() || !ids.windows(2).all(|pair| pair[0] < pair[1]) {
            let ids = ids.to_vec();
            return Box::pin(futures_util::stream::once(async move {
                store.songs_by_ids(user_id, &ids).await
            }));
        }
        let mut q = Query::new(self.engine, user_id);
        let ids_hold = q.id_set(ids).holds("s.id");
        q.sql = format!(
            "SELECT {SONG_COLUMNS}{SONG_FROM} WHERE {ids_hold} AND s.enabled = 1 ORDER BY s.id"
        );
        let rows = self
            .db
            .stream_batches(q.into_sql(self), decode_song, SONG_BATCH);
        // Beside the rows, on another reading connection: a few dozen facts, read
        // long before the first batch of rows is.
        let opinions = self.song_opinions_query(user_id, ids).into_sql(self);
        let db = self.db.clone();
        let opinions =
            tokio::spawn(async move { db.fetch_all(opinions, decode_song_opinion).await });
        let state = (store, rows, Some(opinions), Vec::new());
        Box::pin(futures_util::stream::unfold(
            state,
            move |(store, mut rows, mut pending, mut opinions)| async move {
                let batch = rows.next_batch().await?;
                let finished = async {
                    let mut batch = batch?;
                    if let Some(reading) = pending.take() {
                        opinions = reading.await.map_err(|error| {
                            StoreError::Engine(format!("reading opinions failed: {error}"))
                        })??;
                    }
                    store.finish_songs(user_id, &mut batch, &opinions).await?;
                    Ok(batch)
                }
                .await;
                Some((finished, (store, rows, pending, opinions)))
            },
        ))
    }

    /// The songs of `ids`, a stretch of the whole song list (`SongScope::All` without
    /// a filter) in its order, as [`Store::songs_by_ids`] gives them. The rows come
    /// from the stretch of the list's index between the first id and the last, read
    /// in order. On SQLite that index is `songs_list`, which holds every column
    /// (migration 13; without it, while a first scan defers it, `songs_title` and
    /// the table): the store's side of a 5000-song page went from 23 to 16 ms
    /// (`page_timing` in store_tests.rs). On PostgreSQL it is `songs_title`: a
    /// 250-song chunk touched 257 buffers instead of 750 by id. A song retitled,
    /// added or removed since the ids were read is still right: the stretch's rows
    /// are matched to the ids, and those it lacks are read by id.
    pub async fn songs_of_whole_list(
        &self,
        user_id: i64,
        ids: &[i64],
    ) -> StoreResult<Vec<SongRow>> {
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(Vec::new());
        };
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut q = Query::new(self.engine, user_id);
        let (first, last) = (q.int(*first), q.int(*last));
        // Songs added inside the stretch meanwhile are read and dropped; the limit
        // bounds them (ids past it are read by id). It is written into the text, a
        // number of ours: bound as an argument, PostgreSQL planned every chunk anew
        // (its plan for an unknown limit looked costlier than each custom plan),
        // 0.3-0.4 ms of its CPU per chunk.
        let limit = ids.len() * 2 + 100;
        q.sql = format!(
            "SELECT {SONG_COLUMNS} FROM songs s \
             WHERE s.enabled = 1 \
               AND (s.title_folded, s.id) >= ((SELECT title_folded FROM songs WHERE id = {first}), {first}) \
               AND (s.title_folded, s.id) <= ((SELECT title_folded FROM songs WHERE id = {last}), {last}) \
             ORDER BY s.title_folded, s.id LIMIT {limit}"
        );
        let songs = self.songs_from(user_id, q, &unique, ids).await?;
        if songs.len() == ids.len() {
            return Ok(songs);
        }
        // Some ids were not in the stretch (retitled, or gone): by id, in order.
        let found: std::collections::HashSet<i64> = songs.iter().map(|s| s.id).collect();
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !found.contains(id))
            .collect();
        let mut by_id: HashMap<i64, SongRow> = songs
            .into_iter()
            .chain(self.songs_by_ids(user_id, &missing).await?)
            .map(|song| (song.id, song))
            .collect();
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// The rows of `rows` (a query of [`SONG_COLUMNS`]) with their names, in the
    /// order of `ids` (`unique`: the same ids sorted, each once); rows of other ids
    /// are dropped.
    async fn songs_from(
        &self,
        user_id: i64,
        rows: Query,
        unique: &[i64],
        ids: &[i64],
    ) -> StoreResult<Vec<SongRow>> {
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let (mut rows, opinions) = self
            .db
            .fetch_all_both(
                (rows.into_sql(self), decode_song),
                (
                    self.song_opinions_query(user_id, unique).into_sql(self),
                    decode_song_opinion,
                ),
            )
            .await?;
        let index = self.finish_songs(user_id, &mut rows, &opinions).await?;
        // Rows read in the order asked for, each once (a search's, a page of the
        // whole list), are the answer as they are.
        if rows.len() == ids.len() && rows.iter().zip(ids).all(|(row, id)| row.id == *id) {
            return Ok(rows);
        }
        let mut rows: Vec<Option<SongRow>> = rows.into_iter().map(Some).collect();
        // The last mention of an id takes the row; earlier ones (a playlist listing a
        // song twice) copy it.
        let mut mentions: HashMap<i64, usize> = HashMap::with_capacity(unique.len());
        for id in ids {
            *mentions.entry(*id).or_default() += 1;
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(&at) = index.get(id) else { continue };
            let left = mentions.get_mut(id).map_or(0, |n| {
                *n -= 1;
                *n
            });
            out.extend(if left > 0 {
                rows[at].clone()
            } else {
                rows[at].take()
            });
        }
        Ok(out)
    }

    /// Play counts and opinions of the songs of `unique`: every rating of each (the
    /// caller's and the others', for the average), the caller's flags, the number of
    /// plays. One query for a chunk, its three parts probing each table's index once
    /// per id. As four subqueries in each song's row they cost 0.17 ms more per 500
    /// songs of the benchmark's library, where nobody has rated, flagged or played
    /// anything, and 0.49 ms more with a twentieth of the songs rated, a hundredth
    /// flagged and a third played three times each; this query takes 0.05 and 0.31 ms
    /// (prepared, median of 200, on a copy of the 100,000-track database). Run beside
    /// the rows' query (on a second connection) it made search_songs slower; it runs
    /// after them on the same connection, in the same trip to a reading thread
    /// ([`super::db::Db::fetch_all_both`]).
    fn song_opinions_query(&self, user_id: i64, unique: &[i64]) -> Query {
        let mut q = Query::new(self.engine, user_id);
        let ids = q.id_set(unique);
        let (rated, flagged, played) = (
            ids.holds_by_join("r.object_id"),
            ids.holds_by_join("f.object_id"),
            ids.holds_by_join("p.song_id"),
        );
        q.sql = format!(
            "SELECT {RATING} AS part, r.object_id AS id, r.user_id AS user_id, r.rating AS value \
               FROM ratings r WHERE r.object_kind = 'song' AND {rated} \
             UNION ALL SELECT {FLAG}, f.object_id, f.user_id, 0 \
               FROM flags f WHERE f.user_id = $1 AND f.object_kind = 'song' AND {flagged} \
             UNION ALL SELECT {PLAYS}, p.song_id, 0, COUNT(*) \
               FROM plays p WHERE {played} GROUP BY p.song_id"
        );
        q
    }

    /// The artist, album, album artist and genre names of `songs`; each song's
    /// genres sorted by name.
    async fn fill_names(&self, songs: &mut [SongRow]) -> StoreResult<()> {
        let mut artist_ids: Vec<i64> = songs.iter().map(|s| s.artist.id).collect();
        artist_ids.extend(
            songs
                .iter()
                .filter_map(|s| s.album_artist.as_ref().map(|a| a.id)),
        );
        let album_ids: Vec<i64> = songs.iter().map(|s| s.album.id).collect();
        let mut artist_names = self
            .names(NameTable::Artists, &artist_ids)
            .await?
            .into_iter();
        let album_names = self.names(NameTable::Albums, &album_ids).await?;
        for (song, album_name) in songs.iter_mut().zip(album_names) {
            song.artist.name = artist_names.next().unwrap_or_default();
            song.album.name = album_name;
        }
        for album_artist in songs.iter_mut().filter_map(|s| s.album_artist.as_mut()) {
            album_artist.name = artist_names.next().unwrap_or_default();
        }
        self.name_genres(songs, |song| &mut song.genres).await
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
        self.page_rows(self.albums_sql(user_id, scope, page), decode_album)
            .await
    }

    /// A page of albums as it is read: how many, then the rows in batches.
    pub async fn album_batches(
        &self,
        user_id: i64,
        scope: &AlbumScope,
        page: Page,
    ) -> StoreResult<Batches<AlbumRow>> {
        self.page_batches(self.albums_sql(user_id, scope, page), decode_album)
            .await
    }

    /// The queries of a page of albums: its ids and its rows.
    fn albums_sql(&self, user_id: i64, scope: &AlbumScope, page: Page) -> PageSql {
        let mut q = Query::new(self.engine, user_id);
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
                &["sort_name", "id"][..]
            }
            AlbumScope::Ids(ids) => {
                conditions.push(q.id_set(ids).holds("al.id"));
                &["id"][..]
            }
            AlbumScope::Artist(id) => {
                let id = q.int(*id);
                conditions.push(format!(
                    "(al.album_artist_id = {id} OR EXISTS (SELECT 1 FROM songs s WHERE s.album_id = al.id AND s.artist_id = {id}))"
                ));
                &["year", "sort_name", "id"][..]
            }
            AlbumScope::Genre(id) => {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.album_id = al.id AND sg.genre_id = {})",
                    q.int(*id)
                ));
                &["sort_name", "id"][..]
            }
        };
        // The page's ids first, from albums alone (album_artist_id is NOT NULL, so
        // the join drops nothing): with OFFSET, SQLite otherwise reads every skipped
        // album's row and artist (albums limit=50 offset=9000 at 10,000 albums: 2.7
        // ms, against 0.06 ms for the ids on the covering index albums_sort).
        PageSql::new(self, q, &ALBUM_LIST, &conditions, order, page)
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
        self.page_rows(self.artists_sql(user_id, scope, page), decode_artist)
            .await
    }

    /// A page of artists as it is read: how many, then the rows in batches.
    pub async fn artist_batches(
        &self,
        user_id: i64,
        scope: &ArtistScope,
        page: Page,
    ) -> StoreResult<Batches<ArtistRow>> {
        self.page_batches(self.artists_sql(user_id, scope, page), decode_artist)
            .await
    }

    /// The queries of a page of artists: its ids and its rows.
    fn artists_sql(&self, user_id: i64, scope: &ArtistScope, page: Page) -> PageSql {
        let mut q = Query::new(self.engine, user_id);
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
                &["sort_name", "id"][..]
            }
            ArtistScope::Ids(ids) => {
                conditions.push(q.id_set(ids).holds("ar.id"));
                &["id"][..]
            }
            ArtistScope::Genre(id) => {
                conditions.push(format!(
                    "EXISTS (SELECT 1 FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.artist_id = ar.id AND sg.genre_id = {})",
                    q.int(*id)
                ));
                &["sort_name", "id"][..]
            }
        };
        // In chunks of ids, the genres were four more queries for 2,000 artists: one
        // query for the page's.
        PageSql::new(self, q, &ARTIST_LIST, &conditions, order, page)
    }

    pub async fn albums_of_artists(&self, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<Named>>> {
        let mut out: HashMap<i64, Vec<Named>> = HashMap::new();
        for chunk in ids.chunks(ID_CHUNK / 2) {
            let mut q = Query::bare(self.engine);
            let artists = q.id_set(chunk);
            let (first, second) = (
                artists.holds("s.artist_id"),
                artists.holds("al.album_artist_id"),
            );
            q.sql = format!(
                "SELECT DISTINCT s.artist_id AS artist_id, al.id AS id, al.name AS name, al.sort_name AS sort_name FROM songs s JOIN albums al ON al.id = s.album_id WHERE {first} \
                 UNION SELECT al.album_artist_id, al.id, al.name, al.sort_name FROM albums al WHERE {second} \
                 ORDER BY 4, 2"
            );
            fn decode(r: &mut dyn Row) -> StoreResult<(i64, Named)> {
                Ok((
                    r.int("artist_id")?,
                    Named {
                        id: r.int("id")?,
                        name: r.text("name")?.into(),
                    },
                ))
            }
            for (artist, album) in q.fetch(self, decode).await? {
                let entry = out.entry(artist).or_default();
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
        let mut q = Query::bare(self.engine);
        let mut conditions = Vec::new();
        if let Some(filter) = filter {
            conditions.push(name_condition(&mut q, "g.name_folded", filter));
        }
        if let Some(ids) = ids {
            conditions.push(q.id_set(ids).holds("g.id"));
        }
        q.sql = "SELECT g.id AS id, g.name AS name, g.album_count AS albums, g.artist_count AS artists, g.song_count AS songs FROM genres g".into();
        if !conditions.is_empty() {
            q.sql
                .push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        q.sql.push_str(" ORDER BY g.name_folded, g.id");
        q.page(page);
        fn decode(r: &mut dyn Row) -> StoreResult<GenreRow> {
            Ok(GenreRow {
                id: r.int("id")?,
                name: r.text("name")?,
                albums: r.int("albums")?,
                artists: r.int("artists")?,
                songs: r.int("songs")?,
            })
        }
        q.fetch(self, decode).await
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
        let mut q = Query::new(self.engine, user_id);
        let admin = q.int(admin as i64);
        let mut conditions = vec![format!("(p.public = 1 OR p.user_id = $1 OR {admin} = 1)")];
        if let Some(name) = &filter.name {
            let name = NameFilter {
                text: name.text.clone(),
                exact: name.exact,
            };
            conditions.push(name_condition(&mut q, "p.name_folded", &name));
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
               SELECT 0 AS smart, p.id AS id, p.name AS name, p.name_folded AS sort_name, u.username AS owner, (SELECT COUNT(*) FROM playlist_items i WHERE i.playlist_id = p.id) AS items, p.public AS public \
               FROM playlists p JOIN users u ON u.id = p.user_id WHERE {where_clause} \
               UNION ALL \
               SELECT 1 AS smart, p.id, p.name, p.name_folded, CASE WHEN p.public = 1 THEN 'public' ELSE u.username END AS owner, \
                 CASE WHEN p.item_limit > 0 THEN p.item_limit ELSE 5000 END AS items, p.public AS public \
               FROM smart_playlists p JOIN users u ON u.id = p.user_id WHERE {where_clause}\
             ) lists ORDER BY smart, sort_name, id"
        );
        q.page(page);
        fn decode(r: &mut dyn Row) -> StoreResult<PlaylistRow> {
            let smart = r.int("smart")? == 1;
            let id = r.int("id")?;
            let name = r.text("name")?;
            r.text("sort_name")?;
            Ok(PlaylistRow {
                id,
                smart,
                name,
                owner: r.text("owner")?,
                items: r.int("items")?,
                public: r.int("public")? != 0,
            })
        }
        q.fetch(self, decode).await
    }

    /// Whether a row with this id exists in `table` (one of the library tables).
    pub async fn exists(&self, table: LibraryTable, id: i64) -> StoreResult<bool> {
        let sql = Sql::bound(
            format!("SELECT COUNT(*) AS n FROM {} WHERE id = $1", table.name()),
            vec![Value::Int(id)],
        );
        Ok(self
            .db
            .fetch_optional(sql, decode_count)
            .await?
            .unwrap_or(0)
            > 0)
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
