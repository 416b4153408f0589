//! A pager you can hear: a chirp when a page opens, an urgent one when a page escalates.
//! The sounds are ours, synthesised by `tests/pager_sound.rs` into `assets/sounds/`.
//!
//! Left out entirely with `--mute` (no audio plugin is added); without an audio device,
//! Bevy's audio output logs a warning and the game plays on in silence.

use std::collections::BTreeSet;

use bevy::prelude::*;

use super::Game;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, load_sounds)
        .add_systems(Update, sound_the_pager);
}

#[derive(Resource)]
struct Sounds {
    page: Handle<AudioSource>,
    escalation: Handle<AudioSource>,
}

fn load_sounds(mut commands: Commands, server: Res<AssetServer>) {
    commands.insert_resource(Sounds {
        page: server.load("sounds/page.wav"),
        escalation: server.load("sounds/escalation.wav"),
    });
}

/// What the pager says aloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alarm {
    Page,
    Escalation,
}

/// The pages already sounded in the session, by alert and the second each opened.
#[derive(Default)]
pub struct Heard {
    session: u64,
    opened: BTreeSet<(String, u64)>,
    escalated: BTreeSet<(String, u64)>,
}

/// A page as the pager hears it: its alert, when it opened, whether it escalated.
pub struct Ringing<'a> {
    pub alert: &'a str,
    pub opened_s: f64,
    pub escalated: bool,
}

impl Heard {
    /// The alarm for what is new since the last call, if anything (an escalation before a
    /// page: one sound a frame, the more urgent), and remembers it as heard.
    pub fn news<'a>(
        &mut self,
        session: u64,
        pages: impl IntoIterator<Item = Ringing<'a>>,
    ) -> Option<Alarm> {
        if session != self.session {
            *self = Heard {
                session,
                ..Heard::default()
            };
        }
        let mut alarm = None;
        for page in pages {
            let key = (page.alert.to_string(), page.opened_s.to_bits());
            if page.escalated && self.escalated.insert(key.clone()) {
                alarm = Some(Alarm::Escalation);
            }
            if self.opened.insert(key) && alarm.is_none() {
                alarm = Some(Alarm::Page);
            }
        }
        alarm
    }
}

fn sound_the_pager(
    game: NonSend<Game>,
    sounds: Res<Sounds>,
    mut heard: Local<Heard>,
    mut commands: Commands,
) {
    let Some(session) = &game.session else {
        return;
    };
    let pagers = session
        .sim
        .slos()
        .iter()
        .map(|slo| (slo.spec.name.as_str(), &slo.pager))
        .chain(
            session
                .sim
                .threshold_alerts()
                .iter()
                .map(|alert| (alert.spec.name.as_str(), &alert.pager)),
        );
    let pages = pagers.flat_map(|(alert, pager)| {
        pager.pages.iter().map(move |page| Ringing {
            alert,
            opened_s: page.opened_s,
            escalated: page.escalated_s.is_some(),
        })
    });
    // Heard even when muted, so unmuting does not replay what already went by.
    let Some(alarm) = heard.news(game.sessions_started, pages) else {
        return;
    };
    if game.muted {
        return;
    }
    let sound = match alarm {
        Alarm::Page => sounds.page.clone(),
        Alarm::Escalation => sounds.escalation.clone(),
    };
    commands.spawn((AudioPlayer::new(sound), PlaybackSettings::DESPAWN));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ringing(alert: &str, opened_s: f64, escalated: bool) -> Ringing<'_> {
        Ringing {
            alert,
            opened_s,
            escalated,
        }
    }

    #[test]
    fn each_page_and_each_escalation_sounds_once_per_session() {
        let mut heard = Heard::default();
        assert_eq!(heard.news(1, []), None);
        assert_eq!(
            heard.news(1, [ringing("api", 300.0, false)]),
            Some(Alarm::Page)
        );
        assert_eq!(heard.news(1, [ringing("api", 300.0, false)]), None);
        // The same alert paging again later is a new page.
        let again = [ringing("api", 300.0, false), ringing("api", 900.0, false)];
        assert_eq!(heard.news(1, again), Some(Alarm::Page));
        // Escalation outranks a page opening in the same frame.
        let both = [ringing("api", 300.0, true), ringing("db", 950.0, false)];
        assert_eq!(heard.news(1, both), Some(Alarm::Escalation));
        let both = [ringing("api", 300.0, true), ringing("db", 950.0, false)];
        assert_eq!(heard.news(1, both), None, "both were heard");
        // A new session starts with nothing heard.
        assert_eq!(
            heard.news(2, [ringing("api", 300.0, false)]),
            Some(Alarm::Page)
        );
    }
}
