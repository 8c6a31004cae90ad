//! Request parsing and parameter decoding: any query string and form body parse
//! without a panic, and every decoder either gives a value or names the parameter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tonearm::params::Params;

const NAMES: &[&str] = &[
    "action", "auth", "offset", "limit", "id", "filter", "add", "exact",
];

fuzz_target!(|data: &[u8]| {
    // The first zero byte splits the query string from the body.
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let query = String::from_utf8_lossy(query);
    let Ok(params) = Params::parse(Some(&query), body) else {
        return;
    };
    let _ = params.paging();
    for name in NAMES {
        let _ = params.get(name);
        let _ = params.integer(name);
        let _ = params.boolean(name);
        let _ = params.list(name);
    }
    let _ = params.object_id(&["id", "filter"]);
    // An empty value counts as absent, as in Ampache; a value given is never
    // empty, and holds no control character but tab and line breaks.
    for name in params.names() {
        if let Some(value) = params.get(name) {
            assert!(!value.is_empty());
            assert!(!value
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')));
        }
    }
});
