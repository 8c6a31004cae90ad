//! Catalogs: the music and video folders tonearm serves.

use std::path::Path;

use super::db::{Row, Sql};
use super::{now, Store, StoreError, StoreResult};
use crate::values;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    Music,
    Video,
}

impl CatalogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Music => "music",
            CatalogKind::Video => "video",
        }
    }

    pub fn parse(text: &str) -> Option<CatalogKind> {
        match text {
            "music" => Some(CatalogKind::Music),
            "video" => Some(CatalogKind::Video),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub kind: CatalogKind,
    pub enabled: bool,
    pub last_add: i64,
    pub last_update: i64,
    pub last_clean: i64,
    /// Set while a scan has written changes whose counts are not yet recomputed.
    pub dirty: bool,
}

const CATALOG_COLUMNS: &str =
    "id, name, path, kind, enabled, last_add, last_update, last_clean, dirty";

fn decode_catalog(r: &mut dyn Row) -> StoreResult<Catalog> {
    Ok(Catalog {
        id: r.int("id")?,
        name: r.text("name")?,
        path: r.text("path")?,
        kind: CatalogKind::parse(&r.text("kind")?).unwrap_or(CatalogKind::Music),
        enabled: r.int("enabled")? != 0,
        last_add: r.int("last_add")?,
        last_update: r.int("last_update")?,
        last_clean: r.int("last_clean")?,
        dirty: r.int("dirty")? != 0,
    })
}

/// The latest add, update and clean times over all catalogs (for the handshake).
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogStamps {
    pub last_add: i64,
    pub last_update: i64,
    pub last_clean: i64,
}

impl Store {
    /// Adds the folder as a catalog, or returns the catalog it already is. The path is
    /// made absolute and canonical, so the same folder given twice is one catalog.
    pub async fn ensure_catalog(
        &self,
        dir: &Path,
        kind: CatalogKind,
        name: Option<&str>,
    ) -> StoreResult<Catalog> {
        let canonical = std::fs::canonicalize(dir).map_err(|e| {
            StoreError::Invalid(format!("cannot use {} as a catalog: {e}", dir.display()))
        })?;
        if !canonical.is_dir() {
            return Err(StoreError::Invalid(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        let path = canonical.to_string_lossy().into_owned();
        if let Some(existing) = self.catalog_by_path(&path).await? {
            return Ok(existing);
        }
        let name = name.map(str::to_string).unwrap_or_else(|| {
            canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.clone())
        });
        self.db
            .execute(Sql::bound(
                "INSERT INTO catalogs (name, path, kind, created) VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO NOTHING",
                values![&name, &path, kind.as_str(), now()],
            ))
            .await?;
        self.catalog_by_path(&path)
            .await?
            .ok_or_else(|| StoreError::Conflict("catalog vanished after creation".into()))
    }

    async fn catalog_by_path(&self, path: &str) -> StoreResult<Option<Catalog>> {
        let sql = format!("SELECT {CATALOG_COLUMNS} FROM catalogs WHERE path = $1");
        self.db
            .fetch_optional(Sql::bound(sql, values![path]), decode_catalog)
            .await
    }

    pub async fn catalogs(&self) -> StoreResult<Vec<Catalog>> {
        let sql = format!("SELECT {CATALOG_COLUMNS} FROM catalogs ORDER BY id");
        self.db
            .fetch_all(Sql::bound(sql, values![]), decode_catalog)
            .await
    }

    pub async fn catalog_stamps(&self) -> StoreResult<CatalogStamps> {
        fn decode(r: &mut dyn Row) -> StoreResult<CatalogStamps> {
            Ok(CatalogStamps {
                last_add: r.int("last_add")?,
                last_update: r.int("last_update")?,
                last_clean: r.int("last_clean")?,
            })
        }
        // An aggregate without GROUP BY always gives one row.
        self.db
            .fetch_optional(
                Sql::bound(
                    "SELECT COALESCE(MAX(last_add), 0) AS last_add, COALESCE(MAX(last_update), 0) AS last_update, \
                     COALESCE(MAX(last_clean), 0) AS last_clean FROM catalogs",
                    values![],
                ),
                decode,
            )
            .await?
            .ok_or_else(|| StoreError::Engine("a query returned no row".into()))
    }

    /// Records what a finished scan did to the catalog and clears its dirty mark.
    pub async fn finish_catalog_scan(
        &self,
        catalog_id: i64,
        added: bool,
        updated: bool,
        cleaned: bool,
    ) -> StoreResult<()> {
        let now = now();
        self.db
            .execute(Sql::bound(
                "UPDATE catalogs SET dirty = 0, \
                 last_add = CASE WHEN $1 = 1 THEN $4 ELSE last_add END, \
                 last_update = CASE WHEN $2 = 1 THEN $4 ELSE last_update END, \
                 last_clean = CASE WHEN $3 = 1 THEN $4 ELSE last_clean END \
                 WHERE id = $5",
                values![added, updated, cleaned, now, catalog_id],
            ))
            .await?;
        Ok(())
    }
}
