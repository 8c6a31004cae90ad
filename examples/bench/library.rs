//! The generated library: N tiny real audio files, copies of the committed test
//! tones re-tagged with lofty, in `Artist/Album/NN - Title.ext` folders.
//!
//! Everything is a pure function of the track number (a SplitMix64 hash, no random
//! generator), so the same N always gives the same library, byte for byte except
//! the file times.
//!
//! Shape for N tracks: ceil(N/10) albums of 10 tracks (the last may be shorter), five
//! albums per artist, so about N/50 artists (a quarter named "The ...s", some with
//! accents or non-Latin letters), one album in a hundred a "Various Artists"
//! compilation, 12 genres (one album in seven carries two), years 1960–2025, 5% of the
//! titles in other scripts, and [`SEARCH_WORD`] in exactly 1% of the titles.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use lofty::config::WriteOptions;
use lofty::file::FileType;
use lofty::id3::v2::Id3v2Tag;
use lofty::prelude::*;
use lofty::tag::{ItemValue, Tag, TagItem};
use rayon::prelude::*;

/// The word in 1% of the titles (track index divisible by 100), and nowhere else.
pub const SEARCH_WORD: &str = "Zephyr";

const TRACKS_PER_ALBUM: usize = 10;
const ALBUMS_PER_ARTIST: usize = 5;
const VARIOUS_ARTISTS: &str = "Various Artists";

/// A template: a real file from the committed library whose tags get replaced.
struct Template {
    ext: &'static str,
    bytes: &'static [u8],
    file_type: FileType,
}

macro_rules! template {
    ($ext:literal, $file:literal, $type:expr) => {
        Template {
            ext: $ext,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/library/music/The Testers/Format Parade/",
                $file
            )),
            file_type: $type,
        }
    };
}

const TEMPLATES: [Template; 5] = [
    template!("mp3", "01 - MP3 Tone.mp3", FileType::Mpeg),
    template!("flac", "02 - FLAC Tone.flac", FileType::Flac),
    template!("ogg", "03 - Vorbis Tone.ogg", FileType::Vorbis),
    template!("m4a", "05 - AAC Tone.m4a", FileType::Mp4),
    template!("opus", "04 - Opus Tone.opus", FileType::Opus),
];

/// Which template an album uses, out of 20: half MP3, a quarter FLAC, then Vorbis,
/// AAC and Opus.
fn template_for(hash: u64) -> &'static Template {
    match hash % 20 {
        0..=9 => &TEMPLATES[0],
        10..=14 => &TEMPLATES[1],
        15..=16 => &TEMPLATES[2],
        17..=18 => &TEMPLATES[3],
        _ => &TEMPLATES[4],
    }
}

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "Velvet", "Silver", "Electric", "Crimson", "Hollow", "Golden", "Midnight", "Paper", "Neon",
    "Wild", "Quiet", "Broken", "Northern", "Lunar", "Rusty", "Frozen", "Violet", "Amber",
    "Restless", "Gentle", "Iron", "Glass", "Distant", "Burning", "Silent", "Scarlet", "Cosmic",
    "Wooden", "Static", "Falling", "Hidden", "Painted", "Savage", "Sleepy", "Atomic", "Copper",
    "Lost", "Marble", "Second", "Twin",
];

#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "Owl", "Horizon", "Engine", "River", "Lantern", "Harbor", "Comet", "Garden", "Machine",
    "Mirror", "Canyon", "Signal", "Tiger", "Anchor", "Carnival", "Meadow", "Rocket", "Shadow",
    "Temple", "Thunder", "Valley", "Coyote", "Satellite", "Orchard", "Parade", "Pilot", "Prism",
    "Raven", "Sparrow", "Summit", "Tide", "Tower", "Voyage", "Whisper", "Ember", "Falcon",
    "Fountain", "Glacier", "Island", "Jungle", "Kingdom", "Lighthouse", "Monsoon", "Nebula",
    "Ocean", "Phantom", "Quartz", "Rebel", "Saint", "Train",
];

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Iris", "Jonas", "Kate",
    "Leo", "Maya", "Noah", "Olivia", "Paul", "Quinn", "Rosa", "Sam", "Tara", "Uma", "Victor",
    "Wendy", "Xavier", "Yara", "Zoë", "José", "Björn", "Søren", "Chloé", "Åsa", "Jürgen",
    "Łukasz", "Renée", "Ана", "Юрий", "Mei", "Hiro", "Nadia", "Omar",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Muñoz", "Østergaard", "Dvořák", "Nakamura", "Lefèvre",
    "Öztürk", "Nguyễn", "Иванова", "山田", "García", "Schäfer", "Kowalski", "Rossi", "Silva",
    "Novak", "Larsen", "Murphy", "Costa", "Fischer", "Moreau",
];

/// First halves of album names; an artist's five albums use five different ones.
#[rustfmt::skip]
const ALBUM_FIRST: &[&str] = &[
    "Songs of", "Return to", "Tales from", "Notes on", "Echoes of", "Letters to", "Dreams of",
    "Ballads of", "Nights in", "Live at", "Lights over", "Roads to", "Maps of", "Voices from",
    "Stories of", "Winds of", "Portraits of", "Rooms in", "Signals from", "Gardens of",
];

#[rustfmt::skip]
const ALBUM_SECOND: &[&str] = &[
    "the Valley", "Tokyo", "the North", "Glass", "the Harbor", "Marseille", "the Desert",
    "Midnight", "the Machine", "Autumn", "São Paulo", "Zürich", "Kraków", "Reykjavík", "東京",
    "the Sea", "Paper Towns", "the Old House", "Neon Streets", "the Mountain", "Winter",
    "the River", "Summer", "the Static", "the Moon", "Berlin", "Lisbon", "the Forest",
    "Île-de-France", "the Island",
];

#[rustfmt::skip]
const TITLE_WORDS: &[&str] = &[
    "Love", "Heart", "Night", "Rain", "Fire", "Dance", "Dream", "Home", "Road", "Light",
    "Summer", "Winter", "Blue", "Gold", "Lonely", "Sweet", "Morning", "Star", "Sky", "Ocean",
    "River", "Wind", "Shadow", "Ghost", "Paradise", "Heaven", "Time", "Forever", "Tonight",
    "Yesterday", "Tomorrow", "City", "Street", "Train", "Highway", "Angel", "Devil", "Diamond",
    "Rose", "Honey", "Sugar", "Thunder", "Lightning", "Silence", "Memory", "Promise", "Secret",
    "Mirror", "Window", "Door", "Garden", "Moon", "Sun", "Storm", "Wave", "Island", "Mountain",
    "Desert", "Fever", "Crystal", "Velvet", "Neon", "Electric", "Golden", "Broken", "Falling",
    "Running", "Dancing", "Burning", "Waiting", "Calling", "Shining", "Lost", "Free", "Young",
    "Slow", "Little", "Last",
];

/// Titles in other scripts and with diacritics (5% of the tracks).
const UNICODE_TITLES: &[&str] = &[
    "Café au Lait",
    "Über den Wolken",
    "Niño del Sol",
    "Canción Triste",
    "Smörgåsbord",
    "Fjärilsdans",
    "Ночь",
    "Звёзды над городом",
    "夜明け",
    "さくら",
    "사랑해",
    "Ελπίδα",
    "Œil du Ciel",
    "Straße 🎵",
    "Ünïcødé Dreams",
    "Ça Plane",
];

#[rustfmt::skip]
const GENRES: &[&str] = &[
    "Rock", "Pop", "Jazz", "Electronic", "Hip-Hop", "Classical", "Folk", "Blues", "Metal",
    "Ambient", "Soul", "Reggae",
];

// artist_name's word pairs are unique only for these sizes (A + 1 coprime with B).
const _: () = assert!(ADJECTIVES.len() == 40 && FIRST_NAMES.len() == 40);
const _: () = assert!(NOUNS.len() == 50 && LAST_NAMES.len() == 50);

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of (what, index): different streams for artists, albums and tracks.
fn hash(what: u64, index: usize) -> u64 {
    splitmix64(splitmix64(what) ^ index as u64)
}

fn pick<'a>(list: &[&'a str], h: u64) -> &'a str {
    list[(h % list.len() as u64) as usize]
}

fn plural(noun: &str) -> String {
    if noun.ends_with('s') || noun.ends_with('x') {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// The library's size in albums and artists for N tracks.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub tracks: usize,
    pub albums: usize,
    pub artists: usize,
}

impl Shape {
    pub fn new(tracks: usize) -> Shape {
        let albums = tracks.div_ceil(TRACKS_PER_ALBUM);
        Shape {
            tracks,
            albums,
            artists: albums.div_ceil(ALBUMS_PER_ARTIST),
        }
    }

    fn is_compilation(&self, album: usize) -> bool {
        album % 100 == 37
    }

    /// Tracks whose title holds [`SEARCH_WORD`].
    pub fn search_word_tracks(&self) -> usize {
        self.tracks.div_ceil(100)
    }
}

/// Artist `i`'s name, unique for every i: four kinds by i % 4 ("The Velvet Owls",
/// "Velvet Owl", "Anna Smith", "Anna and the Owls"), and within a kind a different
/// word pair for each i / 4 (a number is added past the pairs available).
pub fn artist_name(i: usize) -> String {
    let j = i / 4;
    let (a, b) = match i % 4 {
        0 | 1 => (ADJECTIVES, NOUNS),
        2 => (FIRST_NAMES, LAST_NAMES),
        _ => (FIRST_NAMES, NOUNS),
    };
    let pairs = a.len() * b.len();
    // j → (j mod A, (j + j div A) mod B) is one-to-one for j < A·B when A + 1 and B
    // are coprime (41 and 50 here), and varies both words from one artist to the next.
    let first = a[j % a.len()];
    let second = b[(j + j / a.len()) % b.len()];
    let base = match i % 4 {
        0 => format!("The {first} {}", plural(second)),
        3 => format!("{first} and the {}", plural(second)),
        _ => format!("{first} {second}"),
    };
    if j >= pairs {
        format!("{base} {}", j / pairs + 1)
    } else {
        base
    }
}

pub struct AlbumSpec {
    pub name: String,
    pub album_artist: String,
    pub compilation: bool,
    pub year: u32,
    pub genres: Vec<&'static str>,
    pub first_track: usize,
    pub tracks: usize,
    template: &'static Template,
}

pub fn album(shape: &Shape, index: usize) -> AlbumSpec {
    let artist = index / ALBUMS_PER_ARTIST;
    let nth = index % ALBUMS_PER_ARTIST;
    let artist_hash = hash(1, artist);
    let album_hash = hash(2, index);
    let main_genre = (artist_hash % GENRES.len() as u64) as usize;
    let mut genres = vec![GENRES[main_genre]];
    if album_hash % 7 == 3 {
        genres.push(GENRES[(main_genre + 1 + (album_hash >> 8) as usize % 11) % GENRES.len()]);
    }
    let career_start = 1960 + (artist_hash >> 16) % 50;
    let year = (career_start + nth as u64 * 3 + (album_hash >> 20) % 3).min(2025) as u32;
    let first_track = index * TRACKS_PER_ALBUM;
    let tracks = TRACKS_PER_ALBUM.min(shape.tracks - first_track);
    let (name, album_artist, compilation) = if shape.is_compilation(index) {
        (
            format!("{} Collection Vol. {}", genres[0], index / 100 + 1),
            VARIOUS_ARTISTS.to_string(),
            true,
        )
    } else {
        let first = ALBUM_FIRST[(artist_hash as usize + nth) % ALBUM_FIRST.len()];
        (
            format!("{first} {}", pick(ALBUM_SECOND, album_hash >> 24)),
            artist_name(artist),
            false,
        )
    };
    AlbumSpec {
        name,
        album_artist,
        compilation,
        year,
        genres,
        first_track,
        tracks,
        template: template_for(album_hash >> 32),
    }
}

pub struct TrackSpec {
    pub number: u32,
    pub title: String,
    pub artist: String,
}

pub fn track(shape: &Shape, album: &AlbumSpec, index: usize) -> TrackSpec {
    let h = hash(3, index);
    let word = |shift: u32| pick(TITLE_WORDS, h >> shift);
    let mut title = match h % 5 {
        0 => word(8).to_string(),
        1 => format!("{} {}", word(8), word(20)),
        2 => format!("{} of {}", word(8), word(20)),
        3 => format!("The {} {}", word(8), word(20)),
        _ => format!("{} {} {}", word(8), word(20), word(32)),
    };
    if (h >> 44).is_multiple_of(20) {
        title = pick(UNICODE_TITLES, h >> 48).to_string();
    }
    if index.is_multiple_of(100) {
        title = format!("{title} {SEARCH_WORD}");
    }
    let artist = if album.compilation {
        artist_name((h >> 52) as usize % shape.artists.max(1))
    } else {
        album.album_artist.clone()
    };
    TrackSpec {
        number: (index - album.first_track + 1) as u32,
        title,
        artist,
    }
}

/// A name usable as a file or folder name.
fn file_name(text: &str) -> String {
    text.replace(['/', '\0'], "-")
}

pub fn album_folder(music: &Path, album: &AlbumSpec) -> PathBuf {
    music
        .join(file_name(&album.album_artist))
        .join(file_name(&album.name))
}

/// The template's bytes with a new tag made with lofty's generic [`Tag`].
fn tagged_copy(album: &AlbumSpec, track: &TrackSpec) -> anyhow::Result<Vec<u8>> {
    let template = album.template;
    let mut tag = Tag::new(template.file_type.primary_tag_type());
    tag.set_title(track.title.clone());
    tag.set_artist(track.artist.clone());
    tag.set_album(album.name.clone());
    tag.insert_text(ItemKey::AlbumArtist, album.album_artist.clone());
    tag.set_track(track.number);
    tag.set_track_total(album.tracks as u32);
    tag.insert_text(ItemKey::RecordingDate, album.year.to_string());
    for genre in &album.genres {
        tag.push(TagItem::new(
            ItemKey::Genre,
            ItemValue::Text(genre.to_string()),
        ));
    }
    if album.compilation {
        tag.insert_text(ItemKey::FlagCompilation, "1".to_string());
    }
    let mut file = Cursor::new(template.bytes.to_vec());
    let options = WriteOptions::default().preferred_padding(0);
    let saved = match template.file_type {
        // The generic Tag writes only the first of several genres to ID3v2; the
        // conversion to an Id3v2Tag joins them into one multi-valued (NUL-separated)
        // TCON frame, as taggers do.
        FileType::Mpeg => Id3v2Tag::from(tag).save_to(&mut file, options),
        _ => tag.save_to(&mut file, options),
    };
    saved.with_context(|| format!("tagging a copy of the {} template", template.ext))?;
    Ok(file.into_inner())
}

fn write_album(music: &Path, shape: &Shape, index: usize) -> anyhow::Result<()> {
    let album = album(shape, index);
    let folder = album_folder(music, &album);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    for i in album.first_track..album.first_track + album.tracks {
        let track = track(shape, &album, i);
        let bytes = tagged_copy(&album, &track)?;
        let path = folder.join(format!(
            "{:02} - {}.{}",
            track.number,
            file_name(&track.title),
            album.template.ext
        ));
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Writes the library into `music` (which must not exist yet) on a thread pool.
pub fn generate(music: &Path, shape: &Shape) -> anyhow::Result<Duration> {
    if music.exists() {
        bail!("{} exists already", music.display());
    }
    std::fs::create_dir_all(music)?;
    let started = Instant::now();
    // Twice the cores: the work is half CPU (lofty) and half file system calls.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let done = AtomicUsize::new(0);
    let step = (shape.albums / 10).max(1);
    pool.install(|| {
        (0..shape.albums).into_par_iter().try_for_each(|index| {
            write_album(music, shape, index)?;
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            if finished.is_multiple_of(step) {
                eprintln!(
                    "  generated {finished}/{} albums ({:.1} s)",
                    shape.albums,
                    started.elapsed().as_secs_f64()
                );
            }
            anyhow::Ok(())
        })
    })?;
    let elapsed = started.elapsed();
    verify(music, shape)?;
    Ok(elapsed)
}

/// Reads back, with lofty, the first track of the first album of each format with
/// one genre and with two, and checks the title and genres made it.
fn verify(music: &Path, shape: &Shape) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    for index in 0..shape.albums {
        let album = album(shape, index);
        let kind = (album.template.ext, album.genres.len());
        if seen.contains(&kind) {
            continue;
        }
        seen.push(kind);
        let track = track(shape, &album, album.first_track);
        let path = album_folder(music, &album).join(format!(
            "{:02} - {}.{}",
            track.number,
            file_name(&track.title),
            album.template.ext
        ));
        let file = lofty::read_from_path(&path)
            .with_context(|| format!("reading back {}", path.display()))?;
        let tag = file
            .primary_tag()
            .with_context(|| format!("{} has no tag", path.display()))?;
        let title = tag.title().map(|t| t.to_string()).unwrap_or_default();
        let genres: Vec<&str> = tag
            .get_strings(&ItemKey::Genre)
            .flat_map(|g| g.split('\0'))
            .collect();
        if title != track.title || genres != album.genres {
            bail!(
                "{}: read back title {title:?} and genres {genres:?}, wrote {:?} and {:?}",
                path.display(),
                track.title,
                album.genres
            );
        }
        if seen.len() == TEMPLATES.len() * 2 {
            break;
        }
    }
    Ok(())
}
