//! `earshot send`: a small OSC client that sends one message and prints the
//! replies (acks, errors) that come back within a wait.

use anyhow::{Context, bail};
use clap::Parser;
use rosc::{OscMessage, OscPacket, OscType};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
pub struct SendArgs {
    /// The server (`earshot play --osc PORT`).
    #[arg(long, default_value = "127.0.0.1:9000")]
    to: SocketAddr,
    /// How long to wait for replies, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    wait_ms: u64,
    /// The OSC address, e.g. /earshot/knob/brightness.
    address: String,
    /// Arguments: integers are sent as int32, other numbers as float32,
    /// anything else as a string.
    #[arg(allow_negative_numbers = true)]
    values: Vec<String>,
}

fn argument(text: &str) -> OscType {
    if let Ok(i) = text.parse::<i32>() {
        OscType::Int(i)
    } else if let Ok(f) = text.parse::<f32>() {
        OscType::Float(f)
    } else {
        OscType::String(text.to_owned())
    }
}

fn describe(message: &OscMessage) -> String {
    let args: Vec<String> = message
        .args
        .iter()
        .map(|a| match a {
            OscType::String(s) => s.clone(),
            OscType::Int(i) => i.to_string(),
            OscType::Long(i) => i.to_string(),
            OscType::Float(f) => f.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    format!("{} {}", message.addr, args.join(" "))
}

pub fn run(args: &SendArgs) -> anyhow::Result<()> {
    let bind: SocketAddr = if args.to.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .context("local address")?;
    let socket = UdpSocket::bind(bind).context("opening a UDP socket")?;
    let message = OscMessage {
        addr: args.address.clone(),
        args: args.values.iter().map(|v| argument(v)).collect(),
    };
    let bytes = rosc::encoder::encode(&OscPacket::Message(message)).context("encoding")?;
    socket
        .send_to(&bytes, args.to)
        .with_context(|| format!("sending to {}", args.to))?;
    let deadline = Instant::now() + Duration::from_millis(args.wait_ms);
    let mut buf = [0u8; rosc::decoder::MTU];
    let mut failed = None;
    while let Some(left) = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
    {
        socket.set_read_timeout(Some(left))?;
        let Ok((len, _)) = socket.recv_from(&mut buf) else {
            break;
        };
        let Ok((_, OscPacket::Message(reply))) = rosc::decoder::decode_udp(&buf[..len]) else {
            continue;
        };
        println!("{}", describe(&reply));
        if reply.addr == "/earshot/error" {
            failed = Some(describe(&reply));
        }
        let heard = reply.args.get(1) == Some(&OscType::String("first_audible".into()));
        if heard || reply.addr == "/earshot/pong" {
            break;
        }
    }
    if let Some(e) = failed {
        bail!("the server refused the message: {e}");
    }
    Ok(())
}
