//! `videos` and `video` (spec 5.10), and the video objects every answer that lists
//! videos shares (`get_indexes type=video`, `advanced_search type=video`).

use crate::api::error::ApiError;
use crate::api::reply::{Document, Reply, Video};
use crate::api::Request;
use crate::media::urls;
use crate::params::Params;
use crate::store::browse::{ListFilter, Page};
use crate::store::sessions::Session;
use crate::store::StoreResult;

use super::browse::{list_filter, page};

/// Stored video rows as the caller sees them: with their stream URL (carrying the
/// caller's token) and their poster's URL.
pub fn video_objects(
    request: &Request<'_>,
    session: &Session,
    rows: Vec<crate::model::VideoRow>,
) -> Vec<Video> {
    let base = request.base_url();
    rows.into_iter()
        .map(|row| {
            let name = urls::title_name(&row.title, urls::extension_for_mime(&row.mime));
            Video {
                url: urls::stream_url(
                    &base,
                    &session.token,
                    "video",
                    row.id,
                    session.user.id,
                    "",
                    &name,
                ),
                art: urls::art_url(&base, &session.token, "video", row.id, true),
                row,
            }
        })
        .collect()
}

/// A page of the enabled videos by title.
pub async fn list(
    request: &Request<'_>,
    session: &Session,
    filter: &ListFilter,
    page: Page,
) -> StoreResult<Vec<Video>> {
    let rows = request.state.store.videos(filter, page).await?;
    Ok(video_objects(request, session, rows))
}

/// `videos`: filter, exact, add, update, offset, limit.
pub async fn videos(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let videos = list(request, session, &list_filter(params)?, page(params)?).await?;
    Ok(Reply::Document(Document::Videos(videos)))
}

/// `video`: the one video `filter` names, or 404.
pub async fn video(
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let id = params.object_id(&["filter", "id"])?;
    let rows = request.state.store.videos_by_ids(&[id]).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Reply::Document(Document::Videos(video_objects(
        request, session, rows,
    ))))
}
