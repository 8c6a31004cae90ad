//! The read methods of API4: artists, albums, songs, genres (tags), indexes, search.

use std::collections::HashMap;

use futures_util::StreamExt;

use crate::api::error::ApiError;
use crate::api::reply::{Album, Artist, Document, Index, Listing, Reply, Song};
use crate::api::Request;
use crate::media::urls;
use crate::params::Params;
use crate::store::browse::{
    AlbumRow, AlbumScope, ArtistRow, ArtistScope, Batches, LibraryTable, ListFilter, NameFilter,
    Page, SongPage, SongRow, SongScope, TimeRange,
};
use crate::store::sessions::Session;
use crate::store::{fold, StoreResult};

/// Songs per chunk of a streamed list: a few hundred rows and ~1 MB of text at a
/// time, whatever the page's size; the store's id-list chunk, so a chunk is one
/// statement. 500 rather than 250 (A/B, 5000-song page): PostgreSQL 37.5-38.4 ->
/// 34.0-34.3 ms (half the statements), SQLite 17.5-18.5 -> 16.5-17.1 ms;
/// search_songs the same on SQLite, 10.7-11.1 -> 9.8-10.6 ms on PostgreSQL.
const LISTING_CHUNK: usize = crate::store::db::ID_CHUNK;

/// What makes a song's URLs for one caller, owned so a streamed list can keep it.
#[derive(Clone)]
struct ItemMaker {
    base: String,
    token: String,
    user_id: i64,
}

impl ItemMaker {
    fn song(&self, row: SongRow) -> Song {
        let ext = urls::extension_for_mime(&row.mime);
        Song {
            url: urls::song_stream_url(
                &self.base,
                &self.token,
                (row.id, self.user_id),
                &row.artist.name,
                &row.title,
                ext,
            ),
            art: urls::art_url(&self.base, &self.token, "album", row.album.id, true),
            row,
        }
    }

    fn album(&self, row: AlbumRow, songs: Option<Vec<Song>>) -> Album {
        Album {
            art: urls::art_url(&self.base, &self.token, "album", row.id, true),
            row,
            songs,
        }
    }

    fn artist(
        &self,
        row: ArtistRow,
        albums: Option<Vec<Album>>,
        songs: Option<Vec<Song>>,
    ) -> Artist {
        Artist {
            art: urls::art_url(&self.base, &self.token, "artist", row.id, true),
            row,
            albums,
            songs,
        }
    }
}

/// Builds replies for one caller: their id for ratings, their token for URLs.
pub struct Browser<'a> {
    request: &'a Request<'a>,
    session: &'a Session,
    base: String,
}

fn not_found() -> ApiError {
    ApiError::not_found()
}

fn document(document: Document) -> Result<Reply, ApiError> {
    Ok(Reply::Document(document))
}

impl<'a> Browser<'a> {
    pub fn new(request: &'a Request<'a>, session: &'a Session) -> Browser<'a> {
        Browser {
            base: request.base_url(),
            request,
            session,
        }
    }

    fn user_id(&self) -> i64 {
        self.session.user.id
    }

    fn is_admin(&self) -> bool {
        self.session.user.access >= crate::store::users::access::ADMIN
    }

    fn store(&self) -> &crate::store::Store {
        &self.request.state.store
    }

    pub fn song(&self, row: SongRow) -> Song {
        self.maker().song(row)
    }

    fn maker(&self) -> ItemMaker {
        ItemMaker {
            base: self.base.clone(),
            token: self.session.token.clone(),
            user_id: self.user_id(),
        }
    }

    /// A page of a scope's songs as a [`Listing`]: the page's ids now, the songs
    /// chunk by chunk as the answer is written.
    pub async fn song_listing(&self, scope: &SongScope, page: Page) -> StoreResult<Listing<Song>> {
        let found = self.store().song_page(scope, page).await?;
        let whole_list = matches!(scope, SongScope::All(filter) if filter.is_empty());
        Ok(self.listing_from(found, page.offset + 1, whole_list))
    }

    /// The songs of `ids`, in that order, as a [`Listing`].
    pub fn listing_of(&self, ids: Vec<i64>, first_position: i64) -> Listing<Song> {
        let found = SongPage {
            ids,
            read: Vec::new(),
        };
        self.listing_from(found, first_position, false)
    }

    /// The songs of a page as a [`Listing`], read as the answer is written
    /// ([`crate::store::Store::song_page_rows`]); `whole_list` when they are a
    /// stretch of the whole song list in its order, which the store reads faster.
    fn listing_from(
        &self,
        found: SongPage,
        first_position: i64,
        whole_list: bool,
    ) -> Listing<Song> {
        let total = found.ids.len();
        let maker = self.maker();
        let chunks = self
            .store()
            .song_page_rows(self.user_id(), found, whole_list)
            .map(move |batch| {
                batch
                    .map(|rows| rows.into_iter().map(|row| maker.song(row)).collect())
                    .map_err(ApiError::from)
            });
        let listing = Listing {
            total,
            first_position,
            chunks: Box::pin(chunks),
        };
        // A list of one chunk has nothing to overlap.
        if total > LISTING_CHUNK {
            listing.read_ahead()
        } else {
            listing
        }
    }

    fn album(&self, row: AlbumRow, songs: Option<Vec<Song>>) -> Album {
        self.maker().album(row, songs)
    }

    fn artist(
        &self,
        row: ArtistRow,
        albums: Option<Vec<Album>>,
        songs: Option<Vec<Song>>,
    ) -> Artist {
        self.maker().artist(row, albums, songs)
    }

    /// A page of albums without nested songs as a [`Listing`], written as its rows
    /// are read.
    pub async fn album_listing(
        &self,
        scope: &AlbumScope,
        page: Page,
    ) -> StoreResult<Listing<Album>> {
        let batches = self
            .store()
            .album_batches(self.user_id(), scope, page)
            .await?;
        let maker = self.maker();
        Ok(listing_of_batches(batches, move |row| {
            maker.album(row, None)
        }))
    }

    /// A page of artists without nested lists as a [`Listing`], written as its rows
    /// are read.
    pub async fn artist_listing(
        &self,
        scope: &ArtistScope,
        page: Page,
    ) -> StoreResult<Listing<Artist>> {
        let batches = self
            .store()
            .artist_batches(self.user_id(), scope, page)
            .await?;
        let maker = self.maker();
        Ok(listing_of_batches(batches, move |row| {
            maker.artist(row, None, None)
        }))
    }

    pub async fn songs(&self, scope: &SongScope, page: Page) -> StoreResult<Vec<Song>> {
        Ok(self
            .store()
            .songs(self.user_id(), scope, page)
            .await?
            .into_iter()
            .map(|row| self.song(row))
            .collect())
    }

    pub async fn albums(
        &self,
        scope: &AlbumScope,
        page: Page,
        with_songs: bool,
    ) -> StoreResult<Vec<Album>> {
        let rows = self.store().albums(self.user_id(), scope, page).await?;
        // Nested songs come from one query for the whole page, grouped here.
        let mut songs_by_album: HashMap<i64, Vec<Song>> = HashMap::new();
        if with_songs && !rows.is_empty() {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            for song in self.songs(&SongScope::Albums(ids), Page::ALL).await? {
                songs_by_album
                    .entry(song.row.album.id)
                    .or_default()
                    .push(song);
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let songs = with_songs.then(|| songs_by_album.remove(&row.id).unwrap_or_default());
                self.album(row, songs)
            })
            .collect())
    }

    pub async fn artists(
        &self,
        scope: &ArtistScope,
        page: Page,
        include: &Include,
    ) -> StoreResult<Vec<Artist>> {
        let rows = self.store().artists(self.user_id(), scope, page).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        // Nested lists come from one query each for the whole page, grouped here.
        let mut albums_by_artist: HashMap<i64, Vec<Album>> = HashMap::new();
        if include.albums && !ids.is_empty() {
            let pairs = self.store().albums_of_artists(&ids).await?;
            let mut album_ids: Vec<i64> = pairs.values().flatten().map(|a| a.id).collect();
            album_ids.sort_unstable();
            album_ids.dedup();
            let mut albums: HashMap<i64, Album> = HashMap::new();
            // In chunks that stay under either engine's limit on bound parameters.
            for chunk in album_ids.chunks(10_000) {
                for album in self
                    .albums(&AlbumScope::Ids(chunk.to_vec()), Page::ALL, false)
                    .await?
                {
                    albums.insert(album.row.id, album);
                }
            }
            for (artist, list) in pairs {
                let entry = albums_by_artist.entry(artist).or_default();
                entry.extend(list.iter().filter_map(|a| albums.get(&a.id).cloned()));
            }
        }
        let mut songs_by_artist: HashMap<i64, Vec<Song>> = HashMap::new();
        if include.songs && !ids.is_empty() {
            for song in self.songs(&SongScope::Artists(ids), Page::ALL).await? {
                songs_by_artist
                    .entry(song.row.artist.id)
                    .or_default()
                    .push(song);
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let albums = include
                    .albums
                    .then(|| albums_by_artist.remove(&row.id).unwrap_or_default());
                let songs = include
                    .songs
                    .then(|| songs_by_artist.remove(&row.id).unwrap_or_default());
                self.artist(row, albums, songs)
            })
            .collect())
    }
}

/// Which nested lists `include` asks for.
#[derive(Debug, Default)]
pub struct Include {
    albums: bool,
    songs: bool,
}

fn include(params: &Params) -> Include {
    let values = params.list("include");
    Include {
        albums: values.iter().any(|v| v == "albums"),
        songs: values.iter().any(|v| v == "songs"),
    }
}

pub(super) fn page(params: &Params) -> Result<Page, ApiError> {
    let paging = params.paging()?;
    Ok(Page {
        offset: paging.offset,
        limit: paging.limit,
    })
}

/// `filter`, `exact`, `add` and `update` of a top-level list.
pub(super) fn list_filter(params: &Params) -> Result<ListFilter, ApiError> {
    let exact = params.boolean("exact")?.unwrap_or(false);
    Ok(ListFilter {
        name: params.get("filter").map(|text| NameFilter {
            text: text.to_string(),
            exact,
        }),
        added: params
            .get("add")
            .map(|t| parse_time_range("add", t))
            .transpose()?,
        updated: params
            .get("update")
            .map(|t| parse_time_range("update", t))
            .transpose()?,
    })
}

/// An `add`/`update` value: an ISO 8601 date or date-time, a Unix time, or a range
/// `FROM/TO` of two of those.
pub fn parse_time_range(name: &str, text: &str) -> Result<TimeRange, ApiError> {
    let bad = || {
        ApiError::bad_parameter(
            name,
            "expected an ISO 8601 date (2020-09-16 or 2020-09-16T10:00:00+10:00) or FROM/TO",
        )
    };
    let text = text.trim();
    if let Some((from, to)) = text.split_once('/') {
        let after = parse_instant(from.trim()).ok_or_else(bad)?;
        let until = parse_instant(to.trim()).ok_or_else(bad)?;
        return Ok(TimeRange {
            after,
            until: Some(until),
        });
    }
    Ok(TimeRange {
        after: parse_instant(text).ok_or_else(bad)?,
        until: None,
    })
}

fn parse_instant(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    if !text.is_empty()
        && text.len() <= 12
        && text.chars().all(|c| c.is_ascii_digit())
        && text.len() > 8
    {
        return text.parse().ok();
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

fn id(params: &Params) -> Result<i64, ApiError> {
    Ok(params.object_id(&["filter", "id"])?)
}

/// Fails with 404 unless the parent of a child list exists.
async fn require(request: &Request<'_>, table: LibraryTable, id: i64) -> Result<(), ApiError> {
    if request.state.store.exists(table, id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

pub async fn artists(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let scope = ArtistScope::All(list_filter(params)?);
    let include = include(params);
    if !include.albums && !include.songs {
        return Ok(Reply::Artists(
            b.artist_listing(&scope, page(params)?).await?,
        ));
    }
    let artists = b.artists(&scope, page(params)?, &include).await?;
    Ok(Reply::Artists(in_parts(artists)))
}

pub async fn artist(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let artists = b
        .artists(
            &ArtistScope::Ids(vec![id(params)?]),
            Page::ALL,
            &include(params),
        )
        .await?;
    if artists.is_empty() {
        return Err(not_found());
    }
    document(Document::Artists(artists))
}

pub async fn artist_albums(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let artist = id(params)?;
    require(b.request, LibraryTable::Artists, artist).await?;
    document(Document::Albums(
        b.albums(&AlbumScope::Artist(artist), page(params)?, false)
            .await?,
    ))
}

pub async fn artist_songs(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let artist = id(params)?;
    require(b.request, LibraryTable::Artists, artist).await?;
    song_list(b, &SongScope::Artist(artist), page(params)?).await
}

pub async fn albums(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let scope = AlbumScope::All(list_filter(params)?);
    let with_songs = include(params).songs;
    if !with_songs {
        return Ok(Reply::Albums(b.album_listing(&scope, page(params)?).await?));
    }
    let albums = b.albums(&scope, page(params)?, with_songs).await?;
    Ok(Reply::Albums(in_parts(albums)))
}

/// A list whose rows arrive in batches, each made into items by `make`.
fn listing_of_batches<R: Send + 'static, T: Send + 'static>(
    batches: Batches<R>,
    make: impl Fn(R) -> T + Send + 'static,
) -> Listing<T> {
    Listing {
        total: batches.total,
        first_position: 1,
        chunks: Box::pin(batches.batches.map(move |batch| {
            batch
                .map(|rows| rows.into_iter().map(&make).collect())
                .map_err(ApiError::from)
        })),
    }
}

/// A list read already, written into the body a part at a time: its rows are small,
/// its text is not (3 MB for 5000 albums).
fn in_parts<T: Send + Sync + 'static>(items: Vec<T>) -> Listing<T> {
    Listing {
        total: items.len(),
        first_position: 1,
        chunks: Box::pin(futures_util::stream::once(async move { Ok(items) })),
    }
}

pub async fn album(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let albums = b
        .albums(
            &AlbumScope::Ids(vec![id(params)?]),
            Page::ALL,
            include(params).songs,
        )
        .await?;
    if albums.is_empty() {
        return Err(not_found());
    }
    document(Document::Albums(albums))
}

pub async fn album_songs(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let album = id(params)?;
    require(b.request, LibraryTable::Albums, album).await?;
    song_list(b, &SongScope::Album(album), page(params)?).await
}

pub async fn tags(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let filter = list_filter(params)?;
    let genres = b
        .store()
        .genres(filter.name.as_ref(), None, page(params)?)
        .await?;
    document(Document::Genres(genres))
}

pub async fn tag(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let genres = b
        .store()
        .genres(None, Some(&[id(params)?]), Page::ALL)
        .await?;
    if genres.is_empty() {
        return Err(not_found());
    }
    document(Document::Genres(genres))
}

pub async fn tag_artists(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let genre = id(params)?;
    require(b.request, LibraryTable::Genres, genre).await?;
    let artists = b
        .artists(
            &ArtistScope::Genre(genre),
            page(params)?,
            &Include::default(),
        )
        .await?;
    document(Document::Artists(artists))
}

pub async fn tag_albums(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let genre = id(params)?;
    require(b.request, LibraryTable::Genres, genre).await?;
    document(Document::Albums(
        b.albums(&AlbumScope::Genre(genre), page(params)?, false)
            .await?,
    ))
}

pub async fn tag_songs(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let genre = id(params)?;
    require(b.request, LibraryTable::Genres, genre).await?;
    song_list(b, &SongScope::Genre(genre), page(params)?).await
}

pub async fn songs(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    song_list(b, &SongScope::All(list_filter(params)?), page(params)?).await
}

pub async fn song(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let songs = b
        .songs(&SongScope::Ids(vec![id(params)?]), Page::ALL)
        .await?;
    if songs.is_empty() {
        return Err(not_found());
    }
    document(Document::Songs {
        songs,
        first_position: 1,
    })
}

pub async fn search_songs(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let word = fold(params.require("filter")?.trim());
    song_list(b, &SongScope::Search(word), page(params)?).await
}

pub async fn url_to_song(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let url = params.require("url")?;
    // A URL this server did not hand out names no item here: 404, as for an unknown
    // id (a 401 reads to clients as a bad session).
    let id = song_id_from_url(url).ok_or_else(not_found)?;
    let songs = b.songs(&SongScope::Ids(vec![id]), Page::ALL).await?;
    if songs.is_empty() {
        return Err(not_found());
    }
    document(Document::Songs {
        songs,
        first_position: 1,
    })
}

/// The song id (`oid`) in a stream URL, in the query form (`oid=N`) or the
/// path form (`/oid/N/`).
pub fn song_id_from_url(url: &str) -> Option<i64> {
    let decoded = percent_encoding::percent_decode_str(url)
        .decode_utf8_lossy()
        .into_owned();
    // A video's or podcast episode's URL names no song.
    let names_other_kind = ["type=", "/type/"].iter().any(|key| {
        decoded
            .split(key)
            .skip(1)
            .any(|rest| !rest.starts_with("song"))
    });
    if names_other_kind {
        return None;
    }
    let parse = |digits: &str| -> Option<i64> {
        let number: String = digits.chars().take_while(|c| c.is_ascii_digit()).collect();
        number.parse().ok().filter(|id: &i64| *id > 0)
    };
    if let Some(query) = decoded.split_once('?').map(|(_, q)| q) {
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("oid=") {
                return parse(value);
            }
        }
    }
    let position = decoded.find("/oid/")?;
    parse(&decoded[position + 5..])
}

pub async fn get_indexes(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let kind = params.require("type")?;
    let filter = list_filter(params)?;
    let page = page(params)?;
    let index = match kind {
        "song" => Index::Songs(b.songs(&SongScope::All(filter), page).await?),
        "album" => Index::Albums(b.albums(&AlbumScope::All(filter), page, false).await?),
        "artist" => {
            let artists = b
                .artists(&ArtistScope::All(filter), page, &Include::default())
                .await?;
            let ids: Vec<i64> = artists.iter().map(|a| a.row.id).collect();
            let mut albums = b.store().albums_of_artists(&ids).await?;
            Index::Artists(
                artists
                    .into_iter()
                    .map(|artist| {
                        let list = albums.remove(&artist.row.id).unwrap_or_default();
                        (artist, list)
                    })
                    .collect(),
            )
        }
        "playlist" => Index::Playlists(
            b.store()
                .visible_playlists(b.user_id(), b.is_admin(), &filter, page)
                .await?,
        ),
        "video" => Index::Videos(super::videos::list(b.request, b.session, &filter, page).await?),
        other => {
            return Err(ApiError::wrong_object_type(other));
        }
    };
    document(Document::Index(index))
}

/// `playlists`: the caller's and the public playlists by name, then smart playlists.
pub async fn playlists(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    let filter = list_filter(params)?;
    let lists = b
        .store()
        .visible_playlists(b.user_id(), b.is_admin(), &filter, page(params)?)
        .await?;
    document(Document::Playlists(lists))
}

async fn song_list(b: &Browser<'_>, scope: &SongScope, page: Page) -> Result<Reply, ApiError> {
    Ok(Reply::Songs(b.song_listing(scope, page).await?))
}

/// Puts items fetched by id back into the order of `ids`.
pub fn in_order<T>(ids: &[i64], items: Vec<T>, id_of: impl Fn(&T) -> i64) -> Vec<T> {
    let mut by_id: std::collections::HashMap<i64, T> =
        items.into_iter().map(|item| (id_of(&item), item)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

/// `stats`: songs, albums or artists by a filter (newest, highest, frequent, recent,
/// forgotten, flagged, random), for the caller or another user.
pub async fn stats(b: &Browser<'_>, params: &Params) -> Result<Reply, ApiError> {
    use crate::store::stats::StatsFilter;
    use crate::store::userdata::ObjectKind;
    let kind_text = params.require("type")?;
    // The legacy form names the filter in `type` and means albums.
    let (kind, filter_text) = match StatsFilter::parse(kind_text) {
        Some(_) => (ObjectKind::Album, kind_text),
        None => (
            match kind_text {
                "song" => ObjectKind::Song,
                "album" => ObjectKind::Album,
                "artist" => ObjectKind::Artist,
                other => return Err(ApiError::wrong_object_type(other)),
            },
            params.require("filter")?,
        ),
    };
    let filter = StatsFilter::parse(filter_text).ok_or_else(|| {
        ApiError::bad_parameter(
            "filter",
            "expected newest, highest, frequent, recent, forgotten, flagged or random",
        )
    })?;
    let store = b.store();
    let user_id = if let Some(name) = params.get("username") {
        store
            .user_by_name(name)
            .await?
            .ok_or_else(ApiError::user_id_not_found)?
            .id
    } else if params.get("user_id").is_some() {
        let id = params.object_id(&["user_id"])?;
        store
            .user_by_id(id)
            .await?
            .ok_or_else(ApiError::user_id_not_found)?
            .id
    } else {
        b.user_id()
    };
    let paging = params.paging()?;
    let limit = match params.get("limit") {
        None => 10,
        Some(_) => paging.limit.unwrap_or(i64::MAX),
    };
    let ids = store
        .stats_ids(kind, filter, user_id, paging.offset, limit)
        .await?;
    if ids.is_empty() {
        return Err(ApiError::no_results());
    }
    let document = match kind {
        ObjectKind::Song => {
            let songs = b.songs(&SongScope::Ids(ids.clone()), Page::ALL).await?;
            Document::Songs {
                songs: in_order(&ids, songs, |s| s.row.id),
                first_position: 1,
            }
        }
        ObjectKind::Artist => {
            let artists = b
                .artists(
                    &ArtistScope::Ids(ids.clone()),
                    Page::ALL,
                    &Include::default(),
                )
                .await?;
            Document::Artists(in_order(&ids, artists, |a| a.row.id))
        }
        _ => {
            let albums = b
                .albums(&AlbumScope::Ids(ids.clone()), Page::ALL, false)
                .await?;
            Document::Albums(in_order(&ids, albums, |a| a.row.id))
        }
    };
    Ok(Reply::Document(document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_urls_give_their_song() {
        assert_eq!(
            song_id_from_url("http://h/play/index.php?ssid=x&type=song&oid=42&uid=1&player=api"),
            Some(42)
        );
        assert_eq!(
            song_id_from_url("http%3A%2F%2Fh%2Fplay%2Findex.php%3Fssid%3Dx%26oid%3D7"),
            Some(7)
        );
        assert_eq!(
            song_id_from_url("http://h/play/ssid/x/type/song/oid/9/uid/1/name/a.mp3"),
            Some(9)
        );
        assert_eq!(song_id_from_url("http://h/other"), None);
        assert_eq!(
            song_id_from_url("http://h/play/index.php?ssid=x&type=video&oid=42&uid=1"),
            None
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_time_range("add", "1970-01-02").unwrap().after, 86400);
        assert_eq!(
            parse_time_range("add", "1970-01-01T10:00:00+10:00")
                .unwrap()
                .after,
            0
        );
        let range = parse_time_range("add", "1970-01-02/1970-01-03").unwrap();
        assert_eq!((range.after, range.until), (86400, Some(172800)));
        assert!(parse_time_range("add", "yesterday").is_err());
        assert!(parse_time_range("add", "2020-13-45").is_err());
    }
}
