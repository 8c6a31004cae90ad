//! `catalogs` and `catalog` (API 4.2): the shape of the Ampache 4.2+ captures, with
//! dates as Ampache formats them for people ("8/3/21, 12:04 AM", "Never"), plus
//! scan progress for catalog managers in extra elements that clients ignore.

use std::fmt::Write;

use serde_json::{json, Map, Value};

use super::xml::cdata;
use crate::api::reply::CatalogView;

/// Unix seconds as Ampache's short date and time (PHP's IntlDateFormatter SHORT in
/// en_US: month/day/two-digit year, 12-hour clock, a narrow no-break space before
/// AM/PM), in UTC; 0 is "Never".
pub fn short_date(seconds: i64) -> String {
    if seconds <= 0 {
        return "Never".to_string();
    }
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%-m/%-d/%y, %-I:%M\u{202f}%p")
        .to_string()
}

fn rename_pattern(view: &CatalogView) -> &'static str {
    if view.gather_types == "video" {
        "%a - %t (%y)"
    } else {
        "%T - %t"
    }
}

fn sort_pattern(view: &CatalogView) -> &'static str {
    if view.gather_types == "video" {
        ""
    } else {
        "%a/%A"
    }
}

pub fn xml(out: &mut String, catalogs: &[CatalogView]) {
    let _ = writeln!(out, "  <total_count>{}</total_count>", catalogs.len());
    for c in catalogs {
        let _ = writeln!(out, "  <catalog id=\"{}\">", c.id);
        let mut text = |name: &str, value: &str| {
            let _ = writeln!(out, "    <{name}>{}</{name}>", cdata(value));
        };
        text("name", &c.name);
        text("type", "local");
        text("gather_types", c.gather_types);
        let _ = writeln!(out, "    <enabled>{}</enabled>", u8::from(c.enabled));
        let mut text = |name: &str, value: &str| {
            let _ = writeln!(out, "    <{name}>{}</{name}>", cdata(value));
        };
        text("last_add", &short_date(c.last_add));
        text("last_clean", &short_date(c.last_clean));
        text("last_update", &short_date(c.last_update));
        text("path", &c.path);
        text("rename_pattern", rename_pattern(c));
        text("sort_pattern", sort_pattern(c));
        if let Some(p) = &c.progress {
            text("scan_task", p.task.as_deref().unwrap_or(""));
            let _ = writeln!(out, "    <scan_files_done>{}</scan_files_done>", p.done);
            let _ = writeln!(out, "    <scan_files_to_do>{}</scan_files_to_do>", p.to_do);
            let _ = writeln!(out, "    <scan_rate>{:.1}</scan_rate>", p.rate);
            let mut text = |name: &str, value: &str| {
                let _ = writeln!(out, "    <{name}>{}</{name}>", cdata(value));
            };
            text("last_task", &p.last_task);
            text("last_result", &p.last_result);
            let _ = writeln!(
                out,
                "    <last_result_date>{}</last_result_date>",
                p.last_finished
            );
        }
        out.push_str("  </catalog>\n");
    }
}

pub fn json(catalogs: &[CatalogView]) -> Value {
    Value::Array(
        catalogs
            .iter()
            .map(|c| {
                let mut o = Map::new();
                o.insert("id".into(), json!(c.id.to_string()));
                o.insert("name".into(), json!(c.name));
                o.insert("type".into(), json!("local"));
                o.insert("gather_types".into(), json!(c.gather_types));
                o.insert("enabled".into(), json!(c.enabled));
                o.insert("last_add".into(), json!(short_date(c.last_add)));
                o.insert("last_clean".into(), json!(short_date(c.last_clean)));
                o.insert("last_update".into(), json!(short_date(c.last_update)));
                o.insert("path".into(), json!(c.path));
                o.insert("rename_pattern".into(), json!(rename_pattern(c)));
                o.insert("sort_pattern".into(), json!(sort_pattern(c)));
                if let Some(p) = &c.progress {
                    o.insert(
                        "scan_task".into(),
                        json!(p.task.clone().unwrap_or_default()),
                    );
                    o.insert("scan_files_done".into(), json!(p.done));
                    o.insert("scan_files_to_do".into(), json!(p.to_do));
                    o.insert("scan_rate".into(), json!((p.rate * 10.0).round() / 10.0));
                    o.insert("last_task".into(), json!(p.last_task));
                    o.insert("last_result".into(), json!(p.last_result));
                    o.insert("last_result_date".into(), json!(p.last_finished));
                }
                Value::Object(o)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::short_date;

    #[test]
    fn dates_as_ampache_shows_them() {
        assert_eq!(short_date(0), "Never");
        // 2021-08-03 00:04 UTC
        assert_eq!(short_date(1_627_949_040), "8/3/21, 12:04\u{202f}AM");
        assert_eq!(short_date(1_627_999_999), "8/3/21, 2:13\u{202f}PM");
    }
}
