//! Stakeholders: the people around an incident who write in the chat. The built-in ones
//! behave as they do in real incidents (support relays customer reports a few minutes
//! after the page; a manager asks for an ETA after 20 minutes without an update); a
//! scenario adds its own, on a timeline or on conditions, and may mute the built-in ones.

use serde::Serialize;

use crate::faults::FaultTimeline;
use crate::scenario::{ChatSpec, MessageKind, MessageSpec, MessageTrigger, Seconds};

/// A line of the chat feed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Message {
    pub at_s: f64,
    pub from: String,
    pub text: String,
    pub kind: MessageKind,
}

/// What triggers look at, once a second.
pub struct ChatContext<'a> {
    pub now: f64,
    /// The first page, and the service its alert watches.
    pub first_page: Option<(f64, String)>,
    pub declared_s: Option<f64>,
    pub last_update_s: Option<f64>,
    /// The incident is not resolved.
    pub open: bool,
    /// The lowest remaining budget share of any SLO.
    pub budget_left: f64,
    pub faults: &'a FaultTimeline,
}

/// The scenario's messages and which have been sent.
#[derive(Clone, Debug)]
pub struct Stakeholders {
    specs: Vec<MessageSpec>,
    /// When each message was last sent.
    sent: Vec<Option<f64>>,
}

/// The built-in stakeholders; `{service}` is the paged service.
fn built_in() -> Vec<MessageSpec> {
    vec![
        MessageSpec {
            from: "Support".to_string(),
            text:
                "Customers are writing in about {service}: some of them get errors. Is this known?"
                    .to_string(),
            when: MessageTrigger::AfterPage(Seconds(180.0)),
            kind: MessageKind::Info,
        },
        MessageSpec {
            from: "Engineering manager".to_string(),
            text: "No update for 20 minutes: what is the status, and is there an ETA?".to_string(),
            when: MessageTrigger::NoUpdateFor(Seconds(1200.0)),
            kind: MessageKind::Info,
        },
    ]
}

impl Stakeholders {
    pub fn new(chat: &ChatSpec) -> Self {
        let mut specs = if chat.defaults {
            built_in()
        } else {
            Vec::new()
        };
        specs.extend(chat.messages.iter().cloned());
        Self {
            sent: vec![None; specs.len()],
            specs,
        }
    }

    /// The messages due at `context.now`.
    pub fn due(&mut self, context: &ChatContext) -> Vec<Message> {
        let now = context.now;
        let mut out = Vec::new();
        for (spec, sent) in self.specs.iter().zip(self.sent.iter_mut()) {
            let due = match &spec.when {
                _ if sent.is_some() && !matches!(spec.when, MessageTrigger::NoUpdateFor(_)) => {
                    false
                }
                MessageTrigger::At(at) => now >= at.get(),
                MessageTrigger::AfterPage(delay) => context
                    .first_page
                    .as_ref()
                    .is_some_and(|(t, _)| now >= t + delay.get()),
                MessageTrigger::AfterFault(name, delay) => context
                    .faults
                    .faults
                    .iter()
                    .filter(|f| &f.name == name)
                    .filter_map(|f| f.started_at)
                    .any(|t| now >= t + delay.get()),
                MessageTrigger::NoUpdateFor(silence) => match context.declared_s {
                    Some(declared) if context.open => {
                        let since = [Some(declared), context.last_update_s, *sent]
                            .into_iter()
                            .flatten()
                            .fold(declared, f64::max);
                        now - since >= silence.get()
                    }
                    _ => false,
                },
                MessageTrigger::BudgetBelow(share) => context.budget_left < *share,
            };
            if due {
                *sent = Some(now);
                let service = context.first_page.as_ref().map_or("the service", |p| &p.1);
                out.push(Message {
                    at_s: now,
                    from: spec.from.clone(),
                    text: spec.text.replace("{service}", service),
                    kind: spec.kind,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(faults: &FaultTimeline, now: f64) -> ChatContext<'_> {
        ChatContext {
            now,
            first_page: Some((100.0, "checkout".to_string())),
            declared_s: Some(120.0),
            last_update_s: None,
            open: true,
            budget_left: 0.5,
            faults,
        }
    }

    #[test]
    fn support_writes_three_minutes_after_the_page_once() {
        let faults = FaultTimeline::default();
        let mut chat = Stakeholders::new(&ChatSpec::default());
        assert!(chat.due(&context(&faults, 279.0)).is_empty());
        let sent = chat.due(&context(&faults, 280.0));
        assert_eq!(sent.len(), 1);
        assert!(sent[0].text.contains("checkout"), "{}", sent[0].text);
        assert!(chat.due(&context(&faults, 281.0)).is_empty());
    }

    #[test]
    fn the_manager_asks_after_each_twenty_silent_minutes() {
        let faults = FaultTimeline::default();
        let mut chat = Stakeholders::new(&ChatSpec::default());
        let asks = |chat: &mut Stakeholders, now: f64, update: Option<f64>| {
            let mut c = context(&faults, now);
            c.last_update_s = update;
            chat.due(&c)
                .iter()
                .filter(|m| m.from == "Engineering manager")
                .count()
        };
        assert_eq!(asks(&mut chat, 1319.0, None), 0);
        assert_eq!(asks(&mut chat, 1320.0, None), 1, "20 min after declaring");
        assert_eq!(asks(&mut chat, 1321.0, None), 0);
        // An update at 30 min: the next question comes 20 min after it.
        assert_eq!(asks(&mut chat, 2999.0, Some(1800.0)), 0);
        assert_eq!(asks(&mut chat, 3000.0, Some(1800.0)), 1);
    }

    #[test]
    fn a_scenario_can_mute_the_built_in_stakeholders() {
        let faults = FaultTimeline::default();
        let spec = ChatSpec {
            defaults: false,
            messages: vec![MessageSpec {
                from: "Colleague".to_string(),
                text: "Probably DNS again?".to_string(),
                when: MessageTrigger::At(Seconds(60.0)),
                kind: MessageKind::RedHerring,
            }],
        };
        let mut chat = Stakeholders::new(&spec);
        let all: Vec<Message> = (0..4000)
            .flat_map(|t| chat.due(&context(&faults, t as f64)))
            .collect();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].at_s, all[0].kind), (60.0, MessageKind::RedHerring));
    }
}
