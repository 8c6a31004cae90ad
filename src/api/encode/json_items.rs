//! JSON for library items: ids as strings, numbers as numbers, missing text as null.

use serde::Serialize;
use serde_json::{json, Value};

use crate::api::reply::{Album, Artist, Video};
use crate::model::{ActivityRow, GenreRow, Named, Opinion, PlaylistRow, ShoutRow};

#[derive(Serialize)]
struct RefJson<'a> {
    id: IdText,
    name: &'a str,
}

/// An id written as a JSON string (`"id": "42"`), without a `String` per id: the
/// digits go straight into the output (six ids a song).
#[derive(Clone, Copy)]
pub struct IdText(pub i64);

impl Serialize for IdText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'a> RefJson<'a> {
    fn of(value: &'a Named) -> RefJson<'a> {
        RefJson {
            id: IdText(value.id),
            name: &value.name,
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// A count, or the list it counts when the client asked to include it.
#[derive(Serialize)]
#[serde(untagged)]
enum CountOr<T> {
    Count(i64),
    List(T),
}

/// An album as JSON, serialised straight from borrowed fields (no map per album).
#[derive(Serialize)]
pub struct AlbumJson<'a> {
    id: IdText,
    name: &'a str,
    artist: RefJson<'a>,
    time: i64,
    year: i64,
    tracks: CountOr<Vec<Value>>,
    songcount: i64,
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    disk: i64,
    tag: Vec<RefJson<'a>>,
    art: &'a str,
    flag: i64,
    preciserating: Option<i64>,
    rating: Option<i64>,
    averagerating: Option<f64>,
    mbid: Option<&'a str>,
}

fn rounded_average(opinion: &Opinion) -> Option<f64> {
    opinion.average_rating.map(|v| (v * 100.0).round() / 100.0)
}

pub fn album_objects(albums: &[Album]) -> Vec<AlbumJson<'_>> {
    albums
        .iter()
        .map(|album| {
            let a = &album.row;
            AlbumJson {
                id: IdText(a.id),
                name: &a.name,
                artist: RefJson::of(&a.artist),
                time: a.total_time,
                year: a.year,
                tracks: match &album.songs {
                    Some(list) => CountOr::List(super::json_song::values(list)),
                    None => CountOr::Count(a.song_count),
                },
                songcount: a.song_count,
                kind: None,
                disk: a.disc_count,
                tag: a.genres.iter().map(RefJson::of).collect(),
                art: &album.art,
                flag: a.opinion.flag as i64,
                preciserating: a.opinion.rating,
                rating: a.opinion.rating,
                averagerating: rounded_average(&a.opinion),
                mbid: non_empty(a.mbid.as_deref()),
            }
        })
        .collect()
}

/// An artist as JSON, serialised straight from borrowed fields.
#[derive(Serialize)]
pub struct ArtistJson<'a> {
    id: IdText,
    name: &'a str,
    albums: CountOr<Vec<AlbumJson<'a>>>,
    albumcount: i64,
    songs: CountOr<Vec<Value>>,
    songcount: i64,
    tag: Vec<RefJson<'a>>,
    art: &'a str,
    flag: i64,
    preciserating: Option<i64>,
    rating: Option<i64>,
    averagerating: Option<f64>,
    mbid: Option<&'a str>,
    summary: Option<&'a str>,
    time: i64,
    yearformed: i64,
    placeformed: Option<&'a str>,
}

pub fn artist_objects(artists: &[Artist]) -> Vec<ArtistJson<'_>> {
    artists.iter().map(artist_json).collect()
}

pub fn artist_json(artist: &Artist) -> ArtistJson<'_> {
    let a = &artist.row;
    ArtistJson {
        id: IdText(a.id),
        name: &a.name,
        albums: match &artist.albums {
            Some(list) => CountOr::List(album_objects(list)),
            None => CountOr::Count(a.album_count),
        },
        albumcount: a.album_count,
        songs: match &artist.songs {
            Some(list) => CountOr::List(super::json_song::values(list)),
            None => CountOr::Count(a.song_count),
        },
        songcount: a.song_count,
        tag: a.genres.iter().map(RefJson::of).collect(),
        art: &artist.art,
        flag: a.opinion.flag as i64,
        preciserating: a.opinion.rating,
        rating: a.opinion.rating,
        averagerating: rounded_average(&a.opinion),
        mbid: non_empty(a.mbid.as_deref()),
        summary: non_empty(a.summary.as_deref()),
        time: a.total_time,
        yearformed: a.year_formed,
        placeformed: non_empty(a.place_formed.as_deref()),
    }
}

/// Tags are wrapped: `[{"tag": [...]}]`.
pub fn genres(genres: &[GenreRow]) -> Value {
    let list: Vec<Value> = genres
        .iter()
        .map(|g| {
            json!({
                "id": g.id.to_string(),
                "name": g.name,
                "albums": g.albums,
                "artists": g.artists,
                "songs": g.songs,
                "videos": 0,
                "playlists": 0,
                "stream": 0,
            })
        })
        .collect();
    json!([{ "tag": list }])
}

pub fn playlists(playlists: &[PlaylistRow]) -> Value {
    Value::Array(
        playlists
            .iter()
            .map(|p| {
                json!({
                    "id": crate::api::ids::playlist_id(p),
                    "name": p.name,
                    "owner": p.owner,
                    "items": p.items,
                    "type": if p.public { "public" } else { "private" },
                })
            })
            .collect(),
    )
}

fn user_list(user: &Named) -> Value {
    json!([{ "id": user.id.to_string(), "username": user.name }])
}

/// followers / following: `[{"user": [...]}]`.
pub fn users(users: &[Named]) -> Value {
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({ "id": u.id.to_string(), "username": u.name }))
        .collect();
    json!([{ "user": list }])
}

pub fn shouts(shouts: &[ShoutRow]) -> Value {
    Value::Array(
        shouts
            .iter()
            .map(|s| {
                json!({
                    "id": s.id.to_string(),
                    "date": s.date.to_string(),
                    "text": s.text,
                    "user": user_list(&s.user),
                })
            })
            .collect(),
    )
}

/// `{"timeline": [...]}`; the date is under `data` (4.2's spelling, which clients
/// read) and `date`.
pub fn timeline(activity: &[ActivityRow]) -> Value {
    let list: Vec<Value> = activity
        .iter()
        .map(|a| {
            json!({
                "id": a.id.to_string(),
                "data": a.date.to_string(),
                "date": a.date.to_string(),
                "object_type": a.object_type,
                "object_id": a.object_id.to_string(),
                "action": a.action,
                "user": user_list(&a.user),
            })
        })
        .collect();
    json!({ "timeline": list })
}

pub fn videos(videos: &[Video]) -> Value {
    Value::Array(
        videos
            .iter()
            .map(|video| {
                let v = &video.row;
                json!({
                    "id": v.id.to_string(),
                    "title": v.title,
                    "mime": v.mime,
                    "resolution": format!("{}x{}", v.resolution_x, v.resolution_y),
                    "size": v.size,
                    "tag": [],
                    "time": v.time,
                    "url": video.url,
                    "art": video.art,
                    // Nobody can rate or flag a video through API4 (see xml_items).
                    "flag": 0,
                    "preciserating": null,
                    "rating": null,
                    "averagerating": null,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod song_reference {
    use super::*;
    use crate::api::reply::Song;
    use crate::model::Opinion;

    #[derive(Serialize)]
    struct GenreName<'a> {
        name: &'a str,
    }

    /// The serde definition of a song's JSON that served before `json_song`, kept as
    /// the reference its bytes are checked against.
    #[derive(Serialize)]
    struct SongJson<'a> {
        id: IdText,
        title: &'a str,
        name: &'a str,
        artist: RefJson<'a>,
        album: RefJson<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        albumartist: Option<RefJson<'a>>,
        disk: i64,
        track: i64,
        filename: &'a str,
        tag: Vec<RefJson<'a>>,
        playlisttrack: i64,
        time: i64,
        year: i64,
        bitrate: i64,
        rate: i64,
        mode: Option<&'a str>,
        mime: &'a str,
        url: &'a str,
        size: i64,
        mbid: Option<&'a str>,
        album_mbid: Option<&'a str>,
        artist_mbid: Option<&'a str>,
        albumartist_mbid: Option<&'a str>,
        art: &'a str,
        flag: i64,
        preciserating: Option<i64>,
        rating: Option<i64>,
        averagerating: Option<f64>,
        playcount: i64,
        catalog: i64,
        composer: Option<&'a str>,
        channels: Option<i64>,
        comment: Option<&'a str>,
        license: Option<&'a str>,
        publisher: Option<&'a str>,
        language: Option<&'a str>,
        replaygain_album_gain: Option<f64>,
        replaygain_album_peak: Option<f64>,
        replaygain_track_gain: Option<f64>,
        replaygain_track_peak: Option<f64>,
        genre: Vec<GenreName<'a>>,
    }

    fn song_objects(songs: &[Song], first_position: i64) -> Vec<SongJson<'_>> {
        songs
            .iter()
            .enumerate()
            .map(|(index, song)| {
                let s = &song.row;
                SongJson {
                    id: IdText(s.id),
                    title: &s.title,
                    name: &s.title,
                    artist: RefJson::of(&s.artist),
                    album: RefJson::of(&s.album),
                    albumartist: s.album_artist.as_ref().map(RefJson::of),
                    disk: s.disc,
                    track: s.track,
                    filename: &s.path,
                    tag: s.genres.iter().map(RefJson::of).collect(),
                    playlisttrack: first_position + index as i64,
                    time: s.duration.round() as i64,
                    year: s.year,
                    bitrate: s.bitrate,
                    rate: s.sample_rate,
                    mode: None,
                    mime: &s.mime,
                    url: &song.url,
                    size: s.size,
                    mbid: non_empty(s.mbid.as_deref()),
                    album_mbid: non_empty(s.album_mbid.as_deref()),
                    artist_mbid: non_empty(s.artist_mbid.as_deref()),
                    albumartist_mbid: non_empty(s.album_artist_mbid.as_deref()),
                    art: &song.art,
                    flag: s.opinion.flag as i64,
                    preciserating: s.opinion.rating,
                    rating: s.opinion.rating,
                    averagerating: s
                        .opinion
                        .average_rating
                        .map(|v| (v * 100.0).round() / 100.0),
                    playcount: s.play_count,
                    catalog: s.catalog_id,
                    composer: non_empty(s.composer.as_deref()),
                    channels: Some(s.channels).filter(|c| *c > 0),
                    comment: non_empty(s.comment.as_deref()),
                    license: None,
                    publisher: None,
                    language: None,
                    replaygain_album_gain: s.rg_album_gain,
                    replaygain_album_peak: s.rg_album_peak,
                    replaygain_track_gain: s.rg_track_gain,
                    replaygain_track_peak: s.rg_track_peak,
                    genre: s
                        .genres
                        .iter()
                        .map(|g| GenreName { name: &g.name })
                        .collect(),
                }
            })
            .collect()
    }

    fn named(id: i64, name: &str) -> Named {
        Named {
            id,
            name: name.into(),
        }
    }

    /// Songs that between them take every branch of the writer: missing and empty
    /// text, escapes and control characters, non-ASCII, no genre and several, an
    /// album artist or none, whole and fractional and non-finite numbers.
    fn songs() -> Vec<Song> {
        // The encoders' sample song, made plainer: no genre, no composer, no gain.
        let mut plain = super::super::tests::song(7).row;
        plain.title = "Plain".into();
        plain.album_mbid = Some(String::new());
        plain.artist_mbid = Some("5b11f4ce-a62d-471e-81fc-a69a8278c7da".into());
        plain.composer = None;
        plain.rg_track_gain = None;
        plain.play_count = 0;
        plain.genres = vec![];
        let mut odd = plain.clone();
        odd.id = 123_456_789;
        odd.title = "Quote \" back\\slash \n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f} / é 日本 🎵".into();
        odd.artist = named(9, "Sigur Rós <&>");
        odd.album_artist = Some(named(10, "Various\u{0}Artists"));
        odd.duration = 0.49;
        odd.channels = 0;
        odd.composer = Some("Ærø".into());
        odd.comment = Some(String::new());
        odd.rg_album_gain = Some(-3.25);
        odd.rg_album_peak = Some(1.0);
        odd.rg_track_gain = Some(f64::NAN);
        odd.rg_track_peak = Some(0.000_012_5);
        odd.opinion = Opinion {
            rating: Some(4),
            average_rating: Some(3.456),
            flag: true,
        };
        odd.play_count = 42;
        odd.genres = vec![named(3, "Rock"), named(4, "Post \"Rock\"")];
        let mut one_genre = plain.clone();
        one_genre.id = 8;
        one_genre.genres = vec![named(5, "")];
        one_genre.opinion.average_rating = Some(4.0);
        one_genre.year = -1;
        [plain, odd, one_genre]
            .into_iter()
            .map(|row| Song {
                url: format!("http://h/play/index.php?ssid=t&oid={}&name=a%20b", row.id),
                art: format!("http://h/image.php?object_id={}&auth=t", row.album.id),
                row,
            })
            .collect()
    }

    #[test]
    fn songs_are_the_bytes_serde_wrote() {
        let songs = songs();
        for count in 0..=songs.len() {
            let list = &songs[..count];
            let reference = {
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
                let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
                song_objects(list, 5).serialize(&mut serializer).unwrap();
                String::from_utf8(out).unwrap()
            };
            let written = String::from_utf8(super::super::json_song::array(list, 5)).unwrap();
            assert_eq!(written, reference);
        }
    }

    #[test]
    fn nested_songs_are_the_values_serde_made() {
        let songs = songs();
        let reference: Vec<Value> = song_objects(&songs, 1)
            .iter()
            .map(|song| serde_json::to_value(song).unwrap())
            .collect();
        assert_eq!(super::super::json_song::values(&songs), reference);
    }
}
