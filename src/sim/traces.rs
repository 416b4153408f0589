//! Traces of a sample of user requests: a span per request a service handled, with its
//! queueing and its downstream calls as children, so a slow dependency is found the way it
//! is found with tracing. Sampling is decided once per user request (head sampling); every
//! hop of a sampled request is recorded.

use std::fmt::Write as _;

use super::events::Outcome;
use super::metrics::Ring;
use super::topology::Topology;

/// User requests traced: one in a hundred.
pub const SAMPLE_RATIO: f64 = 0.01;
/// Spans kept, across the fleet.
pub const SPANS: usize = 50_000;

/// What a call carries of its trace: the trace, and the span that made the call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceContext {
    /// 0: not traced.
    pub trace: u32,
    pub parent: u32,
}

impl TraceContext {
    pub fn is_traced(self) -> bool {
        self.trace != 0
    }
}

/// Who handled a span: a service instance, or the user's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Instance(u32),
    Client(u32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub trace: u32,
    pub id: u32,
    /// 0 for the root.
    pub parent: u32,
    pub handler: Handler,
    /// Arrival (the client: its first try).
    pub start: f64,
    /// When its own work began (after queueing); equal to `start` for the client.
    pub began: f64,
    pub end: f64,
    pub outcome: Outcome,
}

/// The recent spans of sampled requests.
#[derive(Clone, Debug)]
pub struct Traces {
    spans: Ring<Span>,
    next_id: u32,
}

impl Default for Traces {
    fn default() -> Self {
        Self {
            spans: Ring::new(SPANS),
            next_id: 1,
        }
    }
}

impl Traces {
    /// A fresh id for a trace or a span.
    pub fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        id
    }

    pub fn record(&mut self, span: Span) {
        self.spans.push(span);
    }

    /// Roots of the traces kept, newest last.
    pub fn roots(&self) -> impl Iterator<Item = &Span> {
        self.spans.rows().iter().filter(|s| s.parent == 0)
    }

    /// Every span of `trace` still kept.
    pub fn trace(&self, trace: u32) -> Vec<Span> {
        self.spans
            .rows()
            .iter()
            .filter(|s| s.trace == trace)
            .copied()
            .collect()
    }
}

/// A trace as an indented tree: each span with its duration, queueing and outcome.
pub fn render(spans: &[Span], topology: &Topology) -> String {
    let mut out = String::new();
    let Some(root) = spans.iter().find(|s| s.parent == 0) else {
        return out;
    };
    render_span(root, spans, topology, 0, root.start, &mut out);
    out
}

fn render_span(
    span: &Span,
    spans: &[Span],
    topology: &Topology,
    depth: usize,
    origin: f64,
    out: &mut String,
) {
    let name = match span.handler {
        Handler::Client(source) => format!("user ({})", topology.sources[source as usize].name),
        Handler::Instance(global) => {
            let service = &topology.services[topology.service_of(global)];
            format!("{}-{}", service.name, global - service.first_instance)
        }
    };
    let outcome = match span.outcome {
        Outcome::Ok => "ok",
        Outcome::ServerError => "error",
        Outcome::Rejected(_) => "refused",
    };
    let queued = span.began - span.start;
    let _ = write!(
        out,
        "{:indent$}{name}  +{:.1}ms  {:.1}ms",
        "",
        (span.start - origin) * 1e3,
        (span.end - span.start) * 1e3,
        indent = depth * 2
    );
    if queued > 0.0005 {
        let _ = write!(out, " (queued {:.1}ms)", queued * 1e3);
    }
    let _ = writeln!(out, "  {outcome}");
    let mut children: Vec<&Span> = spans.iter().filter(|s| s.parent == span.id).collect();
    children.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.id.cmp(&b.id)));
    for child in children {
        render_span(child, spans, topology, depth + 1, origin, out);
    }
}
