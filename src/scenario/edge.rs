//! Call edges as scenarios, scripts and commands write them: `"caller->callee"`, read in
//! one place.

use std::fmt;

/// A call edge named by its caller and callee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge<'a> {
    pub from: &'a str,
    pub to: &'a str,
}

impl<'a> Edge<'a> {
    /// Reads `"caller->callee"` (blanks around the names allowed); `None` for anything else.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (from, to) = text.split_once("->")?;
        Some(Self {
            from: from.trim(),
            to: to.trim(),
        })
    }

    /// The service a target stands for: an edge's caller, or the target itself.
    pub fn caller_or_self(target: &'a str) -> &'a str {
        Self::parse(target).map_or(target, |edge| edge.from)
    }
}

impl fmt::Display for Edge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::Edge;

    #[test]
    fn edges_read_and_write_back() {
        let edge = Edge::parse("web -> api").unwrap();
        assert_eq!((edge.from, edge.to), ("web", "api"));
        assert_eq!(edge.to_string(), "web->api");
        assert_eq!(Edge::parse("web"), None);
        assert_eq!(Edge::caller_or_self("web->api"), "web");
        assert_eq!(Edge::caller_or_self("zone-a"), "zone-a");
    }
}
