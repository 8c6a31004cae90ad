//! Filling the folded text columns of migration 5 for rows that existed before it,
//! once, from the stored text (no tag is read again).

use super::db::{Row, Sql, Value};
use super::{fold, Store, StoreResult};
use crate::values;

/// Rows updated per transaction.
const ROWS_PER_TRANSACTION: usize = 1000;

/// (table, its text columns, their folded columns); names are these constants only.
const FOLDED: &[(&str, &[&str], &[&str])] = &[
    (
        "songs",
        &["composer", "comment", "lyrics", "path"],
        &[
            "composer_folded",
            "comment_folded",
            "lyrics_folded",
            "path_folded",
        ],
    ),
    ("videos", &["path"], &["path_folded"]),
    ("playlists", &["name"], &["name_folded"]),
    ("smart_playlists", &["name"], &["name_folded"]),
    ("users", &["username"], &["username_folded"]),
    ("labels", &["category"], &["category_folded"]),
];

impl Store {
    /// Folds the text of every existing row into its folded column, if migration 5
    /// left that pending. Safe to run twice (two processes starting at once): the
    /// values written are the same.
    pub(super) async fn backfill_folded(&self) -> StoreResult<()> {
        fn decode_value(r: &mut dyn Row) -> StoreResult<String> {
            r.text("value")
        }
        let state = self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT value FROM meta WHERE key = 'folded_backfill'",
                    Vec::new(),
                ),
                decode_value,
            )
            .await?;
        if state.as_deref() != Some("pending") {
            return Ok(());
        }
        for (table, columns, folded) in FOLDED {
            let select = format!(
                "SELECT id, {} FROM {table}",
                columns
                    .iter()
                    .map(|c| format!("COALESCE({c}, '') AS {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            fn decode(r: &mut dyn Row) -> StoreResult<(i64, Vec<String>)> {
                let id = r.int("id")?;
                let mut texts = Vec::new();
                // The remaining columns, whatever their names: read in order.
                while let Some(text) = r.next_text()? {
                    texts.push(text);
                }
                Ok((id, texts))
            }
            let rows = self
                .db
                .fetch_all(Sql::bound(select, Vec::new()), decode)
                .await?;
            let set = folded
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ${}", i + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let update = format!("UPDATE {table} SET {set} WHERE id = ${}", folded.len() + 1);
            for chunk in rows.chunks(ROWS_PER_TRANSACTION) {
                let mut tx = self.db.begin().await?;
                for (id, texts) in chunk {
                    let mut args: Vec<Value> = texts.iter().map(|t| Value::from(fold(t))).collect();
                    args.push(Value::Int(*id));
                    tx.execute(&Sql::bound(update.clone(), args)).await?;
                }
                tx.commit().await?;
            }
        }
        let mut tx = self.db.begin().await?;
        tx.execute(&Sql::bound(
            "UPDATE meta SET value = $1 WHERE key = 'folded_backfill'",
            values!["done"],
        ))
        .await?;
        tx.commit().await
    }
}
