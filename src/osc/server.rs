//! The OSC server thread: receive, dispatch, reply, forward acks.

use super::dispatch::{Dispatched, OscError, dispatch};
use earshot_engine::ack::{AckEvent, AckKind, AckStage};
use earshot_engine::control::Control;
use rosc::{OscMessage, OscPacket, OscType};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread looks at its stop flag and at acks to forward.
const POLL: Duration = Duration::from_millis(5);
/// Changes whose later acks are still to be forwarded, at most.
const MAX_PENDING: usize = 1024;

/// What the server has seen; any thread may read it.
#[derive(Debug, Default)]
pub struct OscCounters {
    /// Messages applied.
    pub applied: AtomicU64,
    /// Packets that did not decode.
    pub malformed: AtomicU64,
    /// Messages refused (unknown address, bad arguments, bad value).
    pub refused: AtomicU64,
    /// Replies that could not be sent.
    pub reply_failures: AtomicU64,
}

/// A running OSC server.
#[derive(Debug)]
pub struct OscServer {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    counters: Arc<OscCounters>,
    handle: Option<JoinHandle<()>>,
}

/// A sender waiting for the later acks of its change.
struct Pending {
    to: SocketAddr,
    kind: AckKind,
    epoch: u64,
    /// The last stage to forward: a request that changed nothing ends at
    /// Committed (its epoch may have been heard long ago).
    until: AckStage,
}

impl OscServer {
    /// Binds `addr` (port 0 picks a free one) and serves `control`.
    pub fn bind(addr: SocketAddr, control: Control) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(POLL))?;
        let local = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(OscCounters::default());
        let (flag, seen) = (Arc::clone(&stop), Arc::clone(&counters));
        let acks = control.subscribe_acks();
        let handle = std::thread::Builder::new()
            .name("earshot-osc".into())
            .spawn(move || {
                let mut pending: Vec<Pending> = Vec::new();
                let mut buf = [0u8; rosc::decoder::MTU];
                while !flag.load(Ordering::Acquire) {
                    if let Ok((len, from)) = socket.recv_from(&mut buf) {
                        handle_packet(&buf[..len], from, &socket, &control, &seen, &mut pending);
                    }
                    for event in acks.try_iter() {
                        forward(&event, &socket, &seen, &mut pending);
                    }
                }
            })?;
        Ok(Self {
            local,
            stop,
            counters,
            handle: Some(handle),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Its counters.
    pub fn counters(&self) -> &OscCounters {
        &self.counters
    }

    /// Stops the thread; it wakes at least every 5 ms, so this is quick.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            // A panic in the server thread was already reported by the runtime.
            let _ = h.join();
        }
    }
}

impl Drop for OscServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn reply(socket: &UdpSocket, to: SocketAddr, message: OscMessage, seen: &OscCounters) {
    let sent = rosc::encoder::encode(&OscPacket::Message(message))
        .ok()
        .and_then(|bytes| socket.send_to(&bytes, to).ok());
    if sent.is_none() {
        seen.reply_failures.fetch_add(1, Ordering::Relaxed);
    }
}

fn error(socket: &UdpSocket, to: SocketAddr, addr: &str, e: &str, seen: &OscCounters) {
    let message = OscMessage {
        addr: "/earshot/error".into(),
        args: vec![OscType::String(addr.into()), OscType::String(e.into())],
    };
    reply(socket, to, message, seen);
}

fn handle_packet(
    bytes: &[u8],
    from: SocketAddr,
    socket: &UdpSocket,
    control: &Control,
    seen: &OscCounters,
    pending: &mut Vec<Pending>,
) {
    let packet = match rosc::decoder::decode_udp(bytes) {
        Ok((_, packet)) => packet,
        Err(e) => {
            seen.malformed.fetch_add(1, Ordering::Relaxed);
            error(
                socket,
                from,
                "",
                &format!("malformed OSC packet: {e}"),
                seen,
            );
            return;
        }
    };
    let mut messages = vec![packet];
    while let Some(p) = messages.pop() {
        match p {
            OscPacket::Bundle(b) => messages.extend(b.content.into_iter().rev()),
            OscPacket::Message(m) => match dispatch(&m, control) {
                Ok(done) => {
                    seen.applied.fetch_add(1, Ordering::Relaxed);
                    match done {
                        Dispatched::Change(kind, epoch, changed) => {
                            if pending.len() >= MAX_PENDING {
                                pending.remove(0);
                            }
                            let until = if changed {
                                AckStage::FirstAudible
                            } else {
                                AckStage::Committed
                            };
                            pending.push(Pending {
                                to: from,
                                kind,
                                epoch,
                                until,
                            });
                        }
                        Dispatched::Pong => reply(
                            socket,
                            from,
                            OscMessage {
                                addr: "/earshot/pong".into(),
                                args: vec![],
                            },
                            seen,
                        ),
                        Dispatched::Applied => {}
                    }
                }
                Err(e) => {
                    seen.refused.fetch_add(1, Ordering::Relaxed);
                    let e: OscError = e;
                    error(socket, from, &m.addr, &e.to_string(), seen);
                }
            },
        }
    }
}

fn stage_name(stage: AckStage) -> &'static str {
    match stage {
        AckStage::Received => "received",
        AckStage::Committed => "committed",
        AckStage::FirstProduce => "first_produce",
        AckStage::FirstAudible => "first_audible",
        AckStage::Dropped => "dropped",
    }
}

/// Sends `event` to every sender whose change it acknowledges: the same
/// epoch at the control stages, any older one at the later stages (a newer
/// epoch produced or heard covers the older ones). A sender is done after
/// its change was heard.
fn forward(event: &AckEvent, socket: &UdpSocket, seen: &OscCounters, pending: &mut Vec<Pending>) {
    let covers = |p: &Pending| {
        p.kind == event.kind
            && match event.stage {
                AckStage::Received | AckStage::Committed => p.epoch == event.epoch,
                // A later stage of a newer epoch covers older ones; a drop
                // concerns exactly its own epoch.
                AckStage::FirstProduce | AckStage::FirstAudible => p.epoch <= event.epoch,
                AckStage::Dropped => p.epoch == event.epoch,
            }
    };
    let kind = match event.kind {
        AckKind::Knob => "knob",
        AckKind::Conditioning => "conditioning",
    };
    let mut told: Vec<SocketAddr> = Vec::new();
    for p in pending.iter().filter(|p| covers(p)) {
        if told.contains(&p.to) {
            continue;
        }
        told.push(p.to);
        let message = OscMessage {
            addr: "/earshot/ack".into(),
            args: vec![
                OscType::String(kind.into()),
                OscType::String(stage_name(event.stage).into()),
                OscType::Long(event.epoch as i64),
                OscType::Long(event.at.0 as i64),
            ],
        };
        reply(socket, p.to, message, seen);
    }
    let stage = event.stage;
    pending.retain(|p| !(covers(p) && (stage >= p.until || stage == AckStage::Dropped)));
}
