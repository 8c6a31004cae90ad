//! Shouts and activity, as timelines show them.

use super::Named;

#[derive(Debug, Clone)]
pub struct ShoutRow {
    pub id: i64,
    pub date: i64,
    pub text: String,
    pub user: Named,
}

#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub id: i64,
    pub date: i64,
    pub object_type: String,
    pub object_id: i64,
    pub action: String,
    pub user: Named,
}
