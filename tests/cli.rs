//! The `earshot` binary: render, weights init/check, knobs, and clear
//! failures on bad arguments.

use std::path::PathBuf;
use std::process::Command;

fn earshot() -> Command {
    Command::new(env!("CARGO_BIN_EXE_earshot"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("earshot-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn render_writes_a_48k_stereo_wav_and_a_summary() {
    let out = temp("render.wav");
    let trace = temp("trace.jsonl");
    let run = earshot()
        .args(["render", "--seconds", "2", "--out"])
        .arg(&out)
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("real-time factor"), "{stdout}");
    let (spec, samples) = earshot::wav::read(&out).unwrap();
    assert_eq!((spec.sample_rate, spec.channels), (48_000, 2));
    assert_eq!(samples.len(), 2 * 48_000 * 2);
    assert!(samples.iter().all(|v| v.is_finite()));
    assert!(samples.iter().any(|v| v.abs() > 1e-3), "not silent");
    let lines = std::fs::read_to_string(&trace).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "tick_start");
}

#[test]
fn weights_init_then_check_then_render_from_the_file() {
    let path = temp("tiny.safetensors");
    let init = earshot()
        .args(["weights", "init", "--size", "tiny", "--seed", "3", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let check = earshot()
        .args(["weights", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("valid tiny model"));
    let out = temp("from-file.wav");
    let render = earshot()
        .args(["render", "--seconds", "1", "--quiet", "--weights"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let out = temp("never.wav");
    let cases: [(&[&str], &str); 7] = [
        (&["--seconds", "-1"], "seconds"),
        (&["--seconds", "nan"], "seconds"),
        (&["--knob", "brightness=2"], "outside"),
        (&["--knob", "bogus=1"], "unknown knob"),
        (&["--knob", "brightness"], "NAME=VALUE"),
        (&["--steps", "0"], "steps"),
        (
            &["--weights", "/nonexistent/w.safetensors"],
            "/nonexistent/w.safetensors",
        ),
    ];
    for (args, needle) in cases {
        let run = earshot()
            .arg("render")
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(!run.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let corrupt = temp("corrupt.safetensors");
    std::fs::write(&corrupt, b"not a weights file").unwrap();
    let run = earshot()
        .args(["weights", "check"])
        .arg(&corrupt)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("corrupt"));
}

#[test]
fn knobs_are_listed() {
    let run = earshot().arg("knobs").output().unwrap();
    assert!(run.status.success());
    let text = String::from_utf8_lossy(&run.stdout);
    for name in ["brightness", "noise", "density", "warmth"] {
        assert!(text.contains(name), "{text}");
    }
}

#[test]
fn absurd_sizes_are_refused_not_crashed() {
    let out = temp("absurd.wav");
    let config = temp("absurd.toml");
    std::fs::write(&config, "[stream]\nqueue_cap = 100000000\n").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--produce-hop", "18446744073709551615"], "produce hop"),
        (&["--produce-hop", "0"], "produce-hop"),
        (&["--seconds", "1"], "queue_cap"),
    ];
    for (i, (args, needle)) in cases.into_iter().enumerate() {
        let mut cmd = earshot();
        cmd.arg("render").args(args).arg("--out").arg(&out);
        if i == 2 {
            cmd.arg("--config").arg(&config);
        }
        let run = cmd.output().unwrap();
        assert!(!run.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn golden_run_compares_with_the_baselines() {
    let run = earshot()
        .args(["golden", "run", "--backend", "signal"])
        .args(["--only", "knob_step", "--only", "loop_band"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("knob_step"), "{stderr}");
    assert!(stderr.contains("within tolerance"), "{stderr}");
}

#[test]
fn golden_run_names_the_line_and_field_of_a_bad_scenario() {
    let dir = temp("bad-scenarios");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"bad\"\nabout = \"x\"\nduration = 96000\nprofile = \"cpu-tiny\"\n\n[[action]]\nat = 100\nknob = { name = \"brightness\", vaule = 0.5 }\n",
    )
    .unwrap();
    let run = earshot()
        .args(["golden", "run", "--backend", "signal", "--scenarios"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("line 8"), "{stderr}");
    assert!(stderr.contains("vaule"), "{stderr}");
}

#[test]
fn golden_report_writes_markdown_json_and_plots() {
    let out = temp("golden-report");
    let run = earshot()
        .args([
            "golden",
            "report",
            "--backend",
            "signal",
            "--only",
            "knob_sweep",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| knob_sweep | cpu-tiny |"), "{md}");
    assert!(md.contains("## Latency budget"), "{md}");
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(json.contains("\"audible_first\""));
    for png in ["audible_first.png", "budget.png", "timeline-knob_sweep.png"] {
        let bytes = std::fs::read(out.join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }
}

/// `earshot golden run` finds its files at run time, not where the binary
/// was built: a copy of the binary run from an unrelated directory says
/// where it looked, `EARSHOT_GOLDEN_DIR` points it at the files, and a
/// binary inside a checkout's `target/` finds the checkout's `golden/`.
#[test]
fn golden_run_finds_its_files_wherever_the_binary_is() {
    let root = temp("moved-binary");
    let _ = std::fs::remove_dir_all(&root);
    let release = root.join("checkout/target/release");
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let exe = release.join("earshot");
    std::fs::copy(env!("CARGO_BIN_EXE_earshot"), &exe).unwrap();
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let run = |env: Option<&std::path::Path>| {
        let mut cmd = Command::new(&exe);
        cmd.current_dir(&elsewhere)
            .args([
                "golden",
                "run",
                "--backend",
                "signal",
                "--only",
                "knob_step",
            ])
            .env_remove("EARSHOT_GOLDEN_DIR");
        if let Some(dir) = env {
            cmd.env("EARSHOT_GOLDEN_DIR", dir);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (ok, stderr) = run(None);
    assert!(!ok, "nothing to find: {stderr}");
    assert!(stderr.contains("no golden directory"), "{stderr}");
    assert!(stderr.contains("EARSHOT_GOLDEN_DIR"), "{stderr}");
    let tried = elsewhere.join("golden").display().to_string();
    assert!(stderr.contains(&tried), "names {tried}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let (ok, stderr) = run(Some(&golden));
    assert!(ok, "{stderr}");
    assert!(stderr.contains("within tolerance"), "{stderr}");

    std::os::unix::fs::symlink(&golden, root.join("checkout/golden")).unwrap();
    let (ok, stderr) = run(None);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("within tolerance"), "{stderr}");
}
