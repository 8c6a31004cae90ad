//! A user as the rooms above the store see one: no password hash.

/// Ampache's access levels.
pub mod access {
    pub const GUEST: i64 = 5;
    pub const USER: i64 = 25;
    pub const CONTENT_MANAGER: i64 = 50;
    pub const CATALOG_MANAGER: i64 = 75;
    pub const ADMIN: i64 = 100;

    /// Parses a level name (or number) as given on the command line.
    pub fn parse(text: &str) -> Option<i64> {
        match text.to_ascii_lowercase().as_str() {
            "guest" => Some(GUEST),
            "user" => Some(USER),
            "manager" | "content_manager" => Some(CONTENT_MANAGER),
            "catalog_manager" => Some(CATALOG_MANAGER),
            "admin" => Some(ADMIN),
            other => other
                .parse::<i64>()
                .ok()
                .filter(|n| [0, GUEST, USER, CONTENT_MANAGER, CATALOG_MANAGER, ADMIN].contains(n)),
        }
    }

    pub fn name(level: i64) -> &'static str {
        match level {
            l if l >= ADMIN => "admin",
            l if l >= CATALOG_MANAGER => "catalog_manager",
            l if l >= CONTENT_MANAGER => "manager",
            l if l >= USER => "user",
            _ => "guest",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub fullname: String,
    pub email: String,
    pub website: String,
    pub state: String,
    pub city: String,
    pub fullname_public: bool,
    pub access: i64,
    /// The API key: shown to the user themself and to admins.
    pub apikey: Option<String>,
    pub disabled: bool,
    pub created: i64,
    pub last_seen: i64,
}
