//! OSC on loopback: knob changes come back as acks, bad packets as errors
//! and counters, and a playing earshot reports a change as heard.

use earshot::engine::clock::{Clock, RealClock};
use earshot::engine::control::Control;
use earshot::osc::OscServer;
use rosc::{OscMessage, OscPacket, OscType};
use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn server() -> (OscServer, Control, UdpSocket) {
    let clock: Arc<dyn Clock> = Arc::new(RealClock::new(48_000));
    let control = Control::new(earshot_audio_model::knobs::knobs(), 8, clock);
    let server = OscServer::bind("127.0.0.1:0".parse().unwrap(), control.clone()).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    (server, control, client)
}

fn send(client: &UdpSocket, server: &OscServer, addr: &str, args: Vec<OscType>) {
    let bytes = rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: addr.into(),
        args,
    }))
    .unwrap();
    client.send_to(&bytes, server.local_addr()).unwrap();
}

fn receive(client: &UdpSocket) -> OscMessage {
    let mut buf = [0u8; 1536];
    let (len, _) = client.recv_from(&mut buf).expect("a reply");
    match rosc::decoder::decode_udp(&buf[..len]).unwrap().1 {
        OscPacket::Message(m) => m,
        OscPacket::Bundle(b) => panic!("unexpected bundle {b:?}"),
    }
}

#[test]
fn a_knob_change_is_applied_and_acknowledged() {
    let (server, control, client) = server();
    send(
        &client,
        &server,
        "/earshot/knob/brightness",
        vec![OscType::Float(0.7)],
    );
    for stage in ["received", "committed"] {
        let ack = receive(&client);
        assert_eq!(ack.addr, "/earshot/ack");
        assert_eq!(ack.args[0], OscType::String("knob".into()));
        assert_eq!(ack.args[1], OscType::String(stage.into()));
        assert_eq!(ack.args[2], OscType::Long(1));
    }
    assert_eq!(control.lock().knobs.epoch(), 1);
    assert_eq!(server.counters().applied.load(Ordering::Relaxed), 1);
    server.stop();
}

#[test]
fn bad_packets_get_errors_and_counters_and_the_server_keeps_serving() {
    let (server, control, client) = server();
    client
        .send_to(b"\x00\x01garbage", server.local_addr())
        .unwrap();
    let e = receive(&client);
    assert_eq!(e.addr, "/earshot/error");
    send(
        &client,
        &server,
        "/earshot/knob/brightness",
        vec![OscType::Float(f32::NAN)],
    );
    let e = receive(&client);
    assert_eq!(e.addr, "/earshot/error");
    assert_eq!(
        e.args[0],
        OscType::String("/earshot/knob/brightness".into())
    );
    send(&client, &server, "/earshot/whatever", vec![]);
    assert_eq!(receive(&client).addr, "/earshot/error");
    // Random bytes: never a crash, every packet accounted for.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..300 {
        let mut packet = Vec::new();
        for _ in 0..(x % 64) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            packet.push(x as u8);
        }
        client.send_to(&packet, server.local_addr()).unwrap();
        let _ = receive(&client);
    }
    send(&client, &server, "/earshot/ping", vec![]);
    loop {
        if receive(&client).addr == "/earshot/pong" {
            break;
        }
    }
    let c = server.counters();
    let total = c.malformed.load(Ordering::Relaxed)
        + c.refused.load(Ordering::Relaxed)
        + c.applied.load(Ordering::Relaxed);
    assert_eq!(total, 1 + 2 + 300 + 1, "every packet counted once");
    assert_eq!(
        control.lock().knobs.epoch(),
        0,
        "nothing bad changed anything"
    );
    server.stop();
}

/// Runs `earshot send` with `message` and checks all four acks of epoch 1.
fn expect_every_ack(exe: &str, addr: &str, message: &[&str], kind: &str) {
    let sent = Command::new(exe)
        .args(["send", "--to", addr, "--wait-ms", "3000"])
        .args(message)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&sent.stderr)
    );
    for stage in ["received", "committed", "first_produce", "first_audible"] {
        assert!(
            out.contains(&format!("/earshot/ack {kind} {stage} 1 ")),
            "{stage} missing in:\n{out}"
        );
    }
}

#[test]
fn a_playing_earshot_reports_an_osc_change_as_heard() {
    let exe = env!("CARGO_BIN_EXE_earshot");
    let mut play = Command::new(exe)
        .args([
            "play",
            "--no-trace",
            "--sink",
            "null",
            "--seconds",
            "8",
            "--osc",
            "0",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = play.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("play announces its OSC address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("OSC on ") {
            break addr.to_owned();
        }
    };
    std::thread::sleep(Duration::from_millis(1000));
    // A knob change, then a prompt change (encoded off the state lock):
    // each comes back acknowledged at every stage.
    expect_every_ack(exe, &addr, &["/earshot/knob/brightness", "0.9"], "knob");
    expect_every_ack(
        exe,
        &addr,
        &["/earshot/prompt", "slow strings in a cathedral"],
        "conditioning",
    );
    let bad = Command::new(exe)
        .args(["send", "--to", &addr, "/earshot/knob/brightness", "9"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("/earshot/error"));
    let _ = play.kill();
    let _ = play.wait();
}
