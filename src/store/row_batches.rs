//! A query's rows handed on in batches as they are read: the encoder writes a batch
//! while the engine reads the next, where reading every row before writing any made a
//! page wait for the sum of the two. An artist page of 2,000 spent 2.9 ms in SQLite
//! and 2.1 ms in its text, one after the other.
//!
//! The rows are read as fast as the engine gives them, whatever the client's pace:
//! the connection goes back to the pool as soon as the last row is read, as before,
//! and a page never holds more than it did when it was read whole (its size is
//! bounded by its `limit`).

use tokio::sync::mpsc;

use super::db::{self, Db, Row, Sql};
use super::{StoreError, StoreResult};

enum Message<T> {
    Batch(Vec<T>),
    End,
}

type Sender<T> = mpsc::UnboundedSender<StoreResult<Message<T>>>;

/// The rows of a query in batches.
pub struct RowBatches<T> {
    receiver: mpsc::UnboundedReceiver<StoreResult<Message<T>>>,
    ended: bool,
}

impl<T> RowBatches<T> {
    /// The next batch; `None` after the last. A read that stopped before its end
    /// (the reading task gone) is an error, never a short list.
    pub async fn next_batch(&mut self) -> Option<StoreResult<Vec<T>>> {
        if self.ended {
            return None;
        }
        let message = self.receiver.recv().await;
        match message {
            Some(Ok(Message::Batch(rows))) => Some(Ok(rows)),
            Some(Ok(Message::End)) => {
                self.ended = true;
                None
            }
            Some(Err(error)) => {
                self.ended = true;
                Some(Err(error))
            }
            None => {
                self.ended = true;
                Some(Err(StoreError::Engine(
                    "a database read ended before its last row".into(),
                )))
            }
        }
    }
}

/// Sends the end of a read, or its error. A client gone drops the receiver; the
/// reading goes on to the end of the page (bounded), and what is sent is dropped.
fn finish<T>(sender: &Sender<T>, result: StoreResult<()>) {
    let _ = sender.send(result.map(|()| Message::End));
}

/// Collects rows and sends them on `batch` at a time.
struct Batcher<T> {
    sender: Sender<T>,
    pending: Vec<T>,
    batch: usize,
}

impl<T> Batcher<T> {
    fn new(sender: Sender<T>, batch: usize) -> Batcher<T> {
        let batch = batch.max(1);
        Batcher {
            sender,
            pending: Vec::with_capacity(batch),
            batch,
        }
    }

    fn push(&mut self, row: T) {
        self.pending.push(row);
        if self.pending.len() >= self.batch {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(self.batch));
            let _ = self.sender.send(Ok(Message::Batch(rows)));
        }
    }

    /// Sends what is left and the end of the read, or its error.
    fn end(mut self, result: StoreResult<()>) {
        if result.is_ok() {
            self.flush();
        }
        finish(&self.sender, result);
    }
}

impl Db {
    /// Reads `rows` in batches of `batch`, in a task of its own: on SQLite on one
    /// read connection, on PostgreSQL on one pooled connection.
    pub fn stream_batches<T: Send + 'static>(
        &self,
        rows: Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
        batch: usize,
    ) -> RowBatches<T> {
        let (sender, receiver) = mpsc::unbounded_channel();
        match self {
            Db::Sqlite { readers, .. } => {
                let readers = readers.clone();
                tokio::spawn(async move {
                    let job_sender = sender.clone();
                    let read = readers
                        .read(move |conn| {
                            let mut batcher = Batcher::new(job_sender, batch);
                            let result = db::sqlite_fold(conn, &rows, (), |_, row| {
                                batcher.push(decode(row)?);
                                Ok(())
                            });
                            batcher.end(result);
                            Ok(())
                        })
                        .await;
                    // The read never ran (no connection to the file).
                    if let Err(error) = read {
                        finish(&sender, Err(error));
                    }
                });
            }
            Db::Postgres(pool) => {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let mut batcher = Batcher::new(sender, batch);
                    let result = async {
                        use futures_util::TryStreamExt;
                        let mut stream = db::pg_query(&rows).fetch(&pool);
                        while let Some(row) = stream.try_next().await? {
                            batcher.push(decode(&mut db::PgRowReader { row: &row, next: 0 })?);
                        }
                        Ok(())
                    }
                    .await;
                    batcher.end(result);
                });
            }
        }
        RowBatches {
            receiver,
            ended: false,
        }
    }
}
