//! The wire format: the only code that knows how replies look in XML and JSON.

pub mod json;
mod json_items;
pub mod xml;
mod xml_items;

use super::error::ApiError;
use super::reply::Document;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=UTF-8",
            Format::Json => "application/json; charset=UTF-8",
        }
    }

    pub fn encode(self, document: &Document) -> String {
        match self {
            Format::Xml => xml::document(document),
            Format::Json => json::document(document),
        }
    }

    pub fn encode_error(self, error: &ApiError) -> String {
        match self {
            Format::Xml => xml::error(error),
            Format::Json => json::error(error),
        }
    }
}

/// Unix seconds as ISO 8601 with a numeric offset, as PHP's `date('c')` writes them.
pub fn iso8601(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_like_php() {
        assert_eq!(super::iso8601(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(super::iso8601(1_600_000_000), "2020-09-13T12:26:40+00:00");
    }
}
