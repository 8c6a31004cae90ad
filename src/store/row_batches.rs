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

use super::db::{Db, Row, Sql};
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

/// Decodes rows and sends them on `batch` at a time.
struct Batcher<T> {
    sender: Sender<T>,
    decode: fn(&mut dyn Row) -> StoreResult<T>,
    pending: Vec<T>,
    batch: usize,
}

impl<T> Batcher<T> {
    fn push(&mut self, row: &mut dyn Row) -> StoreResult<()> {
        self.pending.push((self.decode)(row)?);
        if self.pending.len() >= self.batch {
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(self.batch));
            let _ = self.sender.send(Ok(Message::Batch(rows)));
        }
    }
}

impl Db {
    /// Reads `rows` in batches of `batch`, in a task of its own, as [`Db::fold`]
    /// reads them: on SQLite on one read connection, on PostgreSQL on one pooled
    /// connection.
    pub fn stream_batches<T: Send + 'static>(
        &self,
        rows: Sql,
        decode: fn(&mut dyn Row) -> StoreResult<T>,
        batch: usize,
    ) -> RowBatches<T> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let db = self.clone();
        tokio::spawn(async move {
            let batch = batch.max(1);
            let batcher = Batcher {
                sender: sender.clone(),
                decode,
                pending: Vec::with_capacity(batch),
                batch,
            };
            let read = db.fold(rows, batcher, Batcher::push).await;
            let result = read.map(|mut batcher| batcher.flush());
            finish(&sender, result);
        });
        RowBatches {
            receiver,
            ended: false,
        }
    }
}
