//! The domain: the types every room of tonearm shares (scanner, store, services,
//! protocol fronts, media). It imports nothing of the project, knows no wire format
//! and does no I/O; rooms talk to each other through these types, one way.

mod error;
mod library;
mod search;
mod social;
mod track;
mod user;

pub use error::*;
pub use library::*;
pub use search::*;
pub use social::*;
pub use track::*;
pub use user::*;
