//! The catalog is what authors copy from: every example in it must load as written, and
//! every fault kind and remediation must be in it.

use firedrill::incident::load_script;
use firedrill::session::load_str;

const FLEET: &str = r#"
    services: [
        (name: "gateway", calls: [(to: "web"), (to: "auth")]),
        (name: "web", instances: 3, max_instances: 6, memory: (limit_mb: 2048.0),
         autoscale: (min: 2, max: 6, target_cpu: 0.6),
         calls: [(to: "catalog"), (to: "api"), (to: "recommendations", optional: true)]),
        (name: "api", calls: [(to: "emails")]),
        (name: "emails", kind: Queue, calls: [(to: "mailer")]),
        (name: "mailer"),
        (name: "auth"),
        (name: "catalog", calls: [(to: "product-cache")]),
        (name: "product-cache", kind: Cache(hit_ratio: 0.9), calls: [(to: "orders-db")]),
        (name: "recommendations"),
        (name: "checkout", calls: [(to: "payment"), (to: "orders-db")]),
        (name: "payment", kind: External),
        (name: "orders-db", kind: Database(pool: 10), instances: 2, failover: ()),
    ],
    traffic: [(name: "shoppers", to: "gateway", rate: 10.0), (to: "checkout", rate: 1.0)],
    zones: ["a", "b"],
    slos: [(name: "checkout-availability", service: "checkout", objective: 99.9)],
    duration: "30m","#;

#[test]
fn every_fault_example_loads_and_every_kind_is_listed() {
    for entry in firedrill::faults::CATALOG {
        let text = format!("(name: \"catalog\", {FLEET} faults: [{}])", entry.example);
        let loaded =
            load_str("catalog.ron", &text).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        assert_eq!(loaded.scenario.faults[0].kind.label(), entry.name);
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            entry.name,
            loaded.warnings
        );
    }
    assert_eq!(
        firedrill::faults::CATALOG.len(),
        29,
        "a new fault kind needs its catalog entry"
    );
}

#[test]
fn every_remediation_example_loads_and_every_one_is_listed() {
    let scenario = load_str("catalog.ron", &format!("(name: \"catalog\", {FLEET})"))
        .unwrap()
        .scenario;
    for entry in firedrill::remediation::CATALOG {
        let actions = load_script("actions.ron", &format!("[{}]", entry.example), &scenario)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        match &actions[0].command {
            firedrill::incident::Command::Apply(remediation) => {
                assert_eq!(remediation.label(), entry.name)
            }
            other => panic!("{}: not a remediation: {other:?}", entry.name),
        }
    }
    assert_eq!(
        firedrill::remediation::CATALOG.len(),
        28,
        "a new remediation needs its catalog entry"
    );
}

#[test]
fn every_command_example_loads() {
    let scenario = load_str("catalog.ron", &format!("(name: \"catalog\", {FLEET})"))
        .unwrap()
        .scenario;
    let labels: Vec<&str> = firedrill::incident::CATALOG
        .iter()
        .map(|(example, _)| {
            let entries = load_script("actions.ron", &format!("[{example}]"), &scenario)
                .unwrap_or_else(|e| panic!("{example}: {e}"));
            entries[0].command.label()
        })
        .collect();
    for label in [
        "Acknowledge",
        "Look",
        "Declare",
        "TakeRole",
        "Assign",
        "Update",
        "Apply",
        "Hypothesis",
        "Escalate",
        "Mitigated",
        "Resolve",
        "Postmortem",
    ] {
        assert!(labels.contains(&label), "no catalog example for {label}");
    }
}
