//! `earshot play`: live playback on the real clock into the null and WAV
//! sinks and, where the virtual sound card can start, through cpal; Ctrl-C
//! stops it cleanly; bad arguments fail clearly.
//!
//! The runs share the machine's cores with the runner's busy tick loop, so
//! they take turns: every test holds [`one_at_a_time`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const RATE: u64 = 48_000;

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn earshot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_earshot"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-play-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Longer than any run of a working binary on the busiest machine: only a
/// hang reaches it.
const HANG: Duration = Duration::from_secs(120);

/// Runs `cmd` to its end, failing the test if it takes longer than `limit`.
fn run_within(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            return (child.wait_with_output().unwrap(), started.elapsed());
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The summary line's figures.
#[derive(Debug)]
struct Summary {
    line: String,
    playhead: u64,
    underruns: u64,
}

fn summary(out: &Output) -> Summary {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {}: {stderr}", out.status);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("played "))
        .unwrap_or_else(|| panic!("no summary in {stdout:?}; stderr: {stderr}"))
        .to_owned();
    let words: Vec<&str> = line.split_whitespace().collect();
    let before = |word: &str| -> u64 {
        let i = words
            .iter()
            .position(|w| w.trim_end_matches(',') == word)
            .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
        words[i - 1].parse().unwrap()
    };
    let after = |word: &str| -> u64 {
        let i = words
            .iter()
            .position(|w| *w == word)
            .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
        words[i + 1].trim_end_matches(')').parse().unwrap()
    };
    Summary {
        playhead: after("(playhead"),
        underruns: before("underruns"),
        line,
    }
}

#[test]
fn the_null_sink_plays_two_seconds_and_traces_them() {
    let _turn = one_at_a_time();
    let trace = temp("null-trace.jsonl");
    let (out, took) = run_within(
        earshot()
            .args(["play", "--sink", "null", "--seconds", "2", "--trace"])
            .arg(&trace),
        HANG,
    );
    let s = summary(&out);
    println!("{} (took {took:?}, {} underruns)", s.line, s.underruns);
    assert!(s.line.contains("on null"), "{}", s.line);
    // Underruns on a real clock depend on the machine's load: reported,
    // not asserted (the golden live report measures them).
    let played = s.playhead as f64 / RATE as f64;
    assert!(played >= 1.9, "{}", s.line);
    let lines = std::fs::read_to_string(&trace).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "tick_start");
    assert!(lines.contains(r#""event":"patch""#), "patches are traced");
}

#[test]
fn the_wav_sink_writes_what_was_played_in_real_time() {
    let _turn = one_at_a_time();
    let wav = temp("played.wav");
    let (out, _) = run_within(
        earshot()
            .args([
                "play",
                "--no-trace",
                "--sink",
                "wav",
                "--seconds",
                "2",
                "--out",
            ])
            .arg(&wav),
        HANG,
    );
    let s = summary(&out);
    println!("{}", s.line);
    let (spec, samples) = earshot::wav::read(&wav).unwrap();
    assert_eq!((spec.sample_rate, spec.channels), (48_000, 2));
    let seconds = samples.len() as f64 / 2.0 / RATE as f64;
    assert!(seconds >= 1.8, "{seconds} s written");
    assert_eq!(
        samples.len() as u64,
        2 * s.playhead,
        "the file is the playback"
    );
    assert!(samples.iter().all(|v| v.is_finite()));
    assert!(samples.iter().any(|v| v.abs() > 1e-3), "not silent");
}

#[test]
fn ctrl_c_stops_cleanly_and_quickly() {
    let _turn = one_at_a_time();
    let mut child = earshot()
        .args(["play", "--no-trace", "--sink", "null"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still playing");
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // Safety: kill(2) on the pid of our own child, which has not been
    // waited for, so the pid cannot have been reused.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT sent");
    let interrupted = Instant::now();
    while child.try_wait().unwrap().is_none() {
        // Only a hang reaches this bound; how quickly it stops is the
        // machine's business.
        if interrupted.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("did not stop within 20 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = interrupted.elapsed();
    let out = child.wait_with_output().unwrap();
    let s = summary(&out);
    println!("{} (exited {took:?} after SIGINT)", s.line);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stopped by Ctrl-C"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The variable naming the virtual sound card script, where it is not in
/// a `shared/tools/` inside or above the checkout.
const VIRTUAL_SOUNDCARD_ENV: &str = "EARSHOT_VIRTUAL_SOUNDCARD";

/// The virtual sound card script: the one the variable names, else
/// `shared/tools/virtual-soundcard` in the checkout or any directory above
/// it.
fn virtual_soundcard() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(VIRTUAL_SOUNDCARD_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/tools/virtual-soundcard"))
        .find(|p| p.is_file())
}

/// Stops the virtual sound card when dropped, if this test started it.
struct SoundCard {
    script: PathBuf,
    ours: bool,
}

impl Drop for SoundCard {
    fn drop(&mut self) {
        if self.ours {
            let _ = Command::new(&self.script).arg("stop").status();
        }
    }
}

#[test]
fn the_cpal_sink_plays_on_the_virtual_sound_card() {
    let _turn = one_at_a_time();
    let Some(script) = virtual_soundcard() else {
        println!(
            "SKIPPED: no shared/tools/virtual-soundcard in or above the checkout, \
             and {VIRTUAL_SOUNDCARD_ENV} names none"
        );
        return;
    };
    let start = match Command::new(&script).arg("start").output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "SKIPPED: {} start failed ({}): {}",
                script.display(),
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
            return;
        }
        Err(e) => {
            println!("SKIPPED: cannot run {}: {e}", script.display());
            return;
        }
    };
    let _card = SoundCard {
        ours: !String::from_utf8_lossy(&start.stdout).contains("already running"),
        script,
    };
    let (out, _) = run_within(
        earshot().args(["play", "--no-trace", "--sink", "cpal", "--seconds", "3"]),
        HANG,
    );
    let s = summary(&out);
    println!("{}", s.line);
    assert!(s.line.contains("on default (48000 Hz"), "{}", s.line);
    // The card paces the playhead; the run stops once it has played its
    // three seconds, however slow the machine.
    let expected = 3 * RATE;
    assert!(
        s.playhead >= expected - expected / 10,
        "playhead advanced {} frames, expected at least {expected} - 10 %",
        s.playhead
    );
    assert!(s.line.ends_with(" 0 output errors"), "{}", s.line);
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let _turn = one_at_a_time();
    let cases: [(&[&str], &str); 6] = [
        (&["--sink", "bogus"], "invalid value 'bogus'"),
        (
            &["--device", "nonexistent", "--seconds", "1"],
            "no audio output device named \"nonexistent\"",
        ),
        (&["--sink", "null", "--seconds", "-1"], "--seconds"),
        (&["--sink", "null", "--device", "x"], "cpal sink only"),
        (&["--sink", "null", "--knob", "bogus=1"], "unknown knob"),
        (
            &["--sink", "wav", "--out", "/nonexistent/dir/x.wav"],
            "/nonexistent/dir/x.wav",
        ),
    ];
    for (args, needle) in cases {
        let (out, _) = run_within(earshot().args(["play", "--no-trace"]).args(args), HANG);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn midi_without_a_device_says_so_and_plays_on() {
    let _turn = one_at_a_time();
    let (out, _) = run_within(
        earshot().args([
            "play",
            "--no-trace",
            "--sink",
            "null",
            "--seconds",
            "1",
            "--midi",
        ]),
        HANG,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("MIDI control"), "{stderr}");
    let (bad, _) = run_within(
        earshot().args([
            "play",
            "--no-trace",
            "--sink",
            "null",
            "--seconds",
            "1",
            "--midi-learn",
            "loudness",
        ]),
        HANG,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("loudness"));
}
