//! Smart playlists: saved song searches, listed wherever playlists are.

use super::browse::PlaylistRow;
use super::db::{decode_id, Row, Sql};
use super::search::{field_kind, FieldKind, Operator, Rule, Search, SearchType};
use super::{now, Store, StoreError, StoreResult};
use crate::values;
use serde::{Deserialize, Serialize};

/// How a rule is stored (JSON in `smart_playlists.rules`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRule {
    field: String,
    operator: StoredOperator,
    input: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subtype: Option<String>,
}

/// An operator by name; rows written before operators had names hold the number
/// the client sent (Ampache's numbering), read through [`legacy_operator`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredOperator {
    Named(Operator),
    Number(i64),
}

/// The operator an old row's number meant: Ampache's numbering (the API front's
/// `search_operators` is the one that reads requests), kept here only to read rows
/// written before 2026-11-30; nothing writes numbers any more.
fn legacy_operator(field: &str, number: i64) -> Option<Operator> {
    use Operator::*;
    const TEXT: [Operator; 10] = [
        Contains,
        NotContains,
        StartsWith,
        EndsWith,
        Is,
        IsNot,
        SoundsLike,
        NotSoundsLike,
        Matches,
        NotMatches,
    ];
    const NUMERIC: [Operator; 6] = [AtLeast, AtMost, Equals, NotEquals, GreaterThan, LessThan];
    let n = usize::try_from(number).ok()?;
    match field_kind(SearchType::Song, field)? {
        FieldKind::Text => TEXT.get(n).copied(),
        FieldKind::Numeric => NUMERIC.get(n).copied(),
        FieldKind::Boolean | FieldKind::Ids | FieldKind::Subsearch => [Is, IsNot].get(n).copied(),
        FieldKind::Date | FieldKind::Days => [Before, After].get(n).copied(),
        FieldKind::UserNumeric if n == 0 => Some(LovedBy),
        FieldKind::UserNumeric => (1..=5).contains(&n).then(|| RatedBy(6 - n as u8)),
        FieldKind::Recent => Some(Is),
        FieldKind::Metadata => TEXT
            .get(n)
            .or_else(|| NUMERIC.get(n.checked_sub(10)?))
            .copied(),
    }
}

#[derive(Debug, Clone)]
pub struct SmartList {
    pub row: PlaylistRow,
    pub owner_id: i64,
    pub search: Search,
    /// 0: no limit.
    pub limit: i64,
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
                operator: StoredOperator::Named(r.operator),
                input: r.input.clone(),
                subtype: r.subtype.clone(),
            })
            .collect();
        let json =
            serde_json::to_string(&stored).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now();
        let mut tx = self.db.begin().await?;
        let id = tx
            .fetch_one(
                &Sql::bound(
                    "INSERT INTO smart_playlists (name, user_id, public, rules, match_operator, random, item_limit, created, updated, name_folded) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id",
                    values![
                        name,
                        user_id,
                        public,
                        json,
                        if any { "or" } else { "and" },
                        random,
                        limit.max(0),
                        now,
                        super::fold(name)
                    ],
                ),
                decode_id,
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn smartlist(&self, id: i64) -> StoreResult<Option<SmartList>> {
        /// A row as stored, before its rules are read.
        struct Stored {
            name: String,
            username: String,
            public: bool,
            rules: String,
            match_operator: String,
            random: bool,
            item_limit: i64,
            user_id: i64,
        }
        fn decode(r: &mut dyn Row) -> StoreResult<Stored> {
            r.int("id")?;
            Ok(Stored {
                name: r.text("name")?,
                username: r.text("username")?,
                public: r.int("public")? != 0,
                rules: r.text("rules")?,
                match_operator: r.text("match_operator")?,
                random: r.int("random")? != 0,
                item_limit: r.int("item_limit")?,
                user_id: r.int("user_id")?,
            })
        }
        let row = self
            .db
            .fetch_optional(
                Sql::bound(
                    "SELECT p.id, p.name, u.username, p.public, p.rules, p.match_operator, p.random, p.item_limit, p.user_id \
                     FROM smart_playlists p JOIN users u ON u.id = p.user_id WHERE p.id = $1",
                    values![id],
                ),
                decode,
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        // Rules that cannot be read are an error, never "no rules" (which would
        // match every song).
        let stored: Vec<StoredRule> = serde_json::from_str(&row.rules).map_err(|e| {
            tracing::error!("smart playlist {id}: unreadable rules: {e}");
            StoreError::Unreadable(format!("smart playlist {id} has rules that cannot be read"))
        })?;
        let public = row.public;
        let limit = row.item_limit;
        Ok(Some(SmartList {
            row: PlaylistRow {
                id,
                smart: true,
                name: row.name,
                owner: if public {
                    "public".into()
                } else {
                    row.username
                },
                items: if limit > 0 { limit } else { 5000 },
                public,
            },
            owner_id: row.user_id,
            search: Search {
                kind: SearchType::Song,
                rules: stored
                    .into_iter()
                    .map(|r| {
                        let operator = match r.operator {
                            StoredOperator::Named(operator) => Some(operator),
                            StoredOperator::Number(n) => legacy_operator(&r.field, n),
                        };
                        Ok(Rule {
                            operator: operator.ok_or_else(|| {
                                StoreError::Unreadable(format!(
                                    "smart playlist {id} has a rule on {} that cannot be read",
                                    r.field
                                ))
                            })?,
                            field: r.field,
                            input: r.input,
                            subtype: r.subtype,
                        })
                    })
                    .collect::<StoreResult<Vec<Rule>>>()?,
                any: row.match_operator == "or",
                random: row.random,
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
        let ids = self
            .db
            .fetch_all(
                Sql::bound("SELECT id FROM smart_playlists ORDER BY id", values![]),
                decode_id,
            )
            .await?;
        let mut lists = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(list) = self.smartlist(id).await? {
                lists.push(list);
            }
        }
        Ok(lists)
    }

    pub async fn delete_smartlist(&self, id: i64) -> StoreResult<bool> {
        Ok(self
            .db
            .execute(Sql::bound(
                "DELETE FROM smart_playlists WHERE id = $1",
                values![id],
            ))
            .await?
            > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows written with Ampache's numbers read as the same operators; new rows
    /// hold names.
    #[test]
    fn old_rows_with_numbers_still_read() {
        let old: Vec<StoredRule> = serde_json::from_str(
            r#"[{"field":"title","operator":0,"input":"a"},{"field":"year","operator":2,"input":"1"},{"field":"other_user","operator":1,"input":"2"}]"#,
        )
        .unwrap();
        let read: Vec<Option<Operator>> = old
            .iter()
            .map(|r| match r.operator {
                StoredOperator::Number(n) => legacy_operator(&r.field, n),
                StoredOperator::Named(op) => Some(op),
            })
            .collect();
        assert_eq!(
            read,
            [
                Some(Operator::Contains),
                Some(Operator::Equals),
                Some(Operator::RatedBy(5))
            ]
        );
        let new = serde_json::to_string(&StoredRule {
            field: "title".into(),
            operator: StoredOperator::Named(Operator::RatedBy(3)),
            input: "x".into(),
            subtype: None,
        })
        .unwrap();
        assert_eq!(
            new,
            r#"{"field":"title","operator":{"rated_by":3},"input":"x"}"#
        );
        let back: StoredRule = serde_json::from_str(&new).unwrap();
        assert!(matches!(
            back.operator,
            StoredOperator::Named(Operator::RatedBy(3))
        ));
    }
}
