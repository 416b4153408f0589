//! The briefing before the shift: the scenario's story and what is expected of the player.

use bevy::prelude::*;
use bevy_egui::egui::{self, RichText, Ui};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use super::{Screen, root};
use crate::scenario::Scenario;
use crate::ui::Game;
use crate::ui::panels::{MUTED, clock_hms};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        EguiPrimaryContextPass,
        draw.run_if(in_state(Screen::Briefing)),
    );
}

fn draw(mut contexts: EguiContexts, mut game: NonSendMut<Game>) -> Result {
    let mut root = root(contexts.ctx_mut()?);
    egui::CentralPanel::default().show(&mut root, |ui| {
        if let Some(session) = &game.session
            && briefing(ui, &session.scenario)
        {
            game.begin_shift();
        }
    });
    Ok(())
}

/// The briefing before the shift starts; true when the player starts.
pub fn briefing(ui: &mut Ui, scenario: &Scenario) -> bool {
    let mut start = false;
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.label(RichText::new(&scenario.name).size(30.0).strong());
        ui.add_space(12.0);
        let briefing = scenario
            .incident
            .as_ref()
            .map(|i| i.briefing.clone())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| scenario.description.clone());
        ui.label(RichText::new(briefing).size(16.0));
        ui.add_space(12.0);
        ui.label(RichText::new(format!(
            "{} services, {} SLO(s), a {} shift. You are on call: acknowledge pages, look before you act, \
             mitigate first, keep stakeholders informed, verify before you resolve.",
            scenario.services.len(),
            scenario.slos.len(),
            clock_hms(scenario.duration.get())
        )).color(MUTED));
        ui.add_space(24.0);
        if ui.button(RichText::new("Start the shift").size(20.0).strong()).clicked() {
            start = true;
        }
    });
    start
}
