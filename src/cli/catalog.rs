//! `firedrill catalog`: every fault kind, command and remediation, with an example of each.

/// Fault kinds and remediations, as `firedrill catalog` prints them.
pub fn catalog() -> String {
    let mut out = String::from(
        "FAULTS (scenario `faults: [...]`; start: At(t) | Between(t1, t2) | When(P99Above(..) | ErrorRatioAbove(..) | RpsAbove(..)); duration optional)\n",
    );
    for f in crate::faults::CATALOG {
        out.push_str(&format!(
            "\n  {}  [target: {}]\n    {}\n    {}\n",
            f.name, f.target, f.description, f.example
        ));
    }
    out.push_str("\nCOMMANDS (action scripts: firedrill run SCENARIO --script ACTIONS.ron, a list of these lines; by: \"name\" is optional)\n");
    for (example, description) in crate::incident::CATALOG {
        out.push_str(&format!("\n  {description}\n    {example}\n"));
    }
    out.push_str("\nREMEDIATIONS (the commands' Apply(...))\n");
    for r in crate::remediation::CATALOG {
        out.push_str(&format!(
            "\n  {}  [takes effect: {}]\n    {}\n    {}\n",
            r.name, r.delay, r.description, r.example
        ));
    }
    out
}
