//! Team play: one host runs the authoritative simulation; players join it over the network
//! and send their commands there. See `protocol` for what crosses the wire.

pub mod protocol;

#[cfg(feature = "gui")]
pub mod link;
#[cfg(feature = "gui")]
pub mod noise;
#[cfg(feature = "gui")]
pub use link::Link;
