//! Reading what responders wrote, by rules (deterministic, no language model): a status
//! update must say what users see, of which service or function, and what is being done; a
//! postmortem must be blameless and its budget figures must be the timeline's.

/// Nouns for what users reach: an update about these says what users see.
const USER_FACING: &[&str] = &[
    "user", "customer", "shopper", "visitor", "client", "checkout", "payment", "card", "login",
    "signup", "order", "page", "request", "search", "shop", "site", "app", "cart", "product",
    "account", "api", "service", "website", "store", "purchase", "feed",
];

/// Words and phrases that judge people instead of describing systems.
const JUDGEMENTAL: &[&str] = &[
    "blame",
    "fault of",
    "careless",
    "sloppy",
    "negligent",
    "negligence",
    "lazy",
    "stupid",
    "incompetent",
    "should have",
    "shouldn't have",
    "should not have",
    "forgot",
    "human error",
];

/// Words that make a sentence about a person a sentence about who caused it.
const CAUSAL: &[&str] = &[
    "because",
    "caused",
    "cause",
    "due to",
    "broke",
    "pushed",
    "deployed",
    "shipped",
    "mistake",
    "error",
    "fault",
    "responsible",
    "missed",
    "ignored",
    "failed to",
];

/// The words of `text`, lower case, with at least two letters each.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// `word` without a plural `s`, to match a list of singular nouns.
fn singular(word: &str) -> &str {
    word.strip_suffix('s')
        .filter(|w| w.len() >= 3)
        .unwrap_or(word)
}

/// Words that hand on work still to do.
const NEXT_STEPS: &[&str] = &[
    "next",
    "watch",
    "follow",
    "pending",
    "open",
    "still",
    "todo",
    "tomorrow",
    "morning",
    "check",
    "keep",
    "remaining",
    "left",
    "monitor",
    "ask",
    "needs",
];

/// Words that say nothing was changed.
const NOTHING_DONE: &[&str] = &["nothing", "none", "no change", "no changes", "untouched"];

/// What a handoff note leaves out of what the next on-call needs: what is going on (a
/// service, an SLO, or the budget named), what was done (the changes made, by their target or
/// kind, or that none was), and what is left (a next step).
pub fn handoff_gaps(
    note: &str,
    services: &[&str],
    slos: &[String],
    done: &[&crate::remediation::Remediation],
) -> Vec<&'static str> {
    let lower = note.to_lowercase();
    let seen = words(note);
    let has_word = |list: &[&str]| seen.iter().any(|w| list.contains(&w.as_str()));
    let names = |name: &str| lower.contains(&name.to_lowercase());
    let mut gaps = Vec::new();
    let situation = services.iter().any(|s| names(s))
        || slos.iter().any(|s| names(s))
        || seen.iter().any(|w| w == "budget" || w == "slo");
    if !situation {
        gaps.push("what is going on (name the service, the SLO or the budget)");
    }
    let reported = if done.is_empty() {
        NOTHING_DONE.iter().any(|p| lower.contains(p))
    } else {
        done.iter().any(|r| {
            let target = r.target();
            names(crate::scenario::Edge::caller_or_self(&target))
                || names(r.label())
                || names(&target)
        })
    };
    if !reported {
        gaps.push("what was done (the changes made, or that none was)");
    }
    if !has_word(NEXT_STEPS) {
        gaps.push("what is left for the next person (a next step)");
    }
    gaps
}

/// What is missing from a status update (conditions, actions, needs), if anything, quoting
/// it. `services` are the fleet's service names: naming one is naming what is affected.
pub fn update_problem(
    (conditions, actions, needs): (&str, &str, &str),
    services: &[&str],
) -> Option<String> {
    let seen = words(conditions);
    if seen.len() < 3 {
        return Some(format!(
            "\"{}\" does not say what users see",
            conditions.trim()
        ));
    }
    let lower = conditions.to_lowercase();
    let names_something = seen
        .iter()
        .any(|w| USER_FACING.contains(&singular(w)) || USER_FACING.contains(&w.as_str()))
        || services
            .iter()
            .any(|s| !s.is_empty() && lower.contains(&s.to_lowercase()));
    if !names_something {
        return Some(format!(
            "\"{}\" names no service or function users reach",
            conditions.trim()
        ));
    }
    if words(actions).len() < 2 {
        return Some(format!(
            "\"{}\" does not say what is being done",
            actions.trim()
        ));
    }
    if words(needs).is_empty() {
        return Some(format!(
            "\"{}\" does not say what is needed (\"nothing\" is an answer)",
            needs.trim()
        ));
    }
    None
}

/// The first sentence of `text` that blames someone, with why: a judgemental word, or a
/// person's name in a sentence about the cause.
pub fn blame(text: &str, people: &[&str]) -> Option<String> {
    for sentence in text.split(['.', '!', '?', '\n']).map(str::trim) {
        let lower = sentence.to_lowercase();
        if let Some(word) = JUDGEMENTAL.iter().find(|w| lower.contains(*w)) {
            return Some(format!(
                "(\"{word}\"): \"{sentence}\" judges people, not systems"
            ));
        }
        let said = words(sentence);
        let named = people.iter().find(|person| {
            let name = words(person);
            !name.is_empty() && name.iter().all(|part| said.contains(part))
        });
        if let Some(person) = named
            && CAUSAL.iter().any(|w| lower.contains(*w))
        {
            return Some(format!(
                "(a person named): \"{sentence}\" puts the cause on {person}; name the system and the process"
            ));
        }
    }
    None
}

/// The first budget figure of `text` that is not the timeline's `spent` share, quoted with
/// its clause. The figure of a clause is the percentage nearest the word "budget"; it is
/// right within a percentage point or a quarter of itself.
pub fn wrong_budget_figure(text: &str, spent: f64) -> Option<String> {
    for clause in text.split(['.', '!', '?', '\n', ';']).map(str::trim) {
        let Some(budget) = clause.to_lowercase().find("budget") else {
            continue;
        };
        let nearest = clause
            .match_indices('%')
            .map(|(at, _)| at)
            .min_by_key(|at| at.abs_diff(budget));
        let Some(at) = nearest else {
            continue;
        };
        // The digits run back from the sign; what precedes them may be any character.
        let start = clause[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let digits = &clause[start..at];
        let Ok(figure) = digits.parse::<f64>() else {
            continue;
        };
        if (figure / 100.0 - spent).abs() > 0.01_f64.max(0.25 * spent) {
            return Some(format!(
                "\"{clause}\" says {digits}% of the budget; the incident spent {:.1}%",
                spent * 100.0
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handoff_says_what_is_going_on_what_was_done_and_what_is_left() {
        let services = ["web", "api"];
        let slos = ["web-availability".to_string()];
        let flag_off = crate::remediation::Remediation::DisableFlag {
            service: "api".into(),
            flag: "dynamic-pricing".into(),
        };
        let complete = "web-availability has 2.7% budget left; I turned dynamic-pricing off on the api; next: watch errors";
        assert!(handoff_gaps(complete, &services, &slos, &[&flag_off]).is_empty());
        // Nothing said about what is going on, nor what to do next.
        let thin = "disabled the flag on api";
        assert_eq!(
            handoff_gaps(thin, &services, &slos, &[&flag_off]).len(),
            1,
            "api names the service: only the next step is missing"
        );
        let vague = "all good, had a quiet night";
        assert_eq!(handoff_gaps(vague, &services, &slos, &[&flag_off]).len(), 3);
        // With no change made, saying so is what was done.
        assert!(
            handoff_gaps(
                "web quiet, no change made; keep an eye on the ticket",
                &services,
                &slos,
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn updates_must_say_what_users_see_and_what_is_done() {
        let services = ["checkout", "payment-gateway"];
        let good = (
            "About a quarter of checkouts fail since 14:05.",
            "Rolling back the checkout release v2.4.0.",
            "Nothing from other teams yet.",
        );
        assert_eq!(update_problem(good, &services), None);
        let named_service = (
            "payment-gateway answers slowly.",
            "Shedding load at the door.",
            "Nothing.",
        );
        assert_eq!(update_problem(named_service, &services), None);
        assert_eq!(
            update_problem(("x", "x", "x"), &services).unwrap(),
            "\"x\" does not say what users see"
        );
        assert!(
            update_problem(
                ("Things are bad now.", "Fixing it now quickly.", "No."),
                &services
            )
            .unwrap()
            .contains("names no service or function")
        );
        assert!(
            update_problem(("Checkout fails for everyone.", "x", "Nothing."), &services)
                .unwrap()
                .contains("\"x\" does not say what is being done")
        );
    }

    #[test]
    fn blame_is_quoted_with_its_sentence() {
        let people = ["alice", "bob"];
        assert_eq!(
            blame("The release had a bug. We rolled back.", &people),
            None
        );
        assert_eq!(
            blame("Bob was sloppy and negligent. It broke.", &people).unwrap(),
            "(\"sloppy\"): \"Bob was sloppy and negligent\" judges people, not systems"
        );
        assert_eq!(
            blame("Checkout failed because Alice deployed on Friday.", &people).unwrap(),
            "(a person named): \"Checkout failed because Alice deployed on Friday\" puts the cause on alice; name the system and the process"
        );
        // A name without a cause is not blame: thanking someone is fine.
        assert_eq!(blame("Alice spotted the page early.", &people), None);
    }

    #[test]
    fn budget_figures_are_checked_against_the_timeline() {
        let impact = "About 25% of checkout requests failed; 8% of the 30-day error budget.";
        assert_eq!(
            wrong_budget_figure(impact, 0.028).unwrap(),
            "\"8% of the 30-day error budget\" says 8% of the budget; the incident spent 2.8%"
        );
        assert_eq!(wrong_budget_figure(impact, 0.075), None);
        // Percentages outside a budget sentence are not budget figures.
        assert_eq!(wrong_budget_figure("25% of requests failed.", 0.5), None);
        // Whatever stands before the figure, even a character of several bytes.
        assert!(
            wrong_budget_figure("budget: €9%", 0.5)
                .unwrap()
                .contains("says 9%")
        );
        assert_eq!(wrong_budget_figure("budget: €%", 0.5), None);
    }
}
