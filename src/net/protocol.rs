//! What host and players say to each other, and the one place where bytes from the network
//! become messages: bounded, checked, never trusted. The host runs the only simulation that
//! counts; it sends each player the session to start from, then every command it issued
//! (accepted or refused, with who issued it) and its clock. The simulation is deterministic,
//! so a player that applies the same commands at the same ticks sees the same fleet.

use bevy::prelude::Message;
use serde::{Deserialize, Serialize};

use crate::incident::{Command, Entry, Role};

/// The most bytes one message from a player may take: commands are small; a postmortem with
/// every field filled is a few kilobytes.
pub const MAX_TO_HOST_BYTES: usize = 64 * 1024;
/// The longest player name and session code.
pub const MAX_NAME_CHARS: usize = 32;

/// From a player to the host.
#[derive(Message, Clone, Debug, Deserialize, Serialize, PartialEq)]
pub enum ToHost {
    /// Take a seat (or come back to one): the session code proves the player was invited;
    /// the role is asked for on the first join only (a returning player keeps theirs).
    Join {
        code: String,
        name: String,
        role: Option<Role>,
    },
    /// A command, issued by the player's seat; the host decides whether it is allowed.
    Issue(Box<Command>),
}

/// From the host to the players.
#[derive(Message, Clone, Debug, Deserialize, Serialize, PartialEq)]
pub enum ToPlayers {
    /// The session to replay and catch up with: sent on every join.
    Welcome(Box<Welcome>),
    /// The join was refused; the connection ends.
    Refused { reason: String },
    /// A command the host issued: apply it at its time.
    Issued(Box<Entry>),
    /// The host's simulated clock: run up to it, never past it.
    Clock { now: f64, speed: f64 },
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Welcome {
    /// The player's seat: their name in the journal.
    pub seat: String,
    pub role: Option<Role>,
    pub scenario_file: String,
    /// The scenario's text, so a player needs no copy of the file.
    pub scenario: String,
    pub seed: u64,
    pub duration_s: f64,
    /// Every command issued so far, in order.
    pub entries: Vec<Entry>,
    pub now: f64,
    pub speed: f64,
}

/// Serializes a message for the wire: JSON, the journal's format (durations read either as
/// numbers or as "90s", which only a self-describing format can carry).
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).expect("messages serialize")
}

/// Reads a player's message: too long, malformed (trailing bytes included), or with an
/// unusable name or code, it is refused with the reason.
pub fn decode_to_host(bytes: &[u8]) -> Result<ToHost, String> {
    if bytes.len() > MAX_TO_HOST_BYTES {
        return Err(format!(
            "{} bytes: a message may take at most {MAX_TO_HOST_BYTES}",
            bytes.len()
        ));
    }
    let message: ToHost =
        serde_json::from_slice(bytes).map_err(|e| format!("malformed message: {e}"))?;
    if let ToHost::Join { code, name, .. } = &message {
        check_name("name", name)?;
        check_name("session code", code)?;
    }
    Ok(message)
}

/// Reads the host's message (a player trusts its host, but not the wire).
pub fn decode_to_players(bytes: &[u8]) -> Result<ToPlayers, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("malformed message: {e}"))
}

/// A name or code: 1 to [`MAX_NAME_CHARS`] letters, digits, spaces, `-`, `_` or `.`.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(format!(
            "the {what} must be 1 to {MAX_NAME_CHARS} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.')))
    {
        return Err(format!("the {what} may not contain {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{CATALOG, parse_script};

    #[test]
    fn every_command_in_the_catalog_crosses_the_wire_unchanged() {
        for (example, _) in CATALOG {
            let entry = parse_script("catalog", &format!("[{example}]"))
                .unwrap_or_else(|e| panic!("{example}: {e}"))
                .remove(0);
            let sent = ToHost::Issue(Box::new(entry.command.clone()));
            assert_eq!(decode_to_host(&encode(&sent)).unwrap(), sent);
            let back = ToPlayers::Issued(Box::new(entry.clone()));
            assert_eq!(decode_to_players(&encode(&back)).unwrap(), back);
        }
        let join = ToHost::Join {
            code: "K7Q2XP".into(),
            name: "ana".into(),
            role: Some(Role::Ops),
        };
        assert_eq!(decode_to_host(&encode(&join)).unwrap(), join);
    }

    /// A tiny deterministic generator, so the damage is the same on every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    #[test]
    fn random_and_damaged_bytes_are_refused_never_panic() {
        let mut rng = Lcg(7);
        let good = encode(&ToHost::Issue(Box::new(Command::Resolve)));
        let join = encode(&ToHost::Join {
            code: "CODE".into(),
            name: "ana".into(),
            role: None,
        });
        for round in 0..20_000 {
            let bytes: Vec<u8> = match round % 3 {
                // Pure noise of any length.
                0 => (0..rng.next() % 300).map(|_| rng.next() as u8).collect(),
                // A valid message with bytes flipped, cut or appended.
                1 => {
                    let mut b = if round % 2 == 0 {
                        good.clone()
                    } else {
                        join.clone()
                    };
                    for _ in 0..=rng.next() % 3 {
                        let at = rng.next() as usize % b.len();
                        b[at] = rng.next() as u8;
                    }
                    b.truncate(rng.next() as usize % (b.len() + 1));
                    b
                }
                // Deep nesting, to exhaust a recursive decoder.
                _ => [b"{\"Issue\":".repeat(200), vec![b'1']].concat(),
            };
            let _ = decode_to_host(&bytes);
            let _ = decode_to_players(&bytes);
        }
        assert!(decode_to_host(&vec![0; MAX_TO_HOST_BYTES + 1]).is_err());
        let mut trailing = good.clone();
        trailing.push(b'x');
        assert!(decode_to_host(&trailing).unwrap_err().contains("trailing"));
        let bad_name = encode(&ToHost::Join {
            code: "CODE".into(),
            name: "a\u{0}b".into(),
            role: None,
        });
        assert!(
            decode_to_host(&bad_name)
                .unwrap_err()
                .contains("may not contain")
        );
    }
}
