//! What API methods return: typed values, turned into XML or JSON only by the encoders.

use crate::model::{
    ActivityRow, AlbumRow, ArtistRow, GenreRow, Named, PlaylistRow, ShoutRow, SongRow, VideoRow,
};

/// Library-wide figures shared by the handshake and an authenticated ping.
#[derive(Debug, Clone)]
pub struct ServerStats {
    /// The API version the server reports (`api`).
    pub api: String,
    /// Unix times of the latest catalog update, add and clean.
    pub update: i64,
    pub add: i64,
    pub clean: i64,
    pub songs: i64,
    pub albums: i64,
    pub artists: i64,
    pub playlists: i64,
    pub videos: i64,
    pub catalogs: i64,
    pub users: i64,
    pub tags: i64,
}

#[derive(Debug, Clone)]
pub struct Handshake {
    pub auth: String,
    pub session_expire: i64,
    pub stats: ServerStats,
}

#[derive(Debug, Clone)]
pub struct Ping {
    /// Present when the ping carried a valid session.
    pub session: Option<(i64, ServerStats)>,
    pub server: String,
    pub version: String,
    pub compatible: String,
}

/// A user as the `user` method shows it; `full` adds the private fields (for the
/// user themself or an admin).
#[derive(Debug, Clone)]
pub struct UserView {
    pub user: crate::model::User,
    pub full: bool,
}

/// A method's answer.
#[derive(Debug)]
pub enum Reply {
    /// A document, encoded as XML or JSON by the endpoint's encoder.
    Document(Document),
    /// Lists written into the body as their chunks are read.
    Songs(Listing<Song>),
    Albums(Listing<Album>),
    Artists(Listing<Artist>),
    /// HTTP 302 to a URL (stream and download hand clients to the play endpoint).
    Redirect(String),
    /// Raw bytes with their content type (art).
    Binary {
        bytes: Vec<u8>,
        mime: String,
    },
}

/// The items of a list, read chunk by chunk while the answer is written, so that
/// neither the whole list nor its whole text is ever held at once.
pub struct Listing<T> {
    /// How many items the list has (XML's `total_count` comes before them).
    pub total: usize,
    /// The `playlisttrack` of the first item.
    pub first_position: i64,
    pub chunks: ChunkStream<T>,
}

pub type ChunkStream<T> = std::pin::Pin<
    Box<dyn futures_core::Stream<Item = Result<Vec<T>, super::error::ApiError>> + Send>,
>;

impl<T: Send + 'static> Listing<T> {
    /// The same list with its next chunk read while the current one is written: a
    /// task reads chunks one ahead into a channel, so the store's query for chunk n+1
    /// runs on a blocking thread while chunk n is encoded and sent. On two cores a
    /// 5000-song page went from the sum of the two to about the larger. At most a
    /// few chunks wait (one in the channel, and those being read: one on SQLite, two
    /// on PostgreSQL, `Store::song_chunks_in_flight`), so memory stays bounded; the
    /// task stops when the answer is dropped (a client gone).
    pub fn read_ahead(self) -> Listing<T> {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let mut chunks = self.chunks;
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some(chunk) = chunks.next().await {
                let failed = chunk.is_err();
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        Listing {
            total: self.total,
            first_position: self.first_position,
            chunks: Box::pin(chunks),
        }
    }

    /// The listing with its first chunk read. An error there (the database gone
    /// between the page's ids and its items) is still an error document, where it
    /// would otherwise cut the body short after its opening; a short list is one
    /// chunk. Only a later chunk's error can still end a long list half-way.
    pub async fn first_loaded(self) -> Result<Listing<T>, super::error::ApiError> {
        use futures_util::StreamExt;
        let Listing {
            total,
            first_position,
            mut chunks,
        } = self;
        let chunks: ChunkStream<T> = match chunks.next().await {
            // Ended: polled again, some streams (`unfold`) panic.
            None => Box::pin(futures_util::stream::empty()),
            Some(Err(error)) => return Err(error),
            Some(Ok(items)) => {
                Box::pin(futures_util::stream::once(async move { Ok(items) }).chain(chunks))
            }
        };
        Ok(Listing {
            total,
            first_position,
            chunks,
        })
    }
}

impl<T> std::fmt::Debug for Listing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listing of {} from {}", self.total, self.first_position)
    }
}

/// Everything that is written as an XML or JSON document.
#[derive(Debug, Clone)]
pub enum Document {
    Handshake(Handshake),
    Ping(Ping),
    /// `<success code="1">` / `{"success": ...}`.
    Success(String),
    User(UserView),
    /// A song list; `first_position` is the `playlisttrack` of the first song.
    Songs {
        songs: Vec<Song>,
        first_position: i64,
    },
    Albums(Vec<Album>),
    Artists(Vec<Artist>),
    Genres(Vec<GenreRow>),
    Playlists(Vec<PlaylistRow>),
    Index(Index),
    /// `playlist_generate format=id`: bare song ids.
    Ids(Vec<i64>),
    /// followers / following.
    Users(Vec<Named>),
    Shouts(Vec<ShoutRow>),
    Timeline(Vec<ActivityRow>),
    Videos(Vec<Video>),
    /// localplay and democratic.
    Control(ControlDocument),
    /// `catalogs` / `catalog`.
    Catalogs(Vec<CatalogView>),
}

/// A catalog as `catalogs` shows it.
#[derive(Debug, Clone)]
pub struct CatalogView {
    pub id: i64,
    pub name: String,
    /// `music` or `video`.
    pub gather_types: &'static str,
    pub enabled: bool,
    pub last_add: i64,
    pub last_update: i64,
    pub last_clean: i64,
    pub path: String,
    /// For catalog managers: the running pass and the last one's outcome.
    pub progress: Option<CatalogProgress>,
}

#[derive(Debug, Clone, Default)]
pub struct CatalogProgress {
    /// The task running now (in any process sharing the database).
    pub task: Option<String>,
    pub done: i64,
    pub to_do: i64,
    /// Files per second since the running pass started.
    pub rate: f64,
    pub last_task: String,
    pub last_result: String,
    /// Unix time the last pass ended.
    pub last_finished: i64,
}

#[derive(Debug, Clone)]
pub struct Video {
    pub row: VideoRow,
    pub url: String,
    /// `image.php` URL of its poster (served, or answered empty, like album art).
    pub art: String,
}

/// A song as lists show it: the stored row plus the URLs made for this caller.
#[derive(Debug, Clone)]
pub struct Song {
    pub row: SongRow,
    pub url: String,
    pub art: String,
}

#[derive(Debug, Clone)]
pub struct Album {
    pub row: AlbumRow,
    pub art: String,
    /// With `include=songs`: the album's songs instead of their count.
    pub songs: Option<Vec<Song>>,
}

#[derive(Debug, Clone)]
pub struct Artist {
    pub row: ArtistRow,
    pub art: String,
    /// With `include=albums` / `include=songs`: the lists instead of the counts.
    pub albums: Option<Vec<Album>>,
    pub songs: Option<Vec<Song>>,
}

/// `get_indexes`: XML writes a slim index, JSON the full objects.
#[derive(Debug, Clone)]
pub enum Index {
    Songs(Vec<Song>),
    Albums(Vec<Album>),
    /// Each artist with their albums (id and name).
    Artists(Vec<(Artist, Vec<Named>)>),
    Playlists(Vec<PlaylistRow>),
    /// Videos are the full objects in both formats (as modern API4 answers).
    Videos(Vec<Video>),
}

/// The answers of `localplay` and `democratic` (spec 5.16, 5.17).
#[derive(Debug, Clone)]
pub enum ControlDocument {
    /// A localplay command and whether the player did it.
    Localplay {
        command: &'static str,
        done: bool,
    },
    LocalplayStatus(LocalplayStatus),
    /// democratic `vote` / `devote`.
    Democratic {
        method: &'static str,
        result: bool,
    },
    /// democratic `play`: the democratic stream's URL.
    Url(String),
    /// democratic `playlist`: the queue in play order.
    DemocraticSongs(Vec<DemocraticSong>),
}

/// localplay `status`, in Ampache's fields.
#[derive(Debug, Clone)]
pub struct LocalplayStatus {
    pub state: String,
    pub volume: i64,
    pub repeat: bool,
    pub random: bool,
    pub track: i64,
    pub track_title: String,
    pub track_artist: String,
    pub track_album: String,
}

/// A song of the democratic queue and its votes.
#[derive(Debug, Clone)]
pub struct DemocraticSong {
    pub song: Song,
    pub votes: i64,
}
