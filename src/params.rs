//! Request parameters, from the query string and a form-encoded POST body alike,
//! for every front and the media endpoints. Errors are kinds by meaning
//! ([`ParamError`]); each front maps them to its own codes.
//!
//! Parsing is strict where clients cannot mean anything sensible: invalid UTF-8,
//! control characters, absurd lengths and a parameter given twice are refused with a
//! clear error instead of being guessed at.

use std::collections::{HashMap, HashSet};

use percent_encoding::percent_decode;

pub use crate::model::ParamError;

/// The longest value a parameter may have (a stream URL given to `url_to_song` is the
/// longest thing a client legitimately sends).
pub const MAX_VALUE_LEN: usize = 4096;

/// The longest id list (`items`, `tracks` of playlist_edit): tens of thousands of ids.
pub const MAX_LIST_LEN: usize = 400_000;

/// The largest offset or limit accepted; beyond any library's size, below overflow.
pub const MAX_COUNT: i64 = 1_000_000_000_000;

/// The most parameters one request may carry (query and body together). The widest
/// legitimate request, an advanced_search of 256 rules at four parameters each, stays
/// well under it; past it the request is refused before anything else is read.
pub const MAX_PARAMETERS: usize = 2000;

#[derive(Debug, Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    /// Values of the bracketed array form (`include[]=albums&include[]=songs`).
    lists: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses the query string and the body; the query wins where both name a parameter.
    ///
    /// Linear in the size of the input: each parameter is looked up in hash maps, never
    /// compared with the ones before it, and counting stops at [`MAX_PARAMETERS`].
    pub fn parse(query: Option<&str>, body: Option<&[u8]>) -> Result<Params, ParamError> {
        let mut params = Params::default();
        let mut count = 0;
        let query_names = params.absorb(query.unwrap_or("").as_bytes(), None, &mut count)?;
        if let Some(body) = body {
            params.absorb(body, Some(&query_names), &mut count)?;
        }
        Ok(params)
    }

    fn absorb(
        &mut self,
        raw: &[u8],
        shadowed_by: Option<&HashSet<String>>,
        count: &mut usize,
    ) -> Result<HashSet<String>, ParamError> {
        let mut names = HashSet::new();
        for pair in raw.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            *count += 1;
            if *count > MAX_PARAMETERS {
                return Err(ParamError::TooMany(MAX_PARAMETERS));
            }
            let (raw_name, raw_value) = match pair.iter().position(|b| *b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode(raw_name)
                .map_err(|_| ParamError::bad("?", "parameter names must be valid UTF-8"))?;
            let value = decode(raw_value).map_err(|_| ParamError::bad(&name, "not valid UTF-8"))?;
            if name.len() > 64 || name.chars().any(char::is_control) {
                return Err(ParamError::bad(
                    &printable(&name),
                    "not a valid parameter name",
                ));
            }
            let max = if matches!(name.as_str(), "items" | "tracks") {
                MAX_LIST_LEN
            } else {
                MAX_VALUE_LEN
            };
            if value.chars().count() > max {
                return Err(ParamError::bad(
                    &name,
                    &format!("longer than {max} characters"),
                ));
            }
            if value
                .chars()
                .any(|c| c.is_control() && c != '\t' && c != '\n' && c != '\r')
            {
                return Err(ParamError::bad(&name, "contains control characters"));
            }
            if let Some(list_name) = name.strip_suffix("[]") {
                self.lists
                    .entry(list_name.to_string())
                    .or_default()
                    .push(value);
                continue;
            }
            if shadowed_by.is_some_and(|names| names.contains(&name)) {
                continue;
            }
            if !names.insert(name.clone()) {
                return Err(ParamError::bad(&name, "given more than once"));
            }
            self.values.insert(name, value);
        }
        Ok(names)
    }

    /// The value of `name`; an empty value counts as absent, as in Ampache.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, ParamError> {
        self.get(name)
            .ok_or_else(|| ParamError::Missing(name.to_string()))
    }

    /// A whole number, if given; anything else is an error naming the parameter.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ParamError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ParamError::bad(name, "expected a whole number")),
        }
    }

    /// Paging as every list method takes it: `offset` (default 0) and `limit`
    /// (default 5000; `none` for no limit; 0 means the default).
    pub fn paging(&self) -> Result<Paging, ParamError> {
        let offset = match self.integer("offset")? {
            None => 0,
            Some(n) if (0..=MAX_COUNT).contains(&n) => n,
            Some(_) => {
                return Err(ParamError::bad(
                    "offset",
                    "must be between 0 and 1000000000000",
                ))
            }
        };
        let limit = match self.get("limit") {
            None => Some(DEFAULT_LIMIT),
            Some(text) if text.trim().eq_ignore_ascii_case("none") => None,
            Some(_) => match self.integer("limit")? {
                Some(0) | None => Some(DEFAULT_LIMIT),
                Some(n) if (1..=MAX_COUNT).contains(&n) => Some(n),
                Some(_) => {
                    return Err(ParamError::bad(
                        "limit",
                        "must be a positive whole number or 'none'",
                    ))
                }
            },
        };
        Ok(Paging { offset, limit })
    }
}

impl Params {
    /// Every parameter name given (once each).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// An array parameter: `name[]=a&name[]=b` or `name=a,b`.
    pub fn list(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = self.lists.get(name).cloned().unwrap_or_default();
        if let Some(joined) = self.get(name) {
            values.extend(joined.split(',').map(|v| v.trim().to_string()));
        }
        values.retain(|v| !v.is_empty());
        values
    }

    /// `0`/`1` (or `false`/`true`).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ParamError> {
        match self.get(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v == "1" || v == "true" => Ok(Some(true)),
            Some(v) if v == "0" || v == "false" => Ok(Some(false)),
            Some(_) => Err(ParamError::bad(name, "expected 0 or 1")),
        }
    }

    /// An object id from the first of `names` given (API4 calls it `filter` on browse
    /// methods and `id` on media methods; clients of newer versions send either).
    pub fn object_id(&self, names: &[&str]) -> Result<i64, ParamError> {
        let (name, text) = names
            .iter()
            .find_map(|name| self.get(name).map(|value| (*name, value)))
            .ok_or_else(|| ParamError::Missing(names[0].to_string()))?;
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| ParamError::bad(name, "expected an object id"))
    }
}

pub const DEFAULT_LIMIT: i64 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: i64,
    /// `None`: no limit.
    pub limit: Option<i64>,
}

/// Percent-decodes a query component (`+` is a space), refusing invalid UTF-8.
fn decode(raw: &[u8]) -> Result<String, std::str::Utf8Error> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|e| e.utf8_error())
}

fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<Params, ParamError> {
        Params::parse(Some(query), None)
    }

    #[test]
    fn decodes_and_prefers_query() {
        let p = Params::parse(Some("a=x%20y&b=1+2"), Some(b"a=body&c=3")).unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), Some("1 2"));
        assert_eq!(p.get("c"), Some("3"));
        assert_eq!(p.get("d"), None);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(parse("a=%FF").is_err());
        assert!(parse("a=1&a=2").is_err());
        assert!(parse("a=%01").is_err());
        assert!(parse(&format!("a={}", "x".repeat(MAX_VALUE_LEN + 1))).is_err());
        // A thousand six-digit song ids for playlist_edit are not "too long".
        let items: Vec<String> = (100_000..101_000).map(|i| i.to_string()).collect();
        assert!(parse(&format!("items={}", items.join("%2C"))).is_ok());
    }

    #[test]
    fn paging_rules() {
        assert_eq!(
            parse("").unwrap().paging().unwrap(),
            Paging {
                offset: 0,
                limit: Some(5000)
            }
        );
        assert_eq!(parse("limit=none").unwrap().paging().unwrap().limit, None);
        assert_eq!(
            parse("limit=0").unwrap().paging().unwrap().limit,
            Some(5000)
        );
        assert!(parse("offset=-1").unwrap().paging().is_err());
        assert!(parse("offset=abc").unwrap().paging().is_err());
        assert!(parse("offset=99999999999999999999999")
            .unwrap()
            .paging()
            .is_err());
        assert!(parse("limit=-5").unwrap().paging().is_err());
    }
}
