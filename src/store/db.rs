//! The store's own database layer: each engine through its native driver, one way to
//! write a query for both, rows decoded by column name.
//!
//! - SQLite through `rusqlite`: a few read connections, each query on a blocking
//!   thread with its prepared statement cached per connection. sqlx's `Any` driver
//!   handed every row through a channel and copied every value: a page of 5000 songs
//!   spent several times its SQL in that hand-off.
//! - PostgreSQL through sqlx's native Postgres driver.
//!
//! A query is [`Sql`]: text with `$N` placeholders (rendered as `?N` for SQLite) and
//! its arguments, numbered as they are added, so no query pads unused numbers.
//! Decoders read columns through [`Row`], naming each one: the name is checked
//! against the statement's column at that position (a cheap comparison, no lookup),
//! so a decoder and its column list cannot drift apart silently.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::postgres::PgPool;

use super::{StoreError, StoreResult};

/// Reads one row into a value: the store's decoders, named beside their columns.
pub type Decoder<T> = fn(&mut dyn Row) -> StoreResult<T>;

/// A value bound to a placeholder. NULLs carry their type: PostgreSQL refuses a
/// NULL of the wrong type for a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    NullInt,
    NullReal,
    NullText,
    Int(i64),
    Real(f64),
    Text(String),
    /// A list of ids as one array parameter: PostgreSQL only.
    IntList(Vec<i64>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(v as i64)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        v.map_or(Value::NullInt, Value::Int)
    }
}

impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Value {
        v.map_or(Value::NullReal, Value::Real)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        v.map_or(Value::NullText, Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Value {
        v.map_or(Value::NullText, |t| Value::Text(t.to_string()))
    }
}

/// The arguments of [`Sql::bound`], each converted to a [`Value`].
#[macro_export]
macro_rules! values {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::store::db::Value::from($value)),*]
    };
}

/// Ids bound per statement when a query takes a long id list: SQLite looks
/// placeholders up linearly (a 5000-id list cost 10% of a page), and PostgreSQL takes
/// at most 65,535 per statement.
pub const ID_CHUNK: usize = 500;

/// A query: SQL text with `$N` placeholders and the values they stand for.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Value>,
}

impl Sql {
    /// A query whose text numbers its placeholders itself, `$1` for `args[0]` on.
    pub fn bound(text: impl Into<String>, args: Vec<Value>) -> Sql {
        Sql {
            text: text.into(),
            args,
        }
    }

    /// Adds an argument; returns its placeholder to splice into the text.
    pub fn arg(&mut self, value: impl Into<Value>) -> String {
        self.args.push(value.into());
        format!("${}", self.args.len())
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// The text for SQLite: `$N` becomes `?N` (SQLite's numbered parameter; its `$N`
    /// would be a *named* parameter, numbered by first appearance instead).
    fn sqlite_text(&self) -> String {
        // Copied between the `$`s (found by memchr), not character by character:
        // a list of 500 ids makes a statement of 3.5 KB.
        let text = &self.text;
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (at, _) in text.match_indices('$') {
            if text.as_bytes().get(at + 1).is_some_and(u8::is_ascii_digit) {
                out.push_str(&text[copied..at]);
                out.push('?');
                copied = at + 1;
            }
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// One row, read column by column in the order the decoder names them.
pub trait Row {
    /// The next column, which must be named `name`; NULL is an error.
    fn int(&mut self, name: &str) -> StoreResult<i64> {
        self.opt_int(name)?
            .ok_or_else(|| type_error(name, "a number"))
    }
    fn real(&mut self, name: &str) -> StoreResult<f64> {
        self.opt_real(name)?
            .ok_or_else(|| type_error(name, "a number"))
    }
    fn text(&mut self, name: &str) -> StoreResult<String> {
        self.opt_text(name)?.ok_or_else(|| type_error(name, "text"))
    }
    /// The next column, which must be named `name`, NULL as None.
    fn opt_int(&mut self, name: &str) -> StoreResult<Option<i64>>;
    fn opt_real(&mut self, name: &str) -> StoreResult<Option<f64>>;
    fn opt_text(&mut self, name: &str) -> StoreResult<Option<String>>;
    /// The next column as text whatever its name, or None past the last one (for
    /// generic code over several tables' text columns).
    fn next_text(&mut self) -> StoreResult<Option<String>>;
}

/// The `id` column of a row: listed ids, or an insert's `RETURNING id`.
pub fn decode_id(r: &mut dyn Row) -> StoreResult<i64> {
    r.int("id")
}

/// The `n` column of a row: a count (`COUNT(*) AS n`).
pub fn decode_count(r: &mut dyn Row) -> StoreResult<i64> {
    r.int("n")
}

fn column_error(position: usize, expected: &str, found: &str) -> StoreError {
    StoreError::Engine(format!(
        "the query's column {position} is {found:?}, its decoder expected {expected:?}"
    ))
}

fn type_error(name: &str, wanted: &str) -> StoreError {
    StoreError::Engine(format!("column {name:?} does not hold {wanted}"))
}

// ---------------------------------------------------------------------------------
// SQLite

struct SqliteRow<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    names: &'r [String],
    next: usize,
    /// Whether to check each column's name against the decoder's. A decoder reads
    /// the same columns from every row, so the first row of a query is checked and
    /// the others are not: comparing every name of every row took 2% of the CPU of a
    /// 5000-song page. (A mismatch on the first row still fails every query.)
    check_names: bool,
}

impl SqliteRow<'_, '_> {
    fn value(&mut self, name: &str) -> StoreResult<rusqlite::types::ValueRef<'_>> {
        let position = self.next;
        if self.check_names || position >= self.names.len() {
            let actual = self
                .names
                .get(position)
                .ok_or_else(|| column_error(position, name, "(none)"))?;
            if actual != name {
                return Err(column_error(position, name, actual));
            }
        }
        self.next += 1;
        self.row.get_ref(position).map_err(sqlite_error)
    }
}

impl Row for SqliteRow<'_, '_> {
    fn opt_int(&mut self, name: &str) -> StoreResult<Option<i64>> {
        use rusqlite::types::ValueRef;
        match self.value(name)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i)),
            ValueRef::Real(r) => Ok(Some(r as i64)),
            _ => Err(type_error(name, "a whole number")),
        }
    }

    fn opt_real(&mut self, name: &str) -> StoreResult<Option<f64>> {
        use rusqlite::types::ValueRef;
        match self.value(name)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i as f64)),
            ValueRef::Real(r) => Ok(Some(r)),
            _ => Err(type_error(name, "a number")),
        }
    }

    fn opt_text(&mut self, name: &str) -> StoreResult<Option<String>> {
        use rusqlite::types::ValueRef;
        match self.value(name)? {
            ValueRef::Null => Ok(None),
            // Checked whole first: `from_utf8` skips runs of ASCII a word at a time,
            // where the lossy form walks its chunks (1% of a search's CPU).
            ValueRef::Text(bytes) => Ok(Some(match std::str::from_utf8(bytes) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            })),
            ValueRef::Integer(i) => Ok(Some(i.to_string())),
            ValueRef::Real(r) => Ok(Some(r.to_string())),
            ValueRef::Blob(_) => Err(type_error(name, "text")),
        }
    }

    fn next_text(&mut self) -> StoreResult<Option<String>> {
        match self.names.get(self.next).cloned() {
            Some(name) => Ok(Some(self.text(&name)?)),
            None => Ok(None),
        }
    }
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError::from(error)
}

/// SQLite read connections, opened as needed and kept; each query takes one for its
/// duration on a blocking thread.
pub struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// One permit per read connection: a query waits (asynchronously) for one before
    /// it takes a blocking thread. Without the bound, 200 concurrent requests ran 200
    /// blocking threads on 2 cores, each opening a connection (schema parsed, statement
    /// cache empty) that was closed again after its query since only a few were kept:
    /// 543 req/s in the mixed load of docs/reliability.md.
    permits: Arc<tokio::sync::Semaphore>,
    /// Reads begun so far, and their number when the idle connections last gave
    /// their page caches back ([`Db::release_idle_caches`]).
    reads: AtomicU64,
    reads_when_released: AtomicU64,
    reads_when_checked: AtomicU64,
}

/// Read connections: queries in flight at once. More than the cores, so that a query
/// waiting on a page read does not idle a core; few enough that each stays open with
/// its page and statement caches warm.
fn reader_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).clamp(4, 16)
}

impl SqliteReaders {
    fn open(&self) -> StoreResult<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(sqlite_error)?;
        // A reader waits for a checkpoint rather than failing. Its page cache holds
        // 16 MB: a search_songs for a word in 1% of 100,000 titles reads 1,000 song
        // rows on 1,000 pages plus the full-text index's, more than the 4 MB cache it
        // had, which then kept none of them from one request to the next (pread was
        // 15% of the request's CPU): 7.4 -> 6.3 ms of CPU and 6.9-7.1 -> 6.0 ms with
        // curl. The caches are emptied when the server idles
        // (`Db::release_idle_caches`), so idle RSS does not grow with them. Mapping
        // the file (mmap_size) saved a few
        // milliseconds of read() copies on a 5000-song page with curl but nothing
        // measurable in the benchmark, and counted the mapped database in the
        // process's RSS (a rescan's peak went from 46 to 123 MiB at 100,000 songs),
        // so reads go through read().
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_error)?;
        conn.execute_batch("PRAGMA cache_size=-16000; PRAGMA temp_store=MEMORY;")
            .map_err(sqlite_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn take(&self) -> StoreResult<rusqlite::Connection> {
        let idle = self.idle.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.open(),
        }
    }

    fn give_back(&self, conn: rusqlite::Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    /// Runs `read` on a read connection, on a blocking thread, once a permit is free.
    /// The permit moves into the blocking task: a request dropped while its query runs
    /// frees it only when the connection is back.
    async fn read<R: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&rusqlite::Connection) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| poisoned())?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = read(&conn);
            readers.give_back(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::Engine(format!("a database thread failed: {e}")))?
    }
}

fn sqlite_fetch_all<T>(
    conn: &rusqlite::Connection,
    sql: &Sql,
    decode: fn(&mut dyn Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    sqlite_fold(conn, sql, Vec::new(), |out, row| {
        out.push(decode(row)?);
        Ok(())
    })
}

fn sqlite_fold<A>(
    conn: &rusqlite::Connection,
    sql: &Sql,
    mut acc: A,
    mut step: impl FnMut(&mut A, &mut dyn Row) -> StoreResult<()>,
) -> StoreResult<A> {
    let mut statement = conn
        .prepare_cached(&sql.sqlite_text())
        .map_err(sqlite_error)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let params = rusqlite::params_from_iter(sql.args.iter().map(sqlite_value));
    let mut rows = statement.query(params).map_err(sqlite_error)?;
    let mut check_names = true;
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        step(
            &mut acc,
            &mut SqliteRow {
                row,
                names: &names,
                next: 0,
                check_names,
            },
        )?;
        check_names = cfg!(debug_assertions);
    }
    Ok(acc)
}

fn sqlite_value(value: &Value) -> rusqlite::types::ToSqlOutput<'_> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    match value {
        // SQLite has no array parameter; the query builder never gives it one.
        Value::NullInt | Value::NullReal | Value::NullText | Value::IntList(_) => {
            ToSqlOutput::Borrowed(ValueRef::Null)
        }
        Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
        Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
        Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
    }
}

fn poisoned() -> StoreError {
    StoreError::Engine("a database connection lock was poisoned".into())
}

// ---------------------------------------------------------------------------------
// PostgreSQL

struct PgRowReader<'r> {
    row: &'r sqlx::postgres::PgRow,
    next: usize,
    /// Whether to check each column's name against the decoder's: on the first row
    /// of a query only, as for SQLite ([`SqliteRow`]); comparing every name of every
    /// row was 1.5% of tonearm's CPU for a PostgreSQL search.
    check_names: bool,
}

/// PostgreSQL's type ids for the column types the store reads.
mod pg_oid {
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const INT8: u32 = 20;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const TEXT: u32 = 25;
    pub const VARCHAR: u32 = 1043;
}

impl<'r> PgRowReader<'r> {
    fn position(&mut self, name: &str) -> StoreResult<usize> {
        use sqlx::{Column, Row as _};
        let position = self.next;
        if self.check_names {
            let actual = self
                .row
                .columns()
                .get(position)
                .map(|c| c.name())
                .ok_or_else(|| column_error(position, name, "(none)"))?;
            if actual != name {
                return Err(column_error(position, name, actual));
            }
        }
        self.next += 1;
        Ok(position)
    }

    /// The next column's position, and its raw value (None for a NULL).
    ///
    /// The decoders below match the type id themselves and decode the bytes
    /// directly: sqlx's checked `try_get` (a compatibility check, then a decode
    /// wrapped for its error, per column) was a tenth of tonearm's CPU for a
    /// PostgreSQL search, and handing sqlx's value (with its type) on to be decoded
    /// by sqlx was 7-10% more, most of it copies of that value. A type or a format
    /// they do not know goes through `try_get` as before.
    fn raw(&mut self, name: &str) -> StoreResult<(usize, Option<PgRaw<'r>>)> {
        use sqlx::{Column, Row as _, ValueRef as _};
        let position = self.position(name)?;
        let row: &'r sqlx::postgres::PgRow = self.row;
        let value = row.try_get_raw(position)?;
        if value.is_null() {
            return Ok((position, None));
        }
        let binary = value.format() == sqlx::postgres::PgValueFormat::Binary;
        let bytes = value.as_bytes().map_err(|_| type_error(name, "a value"))?;
        // A type with no id (declared by name only) is left to the fallback.
        let oid = row.columns()[position]
            .type_info()
            .oid()
            .filter(|_| binary)
            .map_or(0, |oid| oid.0);
        Ok((position, Some(PgRaw { bytes, oid })))
    }
}

/// A value's bytes, with its type id when it came in PostgreSQL's binary format (0
/// for the text format, which only sqlx's fallback decodes).
struct PgRaw<'r> {
    bytes: &'r [u8],
    oid: u32,
}

impl PgRaw<'_> {
    /// The value as a whole number, when it is a binary integer (big-endian).
    fn int(&self) -> Option<i64> {
        match self.oid {
            pg_oid::INT8 => self.bytes.try_into().ok().map(i64::from_be_bytes),
            pg_oid::INT4 => self
                .bytes
                .try_into()
                .ok()
                .map(i32::from_be_bytes)
                .map(i64::from),
            pg_oid::INT2 => self
                .bytes
                .try_into()
                .ok()
                .map(i16::from_be_bytes)
                .map(i64::from),
            _ => None,
        }
    }

    /// The value as a float, when it is a binary float (IEEE 754, big-endian).
    fn real(&self) -> Option<f64> {
        match self.oid {
            pg_oid::FLOAT8 => self.bytes.try_into().ok().map(f64::from_be_bytes),
            pg_oid::FLOAT4 => self
                .bytes
                .try_into()
                .ok()
                .map(f32::from_be_bytes)
                .map(f64::from),
            _ => None,
        }
    }

    /// The value as text, when it is `text` or `varchar` (in the binary format
    /// their bytes are the UTF-8 text itself).
    fn text(&self) -> Option<&str> {
        match self.oid {
            pg_oid::TEXT | pg_oid::VARCHAR => std::str::from_utf8(self.bytes).ok(),
            _ => None,
        }
    }
}

impl Row for PgRowReader<'_> {
    fn opt_int(&mut self, name: &str) -> StoreResult<Option<i64>> {
        use sqlx::Row as _;
        let (i, value) = self.raw(name)?;
        let Some(value) = value else {
            return Ok(None);
        };
        if let Some(n) = value.int() {
            return Ok(Some(n));
        }
        if let Some(r) = value.real() {
            return Ok(Some(r as i64));
        }
        if let Ok(v) = self.row.try_get::<Option<i64>, _>(i) {
            return Ok(v);
        }
        if let Ok(v) = self.row.try_get::<Option<i32>, _>(i) {
            return Ok(v.map(i64::from));
        }
        self.row
            .try_get::<Option<f64>, _>(i)
            .map(|v| v.map(|r| r as i64))
            .map_err(|_| type_error(name, "a whole number"))
    }

    fn opt_real(&mut self, name: &str) -> StoreResult<Option<f64>> {
        use sqlx::Row as _;
        let (i, value) = self.raw(name)?;
        let Some(value) = value else {
            return Ok(None);
        };
        if let Some(r) = value.real() {
            return Ok(Some(r));
        }
        if let Some(n) = value.int() {
            return Ok(Some(n as f64));
        }
        if let Ok(v) = self.row.try_get::<Option<f64>, _>(i) {
            return Ok(v);
        }
        if let Ok(v) = self.row.try_get::<Option<i64>, _>(i) {
            return Ok(v.map(|n| n as f64));
        }
        self.row
            .try_get::<Option<i32>, _>(i)
            .map(|v| v.map(f64::from))
            .map_err(|_| type_error(name, "a number"))
    }

    fn opt_text(&mut self, name: &str) -> StoreResult<Option<String>> {
        use sqlx::Row as _;
        let (i, value) = self.raw(name)?;
        let Some(value) = value else {
            return Ok(None);
        };
        if let Some(text) = value.text() {
            return Ok(Some(text.to_owned()));
        }
        self.row
            .try_get::<Option<String>, _>(i)
            .map_err(|_| type_error(name, "text"))
    }

    fn next_text(&mut self) -> StoreResult<Option<String>> {
        use sqlx::{Column, Row as _};
        match self
            .row
            .columns()
            .get(self.next)
            .map(|c| c.name().to_string())
        {
            Some(name) => Ok(Some(self.text(&name)?)),
            None => Ok(None),
        }
    }
}

fn pg_query(sql: &Sql) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut query = sqlx::query(&sql.text);
    for value in &sql.args {
        query = match value {
            Value::NullInt => query.bind(None::<i64>),
            Value::NullReal => query.bind(None::<f64>),
            Value::NullText => query.bind(None::<String>),
            Value::Int(i) => query.bind(*i),
            Value::Real(r) => query.bind(*r),
            Value::Text(t) => query.bind(t.as_str()),
            Value::IntList(ids) => query.bind(ids.as_slice()),
        };
    }
    query
}

async fn pg_fetch_all<'e, T>(
    executor: impl sqlx::PgExecutor<'e>,
    sql: &Sql,
    decode: fn(&mut dyn Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    use futures_util::TryStreamExt;
    // Each row is decoded as it arrives, while its bytes are still in the cache,
    // and dropped; collecting them all first held every row's bytes until the last
    // and decoded none before it: search_songs (1,000 rows) 14.58 -> 13.58 ms, p50
    // over curl with builds side by side on a slow day.
    let mut rows = pg_query(sql).fetch(executor);
    let mut decoded = Vec::new();
    while let Some(row) = rows.try_next().await? {
        decoded.push(decode(&mut PgRowReader {
            row: &row,
            next: 0,
            check_names: decoded.is_empty(),
        })?);
    }
    Ok(decoded)
}

// ---------------------------------------------------------------------------------

/// SQLite's one writer: a connection behind an async lock, held by one write
/// transaction at a time (SQLite runs one writer at a time anyway). `None` after a
/// connection was dropped as unusable; the next transaction opens a new one.
pub struct SqliteWriter {
    path: PathBuf,
    conn: tokio::sync::Mutex<Option<rusqlite::Connection>>,
}

impl SqliteWriter {
    fn open(&self) -> StoreResult<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(&self.path).map_err(sqlite_error)?;
        // The busy timeout first: switching a new database to WAL takes a lock, and
        // another process opening it at the same moment (nodes starting together)
        // must wait for it rather than fail with "database is locked". Then WAL (the
        // API reads while a scan writes), NORMAL sync (durable at checkpoints, safe
        // in WAL), foreign keys. The log is copied back into the database (and both
        // synced) once it holds 8,192 pages, 32 MB, rather than SQLite's 1,000: a
        // scan's batch of 1,000 files wrote past 1,000 pages, so every commit waited
        // for a checkpoint and its fsyncs; the 1,000,000-file first scan went from
        // 90.7-92.8 to 83.3-84.7 s (builds alternated), the same CPU in less time.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_error)?;
        set_wal(&conn)?;
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-4000; \
             PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=8192;",
        )
        .map_err(sqlite_error)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }
}

/// Puts the database in WAL mode. Switching a new database needs an exclusive lock,
/// and SQLite answers "database is locked" at once, without its busy handler, when
/// another process holds one meanwhile (three processes starting together on an
/// empty file: 2 starts in 25 failed so): retried here for up to 10 s.
fn set_wal(conn: &rusqlite::Connection) -> StoreResult<()> {
    let started = std::time::Instant::now();
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(code, _))
                if code.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(sqlite_error(e)),
        }
    }
}

/// A write transaction on either engine. Statements run in order; nothing is
/// visible to others before [`Tx::commit`] returns Ok, and a transaction dropped
/// without it is rolled back.
pub enum Tx<'a> {
    Sqlite {
        guard: tokio::sync::MutexGuard<'a, Option<rusqlite::Connection>>,
        done: bool,
    },
    /// `None` once committed.
    Postgres(Option<sqlx::Transaction<'static, sqlx::Postgres>>),
}

/// Runs SQLite work on this worker thread, telling the runtime to move its other
/// tasks elsewhere meanwhile: a writer's statements take microseconds each, too
/// little for a hop to the blocking pool, but a commit can wait for the disk.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

impl Tx<'_> {
    fn sqlite_conn<'g>(
        guard: &'g mut tokio::sync::MutexGuard<'_, Option<rusqlite::Connection>>,
    ) -> StoreResult<&'g mut rusqlite::Connection> {
        guard
            .as_mut()
            .ok_or_else(|| StoreError::Engine("the database writer is closed".into()))
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &Sql) -> StoreResult<u64> {
        match self {
            Tx::Sqlite { guard, .. } => {
                let conn = Self::sqlite_conn(guard)?;
                blocking(|| {
                    let mut statement = conn
                        .prepare_cached(&sql.sqlite_text())
                        .map_err(sqlite_error)?;
                    let params = rusqlite::params_from_iter(sql.args.iter().map(sqlite_value));
                    Ok(statement.execute(params).map_err(sqlite_error)? as u64)
                })
            }
            Tx::Postgres(tx) => Ok(pg_query(sql)
                .execute(&mut **pg_tx(tx)?)
                .await?
                .rows_affected()),
        }
    }

    /// Every row of a query, decoded.
    pub async fn fetch_all<T>(
        &mut self,
        sql: &Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match self {
            Tx::Sqlite { guard, .. } => {
                let conn = Self::sqlite_conn(guard)?;
                blocking(|| sqlite_fetch_all(conn, sql, decode))
            }
            Tx::Postgres(tx) => pg_fetch_all(&mut **pg_tx(tx)?, sql, decode).await,
        }
    }

    /// The first row of a query, decoded (`RETURNING id`, a count).
    pub async fn fetch_one<T>(
        &mut self,
        sql: &Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.fetch_all(sql, decode)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Engine("a query returned no row".into()))
    }

    /// Commits. An error means nothing of the transaction was kept.
    pub async fn commit(mut self) -> StoreResult<()> {
        match &mut self {
            Tx::Sqlite { guard, done } => {
                *done = true;
                let conn = Self::sqlite_conn(guard)?;
                let result = blocking(|| conn.execute_batch("COMMIT"));
                if let Err(e) = result {
                    // A failed COMMIT (a full disk) may leave the transaction open or
                    // rolled back; either way it is over, and a connection still
                    // inside it would hold the write lock for good.
                    let _ = conn.execute_batch("ROLLBACK");
                    if !conn.is_autocommit() {
                        **guard = None;
                    }
                    return Err(sqlite_error(e));
                }
                Ok(())
            }
            Tx::Postgres(tx) => match tx.take() {
                Some(tx) => Ok(tx.commit().await?),
                None => Ok(()),
            },
        }
    }
}

fn pg_tx<'t>(
    tx: &'t mut Option<sqlx::Transaction<'static, sqlx::Postgres>>,
) -> StoreResult<&'t mut sqlx::Transaction<'static, sqlx::Postgres>> {
    tx.as_mut()
        .ok_or_else(|| StoreError::Engine("the transaction is over".into()))
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Tx::Sqlite { guard, done: false } = self {
            if let Some(conn) = guard.as_mut() {
                let _ = conn.execute_batch("ROLLBACK");
                if !conn.is_autocommit() {
                    **guard = None;
                }
            }
        }
        // sqlx rolls a dropped PostgreSQL transaction back itself.
    }
}

/// The native connection of a store.
#[derive(Clone)]
pub enum Db {
    Sqlite {
        readers: Arc<SqliteReaders>,
        writer: Arc<SqliteWriter>,
    },
    Postgres(PgPool),
}

impl Db {
    /// Connections to the SQLite database file at `path`.
    pub fn sqlite(path: PathBuf) -> Db {
        Db::Sqlite {
            readers: Arc::new(SqliteReaders {
                path: path.clone(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(tokio::sync::Semaphore::new(reader_count())),
                reads: AtomicU64::new(0),
                reads_when_released: AtomicU64::new(0),
                reads_when_checked: AtomicU64::new(0),
            }),
            writer: Arc::new(SqliteWriter {
                path,
                conn: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Runs `work` on SQLite's writer connection outside any transaction, for the
    /// schema's runner, which manages its own. A connection left inside a
    /// transaction is dropped, as after a failed commit.
    pub async fn on_sqlite_writer<R>(
        &self,
        work: impl FnOnce(&mut rusqlite::Connection) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let Db::Sqlite { writer, .. } = self else {
            return Err(StoreError::Engine("not a SQLite database".into()));
        };
        let mut guard = writer.conn.lock().await;
        if guard.is_none() {
            *guard = Some(blocking(|| writer.open())?);
        }
        let conn = Tx::sqlite_conn(&mut guard)?;
        let result = blocking(|| work(conn));
        if !conn.is_autocommit() {
            *guard = None;
        }
        result
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that its reads see what it will write over.
    pub async fn begin(&self) -> StoreResult<Tx<'_>> {
        match self {
            Db::Sqlite { writer, .. } => {
                let mut guard = writer.conn.lock().await;
                if guard.is_none() {
                    *guard = Some(blocking(|| writer.open())?);
                }
                let conn = Tx::sqlite_conn(&mut guard)?;
                if let Err(e) = blocking(|| conn.execute_batch("BEGIN IMMEDIATE")) {
                    if !conn.is_autocommit() {
                        *guard = None;
                    }
                    return Err(sqlite_error(e));
                }
                Ok(Tx::Sqlite { guard, done: false })
            }
            Db::Postgres(pool) => Ok(Tx::Postgres(Some(pool.begin().await?))),
        }
    }

    /// Every row of `sql`, each decoded by `decode`.
    pub async fn fetch_all<T: Send + 'static>(
        &self,
        sql: Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match self {
            Db::Sqlite { readers, .. } => {
                readers
                    .read(move |conn| sqlite_fetch_all(conn, &sql, decode))
                    .await
            }
            Db::Postgres(pool) => pg_fetch_all(pool, &sql, decode).await,
        }
    }

    /// The rows of two queries, each decoded by its own decoder. On SQLite both run
    /// in one trip to a reading thread, on one connection, one after the other; on
    /// PostgreSQL one after the other.
    pub async fn fetch_all_both<A: Send + 'static, B: Send + 'static>(
        &self,
        first: (Sql, Decoder<A>),
        second: (Sql, Decoder<B>),
    ) -> StoreResult<(Vec<A>, Vec<B>)> {
        match self {
            Db::Sqlite { readers, .. } => {
                readers
                    .read(move |conn| {
                        Ok((
                            sqlite_fetch_all(conn, &first.0, first.1)?,
                            sqlite_fetch_all(conn, &second.0, second.1)?,
                        ))
                    })
                    .await
            }
            Db::Postgres(pool) => Ok((
                pg_fetch_all(pool, &first.0, first.1).await?,
                pg_fetch_all(pool, &second.0, second.1).await?,
            )),
        }
    }

    /// Runs a PostgreSQL maintenance statement that refuses to run inside a
    /// transaction (`VACUUM`); SQLite has none of these.
    pub async fn execute_outside_transaction(&self, sql: Sql) -> StoreResult<()> {
        match self {
            Db::Postgres(pool) => {
                pg_query(&sql).execute(pool).await?;
                Ok(())
            }
            Db::Sqlite { .. } => Err(StoreError::Engine(
                "maintenance statements outside a transaction are PostgreSQL's".into(),
            )),
        }
    }

    /// Runs one statement in a transaction of its own; returns the rows it changed.
    pub async fn execute(&self, sql: Sql) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let changed = tx.execute(&sql).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Folds every row of `sql` into `init` as the rows are read, without holding
    /// them all first (a rescan's map of 100,000 known files).
    pub async fn fold<A: Send + 'static>(
        &self,
        sql: Sql,
        init: A,
        step: fn(&mut A, &mut dyn Row) -> StoreResult<()>,
    ) -> StoreResult<A> {
        match self {
            Db::Sqlite { readers, .. } => {
                readers
                    .read(move |conn| sqlite_fold(conn, &sql, init, step))
                    .await
            }
            Db::Postgres(pool) => {
                let mut acc = init;
                let mut rows = pg_query(&sql).fetch(pool);
                let mut check_names = true;
                while let Some(row) =
                    std::future::poll_fn(|cx| futures_core::Stream::poll_next(rows.as_mut(), cx))
                        .await
                {
                    let row = row?;
                    step(
                        &mut acc,
                        &mut PgRowReader {
                            row: &row,
                            next: 0,
                            check_names,
                        },
                    )?;
                    check_names = false;
                }
                Ok(acc)
            }
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional<T: Send + 'static>(
        &self,
        sql: Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.fetch_all(sql, decode).await?.into_iter().next())
    }

    /// Empties the page caches of SQLite's read connections once no read has begun
    /// since the previous call (a server idle for that long), so that their memory
    /// returns to the allocator; true when it did. A blocking call, for a periodic
    /// blocking task. PostgreSQL's connections hold no such cache here.
    pub fn release_idle_caches(&self) -> bool {
        let Db::Sqlite { readers, .. } = self else {
            return false;
        };
        let reads = readers.reads.load(Ordering::Relaxed);
        let previous = readers.reads_when_checked.swap(reads, Ordering::Relaxed);
        if reads != previous || readers.reads_when_released.load(Ordering::Relaxed) == reads {
            return false;
        }
        readers.reads_when_released.store(reads, Ordering::Relaxed);
        let Ok(idle) = readers.idle.lock() else {
            return false;
        };
        for conn in idle.iter() {
            // Frees every page no statement holds (sqlite3_db_release_memory).
            let _ = conn.execute_batch("PRAGMA shrink_memory;");
        }
        true
    }

    /// Drops idle connections (at exit, so SQLite can fold its log back).
    pub async fn close(&self) {
        match self {
            Db::Sqlite { readers, writer } => {
                if let Ok(mut idle) = readers.idle.lock() {
                    idle.clear();
                }
                *writer.conn.lock().await = None;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_in_order_and_render_for_sqlite() {
        let mut sql = Sql::default();
        let b = sql.arg(5);
        let (one, two) = (sql.arg(1), sql.arg(2));
        sql.push(&format!(
            "SELECT a FROM t WHERE b = {b} AND c IN ({one}, {two}) AND d = '$x'"
        ));
        assert_eq!(
            sql.text,
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '$x'"
        );
        assert_eq!(
            sql.sqlite_text(),
            "SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?3) AND d = '$x'"
        );
        let mut sql = Sql::default();
        sql.push("SELECT 'é$€' || $12, '$' WHERE x = $");
        assert_eq!(sql.sqlite_text(), "SELECT 'é$€' || ?12, '$' WHERE x = $");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn decodes_by_name_and_refuses_a_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER, name TEXT, score REAL); \
             INSERT INTO t VALUES (1, 'Ærø', 2.5), (2, NULL, NULL);",
        )
        .unwrap();
        let db = Db::sqlite(path);
        fn decode(r: &mut dyn Row) -> StoreResult<(i64, Option<String>, Option<f64>)> {
            Ok((r.int("id")?, r.opt_text("name")?, r.opt_real("score")?))
        }
        let mut sql = Sql::default();
        let min = sql.arg(1);
        sql.push(&format!(
            "SELECT id, name, score FROM t WHERE id >= {min} ORDER BY id"
        ));
        let rows = db.fetch_all(sql, decode).await.unwrap();
        assert_eq!(
            rows,
            vec![(1, Some("Ærø".to_string()), Some(2.5)), (2, None, None)]
        );
        let mut wrong = Sql::default();
        wrong.push("SELECT name AS id, id AS name, score FROM t");
        assert!(db.fetch_all(wrong, decode).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn idle_readers_give_their_caches_back_once_and_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER); INSERT INTO t VALUES (7);")
            .unwrap();
        let db = Db::sqlite(path);
        fn decode(r: &mut dyn Row) -> StoreResult<i64> {
            r.int("id")
        }
        let read = || {
            let mut sql = Sql::default();
            sql.push("SELECT id FROM t");
            db.fetch_all(sql, decode)
        };
        assert_eq!(read().await.unwrap(), vec![7]);
        // A read since the last check: busy, nothing released.
        assert!(!db.release_idle_caches());
        // Idle since: released, once.
        assert!(db.release_idle_caches());
        assert!(!db.release_idle_caches());
        assert_eq!(read().await.unwrap(), vec![7]);
        assert!(!db.release_idle_caches());
        assert!(db.release_idle_caches());
    }
}
