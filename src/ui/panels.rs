//! The control room's panels: plain functions from view models (and the panel's own form
//! state) to the commands the player issued. Nothing here touches the simulation, so every
//! panel can be tested through egui's accessibility tree.

use bevy_egui::egui::{self, Align2, Color32, FontId, RichText, Sense, Stroke, Ui, vec2};
use egui_plot::{HLine, Line, Plot, VLine};

use super::model::{ControlRoom, Dashboard, Health, PageView, Range, RunbookView, SloView};
use crate::incident::stakeholders::Message;
use crate::incident::{Audience, Command, Entry, Phase, Role, View};
use crate::remediation::Remediation;
use crate::scenario::{IncidentSeverity, MessageKind};

pub const RED: Color32 = Color32::from_rgb(0xe5, 0x48, 0x4d);
pub const AMBER: Color32 = Color32::from_rgb(0xf5, 0xa5, 0x24);
pub const GREEN: Color32 = Color32::from_rgb(0x3f, 0xb9, 0x50);
pub const BLUE: Color32 = Color32::from_rgb(0x5b, 0x9b, 0xf0);
pub const MUTED: Color32 = Color32::from_rgb(0x8b, 0x94, 0x9e);

pub fn health_color(health: Health) -> Color32 {
    match health {
        Health::Ok => GREEN,
        Health::Degraded => AMBER,
        Health::Failing => RED,
    }
}

/// Simulated seconds per real second the player can pick; 0 is paused.
pub const SPEEDS: [f64; 5] = [0.0, 1.0, 5.0, 20.0, 60.0];

/// The header: the simulated clock, the incident's phase and the time controls.
/// The header: scenario, clock, phase and the speed controls (`speed` is `Err` at someone
/// else's table, where the host's clock rules: the speed is shown, not set).
pub fn top_bar(ui: &mut Ui, room: &ControlRoom, speed: Result<&mut f64, f64>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("firedrill").strong().color(AMBER));
        ui.separator();
        ui.label(RichText::new(&room.scenario).strong());
        ui.separator();
        ui.label(
            RichText::new(format!(
                "T+{} / {}",
                clock_hms(room.now_s),
                clock_hms(room.duration_s)
            ))
            .font(FontId::monospace(16.0)),
        );
        ui.separator();
        let (text, color) = match room.phase {
            Phase::Quiet => ("quiet".to_string(), GREEN),
            Phase::Paged => ("PAGED".to_string(), RED),
            Phase::Declared => (
                format!(
                    "INCIDENT {}",
                    room.severity.map(|s| s.to_string()).unwrap_or_default()
                ),
                RED,
            ),
            Phase::Mitigated => ("mitigated, verifying".to_string(), AMBER),
            Phase::Resolved => ("resolved".to_string(), GREEN),
        };
        ui.label(RichText::new(text).strong().color(color));
        ui.with_layout(
            egui::Layout::right_to_left(egui::Align::Center),
            |ui| match speed {
                Ok(speed) => {
                    for s in SPEEDS.iter().rev() {
                        let label = if *s == 0.0 {
                            "pause".to_string()
                        } else {
                            format!("{s}x")
                        };
                        if ui.selectable_label(*speed == *s, label).clicked() {
                            *speed = *s;
                        }
                    }
                    ui.label("speed");
                }
                Err(hosts) => {
                    // The host sets the pace; with a game master at the table, they do.
                    let who = if room.roles.iter().any(|(_, r)| *r == Role::GameMaster) {
                        "the game master"
                    } else {
                        "the host"
                    };
                    ui.label(if hosts == 0.0 {
                        format!("paused by {who}")
                    } else {
                        format!("{hosts}x, set by {who}")
                    });
                }
            },
        );
    });
}

/// A span for people: "44s", "12m30s", "15h48m", "262 days".
pub fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..172_800 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{} days", s / 86_400),
    }
}

/// "01:23:45" from seconds.
pub fn clock_hms(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The pager: open pages, loud while unacknowledged, with their escalation countdown.
pub fn pager(ui: &mut Ui, pages: &[PageView], now_s: f64) -> Option<Command> {
    let mut command = None;
    if pages.is_empty() {
        ui.label(RichText::new("No open pages").color(MUTED));
        return None;
    }
    for page in pages {
        let ringing = !page.acknowledged;
        // Unacknowledged pages blink, twice a second of real time.
        let blink = ringing && (ui.input(|i| i.time) * 2.0) as i64 % 2 == 0;
        let fill = if ringing {
            if blink {
                Color32::from_rgb(0x8a, 0x1c, 0x1f)
            } else {
                Color32::from_rgb(0x5c, 0x12, 0x14)
            }
        } else {
            Color32::from_rgb(0x2a, 0x2f, 0x36)
        };
        egui::Frame::new()
            .fill(fill)
            .stroke(Stroke::new(2.0, if ringing { RED } else { MUTED }))
            .inner_margin(8.0)
            .corner_radius(4.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(if ringing { "PAGE" } else { "ack'd" })
                            .strong()
                            .color(if ringing { Color32::WHITE } else { MUTED }),
                    );
                    ui.label(RichText::new(&page.alert).strong());
                    ui.label(format!("since {}", span(now_s - page.opened_s)));
                });
                match page.escalates_in_s {
                    Some(left) if left > 0.0 => {
                        ui.label(
                            RichText::new(format!("escalates in {}", span(left)))
                                .color(Color32::WHITE),
                        );
                    }
                    Some(_) => {
                        ui.label(
                            RichText::new("ESCALATED: the secondary was paged")
                                .color(Color32::WHITE),
                        );
                    }
                    None => {}
                }
                if !page.runbook.is_empty() {
                    ui.label(RichText::new(format!("runbook: {}", page.runbook)).italics());
                }
                if let Some(runbook) = &page.steps {
                    runbook_steps(ui, runbook);
                }
                if ringing
                    && ui
                        .button(RichText::new(format!("Acknowledge {}", page.alert)).strong())
                        .clicked()
                {
                    command = Some(Command::Acknowledge {
                        alert: page.alert.clone(),
                    });
                }
            });
    }
    command
}

/// The public incident a scenario is drawn from, in small print (nothing if unknown).
pub fn drawn_from(ui: &mut Ui, precedent: &str) {
    if !precedent.is_empty() {
        ui.label(
            RichText::new(format!("Drawn from: {precedent}"))
                .small()
                .italics()
                .color(MUTED),
        );
    }
}

/// A runbook's steps under its page: a tick once a command has done what a step says, and
/// the step's link.
fn runbook_steps(ui: &mut Ui, runbook: &RunbookView) {
    let updated = if runbook.updated.is_empty() {
        String::new()
    } else {
        format!(" (last reviewed {})", runbook.updated)
    };
    ui.label(
        RichText::new(format!("Runbook: {}{updated}", runbook.title))
            .strong()
            .color(Color32::WHITE),
    );
    for (n, (text, link, followed)) in runbook.steps.iter().enumerate() {
        ui.horizontal_wrapped(|ui| {
            let mark = if *followed { "✔" } else { "·" };
            ui.label(RichText::new(format!("{mark} {}. {text}", n + 1)).color(Color32::WHITE));
            if let Some(link) = link {
                ui.hyperlink_to(RichText::new("link").small(), link);
            }
        });
    }
}

/// The call graph, laid out by depth, coloured by health; clicking a service opens its
/// dashboard (and records the look).
pub fn service_map(
    ui: &mut Ui,
    room: &ControlRoom,
    selected: &mut Option<usize>,
) -> Option<Command> {
    let depth = room.services.iter().map(|s| s.depth).max().unwrap_or(0) + 1;
    let height = 64.0 * depth as f32 + 10.0;
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    let node = vec2(118.0, 34.0);
    let mut centers = vec![egui::Pos2::ZERO; room.services.len()];
    for level in 0..depth {
        let row: Vec<usize> = (0..room.services.len())
            .filter(|&s| room.services[s].depth == level)
            .collect();
        for (k, &s) in row.iter().enumerate() {
            let x = rect.left() + rect.width() * (k as f32 + 0.5) / row.len() as f32;
            let y = rect.top() + 24.0 + 64.0 * level as f32;
            centers[s] = egui::pos2(x, y);
        }
    }
    for (s, service) in room.services.iter().enumerate() {
        for &callee in &service.calls {
            let color = match room.services[callee].health {
                Health::Ok => Color32::from_gray(90),
                other => health_color(other),
            };
            let width = 1.0 + (room.services[callee].rps.max(1.0).log10() as f32).min(3.0);
            painter.line_segment([centers[s], centers[callee]], Stroke::new(width, color));
        }
    }
    let mut command = None;
    for (s, service) in room.services.iter().enumerate() {
        let r = egui::Rect::from_center_size(centers[s], node);
        let color = health_color(service.health);
        let fill = if *selected == Some(s) {
            Color32::from_rgb(0x30, 0x3a, 0x48)
        } else {
            Color32::from_rgb(0x1e, 0x23, 0x2a)
        };
        painter.rect(
            r,
            5.0,
            fill,
            Stroke::new(2.0, color),
            egui::StrokeKind::Inside,
        );
        painter.text(
            r.center() - vec2(0.0, 7.0),
            Align2::CENTER_CENTER,
            &service.name,
            FontId::proportional(12.0),
            Color32::WHITE,
        );
        painter.text(
            r.center() + vec2(0.0, 8.0),
            Align2::CENTER_CENTER,
            format!(
                "{:.0}/s {:.1}% {}",
                service.rps,
                service.error_ratio * 100.0,
                service.p99.map(short_latency).unwrap_or_default()
            ),
            FontId::monospace(9.5),
            color,
        );
        let response = ui.interact(r, ui.id().with(("node", s)), Sense::click());
        if response
            .on_hover_text(format!(
                "{} ({}): {}/{} healthy",
                service.name, service.kind, service.healthy, service.instances
            ))
            .clicked()
        {
            *selected = Some(s);
            command = Some(Command::Look(View::Red(service.name.clone())));
        }
    }
    command
}

pub fn short_latency(seconds: f64) -> String {
    if seconds.is_infinite() {
        crate::sim::histogram::describe_latency(seconds)
    } else if seconds < 1.0 {
        format!("{:.0}ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2}s")
    }
}

/// One time-series chart with hover values, deploy markers and an optional threshold.
fn chart(
    ui: &mut Ui,
    id: &str,
    title: &str,
    series: &[(&str, &[[f64; 2]], Color32)],
    threshold: Option<(f64, &str)>,
    deploys: &[(f64, String)],
    width: f32,
) {
    ui.vertical(|ui| {
        ui.set_width(width);
        ui.label(RichText::new(title).small().strong());
        Plot::new(id)
            .height(110.0)
            .width(width)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show_axes([true, true])
            .x_axis_formatter(|mark, _| clock_hms(mark.value))
            .label_formatter(|hover| match hover {
                egui_plot::HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => Some(format!(
                    "{plot_name}\nT+{}: {:.3}",
                    clock_hms(position.x),
                    position.y
                )),
                egui_plot::HoverPosition::Elsewhere { .. } => None,
            })
            .include_y(0.0)
            .show(ui, |plot| {
                for (name, points, color) in series {
                    plot.line(Line::new(*name, points.to_vec()).color(*color));
                }
                if let Some((y, name)) = threshold {
                    plot.hline(
                        HLine::new(name, y)
                            .color(RED)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                }
                for (t, version) in deploys {
                    plot.vline(VLine::new(format!("deploy {version}"), *t).color(BLUE));
                }
            });
    });
}

/// A service's dashboard: the RED row, then the saturation row.
pub fn dashboard(ui: &mut Ui, name: &str, d: &Dashboard, range: &mut Range) -> Option<Command> {
    let mut command = None;
    ui.horizontal(|ui| {
        ui.heading(name);
        ui.selectable_value(range, Range::FiveMinutes, "last 5 min");
        ui.selectable_value(range, Range::FiveMinutesRates, "1m rates")
            .on_hover_text(
                "Each point is the rate over the minute before it, as alert rules read it",
            );
        ui.selectable_value(range, Range::Run, "whole run");
        if ui
            .button("saturation")
            .on_hover_text("Look at the USE signals")
            .clicked()
        {
            command = Some(Command::Look(View::Saturation(name.to_string())));
        }
        if ui.button("logs").clicked() {
            command = Some(Command::Look(View::Logs(name.to_string())));
        }
        if ui.button("traces").clicked() {
            command = Some(Command::Look(View::Traces(name.to_string())));
        }
    });
    let width = (ui.available_width() / 3.0 - 8.0).max(120.0);
    ui.horizontal(|ui| {
        chart(
            ui,
            &format!("{name}-rps"),
            "requests / s",
            &[("rps", &d.rps, BLUE)],
            None,
            &d.deploys,
            width,
        );
        chart(
            ui,
            &format!("{name}-err"),
            "error ratio",
            &[("errors", &d.error_ratio, RED)],
            None,
            &d.deploys,
            width,
        );
        chart(
            ui,
            &format!("{name}-lat"),
            "latency p50 / p90 / p99 (s)",
            &[
                ("p50", &d.p50, GREEN),
                ("p90", &d.p90, AMBER),
                ("p99", &d.p99, RED),
            ],
            d.latency_threshold.map(|t| (t, "SLO threshold")),
            &d.deploys,
            width,
        );
    });
    ui.horizontal(|ui| {
        chart(
            ui,
            &format!("{name}-cpu"),
            "CPU (share of cores)",
            &[("cpu", &d.cpu, AMBER)],
            Some((1.0, "saturated")),
            &d.deploys,
            width,
        );
        chart(
            ui,
            &format!("{name}-mem"),
            "memory, fullest instance (MB)",
            &[("memory", &d.memory_mb, BLUE)],
            d.memory_limit_mb.map(|l| (l, "OOM limit")),
            &d.deploys,
            width,
        );
        chart(
            ui,
            &format!("{name}-q"),
            "queue / healthy instances / disk",
            &[
                ("queue", &d.queue, AMBER),
                ("healthy", &d.healthy, GREEN),
                ("disk used", &d.disk, MUTED),
            ],
            None,
            &d.deploys,
            width,
        );
    });
    command
}

/// The SLOs: SLI, budget gauge, burn rates, time to exhaustion, the firing window.
pub fn slo_panel(ui: &mut Ui, slos: &[SloView]) -> Option<Command> {
    let mut command = None;
    for slo in slos {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.link(RichText::new(&slo.name).strong()).clicked() {
                    command = Some(Command::Look(View::Slo(slo.name.clone())));
                }
                ui.label(format!("{} {}%", slo.service, slo.objective));
            });
            let color = if slo.budget_left <= 0.0 {
                RED
            } else if slo.budget_left < 0.25 {
                AMBER
            } else {
                GREEN
            };
            ui.add(
                egui::ProgressBar::new(slo.budget_left.clamp(0.0, 1.0) as f32)
                    .fill(color)
                    .text(format!("budget left {:.1}%", slo.budget_left * 100.0)),
            );
            ui.label(
                RichText::new(format!(
                    "SLI 5m {:.3}%   burn 5m {:.1}x  1h {:.1}x  6h {:.1}x",
                    slo.sli_5m.max(0.0) * 100.0,
                    slo.burn_5m,
                    slo.burn_1h,
                    slo.burn_6h
                ))
                .monospace()
                .small(),
            );
            // Beyond a few days the rate says nothing urgent.
            if let Some(left) = slo.exhausted_in_s.filter(|l| *l < 3.0 * 86_400.0) {
                ui.label(
                    RichText::new(format!("budget gone in {} at the 1h burn rate", span(left)))
                        .color(AMBER),
                );
            }
            if slo.budget_left <= 0.0 {
                ui.label(
                    RichText::new("BUDGET EXHAUSTED: change freeze")
                        .color(RED)
                        .strong(),
                );
            }
            if let Some(row) = &slo.firing {
                ui.label(RichText::new(format!("firing: {row}")).color(RED).strong());
            }
        });
    }
    command
}

/// The stakeholders' chat feed, newest last.
pub fn chat(ui: &mut Ui, messages: &[Message]) {
    egui::ScrollArea::vertical()
        .id_salt("chat")
        .stick_to_bottom(true)
        .max_height(ui.available_height())
        .show(ui, |ui| {
            if messages.is_empty() {
                ui.label(RichText::new("No messages").color(MUTED));
            }
            for m in messages {
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        RichText::new(clock_hms(m.at_s))
                            .monospace()
                            .small()
                            .color(MUTED),
                    );
                    let color = match m.kind {
                        MessageKind::Noise => MUTED,
                        _ => BLUE,
                    };
                    ui.label(RichText::new(&m.from).strong().color(color));
                    ui.label(&m.text);
                });
            }
        });
}

/// Log filter and search state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogFilter {
    pub service: Option<usize>,
    pub errors_only: bool,
    pub search: String,
}

/// Logs of one service, filterable by level and searchable.
pub fn logs(
    ui: &mut Ui,
    services: &[String],
    lines: &[String],
    filter: &mut LogFilter,
) -> Option<Command> {
    let mut command = None;
    ui.horizontal(|ui| {
        let current = filter
            .service
            .and_then(|s| services.get(s))
            .cloned()
            .unwrap_or_else(|| "choose a service".to_string());
        egui::ComboBox::from_id_salt("log-service")
            .selected_text(current)
            .show_ui(ui, |ui| {
                for (s, name) in services.iter().enumerate() {
                    if ui
                        .selectable_label(filter.service == Some(s), name)
                        .clicked()
                    {
                        filter.service = Some(s);
                        command = Some(Command::Look(View::Logs(name.clone())));
                    }
                }
            });
        ui.checkbox(&mut filter.errors_only, "errors and warnings only");
        ui.add(
            egui::TextEdit::singleline(&mut filter.search)
                .hint_text("search")
                .desired_width(140.0),
        );
    });
    egui::ScrollArea::vertical()
        .id_salt("logs")
        .stick_to_bottom(true)
        .show(ui, |ui| {
            for line in lines.iter().filter(|l| {
                (!filter.errors_only || l.contains(" ERROR ") || l.contains(" WARN "))
                    && (filter.search.is_empty()
                        || l.to_lowercase().contains(&filter.search.to_lowercase()))
            }) {
                let color = if line.contains(" ERROR ") {
                    RED
                } else if line.contains(" WARN ") {
                    AMBER
                } else {
                    Color32::from_gray(200)
                };
                ui.label(RichText::new(line).monospace().small().color(color));
            }
        });
    command
}

/// The remediations a player can pick, with what each needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Service,
    Instance,
    Edge,
    Zone,
    Queue,
    Count,
    Size,
    Rps,
    Version,
    Flag,
    Retries,
}

/// What each remediation takes, besides its name.
pub fn needs(action: &str) -> &'static [Needs] {
    use Needs::*;
    match action {
        "RestartInstance" | "EjectInstance" | "RestoreInstance" | "PromoteReplica" => {
            &[Service, Instance]
        }
        "ShedLoad" => &[Service, Rps],
        "SetPool" => &[Service, Size],
        "ScaleOut" | "ScaleIn" => &[Service, Count],
        "RollForward" => &[Service, Version],
        "DisableFlag" => &[Service, Flag],
        "OpenCircuit" | "CloseCircuit" | "FixDns" => &[Edge],
        "TuneCalls" => &[Edge, Retries],
        "DrainZone" | "RestoreZone" => &[Zone],
        "PauseConsumers" | "ResumeConsumers" => &[Queue],
        _ => &[Service],
    }
}

/// The action panel's form.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionForm {
    pub action: String,
    pub target: String,
    pub instance: u32,
    pub count: u32,
    pub size: u32,
    pub rps: f64,
    pub version: String,
    pub flag: String,
    pub retries: u32,
    /// A destructive action waits for a second click.
    pub confirming: bool,
    pub error: Option<String>,
}

impl Default for ActionForm {
    fn default() -> Self {
        Self {
            action: "Rollback".to_string(),
            target: String::new(),
            instance: 0,
            count: 1,
            size: 10,
            rps: 100.0,
            version: String::new(),
            flag: String::new(),
            retries: 0,
            confirming: false,
            error: None,
        }
    }
}

impl ActionForm {
    /// The remediation the form describes, or what is missing: the catalog's example of
    /// the chosen remediation, its fields filled from the form.
    pub fn remediation(&self) -> Result<Remediation, String> {
        let target = self.target.trim();
        if target.is_empty() {
            return Err(format!("{} needs a target: choose one first", self.action));
        }
        let mut remediation = template(&self.action)?;
        self.fill(&mut remediation, target)?;
        Ok(remediation)
    }

    /// Puts the form's values into `remediation`'s fields. Every kind is named: a new
    /// remediation does not build until the form knows its fields.
    fn fill(&self, remediation: &mut Remediation, target: &str) -> Result<(), String> {
        let edge = || {
            crate::scenario::Edge::parse(target)
                .map(|edge| (edge.from.to_string(), edge.to.to_string()))
                .ok_or_else(|| "choose a call edge (caller->callee)".to_string())
        };
        match remediation {
            Remediation::RestartInstance { service, instance }
            | Remediation::EjectInstance { service, instance }
            | Remediation::RestoreInstance { service, instance }
            | Remediation::PromoteReplica { service, instance } => {
                *service = target.to_string();
                *instance = self.instance;
            }
            Remediation::RollingRestart { service }
            | Remediation::RestartAll { service }
            | Remediation::StopShedding { service }
            | Remediation::WarmCache { service }
            | Remediation::Rollback { service }
            | Remediation::FreeDisk { service }
            | Remediation::RotateCertificate { service }
            | Remediation::ResyncReplicas { service }
            | Remediation::DisableAutoscaler { service }
            | Remediation::EnableAutoscaler { service } => *service = target.to_string(),
            Remediation::ShedLoad { service, max_rps } => {
                *service = target.to_string();
                *max_rps = self.rps;
            }
            Remediation::SetPool { service, size } => {
                *service = target.to_string();
                *size = self.size;
            }
            Remediation::OpenCircuit { from, to }
            | Remediation::CloseCircuit { from, to }
            | Remediation::FixDns { from, to } => (*from, *to) = edge()?,
            Remediation::DisableFlag { service, flag } => {
                *service = target.to_string();
                *flag = self.flag.clone();
            }
            Remediation::RollForward { service, version } => {
                *service = target.to_string();
                *version = self.version.clone();
            }
            Remediation::DrainZone { zone } | Remediation::RestoreZone { zone } => {
                *zone = target.to_string();
            }
            Remediation::PauseConsumers { queue } | Remediation::ResumeConsumers { queue } => {
                *queue = target.to_string();
            }
            Remediation::ScaleOut { service, count } | Remediation::ScaleIn { service, count } => {
                *service = target.to_string();
                *count = self.count;
            }
            Remediation::TuneCalls {
                from,
                to,
                timeout,
                retries,
                backoff,
                honour_retry_after,
            } => {
                (*from, *to) = edge()?;
                *timeout = None;
                *retries = Some(self.retries);
                *backoff = None;
                *honour_retry_after = None;
            }
        }
        Ok(())
    }
}

/// The catalog's example of the remediation named `name`, as a value to fill.
fn template(name: &str) -> Result<Remediation, String> {
    let entry = crate::remediation::CATALOG
        .iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| format!("unknown remediation {name} (`firedrill catalog` lists them)"))?;
    match crate::scenario::ron_options().from_str::<Entry>(entry.example) {
        Ok(Entry {
            command: Command::Apply(remediation),
            ..
        }) => Ok(remediation),
        _ => Err(format!(
            "the catalog's example of {name} is not a remediation"
        )),
    }
}

/// The action panel: pick a remediation and its target; see its delay and risk; confirm a
/// destructive one. Returns the command once it is complete and confirmed.
/// A drop-down of `options` that shows `placeholder` until one is picked; whether the pick
/// changed.
pub fn pick(
    ui: &mut Ui,
    combo: egui::ComboBox,
    placeholder: &str,
    picked: &mut String,
    options: Vec<String>,
) -> bool {
    let mut changed = false;
    combo
        .selected_text(if picked.is_empty() {
            placeholder
        } else {
            picked.as_str()
        })
        .show_ui(ui, |ui| {
            for option in options {
                if ui.selectable_label(*picked == option, &option).clicked() {
                    changed = *picked != option;
                    *picked = option;
                }
            }
        });
    changed
}

pub fn actions(ui: &mut Ui, form: &mut ActionForm, room: &ControlRoom) -> Option<Command> {
    let mut command = None;
    egui::ComboBox::from_label("remediation")
        .selected_text(&form.action)
        .show_ui(ui, |ui| {
            for entry in crate::remediation::CATALOG {
                if ui
                    .selectable_label(form.action == entry.name, entry.name)
                    .clicked()
                {
                    form.action = entry.name.to_string();
                    form.target.clear();
                    form.confirming = false;
                    form.error = None;
                }
            }
        });
    let entry = crate::remediation::CATALOG
        .iter()
        .find(|e| e.name == form.action);
    if let Some(entry) = entry {
        ui.label(RichText::new(entry.description).small());
        ui.label(
            RichText::new(format!("takes effect: {}", entry.delay))
                .small()
                .color(MUTED),
        );
    }
    let targets: Vec<String> = match needs(&form.action).first() {
        Some(Needs::Edge) => room
            .services
            .iter()
            .flat_map(|s| s.calls.iter().map(move |&c| (s, c)))
            .map(|(s, c)| {
                crate::scenario::Edge {
                    from: &s.name,
                    to: &room.services[c].name,
                }
                .to_string()
            })
            .collect(),
        Some(Needs::Zone) => room.zones.clone(),
        Some(Needs::Queue) => room
            .services
            .iter()
            .filter(|s| s.kind == "Queue")
            .map(|s| s.name.clone())
            .collect(),
        _ => room.services.iter().map(|s| s.name.clone()).collect(),
    };
    let combo = egui::ComboBox::from_label("target");
    if pick(ui, combo, "choose a target", &mut form.target, targets) {
        form.confirming = false;
        form.error = None;
    }
    for need in needs(&form.action) {
        match need {
            Needs::Instance => {
                ui.add(egui::DragValue::new(&mut form.instance).prefix("instance "));
            }
            Needs::Count => {
                ui.add(
                    egui::DragValue::new(&mut form.count)
                        .range(1..=100)
                        .prefix("instances "),
                );
            }
            Needs::Size => {
                ui.add(
                    egui::DragValue::new(&mut form.size)
                        .range(1..=10_000)
                        .prefix("pool "),
                );
            }
            Needs::Rps => {
                ui.add(
                    egui::DragValue::new(&mut form.rps)
                        .range(1.0..=1e6)
                        .prefix("max rps "),
                );
            }
            Needs::Retries => {
                ui.add(
                    egui::DragValue::new(&mut form.retries)
                        .range(0..=10)
                        .prefix("retries "),
                );
            }
            Needs::Version => {
                ui.add(egui::TextEdit::singleline(&mut form.version).hint_text("fixed version"));
            }
            Needs::Flag => {
                ui.add(egui::TextEdit::singleline(&mut form.flag).hint_text("flag name"));
            }
            _ => {}
        }
    }
    let destructive = form.remediation().is_ok_and(|r| r.is_destructive());
    if destructive {
        ui.label(
            RichText::new("Destructive: kills processes and the evidence they hold.")
                .color(AMBER)
                .small(),
        );
    }
    let label = if form.confirming {
        "Confirm: apply"
    } else {
        "Apply"
    };
    if ui.button(RichText::new(label).strong()).clicked() {
        match form.remediation() {
            Err(message) => form.error = Some(message),
            Ok(_) if destructive && !form.confirming => form.confirming = true,
            Ok(remediation) => {
                command = Some(Command::Apply(remediation));
                form.confirming = false;
                form.error = None;
            }
        }
    }
    if form.confirming {
        ui.label(RichText::new("Click again to confirm.").color(AMBER));
    }
    if let Some(error) = &form.error {
        ui.label(RichText::new(error).color(RED));
    }
    command
}

/// The cost estimate under the action panel: the player's last estimate with its answer, how
/// many are left, and a button that asks for one (a journaled command). Returns the
/// remediation to estimate when asked.
pub fn estimate(
    ui: &mut Ui,
    form: &ActionForm,
    last: Option<&crate::incident::Estimate>,
    left: Option<usize>,
) -> Option<Remediation> {
    if let Some(estimate) = last {
        ui.label(
            RichText::new(format!(
                "{}, next {}:",
                estimate.action.to_ron(),
                crate::incident::clock(crate::incident::ESTIMATE_HORIZON)
            ))
            .small(),
        );
        match &estimate.costs {
            None => {
                ui.label(RichText::new("estimating...").small().color(MUTED));
            }
            Some(costs) => {
                for c in costs {
                    ui.label(
                        RichText::new(format!(
                            "  {}: {:.2}% of budget with it, {:.2}% without",
                            c.slo,
                            c.with_action * 100.0,
                            c.without_action * 100.0
                        ))
                        .small()
                        .color(if c.with_action <= c.without_action {
                            GREEN
                        } else {
                            RED
                        }),
                    );
                }
            }
        }
    }
    let ready = form.remediation();
    let label = match left {
        None => "Estimate budget cost".to_string(),
        Some(left) => format!("Estimate budget cost ({left} left)"),
    };
    let clicked = ui
        .add_enabled(
            ready.is_ok() && left != Some(0),
            egui::Button::new(label),
        )
        .on_hover_text(
            "Models the next 5 minutes with and without it, from what is known now; it goes in the journal and the debrief",
        )
        .clicked();
    if clicked { ready.ok() } else { None }
}

/// The incident controls' form.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentForm {
    pub severity: IncidentSeverity,
    pub audience: Audience,
    pub conditions: String,
    pub actions: String,
    pub needs: String,
    pub fault: String,
    pub target: String,
    pub escalate: String,
    pub handoff: String,
}

impl Default for IncidentForm {
    fn default() -> Self {
        Self {
            severity: IncidentSeverity::Sev2,
            audience: Audience::External,
            conditions: String::new(),
            actions: String::new(),
            needs: String::new(),
            fault: "Deploy".to_string(),
            target: String::new(),
            escalate: String::new(),
            handoff: String::new(),
        }
    }
}

/// Declare, roles, status updates, hypothesis, escalation, mitigated, resolve.
pub fn incident_controls(
    ui: &mut Ui,
    form: &mut IncidentForm,
    room: &ControlRoom,
) -> Option<Command> {
    let mut command = None;
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("severity")
            .selected_text(form.severity.to_string())
            .show_ui(ui, |ui| {
                for (s, meaning) in &room.severity_meanings {
                    ui.selectable_value(&mut form.severity, *s, s.to_string())
                        .on_hover_text(meaning);
                }
            });
        if ui.button("Declare").clicked() {
            command = Some(Command::Declare {
                severity: form.severity,
            });
        }
        if ui.button("Take command (IC)").clicked() {
            command = Some(Command::TakeRole(Role::IncidentCommander));
        }
    });
    // What the chosen severity means here, so the declaration is a decision, not a guess.
    if let Some((_, meaning)) = room
        .severity_meanings
        .iter()
        .find(|(s, _)| *s == form.severity)
    {
        ui.label(
            RichText::new(format!("{}: {meaning}", form.severity))
                .small()
                .color(MUTED),
        );
    }
    ui.separator();
    ui.label(RichText::new("Status update (CAN)").strong());
    ui.horizontal(|ui| {
        ui.selectable_value(&mut form.audience, Audience::External, "external");
        ui.selectable_value(&mut form.audience, Audience::Internal, "internal");
    });
    ui.add(
        egui::TextEdit::singleline(&mut form.conditions).hint_text("Conditions: what users see"),
    );
    ui.add(egui::TextEdit::singleline(&mut form.actions).hint_text("Actions: what we are doing"));
    ui.add(egui::TextEdit::singleline(&mut form.needs).hint_text("Needs: what we need"));
    if ui
        .add_enabled(
            !form.conditions.trim().is_empty(),
            egui::Button::new("Post update"),
        )
        .clicked()
    {
        command = Some(Command::Update {
            audience: form.audience,
            conditions: std::mem::take(&mut form.conditions),
            actions: std::mem::take(&mut form.actions),
            needs: std::mem::take(&mut form.needs),
        });
    }
    if let Some(at) = room.handoff_s {
        ui.separator();
        ui.label(RichText::new(format!("Shift handoff at {}", clock_hms(at))).strong());
        ui.add(
            egui::TextEdit::multiline(&mut form.handoff)
                .desired_rows(2)
                .hint_text("For the next on-call: what is going on, what was done, what is left"),
        );
        if ui
            .add_enabled(
                !form.handoff.trim().is_empty(),
                egui::Button::new("Hand over"),
            )
            .clicked()
        {
            command = Some(Command::Handoff {
                note: std::mem::take(&mut form.handoff),
            });
        }
    }
    ui.separator();
    ui.label(RichText::new("Hypothesis").strong());
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("fault")
            .selected_text(&form.fault)
            .show_ui(ui, |ui| {
                for f in crate::faults::CATALOG {
                    ui.selectable_value(&mut form.fault, f.name.to_string(), f.name);
                }
            });
        ui.label("on");
        let suspects = room.services.iter().map(|s| s.name.clone());
        let suspects = suspects.chain(room.zones.iter().cloned()).collect();
        let combo = egui::ComboBox::from_id_salt("hypothesis-target");
        pick(ui, combo, "what", &mut form.target, suspects);
        if ui
            .add_enabled(!form.target.is_empty(), egui::Button::new("State"))
            .clicked()
        {
            command = Some(Command::Hypothesis {
                fault: form.fault.clone(),
                target: form.target.clone(),
                note: String::new(),
            });
        }
    });
    ui.horizontal(|ui| {
        let services = room.services.iter().map(|s| s.name.clone()).collect();
        let combo = egui::ComboBox::from_id_salt("escalate");
        pick(ui, combo, "expert on...", &mut form.escalate, services);
        if ui
            .add_enabled(!form.escalate.is_empty(), egui::Button::new("Page expert"))
            .clicked()
        {
            command = Some(Command::Escalate {
                service: form.escalate.clone(),
            });
        }
    });
    ui.separator();
    ui.horizontal(|ui| {
        if ui.button("Mark mitigated").clicked() {
            command = Some(Command::Mitigated);
        }
        if ui.button(RichText::new("Resolve").strong()).clicked() {
            command = Some(Command::Resolve);
        }
        if ui.button("Deploy history").clicked() {
            command = Some(Command::Look(View::Deploys));
        }
    });
    command
}

/// Deploys, config pushes and rollbacks, newest first.
pub fn deploy_history(ui: &mut Ui, deploys: &[(f64, String, String)]) {
    if deploys.is_empty() {
        ui.label(RichText::new("No changes this run").color(MUTED));
    }
    for (t, service, version) in deploys.iter().rev() {
        ui.label(
            RichText::new(format!("{} {service} -> {version}", clock_hms(*t)))
                .monospace()
                .small(),
        );
    }
}

/// The commands issued so far, newest first, with refusals.
/// The last commands, newest first; the game master's injections only to the game master.
pub fn command_log(ui: &mut Ui, records: &[crate::incident::Record], directing: bool) {
    let shown = records
        .iter()
        .rev()
        .filter(|r| directing || !matches!(r.command, Command::Inject { .. }));
    for r in shown.take(12) {
        let text = format!(
            "{} {}: {}",
            clock_hms(r.at_s),
            r.by,
            crate::incident::debrief::describe(&r.command)
        );
        match &r.refused {
            None => ui.label(RichText::new(text).small()),
            Some(why) => ui.label(
                RichText::new(format!("{text} (refused: {why})"))
                    .small()
                    .color(RED),
            ),
        };
    }
}
