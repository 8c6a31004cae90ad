//! Catalog upkeep through the API: catalog_action, catalog_file and update_from_tags
//! queue passes of the scanner (see `scanner::upkeep`); catalogs and catalog list the
//! catalogs, with the running pass's progress for catalog managers.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, PathBuf};
use std::time::Duration;

use crate::api::error::ApiError;
use crate::api::reply::{CatalogProgress, CatalogView, Document, Reply};
use crate::api::Request;
use crate::params::Params;
use crate::scanner::upkeep::{FileMode, Task};
use crate::store::catalog_tasks::TaskState;
use crate::store::catalogs::Catalog;
use crate::store::now;
use crate::store::sessions::Session;
use crate::store::users::access;

/// How long `catalog_file` waits for its file before answering anyway (the pass
/// goes on); one file takes milliseconds unless a long pass runs before it.
const FILE_WAIT: Duration = Duration::from_secs(10);
/// How long `update_from_tags` waits for the object's files to be read again.
const TAGS_WAIT: Duration = Duration::from_secs(120);

fn success(message: String) -> Result<Reply, ApiError> {
    Ok(Reply::Document(Document::Success(message)))
}

async fn catalog_by_id(request: &Request<'_>, id: i64) -> Result<Catalog, ApiError> {
    request
        .state
        .store
        .catalog(id)
        .await?
        .ok_or_else(ApiError::requested_item_not_found)
}

pub async fn catalog_action(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let name = params.require("task")?;
    let task = match name {
        "add_to_catalog" => Task::Add,
        "clean_catalog" => Task::Clean,
        "verify_catalog" => Task::Verify,
        "gather_art" => Task::GatherArt,
        other => return Err(ApiError::bad_catalog_task(other)),
    };
    let id = params.object_id(&["catalog"])?;
    let catalog = catalog_by_id(request, id).await?;
    // Answered at once; the pass runs in the background (or joins the same one,
    // running or queued), and its progress shows in `catalogs`.
    request.state.upkeep.submit(catalog.id, task);
    success(format!("successfully started: {name}"))
}

pub async fn catalog_file(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let file = params.require("file")?;
    let name = params.require("task")?;
    let mode = match name {
        "add" => FileMode::Sync,
        "verify" => FileMode::Reread,
        "clean" => FileMode::Clean,
        "remove" => FileMode::Remove,
        other => return Err(ApiError::bad_catalog_task(other)),
    };
    let id = params.object_id(&["catalog"])?;
    let catalog = catalog_by_id(request, id).await?;
    // The path is only ever compared with the catalog's folder and the stored
    // paths: a file outside the catalog is refused, whatever it names.
    let path = PathBuf::from(file);
    let inside = path.is_absolute()
        && !path.components().any(|c| matches!(c, Component::ParentDir))
        && path.starts_with(&catalog.path)
        && path != std::path::Path::new(&catalog.path);
    if !inside || !crate::scanner::is_media_file(&path, catalog.kind) {
        return Err(ApiError::bad_parameter(
            "file",
            &format!("not a media file of catalog {}", catalog.id),
        ));
    }
    if matches!(mode, FileMode::Sync | FileMode::Reread) && !path.is_file() {
        return Err(ApiError::requested_item_not_found());
    }
    let task = Task::Files {
        paths: BTreeSet::from([path]),
        mode,
    };
    // An answer after FILE_WAIT even if the pass is still queued behind another.
    let waited = tokio::time::timeout(FILE_WAIT, request.state.upkeep.run(catalog.id, task)).await;
    if let Ok(Err(error)) = waited {
        tracing::error!("catalog_file {name} {file}: {error}");
        return Err(ApiError::internal());
    }
    success(format!("successfully started: {name} for {file}"))
}

pub async fn update_from_tags(request: &Request<'_>, params: &Params) -> Result<Reply, ApiError> {
    let kind = params.require("type")?;
    if !matches!(kind, "artist" | "album" | "song") {
        return Err(ApiError::wrong_object_type(kind));
    }
    let id = params.object_id(&["id", "filter"])?;
    let files = request.state.store.object_files(kind, id).await?;
    if files.is_empty() {
        return Err(ApiError::requested_item_not_found());
    }
    let mut by_catalog: HashMap<i64, BTreeSet<PathBuf>> = HashMap::new();
    for (catalog_id, path) in files {
        by_catalog
            .entry(catalog_id)
            .or_default()
            .insert(PathBuf::from(path));
    }
    for (catalog_id, paths) in by_catalog {
        let task = Task::Files {
            paths,
            mode: FileMode::Reread,
        };
        match tokio::time::timeout(TAGS_WAIT, request.state.upkeep.run(catalog_id, task)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::error!("update_from_tags {kind} {id}: {error}");
                return Err(ApiError::internal());
            }
            Err(_) => tracing::warn!("update_from_tags {kind} {id}: still running"),
        }
    }
    success(format!("Updated tags for: {id} ({kind})"))
}

fn view(catalog: Catalog, state: Option<&TaskState>, manager: bool) -> CatalogView {
    let progress = manager.then(|| {
        let state = state.cloned().unwrap_or_default();
        let seconds = (now() - state.started).max(1) as f64;
        let running = state.running.is_some();
        CatalogProgress {
            rate: if running {
                state.files_done as f64 / seconds
            } else {
                0.0
            },
            done: if running { state.files_done } else { 0 },
            to_do: if running {
                (state.files_total - state.files_done).max(0)
            } else {
                0
            },
            task: state.running,
            last_task: state.last_task,
            last_result: state.last_result,
            last_finished: state.last_finished,
        }
    });
    CatalogView {
        id: catalog.id,
        name: catalog.name,
        gather_types: catalog.kind.as_str(),
        enabled: catalog.enabled,
        last_add: catalog.last_add,
        last_update: catalog.last_update,
        last_clean: catalog.last_clean,
        path: catalog.path,
        progress,
    }
}

pub async fn catalogs(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let paging = params.paging()?;
    let store = &request.state.store;
    let filter = params.get("filter").map(str::to_ascii_lowercase);
    let tasks = store.catalog_tasks().await?;
    let manager = session.user.access >= access::CATALOG_MANAGER;
    let views: Vec<CatalogView> = store
        .catalogs()
        .await?
        .into_iter()
        .filter(|c| filter.as_deref().is_none_or(|f| f == c.kind.as_str()))
        .skip(paging.offset as usize)
        .take(paging.limit.unwrap_or(i64::MAX) as usize)
        .map(|c| {
            let state = tasks.iter().find(|t| t.catalog_id == c.id);
            view(c, state, manager)
        })
        .collect();
    Ok(Reply::Document(Document::Catalogs(views)))
}

pub async fn catalog(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let id = params.object_id(&["filter", "id"])?;
    let store = &request.state.store;
    let catalog = store.catalog(id).await?.ok_or_else(ApiError::not_found)?;
    let state = store.catalog_task(id).await?;
    let manager = session.user.access >= access::CATALOG_MANAGER;
    Ok(Reply::Document(Document::Catalogs(vec![view(
        catalog,
        state.as_ref(),
        manager,
    )])))
}
