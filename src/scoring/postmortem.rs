//! The postmortem draft in Markdown, following the Google SRE book's template, pre-filled
//! from the session's timeline, the responders' own postmortem and the score.

use std::fmt::Write;

use crate::incident::debrief::Timeline;
use crate::incident::{Record, clock};
use crate::remediation::Remediation;
use crate::scenario::Scenario;

/// The postmortem draft in Markdown: the Google template, the responders' own fields
/// where they wrote them, facts from the timeline elsewhere (marked as drafts to review).
pub fn postmortem_markdown(
    scenario: &Scenario,
    timeline: &Timeline,
    score: Option<&super::Score>,
) -> String {
    let own = timeline.postmortem.clone().unwrap_or_default();
    let or_draft = |text: &str, draft: String| {
        if text.trim().is_empty() {
            format!("_Draft from the timeline, to review:_ {draft}")
        } else {
            text.trim().to_string()
        }
    };
    let l = &timeline.lifecycle;
    let first_page = timeline.first_page();
    let mut md = String::new();
    let title = if own.title.trim().is_empty() {
        format!("Incident in {}", scenario.name)
    } else {
        own.title.trim().to_string()
    };
    let _ = writeln!(md, "# Postmortem: {title}\n");
    let _ = writeln!(
        md,
        "- **Date:** simulated session of scenario `{}`, seed {}",
        scenario.name, scenario.seed
    );
    let authors = if own.authors.is_empty() {
        timeline.players().join(", ")
    } else {
        own.authors.join(", ")
    };
    let _ = writeln!(md, "- **Authors:** {authors}");
    let status = if l.resolved_s.is_some() {
        "resolved; action items open"
    } else {
        "unresolved at the end of the session"
    };
    let _ = writeln!(md, "- **Status:** {status}");
    if let Some(severity) = l.severity() {
        let _ = writeln!(md, "- **Severity:** {severity}");
    }
    let spent = timeline.incident_budget_spent();
    let impact_draft = match (l.impact_s, l.mitigated_s) {
        (Some(from), Some(to)) => format!(
            "Users were hurt for {}: SLIs out of objective from {} to {}; {:.1}% of the error budget spent.",
            clock(to - from),
            clock(from),
            clock(to),
            spent * 100.0
        ),
        (Some(from), None) => format!(
            "Users were hurt for {} and still were at the end: SLIs out of objective from {} and not back by {}; {:.1}% of the error budget spent.",
            clock(timeline.end_s - from),
            clock(from),
            clock(timeline.end_s),
            spent * 100.0
        ),
        _ => "No SLI left its objective.".to_string(),
    };
    // How many requests users lost, and what the response spared them, when it was measured.
    let impact_draft = match score.and_then(|s| s.outcomes.as_ref()) {
        Some(o) if o.yours.total() > 0 || o.nothing.total() > 0 => format!(
            "{impact_draft} {} requests failed or were too slow over the shift ({} without any response).",
            super::measured::thousands(o.yours.total()),
            super::measured::thousands(o.nothing.total())
        ),
        _ => impact_draft,
    };
    let root_draft = scenario
        .incident
        .as_ref()
        .map(|truth| truth.root_cause.join(", "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "not established".to_string());
    let resolution_draft = timeline
        .records
        .iter()
        .filter_map(Record::remediation)
        .map(Remediation::to_ron)
        .collect::<Vec<_>>()
        .join("; ");
    let detection_draft = match first_page {
        Some(page) => format!(
            "paged by {} at {}{}",
            page.alert,
            clock(page.opened_s),
            page.acknowledged_s
                .map(|t| format!(", acknowledged at {}", clock(t)))
                .unwrap_or_else(|| ", never acknowledged".to_string())
        ),
        None => "no page fired".to_string(),
    };
    // The trigger: the first root cause to start, from the timeline.
    let truth = scenario.incident.as_ref();
    let trigger_draft = timeline
        .faults
        .iter()
        .filter(|f| truth.is_some_and(|t| t.root_cause.contains(&f.name)))
        .filter_map(|f| f.started_s.map(|t| (t, f)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(
            || "_unknown_".to_string(),
            |(t, f)| format!("{} ({}) started at {}", f.name, f.kind, clock(t)),
        );
    let sections = [
        ("Summary", or_draft(&own.summary, impact_draft.clone())),
        ("Impact", or_draft(&own.impact, impact_draft)),
        ("Root causes", or_draft(&own.root_causes, root_draft)),
        ("Trigger", or_draft(&own.trigger, trigger_draft)),
        (
            "Resolution",
            or_draft(
                &own.resolution,
                if resolution_draft.is_empty() {
                    "no remediation was applied".to_string()
                } else {
                    resolution_draft
                },
            ),
        ),
        ("Detection", or_draft(&own.detection, detection_draft)),
    ];
    for (heading, text) in sections {
        let _ = writeln!(md, "\n## {heading}\n\n{text}");
    }
    let _ = writeln!(md, "\n## Response times\n");
    let since = |from: Option<f64>, to: Option<f64>| match (from, to) {
        (Some(from), Some(to)) => clock((to - from).max(0.0)),
        (Some(_), None) => "not reached".to_string(),
        (None, _) => "n/a".to_string(),
    };
    let paged = first_page.map(|p| p.opened_s);
    let acknowledged = first_page.and_then(|p| p.acknowledged_s);
    for (what, value) in [
        ("Time to detect (impact to page)", since(l.impact_s, paged)),
        (
            "Time to acknowledge (page to acknowledgement)",
            since(paged, acknowledged),
        ),
        (
            "Time to mitigate (impact to SLIs back)",
            since(l.impact_s, l.mitigated_s),
        ),
        (
            "Time to resolve (impact to resolved)",
            since(l.impact_s, l.resolved_s),
        ),
    ] {
        let _ = writeln!(md, "- **{what}:** {value}");
    }
    let _ = writeln!(md, "\n## Action items\n");
    let _ = writeln!(
        md,
        "| action item | type | owner | priority |\n|---|---|---|---|"
    );
    for item in &own.action_items {
        let _ = writeln!(
            md,
            "| {} | {:?} | {} | {:?} |",
            item.item, item.kind, item.owner, item.priority
        );
    }
    if own.action_items.is_empty() {
        let _ = writeln!(md, "| _none written yet_ | | | |");
    }
    if spent > 0.2 {
        let _ = writeln!(
            md,
            "\nThis incident spent {:.0}% of an error budget: the error budget policy requires at least one P0 action item.",
            spent * 100.0
        );
    }
    let _ = writeln!(md, "\n## Five whys\n");
    let _ = writeln!(
        md,
        "_Ask why until the answer is a system or a process, never a person:_\n"
    );
    for n in 1..=5 {
        let _ = writeln!(md, "{n}. Why? _to write_");
    }
    let _ = writeln!(md, "\n## Lessons learned\n");
    let _ = writeln!(md, "### What went well\n\n{}\n", blank(&own.went_well));
    let _ = writeln!(md, "### What went wrong\n\n{}\n", blank(&own.went_wrong));
    let _ = writeln!(md, "### Where we got lucky\n\n{}", blank(&own.got_lucky));
    let _ = writeln!(md, "\n## Timeline\n");
    for (t, line) in timeline.events() {
        let _ = writeln!(md, "- **{}** {line}", clock(t));
    }
    if let Some(score) = score {
        let _ = writeln!(
            md,
            "\n## Response score: {:.0} of {:.0} ({:.0}%){}\n",
            score.points,
            score.max,
            score.percent,
            score.outcome().map_or(String::new(), |o| format!(": {o}"))
        );
        for c in &score.criteria {
            let points = match c.verdict {
                super::Verdict::Penalty => format!("{:.1}", c.points),
                _ => format!("{:.1}/{:.0}", c.points, c.max),
            };
            let _ = writeln!(md, "- **{}** ({points}): {}", c.title, c.why);
        }
    }
    md
}

fn blank(text: &str) -> String {
    if text.trim().is_empty() {
        "_to write_".to_string()
    } else {
        text.trim().to_string()
    }
}
