//! Hosting and joining a session over the network, on bevy_replicon with renet's netcode
//! transport. Only messages cross the wire: the host's simulation is the one that counts, and
//! each player runs the same deterministic simulation from the commands the host issued, up
//! to the host's clock. Both sides play on a [`Table`]: a session and its link (the window's
//! game is one).

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::SystemTime;

use bevy::prelude::*;
use bevy_replicon::bytes::Bytes;
use bevy_replicon::prelude::*;
use bevy_replicon::shared::message::ctx::{
    ClientReceiveCtx, ClientSendCtx, ServerReceiveCtx, ServerSendCtx,
};
use bevy_replicon_renet::netcode::{
    ClientAuthentication, ConnectToken, NetcodeClientTransport, NetcodeServerTransport,
    ServerAuthentication, ServerConfig,
};
use bevy_replicon_renet::renet::ConnectionConfig;
use bevy_replicon_renet::{RenetChannelsExt, RenetClient, RenetServer, RepliconRenetPlugins};

use super::noise::{self, NoiseReports};
use super::protocol::Welcome;
use super::protocol::{ToHost, ToPlayers, decode_to_host, decode_to_players, encode};
use crate::incident::{Command, Entry, Role};

/// What the network plays on: a session at a table, and its link. A host's table issues the
/// players' commands and tells them what was issued; a player's follows the host's.
pub trait Table: 'static {
    /// The table's link, and the commands issued into its session so far.
    fn link_and_issued(&mut self) -> (&mut Link, &[Entry]);
    fn link(&mut self) -> &mut Link {
        self.link_and_issued().0
    }
    /// The name this side plays under.
    fn player(&self) -> &str;
    /// Issues `command` now in `by`'s name (the host journals it, then every player gets it).
    fn issue_as(&mut self, by: &str, command: Command);
    /// What a player joining as `seat` needs to catch up.
    fn welcome(&self, seat: &str) -> Option<Welcome>;
    /// How many commands were issued so far.
    fn issued_count(&self) -> usize;
    /// A message for whoever sits at this side of the table.
    fn tell(&mut self, notice: String);
    /// The simulated clock and the speed it runs at.
    fn clock(&self) -> (f64, f64);
    /// Starts the host's session from its welcome.
    fn begin_remote(&mut self, welcome: &Welcome);
    /// A command the host issued, applied here at the same tick.
    fn apply_remote(&mut self, entry: Entry);
    /// Runs this side's simulation up to the host's clock.
    fn catch_up(&mut self);
}

/// Netcode's protocol id: clients of another protocol version are not let in.
const PROTOCOL_ID: u64 = 0xF12E_D211_0000_0001;
/// Most players at one table (the host not counted).
const MAX_PLAYERS: usize = 16;

/// Whether this game plays alone, hosts a table, or plays at someone else's.
#[derive(Debug, Default)]
pub enum Link {
    #[default]
    Solo,
    Host(Hosting),
    Player(Playing),
}

/// The host's side: who sits where, and what they were sent (the commands themselves are the
/// session's, `Session::issued`).
#[derive(Debug)]
pub struct Hosting {
    /// What players must present to join.
    pub code: String,
    pub addr: SocketAddr,
    seats: Vec<Seat>,
    /// How many of the session's commands the players were sent.
    sent: usize,
    /// The clock last announced.
    announced: (f64, f64),
    /// Connections turned away, and when to cut them off: first they get to read why.
    refused: Vec<(Entity, f64)>,
    /// Connections that have not asked for a seat yet, and since when (real seconds).
    unseated: Vec<(Entity, f64)>,
    /// Traffic it could not use, reported to the log at a bounded rate.
    noise: Option<NoiseReports>,
}

#[derive(Debug)]
struct Seat {
    name: String,
    /// The connection sitting there; None while its player is away (the seat and its role
    /// wait for them).
    client: Option<Entity>,
    /// Entries before this index reached the player in its welcome.
    from: usize,
}

/// A player's side: who they are, what they asked for, and the host's clock.
#[derive(Debug)]
pub struct Playing {
    pub name: String,
    pub host: SocketAddr,
    code: String,
    role: Option<Role>,
    pub joined: bool,
    /// Why the host turned the player away, or why the connection ended.
    pub trouble: Option<String>,
    pub host_now: f64,
    pub host_speed: f64,
    asked: bool,
    outbox: Vec<Command>,
}

impl Hosting {
    pub fn new(code: String, addr: SocketAddr) -> Self {
        Self {
            code,
            addr,
            seats: Vec::new(),
            sent: 0,
            announced: (-1.0, -1.0),
            refused: Vec::new(),
            unseated: Vec::new(),
            noise: None,
        }
    }

    /// The players seated now, by name.
    pub fn present(&self) -> Vec<&str> {
        self.seats
            .iter()
            .filter(|s| s.client.is_some())
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Seats `client` as `name`: a new seat, or the one `name` left (with its role).
    /// Refused for a wrong code, a name in use, or a full table.
    fn seat(
        &mut self,
        client: Entity,
        (code, name): (&str, &str),
        host_player: &str,
    ) -> Result<bool, String> {
        if code != self.code {
            return Err("wrong session code: ask the host for the code shown in its window".into());
        }
        if name == host_player {
            return Err(format!("\"{name}\" is the host's name: choose another"));
        }
        if self.seats.iter().any(|s| s.client == Some(client)) {
            return Err("this connection already has a seat".into());
        }
        let full = self.seats.len() >= MAX_PLAYERS;
        match self.seats.iter_mut().find(|s| s.name == name) {
            Some(seat) if seat.client.is_some() => Err(format!(
                "\"{name}\" is already at the table: choose another name"
            )),
            Some(seat) => {
                seat.client = Some(client);
                Ok(false)
            }
            None if full => Err(format!("the table is full ({MAX_PLAYERS} players)")),
            None => {
                self.seats.push(Seat {
                    name: name.to_string(),
                    client: Some(client),
                    from: 0,
                });
                Ok(true)
            }
        }
    }

    /// The player at `client` was sent the first `issued` commands in its welcome.
    fn welcomed(&mut self, client: Entity, issued: usize) {
        for seat in &mut self.seats {
            if seat.client == Some(client) {
                seat.from = issued;
            }
        }
    }

    fn seat_of(&self, client: Entity) -> Option<&str> {
        self.seats
            .iter()
            .find(|s| s.client == Some(client))
            .map(|s| s.name.as_str())
    }

    fn left(&mut self, client: Entity) {
        for seat in &mut self.seats {
            if seat.client == Some(client) {
                seat.client = None;
            }
        }
    }
}

impl Playing {
    pub fn new(host: SocketAddr, code: String, name: String, role: Option<Role>) -> Self {
        Self {
            name,
            host,
            code,
            role,
            joined: false,
            trouble: None,
            host_now: 0.0,
            host_speed: 0.0,
            asked: false,
            outbox: Vec::new(),
        }
    }

    /// A command for the host to issue in this player's name.
    pub fn send(&mut self, command: Command) {
        self.outbox.push(command);
    }
}

/// The network systems, for an app whose `T` (a non-send resource) hosts or joins a table.
pub fn plugin<T: Table>(app: &mut App) {
    app.add_plugins((RepliconPlugins, RepliconRenetPlugins))
        .add_client_message_with(Channel::Ordered, write_to_host, read_to_host)
        .add_server_message_with(Channel::Ordered, write_to_players, read_to_players)
        // Nothing is replicated: the host's messages need not wait for replication ticks,
        // and reach a player as soon as the host writes them.
        .make_message_independent::<ToPlayers>()
        .add_systems(
            PreUpdate,
            (
                host_receive::<T>
                    .after(ServerSystems::Receive)
                    .run_if(in_state(ServerState::Running)),
                player_receive::<T>
                    .after(ClientSystems::Receive)
                    .run_if(in_state(ClientState::Connected)),
            ),
        )
        .add_systems(
            PostUpdate,
            (
                host_send::<T>
                    .before(ServerSystems::Send)
                    .run_if(in_state(ServerState::Running)),
                player_send::<T>
                    .before(ClientSystems::Send)
                    .run_if(in_state(ClientState::Connected)),
            ),
        )
        .add_systems(OnExit(ClientState::Connected), connection_lost::<T>)
        .add_systems(
            OnTransition {
                exited: ClientState::Connecting,
                entered: ClientState::Disconnected,
            },
            host_unreachable::<T>,
        );
}

fn wire_error(reason: String) -> BevyError {
    std::io::Error::other(reason).into()
}

fn write_to_host(_: &mut ClientSendCtx, message: &ToHost, out: &mut Vec<u8>) -> Result<()> {
    out.extend(encode(message));
    Ok(())
}

fn read_to_host(_: &mut ServerReceiveCtx, bytes: &mut Bytes) -> Result<ToHost> {
    decode_to_host(bytes).map_err(|reason| {
        noise::count_malformed_message();
        wire_error(reason)
    })
}

fn write_to_players(_: &mut ServerSendCtx, message: &ToPlayers, out: &mut Vec<u8>) -> Result<()> {
    out.extend(encode(message));
    Ok(())
}

fn read_to_players(_: &mut ClientReceiveCtx, bytes: &mut Bytes) -> Result<ToPlayers> {
    decode_to_players(bytes).map_err(wire_error)
}

/// Opens the table on `bind` (e.g. 127.0.0.1:7777; port 0 picks one) for the game in
/// `world`, once its plugins are set up (from a startup system, or after `App::finish`).
/// Hashing rounds that stretch a session code into netcode's key. A code has 30 bits (six of
/// 32 symbols); an eavesdropper who captured a connect token pays these rounds per guess, so
/// trying every code costs 2^48 hashes.
const KEY_ROUNDS: u32 = 1 << 18;

/// Netcode's private key for the session whose code is `code`. Netcode runs in secure mode
/// with it: a connect token is encrypted with the key, so only a holder of the code can mint
/// one the host accepts, and the traffic is encrypted with keys that travel inside it.
pub fn session_key(code: &str) -> [u8; 32] {
    let mut key = blake3::derive_key("firedrill 2026-11 session key", code.as_bytes());
    for round in 0..KEY_ROUNDS {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&key);
        hasher.update(&round.to_le_bytes());
        key = *hasher.finalize().as_bytes();
    }
    key
}

/// How long a connection may stay without asking for a seat, real seconds.
const JOIN_WITHIN_S: f64 = 5.0;

pub fn host<T: Table>(world: &mut World, bind: &str, code: String) -> Result<SocketAddr, String> {
    let socket = UdpSocket::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    let channels = world.resource::<RepliconChannels>();
    let server = RenetServer::new(ConnectionConfig {
        server_channels_config: channels.server_configs(),
        client_channels_config: channels.client_configs(),
        ..Default::default()
    });
    let config = ServerConfig {
        current_time: since_epoch(),
        max_clients: MAX_PLAYERS,
        protocol_id: PROTOCOL_ID,
        authentication: ServerAuthentication::Secure {
            private_key: session_key(&code),
        },
        public_addresses: vec![addr],
    };
    let transport = NetcodeServerTransport::new(config, socket).map_err(|e| e.to_string())?;
    world.insert_resource(server);
    world.insert_resource(transport);
    *world.non_send_mut::<T>().link() = Link::Host(Hosting::new(code, addr));
    Ok(addr)
}

/// Connects the game in `world` to the host at `addr`, to sit as `name` (set up as for
/// [`host`]).
pub fn join<T: Table>(
    world: &mut World,
    host: SocketAddr,
    (code, name, role): (String, String, Option<Role>),
) -> Result<(), String> {
    let local = if host.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    let channels = world.resource::<RepliconChannels>();
    let client = RenetClient::new(ConnectionConfig {
        server_channels_config: channels.server_configs(),
        client_channels_config: channels.client_configs(),
        ..Default::default()
    });
    let now = since_epoch();
    // The player holds the code, so mints its own connect token with the session's key.
    let connect_token = ConnectToken::generate(
        now,
        PROTOCOL_ID,
        CONNECT_TOKEN_EXPIRY_S,
        // Unique enough among one table's players; identity is the seat name.
        now.as_nanos() as u64 ^ u64::from(std::process::id()) << 32,
        CONNECTION_TIMEOUT_S,
        vec![host],
        None,
        &session_key(&code),
    )
    .map_err(|e| format!("cannot make a connect token: {e}"))?;
    let authentication = ClientAuthentication::Secure { connect_token };
    let transport =
        NetcodeClientTransport::new(now, authentication, socket).map_err(|e| e.to_string())?;
    world.insert_resource(client);
    world.insert_resource(transport);
    *world.non_send_mut::<T>().link() = Link::Player(Playing::new(host, code, name, role));
    Ok(())
}

/// The host's address as a player typed it ("192.168.1.20:7777", "laptop.local:7777").
pub fn resolve(addr: &str) -> Result<SocketAddr, String> {
    addr.to_socket_addrs()
        .map_err(|e| format!("cannot resolve the host address {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("the host address {addr} resolves to no address"))
}

fn since_epoch() -> std::time::Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// How long a player's connect token is good for, seconds: long enough to reconnect.
const CONNECT_TOKEN_EXPIRY_S: u64 = 3600;
/// Netcode's silence before a connection counts as lost, seconds.
const CONNECTION_TIMEOUT_S: i32 = 15;

/// How long a refused connection may stay to read why, real seconds.
const REFUSED_GRACE_S: f64 = 2.0;

/// Seats the players who ask, and issues their commands in their seat's name.
fn host_receive<T: Table>(
    mut messages: MessageReader<FromClient<ToHost>>,
    mut left: RemovedComponents<ConnectedClient>,
    arrived: Query<Entity, Added<ConnectedClient>>,
    mut game: NonSendMut<T>,
    (mut out, mut disconnect): (
        MessageWriter<ToClients<ToPlayers>>,
        MessageWriter<DisconnectRequest>,
    ),
    time: Res<Time<Real>>,
) {
    let game = &mut *game;
    let real_now = time.elapsed_secs_f64();
    if let Link::Host(hosting) = game.link() {
        for client in left.read() {
            hosting.left(client);
            hosting.refused.retain(|(c, _)| *c != client);
            hosting.unseated.retain(|(c, _)| *c != client);
        }
        hosting
            .unseated
            .extend(arrived.iter().map(|client| (client, real_now)));
        let reports = hosting
            .noise
            .get_or_insert_with(|| NoiseReports::new(noise::counts(), real_now));
        if let Some(line) = reports.report(noise::counts(), real_now) {
            warn!("{line}");
        }
        // A connection that never asks for a seat holds a slot for nobody: cut it off.
        hosting.unseated.retain(|&(client, since)| {
            let keep = real_now < since + JOIN_WITHIN_S;
            if !keep {
                disconnect.write(DisconnectRequest { client });
            }
            keep
        });
        hosting.refused.retain(|&(client, until)| {
            let keep = real_now < until;
            if !keep {
                disconnect.write(DisconnectRequest { client });
            }
            keep
        });
    }
    for FromClient { client_id, message } in messages.read() {
        let ClientId::Client(client) = *client_id else {
            continue;
        };
        let host_player = game.player().to_string();
        let Link::Host(hosting) = game.link() else {
            return;
        };
        match message {
            ToHost::Join { code, name, role } => {
                hosting.unseated.retain(|(c, _)| *c != client);
                let seated = if *role == Some(Role::GameMaster) {
                    Err(GAME_MASTER_AT_HOST.to_string())
                } else {
                    hosting.seat(client, (code, name), &host_player)
                };
                match seated {
                    Ok(first_time) => {
                        if first_time && let Some(role) = role {
                            game.issue_as(name, Command::TakeRole(*role));
                        }
                        if let Some(welcome) = game.welcome(name) {
                            out.write(ToClients {
                                targets: SendTargets::Single(*client_id),
                                message: ToPlayers::Welcome(Box::new(welcome)),
                            });
                        }
                        let issued = game.issued_count();
                        if let Link::Host(hosting) = game.link() {
                            hosting.welcomed(client, issued);
                        }
                    }
                    Err(reason) => {
                        out.write(ToClients {
                            targets: SendTargets::Single(*client_id),
                            message: ToPlayers::Refused { reason },
                        });
                        hosting.refused.push((client, real_now + REFUSED_GRACE_S));
                    }
                }
            }
            ToHost::Issue(command) => {
                // A connection without a seat has not shown the code: ignored.
                if let Some(seat) = hosting.seat_of(client).map(str::to_string) {
                    if **command == Command::TakeRole(Role::GameMaster) {
                        game.tell(format!(
                            "{seat} asked for the game master's seat: {GAME_MASTER_AT_HOST}"
                        ));
                        continue;
                    }
                    game.issue_as(&seat, (**command).clone());
                }
            }
        }
    }
}

/// Why a player at the table cannot be the game master: the drill is directed from the
/// host, whose window holds the session and its journal.
const GAME_MASTER_AT_HOST: &str =
    "the game master runs the host (`firedrill host --game-master`), not a seat at the table";

/// Sends every seated player the commands issued since the last frame, then the clock.
fn host_send<T: Table>(mut game: NonSendMut<T>, mut out: MessageWriter<ToClients<ToPlayers>>) {
    let clock = game.clock();
    let (Link::Host(hosting), issued) = game.link_and_issued() else {
        return;
    };
    let fresh = hosting.sent;
    for seat in &hosting.seats {
        let Some(client) = seat.client else {
            continue;
        };
        let target = SendTargets::Single(ClientId::Client(client));
        for entry in &issued[fresh.max(seat.from).min(issued.len())..] {
            out.write(ToClients {
                targets: target,
                message: ToPlayers::Issued(Box::new(entry.clone())),
            });
        }
        if clock != hosting.announced || fresh < issued.len() {
            out.write(ToClients {
                targets: target,
                message: ToPlayers::Clock {
                    now: clock.0,
                    speed: clock.1,
                },
            });
        }
    }
    hosting.sent = issued.len();
    hosting.announced = clock;
}

/// Asks for a seat once connected, then sends the player's commands.
fn player_send<T: Table>(mut game: NonSendMut<T>, mut out: MessageWriter<ToHost>) {
    let Link::Player(playing) = game.link() else {
        return;
    };
    if !playing.asked {
        playing.asked = true;
        out.write(ToHost::Join {
            code: playing.code.clone(),
            name: playing.name.clone(),
            role: playing.role,
        });
    }
    if playing.joined {
        for command in playing.outbox.drain(..) {
            out.write(ToHost::Issue(Box::new(command)));
        }
    }
}

/// Starts from the host's session, applies what it issued, and follows its clock.
fn player_receive<T: Table>(
    mut messages: MessageReader<ToPlayers>,
    mut game: NonSendMut<T>,
    mut client: ResMut<RenetClient>,
) {
    for message in messages.read() {
        match message {
            ToPlayers::Welcome(welcome) => game.begin_remote(welcome),
            ToPlayers::Refused { reason } => {
                if let Link::Player(playing) = game.link() {
                    playing.trouble = Some(format!("the host refused: {reason}"));
                }
                client.disconnect();
            }
            ToPlayers::Issued(entry) => game.apply_remote((**entry).clone()),
            ToPlayers::Clock { now, speed } => {
                if let Link::Player(playing) = game.link() {
                    playing.host_now = playing.host_now.max(*now);
                    playing.host_speed = *speed;
                }
            }
        }
    }
    game.catch_up();
}

fn host_unreachable<T: Table>(mut game: NonSendMut<T>) {
    if let Link::Player(playing) = game.link()
        && playing.trouble.is_none()
    {
        playing.trouble = Some(format!(
            "no answer from {}: is the host running, is the address right, and is the session code the one the host shows? (a wrong code is not answered)",
            playing.host
        ));
    }
}

fn connection_lost<T: Table>(mut game: NonSendMut<T>) {
    if let Link::Player(playing) = game.link() {
        playing.asked = false;
        playing.joined = false;
        if playing.trouble.is_none() {
            playing.trouble = Some(format!(
                "lost the connection to {}: join again to take your seat back",
                playing.host
            ));
        }
    }
}
