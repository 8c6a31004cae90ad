//! Smart playlists: saved song searches, listed as `smart_N` wherever playlists are.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::browse::PlaylistRow;
use super::search::{Rule, Search, SearchType};
use super::{now, Store, StoreError, StoreResult};

/// How a rule is stored (JSON in `smart_playlists.rules`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRule {
    field: String,
    operator: i64,
    input: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subtype: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SmartList {
    pub row: PlaylistRow,
    pub owner_id: i64,
    pub search: Search,
    /// 0: no limit.
    pub limit: i64,
}

/// The id part of `smart_N`.
pub fn smart_id(text: &str) -> Option<i64> {
    text.trim()
        .strip_prefix("smart_")?
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn create_smartlist(
        &self,
        user_id: i64,
        name: &str,
        public: bool,
        rules: &[Rule],
        any: bool,
        random: bool,
        limit: i64,
    ) -> StoreResult<i64> {
        if rules.is_empty() {
            return Err(StoreError::Invalid(
                "a smart playlist needs at least one rule".into(),
            ));
        }
        // Refuse rules the search cannot run now rather than on every later use.
        let search = Search {
            kind: SearchType::Song,
            rules: rules.to_vec(),
            any,
            random,
        };
        if let Err((index, error)) = self.search_ids(user_id, false, &search, 0, 1).await? {
            return Err(StoreError::Invalid(format!(
                "rule {} is not valid: {error:?}",
                index + 1
            )));
        }
        let stored: Vec<StoredRule> = rules
            .iter()
            .map(|r| StoredRule {
                field: r.field.clone(),
                operator: r.operator,
                input: r.input.clone(),
                subtype: r.subtype.clone(),
            })
            .collect();
        let json =
            serde_json::to_string(&stored).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now();
        let row = sqlx::query(
            "INSERT INTO smart_playlists (name, user_id, public, rules, match_operator, random, item_limit, created, updated, name_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
        )
        .bind(name)
        .bind(user_id)
        .bind(public as i64)
        .bind(json)
        .bind(if any { "or" } else { "and" })
        .bind(random as i64)
        .bind(limit.max(0))
        .bind(now)
        .bind(super::fold(name))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get(0))
    }

    pub async fn smartlist(&self, id: i64) -> StoreResult<Option<SmartList>> {
        let row = sqlx::query(
            "SELECT p.id, p.name, u.username, p.public, p.rules, p.match_operator, p.random, p.item_limit, p.user_id \
             FROM smart_playlists p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        // Rules that cannot be read are an error, never "no rules" (which would
        // match every song).
        let stored: Vec<StoredRule> =
            serde_json::from_str(&row.get::<String, _>(4)).map_err(|e| {
                tracing::error!("smart playlist {id}: unreadable rules: {e}");
                StoreError::Invalid(format!(
                    "smart playlist smart_{id} has rules that cannot be read"
                ))
            })?;
        let public = row.get::<i64, _>(3) != 0;
        let limit: i64 = row.get(7);
        Ok(Some(SmartList {
            row: PlaylistRow {
                id: format!("smart_{id}"),
                name: row.get(1),
                owner: if public { "public".into() } else { row.get(2) },
                items: if limit > 0 { limit } else { 5000 },
                public,
            },
            owner_id: row.get(8),
            search: Search {
                kind: SearchType::Song,
                rules: stored
                    .into_iter()
                    .map(|r| Rule {
                        field: r.field,
                        operator: r.operator,
                        input: r.input,
                        subtype: r.subtype,
                    })
                    .collect(),
                any: row.get::<String, _>(5) == "or",
                random: row.get::<i64, _>(6) != 0,
            },
            limit,
        }))
    }

    /// The songs of a smart playlist for `user_id` (rules such as "my rating" are theirs).
    pub async fn smartlist_song_ids(
        &self,
        list: &SmartList,
        user_id: i64,
        offset: i64,
        limit: Option<i64>,
    ) -> StoreResult<Vec<i64>> {
        // The list's own limit caps the whole result; paging applies within it.
        let cap = if list.limit > 0 { list.limit } else { i64::MAX };
        if offset >= cap {
            return Ok(Vec::new());
        }
        let count = limit.unwrap_or(i64::MAX).min(cap - offset);
        match self
            .search_ids(user_id, false, &list.search, offset, count)
            .await?
        {
            Ok(ids) => Ok(ids),
            // Checked when the list was saved; a rule that no longer compiles (a
            // metadata field gone, say) is reported, not read as "no songs".
            Err((index, error)) => Err(StoreError::Invalid(format!(
                "smart playlist {}: rule {} cannot be run ({error:?})",
                list.row.id,
                index + 1
            ))),
        }
    }

    pub async fn smartlists(&self) -> StoreResult<Vec<SmartList>> {
        let ids: Vec<i64> = sqlx::query("SELECT id FROM smart_playlists ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut lists = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(list) = self.smartlist(id).await? {
                lists.push(list);
            }
        }
        Ok(lists)
    }

    pub async fn delete_smartlist(&self, id: i64) -> StoreResult<bool> {
        Ok(sqlx::query("DELETE FROM smart_playlists WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }
}
