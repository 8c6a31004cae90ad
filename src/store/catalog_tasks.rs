//! Catalog tasks: the lease that lets one process at a time run a pass on a catalog
//! (several tonearm processes may share one database), the running pass's progress,
//! and the outcome of the last pass, which the `catalogs` API shows.

use super::db::{Row, Sql};
use super::{now, Store, StoreResult};
use crate::values;

/// A lease whose heartbeat is older than this (seconds) belongs to a process that
/// died; another may take it over. Runners beat every second.
pub const LEASE_STALE: i64 = 30;

/// This process as a lease owner: `host:pid:random`, so that a process can tell a
/// lease left by a dead process of its own machine and take it at once.
pub fn owner_name() -> String {
    format!(
        "{}:{}:{}",
        host_name(),
        std::process::id(),
        &super::users::random_token()[..8]
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether `owner` names a process of this machine that has ended.
pub fn owner_is_dead(owner: &str) -> bool {
    let mut parts = owner.splitn(3, ':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    !host.is_empty()
        && host == host_name()
        && pid.parse::<u32>().is_ok_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// What the table says about one catalog.
#[derive(Debug, Clone, Default)]
pub struct TaskState {
    pub catalog_id: i64,
    /// The task a live process runs now, if any.
    pub running: Option<String>,
    /// The process holding the lease, live or not.
    pub owner: Option<String>,
    pub started: i64,
    pub files_done: i64,
    pub files_total: i64,
    pub last_task: String,
    pub last_result: String,
    pub last_finished: i64,
    pub last_rescan: i64,
}

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Claimed,
    /// A live process holds the lease, running this task.
    Busy {
        task: String,
        owner: String,
    },
    /// A periodic rescan that another process did recently enough.
    Fresh,
}

fn decode_state(r: &mut dyn Row) -> StoreResult<TaskState> {
    let catalog_id = r.int("catalog_id")?;
    let owner = r.opt_text("owner")?;
    let task = r.text("task")?;
    let heartbeat = r.int("heartbeat")?;
    let live = owner.is_some() && heartbeat >= now() - LEASE_STALE;
    Ok(TaskState {
        catalog_id,
        running: live.then_some(task),
        owner,
        started: r.int("started")?,
        files_done: r.int("files_done")?,
        files_total: r.int("files_total")?,
        last_task: r.text("last_task")?,
        last_result: r.text("last_result")?,
        last_finished: r.int("last_finished")?,
        last_rescan: r.int("last_rescan")?,
    })
}

const STATE_COLUMNS: &str =
    "catalog_id, owner, task, heartbeat, started, files_done, files_total, \
     last_task, last_result, last_finished, last_rescan";

impl Store {
    /// Takes the lease on `catalog_id` for `owner` to run `task`. With
    /// `rescan_older_than`, only when the catalog's last periodic rescan is older
    /// than that time (so processes sharing the database do not all rescan).
    pub async fn claim_catalog(
        &self,
        catalog_id: i64,
        owner: &str,
        task: &str,
        rescan_older_than: Option<i64>,
    ) -> StoreResult<Claim> {
        self.db
            .execute(Sql::bound(
                "INSERT INTO catalog_tasks (catalog_id) VALUES ($1) ON CONFLICT (catalog_id) DO NOTHING",
                values![catalog_id],
            ))
            .await?;
        let now = now();
        // One conditional UPDATE: PostgreSQL re-checks the condition on the locked
        // row, SQLite runs writers one at a time, so two processes never both win.
        let claimed = self
            .db
            .execute(Sql::bound(
                "UPDATE catalog_tasks SET owner = $2, task = $3, heartbeat = $4, started = $4, \
                 files_done = 0, files_total = 0 \
                 WHERE catalog_id = $1 AND (owner IS NULL OR owner = $2 OR heartbeat < $5) AND last_rescan <= $6",
                values![
                    catalog_id,
                    owner,
                    task,
                    now,
                    now - LEASE_STALE,
                    rescan_older_than.unwrap_or(i64::MAX)
                ],
            ))
            .await?;
        if claimed > 0 {
            return Ok(Claim::Claimed);
        }
        let state = self.catalog_task(catalog_id).await?.unwrap_or_default();
        Ok(match (state.running, state.owner) {
            (Some(task), Some(owner)) => Claim::Busy { task, owner },
            _ => Claim::Fresh,
        })
    }

    /// Takes the lease from `dead_owner`, a process known to have ended (on this
    /// machine), without waiting for its heartbeat to go stale.
    pub async fn take_over_catalog(
        &self,
        catalog_id: i64,
        dead_owner: &str,
        owner: &str,
        task: &str,
    ) -> StoreResult<bool> {
        let now = now();
        Ok(self
            .db
            .execute(Sql::bound(
                "UPDATE catalog_tasks SET owner = $3, task = $4, heartbeat = $5, started = $5,                  files_done = 0, files_total = 0 WHERE catalog_id = $1 AND owner = $2",
                values![catalog_id, dead_owner, owner, task, now],
            ))
            .await?
            > 0)
    }

    /// Records the running pass's progress and keeps the lease alive.
    pub async fn catalog_heartbeat(
        &self,
        catalog_id: i64,
        owner: &str,
        files_done: i64,
        files_total: i64,
    ) -> StoreResult<()> {
        self.db
            .execute(Sql::bound(
                "UPDATE catalog_tasks SET heartbeat = $3, files_done = $4, files_total = $5 \
                 WHERE catalog_id = $1 AND owner = $2",
                values![catalog_id, owner, now(), files_done, files_total],
            ))
            .await?;
        Ok(())
    }

    /// Gives the lease back with the pass's outcome; `rescan` marks a whole-catalog
    /// pass, which the periodic rescans of every process count from.
    pub async fn release_catalog(
        &self,
        catalog_id: i64,
        owner: &str,
        result: &str,
        rescan: bool,
    ) -> StoreResult<()> {
        let now = now();
        self.db
            .execute(Sql::bound(
                "UPDATE catalog_tasks SET owner = NULL, heartbeat = $3, last_task = task, last_result = $4, \
                 last_finished = $3, last_rescan = CASE WHEN $5 = 1 THEN $3 ELSE last_rescan END \
                 WHERE catalog_id = $1 AND owner = $2",
                values![catalog_id, owner, now, result, rescan],
            ))
            .await?;
        Ok(())
    }

    pub async fn catalog_task(&self, catalog_id: i64) -> StoreResult<Option<TaskState>> {
        self.db
            .fetch_optional(
                Sql::bound(
                    format!("SELECT {STATE_COLUMNS} FROM catalog_tasks WHERE catalog_id = $1"),
                    values![catalog_id],
                ),
                decode_state,
            )
            .await
    }

    pub async fn catalog_tasks(&self) -> StoreResult<Vec<TaskState>> {
        self.db
            .fetch_all(
                Sql::bound(
                    format!("SELECT {STATE_COLUMNS} FROM catalog_tasks ORDER BY catalog_id"),
                    values![],
                ),
                decode_state,
            )
            .await
    }
}
