//! Errors by meaning, for the rooms to report and each front to map to its codes.

/// A request parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// Absent or empty, but required.
    Missing(String),
    /// Present but unusable, and why.
    Bad { name: String, why: String },
    /// More parameters than any method takes.
    TooMany(usize),
}

impl ParamError {
    pub fn bad(name: &str, why: &str) -> ParamError {
        ParamError::Bad {
            name: name.to_string(),
            why: why.to_string(),
        }
    }
}
