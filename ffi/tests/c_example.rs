//! examples/c/play_to_wav.c compiles against the checked-in header, links
//! the `libearshot_c.so` cargo built for these tests, plays 5 s with a
//! knob change, prints the change's acks and writes a WAV file that is
//! 5 s of finite, audible stereo.

#![cfg(target_os = "linux")]
// The library name, rpath and loader path below are Linux's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The directory with the `libearshot_c.so` of this build: the test
/// binary's own (`target/<profile>/deps`); cargo builds every crate type
/// of the library when it builds it for the tests.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().to_path_buf();
    assert!(
        dir.join("libearshot_c.so").is_file(),
        "no libearshot_c.so next to {}",
        exe.display()
    );
    dir
}

fn compile(source: &Path, include: &Path, lib: &Path, exe: &Path) {
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = Command::new(&cc)
        .args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .arg("-I")
        .arg(include)
        .arg(source)
        .arg("-L")
        .arg(lib)
        .arg("-learshot_c")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lm")
        .arg("-o")
        .arg(exe)
        .output()
        .expect("a C compiler (set CC)");
    assert!(
        output.status.success(),
        "{cc:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `exe` with `arg` against the library in `lib`, killing it after
/// `limit`.
fn run(exe: &Path, arg: &Path, lib: &Path, limit: Duration) -> Output {
    let mut child = Command::new(exe)
        .arg(arg)
        // cargo puts target/<profile> first on the search path, where a
        // `cargo build` may have left an older, unoptimized library that
        // would win over the executable's rpath.
        .env("LD_LIBRARY_PATH", lib)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_c_example_plays_five_seconds_with_a_knob_change_into_a_wav() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_example");
    std::fs::create_dir_all(&work).unwrap();
    let exe = work.join("play_to_wav");
    let wav = work.join("play_to_wav.wav");
    let _ = std::fs::remove_file(&wav);
    let lib = library_dir();
    compile(
        &root.join("examples/c/play_to_wav.c"),
        &root.join("ffi/include"),
        &lib,
        &exe,
    );

    let output = run(&exe, &wav, &lib, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "knob epoch 1)",
        "ack knob epoch 1 received",
        "ack knob epoch 1 committed",
        "first_produce",
    ] {
        assert!(stdout.contains(line), "{line:?} in:\n{stdout}");
    }

    let mut reader = hound::WavReader::open(&wav).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.channels, 2);
    assert_eq!(spec.sample_rate, 48_000);
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    assert_eq!(reader.duration(), 5 * 48_000, "5 s of stereo frames");
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    assert!(samples.iter().all(|v| v.is_finite()));
    let rms = (samples.iter().map(|v| v * v).sum::<f32>() / samples.len() as f32).sqrt();
    assert!(rms > 1e-4, "audible: rms {rms}\n{stdout}");
}
