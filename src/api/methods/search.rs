//! advanced_search (and its later name, search): rules over songs, albums, artists,
//! playlists, users and videos.

use super::browse::{in_order, Browser, Include};
use crate::api::error::ApiError;
use crate::api::reply::{Document, Reply, Video};
use crate::api::search_operators;
use crate::api::Request;
use crate::model::Operator;
use crate::params::Params;
use crate::store::browse::{AlbumScope, ArtistScope, Named, Page};
use crate::store::search::{field_kind, Rule, RuleError, Search, SearchType};
use crate::store::sessions::Session;
use crate::store::users::access;

/// The rules `rule_N` / `rule_N_operator` / `rule_N_input` (/ `rule_N_subtype`), in
/// number order (gaps allowed), with each operator number read for its field's kind.
/// As in Ampache 4.2, an input holding `|` becomes one rule per part, joined like
/// the other rules (by `operator`); a regular expression keeps its `|`.
fn rules(
    params: &Params,
    kind: SearchType,
    kind_text: &str,
) -> Result<Vec<(String, Rule)>, ApiError> {
    let mut numbers: Vec<u32> = params
        .names()
        .filter_map(|name| name.strip_prefix("rule_"))
        .filter_map(|rest| rest.parse::<u32>().ok())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut rules = Vec::with_capacity(numbers.len());
    for n in numbers {
        let name = format!("rule_{n}");
        let field = params.require(&name)?.to_string();
        let number = params
            .integer(&format!("{name}_operator"))?
            .ok_or_else(|| ApiError::missing(&format!("{name}_operator")))?;
        let field_kind = field_kind(kind, &field).ok_or_else(|| {
            ApiError::bad_parameter(&name, &format!("{field} is not a {kind_text} search field"))
        })?;
        let operator = search_operators::operator(field_kind, number).ok_or_else(|| {
            ApiError::bad_parameter(
                &name,
                &format!("operator {number} does not apply to {field}"),
            )
        })?;
        let input = params.get(&format!("{name}_input")).unwrap_or("");
        let subtype = params.get(&format!("{name}_subtype")).map(str::to_string);
        let inputs: Vec<&str> = if matches!(operator, Operator::Matches | Operator::NotMatches) {
            vec![input]
        } else {
            input.split('|').collect()
        };
        for input in inputs {
            // Far more than any search needs; keeps one request's SQL small.
            if rules.len() >= 256 {
                return Err(ApiError::bad_parameter(&name, "more than 256 rules"));
            }
            rules.push((
                name.clone(),
                Rule {
                    field: field.clone(),
                    operator,
                    input: crate::api::ids::smart_rule_input(&field, input),
                    subtype: subtype.clone(),
                },
            ));
        }
    }
    Ok(rules)
}

pub async fn advanced_search(
    b: &Browser<'_>,
    request: &Request<'_>,
    session: &Session,
    params: &Params,
) -> Result<Reply, ApiError> {
    let kind_text = params.get("type").unwrap_or("song");
    let kind =
        SearchType::parse(kind_text).ok_or_else(|| ApiError::wrong_object_type(kind_text))?;
    let any = match params.get("operator").map(|o| o.to_ascii_lowercase()) {
        None => false,
        Some(o) if o == "and" => false,
        Some(o) if o == "or" => true,
        Some(_) => return Err(ApiError::bad_parameter("operator", "expected and or or")),
    };
    let named_rules = rules(params, kind, kind_text)?;
    if named_rules.is_empty() {
        return Err(ApiError::missing("rule_1"));
    }
    let search = Search {
        kind,
        rules: named_rules.iter().map(|(_, rule)| rule.clone()).collect(),
        any,
        random: params.boolean("random")?.unwrap_or(false),
    };
    let paging = params.paging()?;
    let admin = session.user.access >= access::ADMIN;
    let ids = match request
        .state
        .store
        .search_ids(
            session.user.id,
            admin,
            &search,
            paging.offset,
            paging.limit.unwrap_or(i64::MAX),
        )
        .await?
    {
        Ok(ids) => ids,
        Err((index, error)) => {
            let (name, rule) = &named_rules[index];
            let why = match error {
                RuleError::UnknownField => {
                    format!("{} is not a {kind_text} search field", rule.field)
                }
                RuleError::UnknownOperator => {
                    format!(
                        "operator {:?} does not apply to {}",
                        rule.operator, rule.field
                    )
                }
                RuleError::BadInput(why) => why.to_string(),
            };
            return Err(ApiError::bad_parameter(name, &why));
        }
    };
    let document = match kind {
        // API4 has no label object: a label search answers with the labels' songs,
        // the list 4.x clients read its answer as.
        SearchType::Song | SearchType::Label => {
            return Ok(Reply::Songs(b.listing_of(ids, paging.offset + 1)));
        }
        SearchType::Album => {
            let albums = b
                .albums(&AlbumScope::Ids(ids.clone()), Page::ALL, false)
                .await?;
            Document::Albums(in_order(&ids, albums, |a| a.row.id))
        }
        SearchType::Artist => {
            let artists = b
                .artists(
                    &ArtistScope::Ids(ids.clone()),
                    Page::ALL,
                    &Include::default(),
                )
                .await?;
            Document::Artists(in_order(&ids, artists, |a| a.row.id))
        }
        SearchType::Playlist => {
            let mut lists = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(playlist) = request.state.store.playlist(*id).await? {
                    lists.push(playlist.row);
                }
            }
            Document::Playlists(lists)
        }
        SearchType::User => {
            let mut users = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(user) = request.state.store.user_by_id(*id).await? {
                    users.push(Named {
                        id: user.id,
                        name: user.profile.username.into(),
                    });
                }
            }
            Document::Users(users)
        }
        SearchType::Video => {
            let rows = request.state.store.videos_by_ids(&ids).await?;
            let videos = super::videos::video_objects(request, session, rows);
            Document::Videos(in_order(&ids, videos, |v: &Video| v.row.id))
        }
    };
    Ok(Reply::Document(document))
}
