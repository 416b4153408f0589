//! Scenario format v1: the types a `.ron` scenario file deserializes into.
//!
//! Every field is documented in `docs/scenario-format.md`; defaults are chosen so a
//! small scenario is short to write.

use serde::{Deserialize, Serialize};

use super::duration::Seconds;

/// The version of the format these types describe.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default = "defaults::format")]
    pub format: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "defaults::seed")]
    pub seed: u64,
    #[serde(default = "defaults::tick")]
    pub tick: Seconds,
    #[serde(default = "defaults::duration")]
    pub duration: Seconds,
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    pub traffic: Vec<TrafficSpec>,
    /// Availability zones; instance k of every service runs in zone k mod len.
    #[serde(default = "defaults::zones")]
    pub zones: Vec<String>,
    /// Faults injected into the fleet, on a timeline.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Service level objectives, with their error budgets and burn-rate alerts.
    #[serde(default)]
    pub slos: Vec<SloSpec>,
    /// How long a page may go unacknowledged before it escalates.
    #[serde(default = "defaults::escalation_timeout")]
    pub escalation_timeout: Seconds,
    /// Plain threshold alerts on any service metric.
    #[serde(default)]
    pub alerts: Vec<ThresholdSpec>,
    /// The team's runbooks, each for an SLO or alert: shown with its page, step by step.
    #[serde(default)]
    pub runbooks: Vec<RunbookSpec>,
    /// The ground truth of the incident and how a response is judged; left out, the run is
    /// a simulation without a game.
    #[serde(default)]
    pub incident: Option<IncidentSpec>,
    /// Stakeholder messages: the chat feed the responders read.
    #[serde(default)]
    pub chat: ChatSpec,
    /// Self-tests: responses and the outcomes they must reach (`firedrill test`).
    #[serde(default)]
    pub tests: Vec<SelfTest>,
}

/// A runbook as a team wrote it (and perhaps let go stale): steps, each with an optional
/// link and what doing it looks like, so the timeline can say which were followed.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunbookSpec {
    /// The SLO or threshold alert it is for, by name.
    pub alert: String,
    pub title: String,
    /// When it was last reviewed, as its page says.
    #[serde(default)]
    pub updated: String,
    pub steps: Vec<RunbookStep>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunbookStep {
    pub text: String,
    /// A link to a dashboard, a document or a tool.
    #[serde(default)]
    pub link: Option<String>,
    /// The step reads this service's dashboards, logs or traces (or an SLO's panel, or
    /// `"Deploys"`): any such look follows it.
    #[serde(default)]
    pub look: Option<String>,
    /// The step applies this remediation: applying it follows the step.
    #[serde(default)]
    pub apply: Option<ActionPattern>,
}

/// A test case of a scenario: a response (an action script) and what it must achieve.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTest {
    pub name: String,
    /// An action script, relative to the scenario file; left out, the response is to do
    /// nothing.
    #[serde(default)]
    pub script: Option<String>,
    #[serde(default)]
    pub expect: Expectations,
}

/// What a self-test checks; every field left out is not checked.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Whether the incident ends resolved.
    #[serde(default)]
    pub resolved: Option<bool>,
    /// Score bounds, in percent of the maximum.
    #[serde(default)]
    pub min_score: Option<f64>,
    #[serde(default)]
    pub max_score: Option<f64>,
    /// Lowest share of each SLO's budget left at the end.
    #[serde(default)]
    pub min_budget_left: Option<f64>,
    /// Criteria (by id) that must be met, and that must fail.
    #[serde(default)]
    pub met: Vec<String>,
    #[serde(default)]
    pub failed: Vec<String>,
    /// Whether the response prevented the incident: fixed before any user was hurt.
    #[serde(default)]
    pub prevented: Option<bool>,
    /// Self-tests (by name) this response must score above, and below: the ranking the
    /// score must keep (the fix alone above process with wrong fixes, ...).
    #[serde(default)]
    pub above: Vec<String>,
    #[serde(default)]
    pub below: Vec<String>,
}

/// What really happened, written by the scenario's author: scoring compares the
/// responders' timeline against it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentSpec {
    /// What the responder knows when the shift starts, for the briefing screen.
    #[serde(default)]
    pub briefing: String,
    /// How hard it is, for the scenario picker.
    #[serde(default)]
    pub difficulty: Difficulty,
    /// Whether the situation calls for declaring an incident (false for a quiet shift).
    #[serde(default = "defaults::yes")]
    pub declare: bool,
    /// The severity it deserves; declaring below it is judged, above it is not.
    #[serde(default = "defaults::severity")]
    pub severity: IncidentSeverity,
    /// The faults (by name) that are the root cause.
    #[serde(default)]
    pub root_cause: Vec<String>,
    /// Faults (by name) that are real but not the cause: time spent on them is a distraction.
    #[serde(default)]
    pub distractions: Vec<String>,
    /// Remediations that stop the bleeding; left out, derived from the root cause's kind
    /// (a deploy is rolled back, an expired certificate rotated, ...).
    #[serde(default)]
    pub mitigations: Vec<ActionPattern>,
    /// Plausible but wrong remediations.
    #[serde(default)]
    pub red_herrings: Vec<ActionPattern>,
    /// The time an experienced responder needs from the first page to mitigation.
    #[serde(default = "defaults::par_mitigate")]
    pub par_mitigate: Seconds,
    /// The reference response: an action script, relative to the scenario file. What users
    /// got is judged against it and against doing nothing; left out, against a response
    /// that mitigates at par.
    #[serde(default)]
    pub reference: Option<String>,
    /// How many budget estimates the responders may ask for, and what each costs.
    #[serde(default)]
    pub estimates: EstimatePolicy,
    /// Criterion weights by criterion id (1 is the default; 0 disables a criterion).
    #[serde(default)]
    pub weights: std::collections::BTreeMap<String, f64>,
    /// For the mentor: what the scenario teaches, what to watch for, what to ask after.
    #[serde(default)]
    pub notes: FacilitatorNotes,
    /// When the shift changes hands: the responder writes a `Handoff` note for the next
    /// on-call, judged by the handoff criterion. Left out, there is no handoff.
    #[serde(default)]
    pub handoff: Option<Seconds>,
    /// What each severity means in this scenario's organisation, shown where a player
    /// declares; left out, the generic definitions.
    #[serde(default)]
    pub severities: std::collections::BTreeMap<IncidentSeverity, String>,
}

/// The facilitator's notes, shown to the game master during play and at the debrief, and
/// listed by `firedrill library`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FacilitatorNotes {
    /// The incident class it teaches: "a config push that goes global at once".
    #[serde(default)]
    pub class: String,
    /// The public incident (or documented failure mode) it is drawn from.
    #[serde(default)]
    pub precedent: String,
    /// What a trainee should be able to do afterwards.
    #[serde(default)]
    pub objectives: Vec<String>,
    /// Mistakes and good moves to look out for while they play.
    #[serde(default)]
    pub watch_for: Vec<String>,
    /// Questions for the debrief.
    #[serde(default)]
    pub questions: Vec<String>,
}

impl FacilitatorNotes {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The estimates a scenario allows: `(limit: 3, cost: 0.02)`. An estimate models what a
/// remediation would cost each SLO over the next 5 minutes from what is known when it is asked.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EstimatePolicy {
    /// How many the responders may ask for: left out, as many as they like; 0, none.
    #[serde(default)]
    pub limit: Option<u32>,
    /// What each costs, as a share of the maximum score (a hint costs 0.05).
    #[serde(default)]
    pub cost: f64,
}

/// Matches remediations by name and, optionally, target: `(action: "Rollback", target:
/// "checkout")`. A target is a service, a call edge `"web->checkout"`, a zone or a queue.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ActionPattern {
    pub action: String,
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difficulty {
    Tutorial,
    Easy,
    #[default]
    Medium,
    Hard,
}

/// Incident severity, SEV-1 the worst.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentSeverity {
    Sev1,
    Sev2,
    Sev3,
    Sev4,
}

impl IncidentSeverity {
    pub const ALL: [Self; 4] = [Self::Sev1, Self::Sev2, Self::Sev3, Self::Sev4];

    /// SEV-1 is 1: a lower rank is more severe.
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }

    /// What the severity means where a scenario does not say (the common ladder of
    /// PagerDuty's and Atlassian's incident guides).
    pub fn generic_meaning(self) -> &'static str {
        match self {
            Self::Sev1 => {
                "Critical: the product is down or unusable for many users, or data is at risk."
            }
            Self::Sev2 => "Major: a core function fails or is badly degraded for many users.",
            Self::Sev3 => {
                "Minor: a feature is degraded or a few users are affected; there is a workaround."
            }
            Self::Sev4 => "Low: no user impact yet, but something needs attention.",
        }
    }
}

impl IncidentSpec {
    /// What `severity` means in this scenario's organisation.
    pub fn severity_meaning(&self, severity: IncidentSeverity) -> &str {
        self.severities
            .get(&severity)
            .map_or(severity.generic_meaning(), String::as_str)
    }
}

impl std::fmt::Display for IncidentSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SEV-{}", self.rank())
    }
}

/// The chat feed: built-in stakeholders (support reporting failures after a page, a
/// manager asking for an update after 20 min of silence) and the author's own messages.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSpec {
    /// Whether the built-in stakeholders speak.
    #[serde(default = "defaults::yes")]
    pub defaults: bool,
    #[serde(default)]
    pub messages: Vec<MessageSpec>,
}

impl Default for ChatSpec {
    fn default() -> Self {
        Self {
            defaults: true,
            messages: Vec::new(),
        }
    }
}

/// One stakeholder message and when it is sent.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    pub from: String,
    pub text: String,
    pub when: MessageTrigger,
    #[serde(default)]
    pub kind: MessageKind,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub enum MessageTrigger {
    At(Seconds),
    /// This long after the first page.
    AfterPage(Seconds),
    /// This long after the named fault starts.
    AfterFault(String, Seconds),
    /// Whenever an incident is declared and no status update has been posted for this long
    /// (again after each further such silence).
    NoUpdateFor(Seconds),
    /// When any SLO's remaining budget falls below this share.
    BudgetBelow(f64),
}

/// What a message is worth to the responders.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum MessageKind {
    /// A fact about the incident.
    #[default]
    Info,
    /// Chatter unrelated to the incident.
    Noise,
    /// A plausible but wrong lead.
    RedHerring,
}

/// An alert on one metric of one service, as a Prometheus rule with a `for` duration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    pub name: String,
    pub service: String,
    pub metric: Metric,
    pub above: f64,
    /// How long the condition must hold before the alert fires.
    #[serde(rename = "for", default)]
    pub hold: Seconds,
    /// What a rate is taken over, as `rate(...[1m])` in a Prometheus rule: the error ratio,
    /// p99, CPU and `min_rps` are read over the last `window`; gauges at their last sample.
    #[serde(default = "defaults::alert_window")]
    pub window: Seconds,
    #[serde(default = "defaults::ticket")]
    pub severity: AlertSeverity,
    /// Below this many requests per second the alert does not fire.
    #[serde(default)]
    pub min_rps: f64,
    #[serde(default)]
    pub runbook: String,
}

/// A service metric an alert can watch (per second, as the service's rows show it).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Metric {
    ErrorRatio,
    /// Seconds.
    P99,
    /// Share of the cores.
    Cpu,
    /// The fullest instance.
    MemoryMb,
    /// The fullest disk, 0..1.
    DiskUsed,
    Queue,
    /// Seconds.
    QueueAge,
    /// Seconds.
    ReplicationLag,
}

/// A service level objective on one service, as OpenSLO and Sloth name its parts.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub name: String,
    pub service: String,
    #[serde(default)]
    pub sli: Sli,
    /// Target, in percent: 99.9.
    pub objective: f64,
    /// The rolling period the budget covers.
    #[serde(default = "defaults::slo_window")]
    pub window: Seconds,
    /// Share of the budget already spent when the run starts (0.6: 60% gone).
    #[serde(default)]
    pub budget_spent: f64,
    /// Alert rows; left out, the workbook's multi-window, multi-burn-rate preset.
    #[serde(default)]
    pub alerting: Option<Vec<AlertRowSpec>>,
    /// Below this many events per second over an alert's short window, it does not fire:
    /// a few failures on thin traffic are not an emergency.
    #[serde(default)]
    pub min_rps: f64,
    /// What the responder should do, sent with every alert.
    #[serde(default)]
    pub runbook: String,
}

/// A custom alert row: both windows must burn faster than `factor`.
/// The workbook's table 5-8 for an SLO `period`: factors are the budget share each row
/// guards (2%, 5%, 10%, 10%) times the period over the long window, so a 30-day period gives
/// 14.4, 6, 3, 1 and a 28-day period 13.44, 5.6, 2.8, 0.93.
pub fn workbook_rows(period: f64) -> Vec<AlertRowSpec> {
    const HOUR: f64 = 3600.0;
    [
        (AlertSeverity::Page, HOUR, 300.0, 0.02),
        (AlertSeverity::Page, 6.0 * HOUR, 1800.0, 0.05),
        (AlertSeverity::Ticket, 24.0 * HOUR, 2.0 * HOUR, 0.10),
        (AlertSeverity::Ticket, 72.0 * HOUR, 6.0 * HOUR, 0.10),
    ]
    .into_iter()
    .map(|(severity, long, short, budget)| AlertRowSpec {
        severity,
        long: Seconds(long),
        short: Seconds(short),
        factor: budget * period / long,
    })
    .collect()
}

impl SloSpec {
    /// The alert rows in force: the author's, or the workbook's for the SLO's period.
    pub fn rows(&self) -> Vec<AlertRowSpec> {
        self.alerting
            .clone()
            .unwrap_or_else(|| workbook_rows(self.window.get()))
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRowSpec {
    pub severity: AlertSeverity,
    pub long: Seconds,
    pub short: Seconds,
    pub factor: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum AlertSeverity {
    Page,
    Ticket,
}

/// What counts as a good event.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Sli {
    /// Good: answered without error, of all requests.
    #[default]
    Availability,
    /// Good: answered without error within `threshold` (read off the latency buckets).
    Latency { threshold: Seconds },
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    #[serde(default)]
    pub kind: ServiceKind,
    #[serde(default = "defaults::instances")]
    pub instances: u32,
    /// How far `ScaleOut` may go; defaults to `instances` (no scaling).
    #[serde(default)]
    pub max_instances: Option<u32>,
    /// Requests one instance serves at once; defaults depend on the kind.
    #[serde(default)]
    pub workers: Option<u32>,
    #[serde(default)]
    pub service_time: ServiceTime,
    /// Extra latency per request already in service on the instance (contention).
    #[serde(default)]
    pub slowdown_per_request: Seconds,
    /// Fraction of requests that fail with a server error on their own.
    #[serde(default)]
    pub error_ratio: f64,
    /// Requests waiting for a worker beyond which an instance rejects (503).
    #[serde(default)]
    pub queue_limit: Option<u32>,
    #[serde(default)]
    pub cpu: CpuSpec,
    #[serde(default)]
    pub memory: MemorySpec,
    #[serde(default)]
    pub disk: DiskSpec,
    /// How long a crashed or OOM-killed instance takes to come back.
    #[serde(default = "defaults::restart_time")]
    pub restart_time: Seconds,
    #[serde(default)]
    pub load_balancer: LoadBalancer,
    #[serde(default)]
    pub health_check: HealthCheck,
    #[serde(default)]
    pub calls: Vec<CallSpec>,
    /// A horizontal autoscaler on CPU, as Kubernetes' HPA: left out, the instance count
    /// changes only by hand.
    #[serde(default)]
    pub autoscale: Option<AutoscaleSpec>,
    /// A quota on calls to the service, as a provider's API enforces it: left out, none.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// A database's primary and its failover: instance 0 starts as the primary, takes every
    /// write, and the others are replicas. Left out, every instance takes every query.
    #[serde(default)]
    pub failover: Option<FailoverSpec>,
}

/// How a database replaces a lost primary: detection (failed health checks) then the
/// promotion of the replica least behind, as Patroni or RDS Multi-AZ do in about a minute.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverSpec {
    /// Whether it fails over on its own; otherwise a responder promotes a replica
    /// (`PromoteReplica`).
    #[serde(default = "defaults::yes")]
    pub automatic: bool,
    /// From the primary going down to the failover starting.
    #[serde(default = "defaults::failover_detection")]
    pub detection: Seconds,
    /// From the failover starting to the new primary taking writes.
    #[serde(default = "defaults::failover_promotion")]
    pub promotion: Seconds,
}

/// A rate limit: a token bucket holding one second's worth, refilled at `rps`, shared by
/// every caller. A call beyond it is answered at once with 429 Too Many Requests and a
/// `Retry-After` header.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    pub rps: f64,
    /// What the 429's `Retry-After` asks callers to wait.
    #[serde(default = "defaults::retry_after")]
    pub retry_after: Seconds,
    /// Whether refused calls count against the quota too (down to one second's worth owed),
    /// as limiters that count every attempt do: clients that retry at once then lock
    /// themselves out.
    #[serde(default)]
    pub counts_refused: bool,
}

/// A horizontal pod autoscaler's settings, with Kubernetes' defaults.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AutoscaleSpec {
    pub min: u32,
    /// At most `max_instances`.
    pub max: u32,
    /// Mean CPU utilisation (share of the cores) it steers toward.
    pub target_cpu: f64,
    /// How often it decides (the HPA controller's sync period).
    #[serde(default = "defaults::hpa_sync")]
    pub sync: Seconds,
    /// It scales down only to the highest recommendation within this window.
    #[serde(default = "defaults::hpa_scale_down_window")]
    pub scale_down_window: Seconds,
    /// Within this share of the target it changes nothing.
    #[serde(default = "defaults::hpa_tolerance")]
    pub tolerance: f64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ServiceKind {
    #[default]
    Service,
    /// A database whose connection pool bounds the queries it runs at once.
    Database { pool: u32 },
    /// A read-through cache: hits answer locally, misses take the `calls` (the fill path).
    Cache {
        hit_ratio: f64,
        #[serde(default = "defaults::cache_keys")]
        keys: u32,
    },
    /// A third-party dependency outside the fleet.
    External,
    /// A message queue: a call to it succeeds once the message is enqueued; the queue then
    /// delivers each message to its `calls` (the consumers), `workers` deliveries at a time.
    /// Its backlog is the consumers' lag.
    Queue,
}

impl Scenario {
    /// The position of the service called `name`, if there is one.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    /// Mean time a call to each service takes on an idle fleet: its own work, then its
    /// calls (a cache's only on a miss). A call that would close a circle counts as nothing.
    pub fn unloaded_responses(&self) -> Vec<f64> {
        let index: std::collections::HashMap<&str, usize> = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        // Depth-first, each service once: 0 = not yet, 1 = on the path, 2 = done.
        let mut state = vec![0u8; self.services.len()];
        let mut response = vec![0.0; self.services.len()];
        for root in 0..self.services.len() {
            let mut path = vec![(root, 0usize)];
            state[root] = 1;
            while let Some(&mut (at, ref mut next)) = path.last_mut() {
                let calls = &self.services[at].calls;
                if let Some(call) = calls.get(*next) {
                    *next += 1;
                    if let Some(&to) = index.get(call.to.as_str())
                        && state[to] == 0
                    {
                        state[to] = 1;
                        path.push((to, 0));
                    }
                    continue;
                }
                let service = &self.services[at];
                let downstream: f64 = calls
                    .iter()
                    .filter_map(|c| index.get(c.to.as_str()).map(|&to| (c, to)))
                    .filter(|&(_, to)| state[to] == 2)
                    .map(|(c, to)| c.per_request * response[to])
                    .sum();
                let misses = match service.kind {
                    ServiceKind::Cache { hit_ratio, .. } => 1.0 - hit_ratio.clamp(0.0, 1.0),
                    _ => 1.0,
                };
                response[at] = service.service_time.mean() + misses * downstream;
                state[at] = 2;
                path.pop();
            }
        }
        response
    }

    /// CPU cores one instance of each service uses with every worker busy: a busy worker is
    /// in its own work for its share of the unloaded response, and on CPU for `cpu_share`
    /// of that.
    pub fn cores_needed(&self) -> Vec<f64> {
        self.services
            .iter()
            .zip(self.unloaded_responses())
            .map(|(s, response)| {
                let own = s.service_time.mean();
                if s.kind == ServiceKind::External || response <= 0.0 || !own.is_finite() {
                    return 0.0;
                }
                f64::from(s.effective_workers()) * s.cpu.cpu_share * own / response
            })
            .collect()
    }

    /// Cores of one instance of each service: as written, or enough for all its workers
    /// (at least [`DEFAULT_MIN_CORES`]).
    pub fn cores(&self) -> Vec<f64> {
        self.services
            .iter()
            .zip(self.cores_needed())
            .map(|(s, needed)| {
                s.cpu
                    .cores
                    .unwrap_or_else(|| (needed - 1e-9).ceil().max(DEFAULT_MIN_CORES))
            })
            .collect()
    }
}

impl ServiceKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Service => "Service",
            Self::Database { .. } => "Database",
            Self::Cache { .. } => "Cache",
            Self::External => "External",
            Self::Queue => "Queue",
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ServiceTime {
    Exponential { mean: Seconds },
    LogNormal { median: Seconds, p99: Seconds },
    Constant { value: Seconds },
}

impl Default for ServiceTime {
    fn default() -> Self {
        Self::Exponential {
            mean: Seconds::millis(20.0),
        }
    }
}

impl ServiceTime {
    pub fn mean(self) -> f64 {
        match self {
            Self::Exponential { mean } => mean.get(),
            Self::Constant { value } => value.get(),
            Self::LogNormal { median, p99 } => {
                let sigma = lognormal_sigma(median.get(), p99.get());
                median.get() * libm::exp(sigma * sigma / 2.0)
            }
        }
    }
}

/// The fewest cores an instance gets when the scenario does not say: a small VM's two.
pub const DEFAULT_MIN_CORES: f64 = 2.0;

/// The z-score of the 99th percentile of a standard normal distribution.
pub const Z_P99: f64 = 2.326_347_874_040_841;

/// Sigma of a log-normal distribution with the given median and p99.
pub fn lognormal_sigma(median: f64, p99: f64) -> f64 {
    libm::log(p99 / median) / Z_P99
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    /// Cores of one instance; by default enough for every worker to be busy at once
    /// (`Scenario::cores`).
    #[serde(default)]
    pub cores: Option<f64>,
    /// Share of a request's own service time spent on CPU (the rest waits on I/O).
    #[serde(default = "defaults::cpu_share")]
    pub cpu_share: f64,
}

impl Default for CpuSpec {
    fn default() -> Self {
        Self {
            cores: None,
            cpu_share: defaults::cpu_share(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    #[serde(default = "defaults::base_mb")]
    pub base_mb: f64,
    #[serde(default = "defaults::per_request_mb")]
    pub per_request_mb: f64,
    /// Above this the instance is OOM-killed and restarts cold.
    #[serde(default)]
    pub limit_mb: Option<f64>,
}

impl Default for MemorySpec {
    fn default() -> Self {
        Self {
            base_mb: defaults::base_mb(),
            per_request_mb: defaults::per_request_mb(),
            limit_mb: None,
        }
    }
}

/// The local disk of one instance, filled by its logs.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    #[serde(default = "defaults::disk_size_mb")]
    pub size_mb: f64,
    /// Used by everything but logs (the system, the application).
    #[serde(default = "defaults::disk_used_mb")]
    pub used_mb: f64,
    /// Logs already on the disk when the run starts: rotating the logs frees them.
    #[serde(default)]
    pub logs_mb: f64,
}

impl Default for DiskSpec {
    fn default() -> Self {
        Self {
            size_mb: defaults::disk_size_mb(),
            used_mb: defaults::disk_used_mb(),
            logs_mb: 0.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum LoadBalancer {
    #[default]
    RoundRobin,
    LeastConnections,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "defaults::hc_interval")]
    pub interval: Seconds,
    /// A probe fails when the instance is down or its oldest queued request has waited longer.
    #[serde(default = "defaults::hc_timeout")]
    pub timeout: Seconds,
    #[serde(default = "defaults::unhealthy_threshold")]
    pub unhealthy_threshold: u32,
    #[serde(default = "defaults::healthy_threshold")]
    pub healthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            interval: defaults::hc_interval(),
            timeout: defaults::hc_timeout(),
            unhealthy_threshold: defaults::unhealthy_threshold(),
            healthy_threshold: defaults::healthy_threshold(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    pub to: String,
    /// Calls made per request served (fractions are drawn at random: 0.5 = every other request).
    #[serde(default = "defaults::per_request")]
    pub per_request: f64,
    /// When true a failed call is skipped (graceful degradation) instead of failing the request.
    #[serde(default)]
    pub optional: bool,
    #[serde(default = "defaults::call_timeout")]
    pub timeout: Seconds,
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub backoff: Backoff,
    #[serde(default)]
    pub retry_budget: Option<RetryBudget>,
    /// Whether a retry after a 429 waits at least the callee's `Retry-After` (gRPC and
    /// Envoy can; many HTTP clients do not).
    #[serde(default = "defaults::yes")]
    pub honour_retry_after: bool,
    /// Share of these calls that write: they go to the callee's primary (a database with
    /// a `failover`); the rest read from any instance.
    #[serde(default)]
    pub writes: f64,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Backoff {
    /// Retry at once: the retry-storm setting.
    Immediate,
    /// `min(cap, base * 2^n)` shaped by the jitter rule.
    Exponential {
        base: Seconds,
        cap: Seconds,
        #[serde(default)]
        jitter: Jitter,
    },
}

impl Default for Backoff {
    fn default() -> Self {
        Self::Exponential {
            base: Seconds::millis(100.0),
            cap: Seconds::new(2.0),
            jitter: Jitter::Full,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub enum Jitter {
    None,
    #[default]
    Full,
    Equal,
    Decorrelated,
}

/// A token bucket: each success deposits `ratio` tokens, each retry spends one.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetryBudget {
    #[serde(default = "defaults::budget_ratio")]
    pub ratio: f64,
    #[serde(default = "defaults::budget_tokens")]
    pub max_tokens: f64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub to: String,
    /// Requests per second before the diurnal curve, spikes and noise.
    pub rate: f64,
    #[serde(default)]
    pub diurnal: Option<Diurnal>,
    #[serde(default)]
    pub spikes: Vec<Spike>,
    /// Standard deviation of a slow multiplicative wobble on the rate (0.1 = ±10%).
    #[serde(default)]
    pub noise: f64,
    #[serde(default = "defaults::client_timeout")]
    pub timeout: Seconds,
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub backoff: Backoff,
    #[serde(default)]
    pub retry_budget: Option<RetryBudget>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// Relative swing around the base rate: 0.3 gives 70%..130%.
    pub amplitude: f64,
    #[serde(default = "defaults::day")]
    pub period: Seconds,
    /// Time of day of the peak.
    #[serde(default = "defaults::peak")]
    pub peak: Seconds,
    /// Time of day at the start of the run.
    #[serde(default = "defaults::start_of_day")]
    pub start: Seconds,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spike {
    pub at: Seconds,
    pub duration: Seconds,
    pub multiplier: f64,
}

mod defaults {
    use super::Seconds;

    pub fn yes() -> bool {
        true
    }

    pub fn severity() -> super::IncidentSeverity {
        super::IncidentSeverity::Sev2
    }

    pub fn alert_window() -> Seconds {
        Seconds::new(60.0)
    }

    pub fn par_mitigate() -> Seconds {
        Seconds(900.0)
    }

    pub fn format() -> u32 {
        super::FORMAT_VERSION
    }
    pub fn seed() -> u64 {
        1
    }
    pub fn tick() -> Seconds {
        Seconds::millis(100.0)
    }
    pub fn duration() -> Seconds {
        Seconds::new(600.0)
    }
    pub fn instances() -> u32 {
        1
    }
    pub fn restart_time() -> Seconds {
        Seconds::new(30.0)
    }
    pub fn cache_keys() -> u32 {
        10_000
    }
    pub fn cpu_share() -> f64 {
        0.25
    }
    pub fn base_mb() -> f64 {
        256.0
    }
    pub fn per_request_mb() -> f64 {
        0.5
    }
    pub fn hc_interval() -> Seconds {
        Seconds::new(5.0)
    }
    pub fn hc_timeout() -> Seconds {
        Seconds::new(1.0)
    }
    pub fn unhealthy_threshold() -> u32 {
        3
    }
    pub fn healthy_threshold() -> u32 {
        2
    }
    pub fn per_request() -> f64 {
        1.0
    }
    pub fn call_timeout() -> Seconds {
        Seconds::new(1.0)
    }
    pub fn client_timeout() -> Seconds {
        Seconds::new(10.0)
    }
    pub fn budget_ratio() -> f64 {
        0.1
    }
    pub fn budget_tokens() -> f64 {
        10.0
    }
    pub fn day() -> Seconds {
        Seconds::new(86_400.0)
    }
    pub fn peak() -> Seconds {
        Seconds::new(14.0 * 3600.0)
    }
    pub fn start_of_day() -> Seconds {
        Seconds::new(10.0 * 3600.0)
    }
    pub fn ticket() -> super::AlertSeverity {
        super::AlertSeverity::Ticket
    }
    pub fn escalation_timeout() -> Seconds {
        Seconds::new(300.0)
    }
    pub fn slo_window() -> Seconds {
        Seconds::new(30.0 * 86_400.0)
    }
    pub fn zones() -> Vec<String> {
        vec!["a".to_string()]
    }
    pub fn disk_size_mb() -> f64 {
        20_000.0
    }
    pub fn disk_used_mb() -> f64 {
        4_000.0
    }
    pub fn lag_tolerance() -> Seconds {
        Seconds::new(5.0)
    }
    pub fn fresh_reads() -> f64 {
        0.2
    }
    pub fn factor() -> f64 {
        1.0
    }
    pub fn one_instance() -> u32 {
        1
    }
    pub fn crash_uptime() -> Seconds {
        Seconds::new(5.0)
    }
    pub fn hpa_sync() -> Seconds {
        Seconds::new(15.0)
    }
    pub fn hpa_scale_down_window() -> Seconds {
        Seconds::new(300.0)
    }
    pub fn hpa_tolerance() -> f64 {
        0.1
    }
    pub fn retry_after() -> Seconds {
        Seconds::new(1.0)
    }
    pub fn failover_detection() -> Seconds {
        Seconds::new(30.0)
    }
    pub fn failover_promotion() -> Seconds {
        Seconds::new(30.0)
    }
}

impl ServiceSpec {
    /// Concurrency of one instance: the pool for a database, else `workers` or the kind's default.
    pub fn effective_workers(&self) -> u32 {
        match self.kind {
            ServiceKind::Database { pool } => pool,
            ServiceKind::Cache { .. } => self.workers.unwrap_or(64),
            ServiceKind::External => self.workers.unwrap_or(10_000),
            ServiceKind::Service | ServiceKind::Queue => self.workers.unwrap_or(8),
        }
    }
}

/// A fault injected into the fleet: what breaks, where, when, and for how long.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub kind: FaultKind,
    /// A service (`"web"`), a call edge (`"checkout->payment"`) or a traffic entry's name,
    /// as the kind requires.
    pub target: String,
    pub start: FaultStart,
    /// How long it lasts; left out, it lasts until the run ends or a remediation ends it.
    #[serde(default)]
    pub duration: Option<Seconds>,
    /// The change (a `Deploy`, `ConfigPush` or `FeatureFlag` fault on the same service, by
    /// name) this fault is the doing of: undoing the change (rolling it back, disabling the
    /// flag) ends it, as it would end a crash loop on a config the process cannot start with.
    #[serde(default)]
    pub caused_by: Option<String>,
}

/// When a fault begins.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub enum FaultStart {
    At(Seconds),
    /// At a time drawn (from the scenario's seed) uniformly in the range.
    Between(Seconds, Seconds),
    /// The first second the condition holds.
    When(Condition),
}

/// A condition on a service's metrics over the last second.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Condition {
    P99Above { service: String, seconds: Seconds },
    ErrorRatioAbove { service: String, ratio: f64 },
    RpsAbove { service: String, rps: f64 },
}

impl Condition {
    pub fn service(&self) -> &str {
        match self {
            Self::P99Above { service, .. }
            | Self::ErrorRatioAbove { service, .. }
            | Self::RpsAbove { service, .. } => service,
        }
    }
}

/// What a fault does; each acts through a mechanism of the simulation.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum FaultKind {
    /// Instances of the target service die at once and restart after their restart time.
    Crash {
        #[serde(default = "defaults::one_instance")]
        instances: u32,
    },
    /// Every instance that comes back dies again after `uptime`.
    CrashLoop {
        #[serde(default = "defaults::crash_uptime")]
        uptime: Seconds,
    },
    /// Memory that is never freed, per request served and per minute, until a restart.
    MemoryLeak {
        #[serde(default)]
        per_request_mb: f64,
        #[serde(default)]
        per_minute_mb: f64,
    },
    /// A runaway process takes `cores` of each instance's CPU.
    CpuHog { cores: f64 },
    /// Every request takes `extra` longer (a slow endpoint, a slow code path).
    Latency { extra: Seconds },
    /// Queries (or any work) take `factor` times as long: slow queries hold pool slots.
    SlowQueries { factor: f64 },
    /// A share of requests fail with a server error.
    Errors { ratio: f64 },
    /// Calls on the edge take `extra` longer to arrive.
    NetworkLatency { extra: Seconds },
    /// A share of calls on the edge are lost: their callers time out.
    PacketLoss { ratio: f64 },
    /// Every call on the edge is lost.
    Partition,
    /// The callee's name does not resolve: calls on the edge fail at once.
    DnsFailure,
    /// The target cache loses every key at once.
    CacheFlush,
    /// The target traffic entry's rate is multiplied.
    TrafficSurge { multiplier: f64 },
    /// A new version, rolled out by restarting instances one by one; the rest of its fields
    /// say what it does wrong (none: a good deploy).
    Deploy {
        version: String,
        #[serde(default)]
        error_ratio: f64,
        #[serde(default = "defaults::factor")]
        latency_factor: f64,
        #[serde(default)]
        leak_mb_per_request: f64,
    },
    /// A configuration push, applied to every instance at once.
    ConfigPush {
        change: String,
        #[serde(default)]
        error_ratio: f64,
        #[serde(default = "defaults::factor")]
        latency_factor: f64,
    },
    /// Every instance in the zone (the fault's target) dies and cannot start until it ends.
    ZoneLoss,
    /// Readiness probes of `instances` instances fail although they work: the load balancer
    /// ejects them and their traffic lands on the others.
    ReadinessFailure {
        #[serde(default = "defaults::one_instance")]
        instances: u32,
    },
    /// Each probe fails with probability `ratio`: instances flap in and out of rotation.
    FlappingHealthChecks { ratio: f64 },
    /// Stop-the-world pauses of `pause` every `interval` on every instance.
    GcPauses { interval: Seconds, pause: Seconds },
    /// Logs fill the disk at `per_request_mb` (plus `per_minute_mb`); a full disk fails
    /// every request that writes.
    DiskFill {
        #[serde(default)]
        per_request_mb: f64,
        #[serde(default)]
        per_minute_mb: f64,
    },
    /// The service's TLS certificate expires at the fault's start: every call to it fails
    /// the handshake. Its remaining validity is visible before (a time bomb).
    CertExpiry,
    /// The clocks of `instances` instances drift: requests they handle fail token checks
    /// with probability `error_ratio`.
    ClockSkew {
        #[serde(default = "defaults::one_instance")]
        instances: u32,
        error_ratio: f64,
    },
    /// Disk I/O slows down: every request waits `extra` longer, its CPU stays flat.
    IoLatency { extra: Seconds },
    /// One key (a hot partition, a bad record) fails every request that touches it, retries
    /// included: `ratio` is the share of user requests that touch it.
    HotKey { ratio: f64 },
    /// The service stops reporting metrics: its rows are marked unreported (dashboards go
    /// blank) while it keeps working.
    MissingMetrics,
    /// A database's replicas (its instances but the first) fall behind the primary by
    /// `per_second` seconds every second; once the lag passes `tolerance`, the share
    /// `fresh_reads` of requests that need fresh data fail on the replicas.
    ReplicationLag {
        per_second: f64,
        #[serde(default = "defaults::lag_tolerance")]
        tolerance: Seconds,
        #[serde(default = "defaults::fresh_reads")]
        fresh_reads: f64,
    },
    /// Noise: every service logs a flood of warnings that point nowhere (a misfiring check,
    /// a chatty library), burying the lines that matter.
    AlertStorm,
    /// The queue's consumers fall behind: each delivery takes `extra` longer.
    ConsumerLag { extra: Seconds },
    /// A feature flag turned on whose code path fails or is slow, until the flag is disabled.
    FeatureFlag {
        flag: String,
        #[serde(default)]
        error_ratio: f64,
        #[serde(default)]
        extra_latency: Seconds,
    },
}

impl FaultKind {
    /// What the fault's `target` names.
    pub fn target_kind(&self) -> TargetKind {
        match self {
            Self::NetworkLatency { .. }
            | Self::PacketLoss { .. }
            | Self::Partition
            | Self::DnsFailure => TargetKind::Edge,
            Self::TrafficSurge { .. } => TargetKind::Traffic,
            Self::ZoneLoss => TargetKind::Zone,
            _ => TargetKind::Service,
        }
    }

    /// A change someone made (a release, a config push, a flag): undoing it is possible, so
    /// rolling back comes first.
    pub fn is_change(&self) -> bool {
        matches!(
            self,
            Self::Deploy { .. } | Self::ConfigPush { .. } | Self::FeatureFlag { .. }
        )
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Crash { .. } => "Crash",
            Self::CrashLoop { .. } => "CrashLoop",
            Self::MemoryLeak { .. } => "MemoryLeak",
            Self::CpuHog { .. } => "CpuHog",
            Self::Latency { .. } => "Latency",
            Self::SlowQueries { .. } => "SlowQueries",
            Self::Errors { .. } => "Errors",
            Self::NetworkLatency { .. } => "NetworkLatency",
            Self::PacketLoss { .. } => "PacketLoss",
            Self::Partition => "Partition",
            Self::DnsFailure => "DnsFailure",
            Self::CacheFlush => "CacheFlush",
            Self::TrafficSurge { .. } => "TrafficSurge",
            Self::Deploy { .. } => "Deploy",
            Self::ConfigPush { .. } => "ConfigPush",
            Self::FeatureFlag { .. } => "FeatureFlag",
            Self::ZoneLoss => "ZoneLoss",
            Self::IoLatency { .. } => "IoLatency",
            Self::HotKey { .. } => "HotKey",
            Self::MissingMetrics => "MissingMetrics",
            Self::ConsumerLag { .. } => "ConsumerLag",
            Self::ReplicationLag { .. } => "ReplicationLag",
            Self::AlertStorm => "AlertStorm",
            Self::ReadinessFailure { .. } => "ReadinessFailure",
            Self::FlappingHealthChecks { .. } => "FlappingHealthChecks",
            Self::GcPauses { .. } => "GcPauses",
            Self::DiskFill { .. } => "DiskFill",
            Self::CertExpiry => "CertExpiry",
            Self::ClockSkew { .. } => "ClockSkew",
        }
    }

    /// Whether it happens once (and `duration` means nothing).
    pub fn is_one_shot(&self) -> bool {
        matches!(
            self,
            Self::Crash { .. } | Self::CacheFlush | Self::Deploy { .. } | Self::ConfigPush { .. }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Service,
    Edge,
    Traffic,
    Zone,
}
