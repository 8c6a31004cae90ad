//! What the library holds, as every room sees it: songs, albums, artists, genres,
//! playlists and videos, with the calling user's opinion.

/// An id with the name it displays as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    /// Shared: a list gives every song of an artist the same name, cloned from the
    /// store's name cache without a copy.
    pub name: std::sync::Arc<str>,
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
    /// Biography summary (update_artist_info).
    pub summary: Option<String>,
    pub place_formed: Option<String>,
    /// 0 when unknown.
    pub year_formed: i64,
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
    pub id: i64,
    /// A smart playlist (a saved search) rather than a list of songs; the two have
    /// separate ids.
    pub smart: bool,
    pub name: String,
    pub owner: String,
    pub items: i64,
    pub public: bool,
}

#[derive(Debug, Clone)]
pub struct VideoRow {
    pub id: i64,
    pub title: String,
    pub mime: String,
    pub resolution_x: i64,
    pub resolution_y: i64,
    pub size: i64,
    /// Whole seconds.
    pub time: i64,
}
