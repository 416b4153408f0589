//! The summary printed after a headless run: a row per service and per traffic source.

use crate::report::Report;
use crate::scenario::Seconds;
use crate::sim::histogram::describe_latency;

/// The per-service and per-source summary printed after a run.
pub fn summary_table(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .services
        .iter()
        .map(|s| s.name.len())
        .chain(report.traffic.iter().map(|t| t.name.len()))
        .max()
        .unwrap_or(7)
        .max(7);
    out.push_str(&format!(
        "{} (seed {}, {} simulated)\n\n",
        report.scenario,
        report.seed,
        Seconds(report.duration_s)
    ));
    out.push_str(&format!(
        "{:<width$}  {:<8} {:>4} {:>9} {:>7} {:>9} {:>9} {:>5} {:>8} {:>7}\n",
        "service", "kind", "inst", "rps", "err%", "p50", "p99", "cpu", "maxqueue", "healthy"
    ));
    for s in &report.services {
        let m = &s.summary;
        out.push_str(&format!(
            "{:<width$}  {:<8} {:>4} {:>9.1} {:>6.2}% {:>9} {:>9} {:>5} {:>8.0} {:>7}\n",
            s.name,
            s.kind,
            s.instances,
            m.rps,
            m.error_ratio * 100.0,
            latency(m.p50_s),
            latency(m.p99_s),
            if s.kind == "External" {
                "-".to_string()
            } else {
                format!("{:.0}%", m.cpu_mean * 100.0)
            },
            m.queue_peak,
            format!("{}/{}", m.healthy_min, s.instances),
        ));
    }
    if !report.traffic.is_empty() {
        out.push_str(&format!(
            "\n{:<width$}  {:<12} {:>9} {:>8} {:>9} {:>9} {:>8}\n",
            "traffic", "to", "offered", "goodput", "p50", "p99", "retries"
        ));
        for t in &report.traffic {
            let m = &t.summary;
            out.push_str(&format!(
                "{:<width$}  {:<12} {:>9.1} {:>7.2}% {:>9} {:>9} {:>8}\n",
                t.name,
                t.to,
                m.offered_rps,
                m.goodput * 100.0,
                latency(m.p50_s),
                latency(m.p99_s),
                m.retries,
            ));
        }
    }
    if !report.remediations.is_empty() {
        out.push_str("\nremediations\n");
        for r in &report.remediations {
            let policy = if r.violates_freeze {
                "  <- change during a budget freeze (error budget policy)"
            } else {
                ""
            };
            out.push_str(&format!("  {}: {}{policy}\n", Seconds(r.at_s), r.action));
        }
    }
    for slo in &report.slos {
        out.push_str(&format!(
            "\nSLO {} ({} {}% over {}): budget {:.1}% -> {:.1}%, {} bad of {} events\n",
            slo.name,
            slo.service,
            slo.objective,
            slo.window,
            slo.budget_start * 100.0,
            slo.budget_end * 100.0,
            slo.bad_events,
            slo.total_events
        ));
        for page in &slo.pages {
            let mut story = format!("  page at {}", Seconds(page.opened_s));
            if let Some(t) = page.acknowledged_s {
                story.push_str(&format!(", acknowledged at {}", Seconds(t)));
            }
            if let Some(t) = page.escalated_s {
                story.push_str(&format!(", ESCALATED at {} (not acknowledged)", Seconds(t)));
            }
            if let Some(t) = page.resolved_s {
                story.push_str(&format!(", resolved at {}", Seconds(t)));
            }
            out.push_str(&format!("{story}\n"));
        }
        for alert in &slo.alerts {
            let cleared = alert.cleared_s.map_or("still firing".to_string(), |c| {
                format!("cleared at {}", Seconds(c))
            });
            out.push_str(&format!(
                "  {:?} {} fired at {}, {cleared}\n",
                alert.severity,
                alert.row,
                Seconds(alert.fired_s)
            ));
        }
    }
    for hint in &report.hints {
        out.push_str(&format!(
            "\nexpert on {} ({}): {}\n",
            hint.expert,
            Seconds(hint.at_s),
            hint.text
        ));
    }
    if !report.faults.is_empty() {
        out.push_str("\nfaults\n");
        for f in &report.faults {
            let when = match (f.started_s, f.ended_s) {
                (None, _) => "never started".to_string(),
                (Some(s), None) => format!("from {} to the end", Seconds(s)),
                (Some(s), Some(e)) if s == e => format!("at {}", Seconds(s)),
                (Some(s), Some(e)) => format!("from {} to {}", Seconds(s), Seconds(e)),
            };
            out.push_str(&format!("  {}: {when}\n", f.name));
        }
    }
    let refused: Vec<_> = report
        .incident
        .commands
        .iter()
        .filter_map(|r| r.refused.as_ref().map(|why| (r, why)))
        .collect();
    if let Some(t) = report.incident.lifecycle.ended_s {
        out.push_str(&format!(
            "\nthe game master ended the shift at {}\n",
            Seconds(t)
        ));
    }
    if !refused.is_empty() {
        out.push_str("\nrefused commands\n");
        for (record, why) in refused {
            out.push_str(&format!(
                "  {} {}: {}: {why}\n",
                Seconds(record.at_s),
                record.by,
                record.command.to_ron()
            ));
        }
    }
    if let Some(score) = &report.score {
        out.push_str(&format!(
            "\nscore {:.1} of {:.0} ({:.0}%){}\n",
            score.points,
            score.max,
            score.percent,
            score.outcome().map_or(String::new(), |o| format!(": {o}"))
        ));
        for c in &score.criteria {
            let verdict = match c.verdict {
                crate::scoring::Verdict::Met => "met",
                crate::scoring::Verdict::Partly => "partly",
                crate::scoring::Verdict::Failed => "FAILED",
                crate::scoring::Verdict::NotApplicable => "n/a",
                crate::scoring::Verdict::Penalty => "minus",
            };
            let points = if c.verdict == crate::scoring::Verdict::Penalty {
                format!("{:>4.1}    ", c.points)
            } else if c.max > 0.0 {
                format!("{:>4.1}/{:<3.0}", c.points, c.max)
            } else {
                "    -   ".to_string()
            };
            out.push_str(&format!(
                "  {verdict:<6} {points} {:<34} {}\n",
                c.title, c.why
            ));
        }
        if !score.effects.is_empty() {
            out.push_str(
                "
what each change did (the same session without it, to the end of the shift):
",
            );
            let slos: Vec<String> = report.slos.iter().map(|s| s.name.clone()).collect();
            for effect in &score.effects {
                out.push_str(&format!(
                    "  {}
",
                    effect.describe(&slos)
                ));
            }
        }
    }
    out.push_str("\nrps and err% over the whole run; p50/p99 from the latency histogram; cpu is the mean share of cores (not seen for external services); maxqueue is the longest queue; healthy is the fewest instances in rotation.\n");
    out
}

/// A count in thousands or millions.
pub(super) fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

fn latency(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "-".to_string(), describe_latency)
}
