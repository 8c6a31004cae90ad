//! Counts kept right at every commit. A scan writes in batches, and each batch's
//! transaction also refreshes the counts (songs, albums, time, genres) of exactly the
//! albums, artists and genres its songs belonged to before and after, drops those of
//! them nothing refers to any more, and stores the library totals. So a scan killed
//! at any point leaves counts that match the songs it committed, and the API never
//! shows an album of 0 songs beside its songs.
//!
//! Set-based over id lists: a batch of 1,000 songs touches some hundred rows, and each
//! count reads an index range, never the whole song table.

use std::collections::HashSet;

use super::db::{decode_id, Decoder, Row, Sql, Tx, Value};
use super::StoreResult;

/// Ids bound per statement.
const CHUNK: usize = 500;

/// The rows whose counts a batch may have changed.
#[derive(Debug, Default)]
pub struct Touched {
    pub albums: HashSet<i64>,
    pub artists: HashSet<i64>,
    pub genres: HashSet<i64>,
    /// Songs written by the batch: their (album, genre) and (artist, genre) pairs are
    /// added.
    pub songs: Vec<i64>,
    /// Whether songs that existed were changed or removed. Only then can a row be
    /// left empty or a genre pair unsupported; a first scan's batches skip those
    /// checks (on PostgreSQL they were a quarter of a first scan's time).
    pub replaced: bool,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.albums.is_empty() && self.artists.is_empty() && self.genres.is_empty()
    }

    /// Records what the songs at `paths` belong to now, before they are changed or
    /// deleted, so that the rows they leave are counted again too.
    pub async fn before_change(&mut self, tx: &mut Tx<'_>, paths: &[&str]) -> StoreResult<()> {
        for chunk in paths.chunks(CHUNK) {
            let list = placeholders(chunk.len());
            let sql = format!(
                "SELECT s.album_id AS album_id, s.artist_id AS artist_id, COALESCE(s.album_artist_id, 0) AS album_artist_id, \
                 COALESCE((SELECT al.album_artist_id FROM albums al WHERE al.id = s.album_id), 0) AS album_owner_id \
                 FROM songs s WHERE s.path IN ({list})"
            );
            let args: Vec<Value> = chunk.iter().map(|path| Value::from(*path)).collect();
            fn decode(r: &mut dyn Row) -> StoreResult<[i64; 4]> {
                Ok([
                    r.int("album_id")?,
                    r.int("artist_id")?,
                    r.int("album_artist_id")?,
                    r.int("album_owner_id")?,
                ])
            }
            let rows = tx.fetch_all(&Sql::bound(sql, args.clone()), decode).await?;
            for [album, artist, album_artist, owner] in rows {
                self.replaced = true;
                self.albums.insert(album);
                for id in [artist, album_artist, owner] {
                    if id > 0 {
                        self.artists.insert(id);
                    }
                }
            }
            for (sql, into_genres) in [
                (
                    format!("SELECT DISTINCT sa.artist_id AS id FROM song_artists sa JOIN songs s ON s.id = sa.song_id WHERE s.path IN ({list})"),
                    false,
                ),
                (
                    format!("SELECT DISTINCT sg.genre_id AS id FROM song_genres sg JOIN songs s ON s.id = sg.song_id WHERE s.path IN ({list})"),
                    true,
                ),
            ] {
                for id in tx
                    .fetch_all(&Sql::bound(sql, args.clone()), decode_id)
                    .await?
                {
                    if into_genres {
                        self.genres.insert(id);
                    } else {
                        self.artists.insert(id);
                    }
                }
            }
        }
        Ok(())
    }
}

fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which rows a statement of the tables below covers: `{scope}` in its text becomes
/// `id IN (...)` for a batch's touched rows, or `1 = 1` for a full recount.
#[derive(Clone, Copy)]
enum Over {
    Albums,
    Artists,
    Genres,
}

/// Rows nothing refers to any more, albums before the artists they name.
const ORPHANS: &[(Over, &str)] = &[
    (
        Over::Albums,
        "DELETE FROM albums WHERE {scope} AND NOT EXISTS (SELECT 1 FROM songs s WHERE s.album_id = albums.id)",
    ),
    (
        Over::Genres,
        "DELETE FROM genres WHERE {scope} AND NOT EXISTS (SELECT 1 FROM song_genres g WHERE g.genre_id = genres.id)",
    ),
    (
        Over::Artists,
        "DELETE FROM artists WHERE {scope} \
           AND NOT EXISTS (SELECT 1 FROM songs s WHERE s.artist_id = artists.id) \
           AND NOT EXISTS (SELECT 1 FROM songs s WHERE s.album_artist_id = artists.id) \
           AND NOT EXISTS (SELECT 1 FROM song_artists a WHERE a.artist_id = artists.id) \
           AND NOT EXISTS (SELECT 1 FROM albums a WHERE a.album_artist_id = artists.id)",
    ),
];

/// The stored counts, and the albums' embedded art: an album whose chosen song left
/// or lost its picture, or that has none yet, points at a song of its own with one.
/// Genre counts read the pair tables, which hold exactly the distinct albums and
/// artists per genre, so those must be up to date first; so do the genre ids that
/// album and artist rows keep (migration 16).
const COUNTS: &[(Over, &str)] = &[
    (
        Over::Albums,
        "UPDATE albums SET \
           song_count = (SELECT COUNT(*) FROM songs s WHERE s.album_id = albums.id), \
           total_time = (SELECT CAST(COALESCE(SUM(s.duration), 0) AS BIGINT) FROM songs s WHERE s.album_id = albums.id), \
           year = (SELECT COALESCE(MAX(s.year), 0) FROM songs s WHERE s.album_id = albums.id), \
           disc_count = (SELECT CASE WHEN MAX(s.disc) > 0 THEN MAX(s.disc) ELSE 1 END FROM songs s WHERE s.album_id = albums.id), \
           genre_ids = COALESCE((SELECT string_agg(CAST(g.genre_id AS TEXT), ',') FROM album_genres g WHERE g.album_id = albums.id), '') \
         WHERE {scope}",
    ),
    (
        Over::Artists,
        "UPDATE artists SET \
           song_count = (SELECT COUNT(*) FROM songs s WHERE s.artist_id = artists.id), \
           total_time = (SELECT CAST(COALESCE(SUM(s.duration), 0) AS BIGINT) FROM songs s WHERE s.artist_id = artists.id), \
           album_count = (SELECT COUNT(DISTINCT s.album_id) FROM songs s WHERE s.artist_id = artists.id OR s.album_artist_id = artists.id), \
           genre_ids = COALESCE((SELECT string_agg(CAST(g.genre_id AS TEXT), ',') FROM artist_genres g WHERE g.artist_id = artists.id), '') \
         WHERE {scope}",
    ),
    (
        Over::Albums,
        "UPDATE albums SET art_kind = NULL, art_path = NULL, art_mime = NULL, art_width = 0, art_height = 0 \
         WHERE {scope} AND art_kind = 'embedded' \
           AND NOT EXISTS (SELECT 1 FROM songs s WHERE s.path = albums.art_path AND s.embedded_art = 1)",
    ),
    (
        Over::Albums,
        "UPDATE albums SET art_kind = 'embedded', art_mime = NULL, art_path = \
           (SELECT MIN(s.path) FROM songs s WHERE s.album_id = albums.id AND s.embedded_art = 1) \
         WHERE {scope} AND art_kind IS NULL \
           AND EXISTS (SELECT 1 FROM songs s WHERE s.album_id = albums.id AND s.embedded_art = 1)",
    ),
    (
        Over::Albums,
        "UPDATE albums SET \
           art_width = COALESCE((SELECT MAX(s.art_width) FROM songs s WHERE s.path = albums.art_path), 0), \
           art_height = COALESCE((SELECT MAX(s.art_height) FROM songs s WHERE s.path = albums.art_path), 0) \
         WHERE {scope} AND art_kind = 'embedded'",
    ),
];

/// A genre's counts, read from the pair tables. A genre holds a share of the whole
/// library, so this reads an index range that grows with it: a batch that only adds
/// songs adds to the counts instead (see [`add_to_genre_counts`]).
const GENRE_COUNTS: &[(Over, &str)] = &[(
    Over::Genres,
    "UPDATE genres SET \
       song_count = (SELECT COUNT(*) FROM song_genres g WHERE g.genre_id = genres.id), \
       album_count = (SELECT COUNT(*) FROM album_genres g WHERE g.genre_id = genres.id), \
       artist_count = (SELECT COUNT(*) FROM artist_genres g WHERE g.genre_id = genres.id) \
     WHERE {scope}",
)];

/// The rows of `touched` a statement covers.
fn ids_of(touched: &Touched, over: Over) -> &HashSet<i64> {
    match over {
        Over::Albums => &touched.albums,
        Over::Artists => &touched.artists,
        Over::Genres => &touched.genres,
    }
}

/// Runs the statements of `table` over the rows of `touched`.
async fn run_over(tx: &mut Tx<'_>, table: &[(Over, &str)], touched: &Touched) -> StoreResult<()> {
    for (over, template) in table {
        for_ids(
            tx,
            &template.replace("{scope}", "id IN ({ids})"),
            ids_of(touched, *over),
        )
        .await?;
    }
    Ok(())
}

/// Runs the statements of `table` over every row (a full recount).
async fn run_over_all(tx: &mut Tx<'_>, table: &[(Over, &str)]) -> StoreResult<()> {
    for (_, template) in table {
        tx.execute(&Sql::bound(
            template.replace("{scope}", "1 = 1"),
            Vec::new(),
        ))
        .await?;
    }
    Ok(())
}

/// Drops rows nothing refers to, rebuilds the genre pairs and recomputes every
/// stored count and album art choice: what a scan's last step does.
pub async fn recount_all(tx: &mut Tx<'_>) -> StoreResult<()> {
    run_over_all(tx, ORPHANS).await?;
    for statement in [
        "DELETE FROM album_genres",
        "INSERT INTO album_genres (album_id, genre_id) SELECT DISTINCT s.album_id, sg.genre_id \
         FROM songs s JOIN song_genres sg ON sg.song_id = s.id",
        "DELETE FROM artist_genres",
        "INSERT INTO artist_genres (artist_id, genre_id) SELECT DISTINCT s.artist_id, sg.genre_id \
         FROM songs s JOIN song_genres sg ON sg.song_id = s.id",
    ] {
        tx.execute(&Sql::bound(statement, Vec::new())).await?;
    }
    run_over_all(tx, COUNTS).await?;
    run_over_all(tx, GENRE_COUNTS).await
}

/// `template` (with `{ids}` for the id list) over `ids`: one statement a chunk.
fn over_chunks(template: &str, ids: &HashSet<i64>) -> Vec<Sql> {
    let ids: Vec<i64> = ids.iter().copied().collect();
    ids.chunks(CHUNK)
        .map(|chunk| {
            let sql = template.replace("{ids}", &placeholders(chunk.len()));
            Sql::bound(sql, chunk.iter().map(|id| Value::Int(*id)).collect())
        })
        .collect()
}

/// Runs `template` (with `{ids}` for the id list) over `ids`, a chunk at a time.
async fn for_ids(tx: &mut Tx<'_>, template: &str, ids: &HashSet<i64>) -> StoreResult<()> {
    for sql in over_chunks(template, ids) {
        tx.execute(&sql).await?;
    }
    Ok(())
}

/// [`for_ids`] for a statement that returns rows: all of them, decoded.
async fn fetch_for_ids<T>(
    tx: &mut Tx<'_>,
    template: &str,
    ids: &HashSet<i64>,
    decode: Decoder<T>,
) -> StoreResult<Vec<T>> {
    let mut rows = Vec::new();
    for sql in over_chunks(template, ids) {
        rows.extend(tx.fetch_all(&sql, decode).await?);
    }
    Ok(rows)
}

/// Brings the counts of everything in `touched` up to date, inside the batch's
/// transaction.
pub async fn refresh(tx: &mut Tx<'_>, touched: &Touched) -> StoreResult<()> {
    if !touched.is_empty() {
        refresh_rows(tx, touched).await?;
    }
    // The stored totals are dropped, not recounted: counting every song at each
    // batch cost a first scan seconds on PostgreSQL. Until the scan's last step
    // stores them again, the handshake counts live, so they are right at every
    // commit.
    tx.execute(&Sql::bound(
        "DELETE FROM meta WHERE key = 'library_counts'",
        Vec::new(),
    ))
    .await?;
    Ok(())
}

async fn refresh_rows(tx: &mut Tx<'_>, touched: &Touched) -> StoreResult<()> {
    if touched.replaced {
        run_over(tx, ORPHANS, touched).await?;
    }
    // Genre pairs: the written songs' pairs added, pairs no song supports any more
    // dropped (only among the touched albums and artists).
    let songs: HashSet<i64> = touched.songs.iter().copied().collect();
    let new_album_pairs = fetch_for_ids(
        tx,
        "INSERT INTO album_genres (album_id, genre_id) SELECT DISTINCT s.album_id, sg.genre_id \
         FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.id IN ({ids}) ON CONFLICT DO NOTHING \
         RETURNING genre_id AS id",
        &songs,
        decode_id,
    )
    .await?;
    let new_artist_pairs = fetch_for_ids(
        tx,
        "INSERT INTO artist_genres (artist_id, genre_id) SELECT DISTINCT s.artist_id, sg.genre_id \
         FROM songs s JOIN song_genres sg ON sg.song_id = s.id WHERE s.id IN ({ids}) ON CONFLICT DO NOTHING \
         RETURNING genre_id AS id",
        &songs,
        decode_id,
    )
    .await?;
    if !touched.replaced {
        run_over(tx, COUNTS, touched).await?;
        let added = GenreCountsAdded {
            songs: fetch_for_ids(
                tx,
                "SELECT sg.genre_id AS id FROM song_genres sg WHERE sg.song_id IN ({ids})",
                &songs,
                decode_id,
            )
            .await?,
            album_pairs: new_album_pairs,
            artist_pairs: new_artist_pairs,
        };
        return add_to_genre_counts(tx, added).await;
    }
    for (table, column, ids) in [
        ("album_genres", "album_id", &touched.albums),
        ("artist_genres", "artist_id", &touched.artists),
    ] {
        let template = format!(
            "DELETE FROM {table} WHERE {column} IN ({{ids}}) AND NOT EXISTS (SELECT 1 FROM songs s \
             JOIN song_genres sg ON sg.song_id = s.id WHERE s.{column} = {table}.{column} AND sg.genre_id = {table}.genre_id)"
        );
        for_ids(tx, &template, ids).await?;
    }
    run_over(tx, COUNTS, touched).await?;
    run_over(tx, GENRE_COUNTS, touched).await
}

/// The genre ids of the rows a batch that only added songs wrote: one per song
/// pair, one per new album pair, one per new artist pair.
struct GenreCountsAdded {
    songs: Vec<i64>,
    album_pairs: Vec<i64>,
    artist_pairs: Vec<i64>,
}

/// Adds a batch's new pairs to its genres' counts. Counting a genre's pairs again
/// instead read every pair of it at each batch: at 1,000,000 songs in twelve genres,
/// 40 ms a batch by the end of a first scan, 15% of its writer's time (`perf`).
/// Exact for a batch that changed or removed no song, whose pair tables only grew
/// by these rows; any other batch counts again.
async fn add_to_genre_counts(tx: &mut Tx<'_>, added: GenreCountsAdded) -> StoreResult<()> {
    let mut by_genre: std::collections::BTreeMap<i64, [i64; 3]> = Default::default();
    for (part, ids) in [added.songs, added.album_pairs, added.artist_pairs]
        .into_iter()
        .enumerate()
    {
        for id in ids {
            by_genre.entry(id).or_default()[part] += 1;
        }
    }
    for (genre, [songs, albums, artists]) in by_genre {
        tx.execute(&Sql::bound(
            "UPDATE genres SET song_count = song_count + $1, album_count = album_count + $2, \
             artist_count = artist_count + $3 WHERE id = $4",
            vec![
                Value::Int(songs),
                Value::Int(albums),
                Value::Int(artists),
                Value::Int(genre),
            ],
        ))
        .await?;
    }
    Ok(())
}
