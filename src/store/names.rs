//! Artist, album and genre names by id, kept in memory for lists.
//!
//! A name never changes under its id: rows are only ever inserted with their name
//! (an upsert on the name keeps it), and ids are never reused (AUTOINCREMENT on
//! SQLite, identity columns on PostgreSQL). So a name once read stays right in every
//! process sharing the database, with nothing to invalidate; an id not known yet
//! (another process's scan) is read on first use.
//!
//! Joining `artists` twice and `albums` once for every song of a page cost three
//! B-tree seeks a row: 6.5 of the 26 ms the store spent on a 5000-song page. The
//! names of 2,000 artists and 10,000 albums take well under a megabyte.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock};

use super::browse::Query;
use super::db::{Row, ID_CHUNK};
use super::{Store, StoreResult};

/// Past this many names the memory is dropped and read again as needed: names of
/// deleted rows are never asked for, and would otherwise stay.
const MOST_NAMES: usize = 1_000_000;

/// Names by id, hashed with [`IdHasher`].
type NameMap = HashMap<i64, Arc<str>, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub(super) struct Names {
    artists: RwLock<NameMap>,
    albums: RwLock<NameMap>,
    genres: RwLock<NameMap>,
}

/// A hash for row ids: one multiplication by an odd constant (Fibonacci hashing).
/// The ids are the store's own, not chosen by a client, so nothing needs SipHash's
/// defence against crafted keys; a list looks up three names a song, and SipHash
/// made those lookups 2-3% of a `search_songs` answer's CPU.
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_i64(&mut self, id: i64) {
        self.0 = (self.0 ^ id as u64).wrapping_mul(FIBONACCI);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// 2^64 divided by the golden ratio, odd: consecutive ids spread over the table.
const FIBONACCI: u64 = 0x9e37_79b9_7f4a_7c15;

#[derive(Clone, Copy)]
pub(super) enum NameTable {
    Artists,
    Albums,
    Genres,
}

impl Names {
    fn map(&self, table: NameTable) -> &RwLock<NameMap> {
        match table {
            NameTable::Artists => &self.artists,
            NameTable::Albums => &self.albums,
            NameTable::Genres => &self.genres,
        }
    }

    /// The names of `ids` that are known; None for the others.
    fn known(&self, table: NameTable, ids: &[i64]) -> Vec<Option<Arc<str>>> {
        let map = self.map(table).read().unwrap_or_else(|e| e.into_inner());
        ids.iter().map(|id| map.get(id).cloned()).collect()
    }

    fn remember(&self, table: NameTable, names: Vec<(i64, Arc<str>)>) {
        let mut map = self.map(table).write().unwrap_or_else(|e| e.into_inner());
        if map.len() + names.len() > MOST_NAMES {
            map.clear();
        }
        map.extend(names);
    }
}

fn decode_name(r: &mut dyn Row) -> StoreResult<(i64, Arc<str>)> {
    Ok((r.int("id")?, r.text("name")?.into()))
}

impl Store {
    /// The names of `ids` in `table`, in that order; an id with no row gets an empty
    /// name (a song's artist is never missing: a foreign key holds it).
    pub(super) async fn names(&self, table: NameTable, ids: &[i64]) -> StoreResult<Vec<Arc<str>>> {
        let mut names = self.names.known(table, ids);
        let mut missing: Vec<i64> = ids
            .iter()
            .zip(&names)
            .filter(|(_, name)| name.is_none())
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            let table_name = match table {
                NameTable::Artists => "artists",
                NameTable::Albums => "albums",
                NameTable::Genres => "genres",
            };
            let mut found = Vec::with_capacity(missing.len());
            for chunk in missing.chunks(ID_CHUNK) {
                let mut q = Query::bare(self.engine);
                let ids_hold = q.id_set(chunk).holds("id");
                q.sql = format!("SELECT id AS id, name AS name FROM {table_name} WHERE {ids_hold}");
                found.extend(q.fetch(self, decode_name).await?);
            }
            let found_by_id: HashMap<i64, &Arc<str>> =
                found.iter().map(|(id, name)| (*id, name)).collect();
            for (id, name) in ids.iter().zip(names.iter_mut()) {
                if name.is_none() {
                    *name = found_by_id.get(id).map(|found| (*found).clone());
                }
            }
            self.names.remember(table, found);
        }
        Ok(names.into_iter().map(Option::unwrap_or_default).collect())
    }
}
