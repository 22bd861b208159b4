//! Every misuse gets its own code and a message, changes nothing, and
//! never crashes (contract 7).

use crate::common::{config, create, last_error, process, stats};
use earshot_c::*;
use std::ffi::c_char;
use std::ptr::{null, null_mut};

const OK: EarshotStatus = EarshotStatus::EarshotOk;

fn assert_fails(status: EarshotStatus, expected: EarshotStatus, word: &str) {
    assert_eq!(status, expected, "{}", last_error());
    let message = last_error();
    assert!(message.contains(word), "{message:?} should name {word:?}");
}

#[test]
fn null_pointers_are_refused_by_every_call_that_takes_one() {
    use EarshotStatus::EarshotErrNull as NULL;
    let c = config();
    let mut engine = EarshotEngine::default();
    // SAFETY: NULL where the test says, valid pointers elsewhere.
    unsafe {
        assert_fails(earshot_config_default(null_mut()), NULL, "config");
        assert_fails(earshot_create(null(), &mut engine), NULL, "config");
        assert_fails(earshot_create(&c, null_mut()), NULL, "out");
    }
    assert_eq!(engine, EarshotEngine::default(), "nothing written");
    let engine = create(&c);
    let mut index = 0u32;
    let mut info = std::mem::MaybeUninit::<EarshotKnobInfo>::uninit();
    // SAFETY: as above.
    unsafe {
        assert_fails(
            earshot_set_knob(engine, null(), 0.5, null_mut()),
            NULL,
            "name",
        );
        let v = [0.5f32; 8];
        assert_fails(
            earshot_set_curve(engine, null(), v.as_ptr(), 8, null_mut()),
            NULL,
            "name",
        );
        assert_fails(
            earshot_set_curve(engine, c"noise".as_ptr(), null(), 8, null_mut()),
            NULL,
            "values",
        );
        assert_fails(earshot_set_prompt(engine, null(), null_mut()), NULL, "text");
        assert_fails(earshot_poll_ack(engine, null_mut()), NULL, "out");
        assert_fails(earshot_stats(engine, null_mut()), NULL, "out");
        assert_fails(earshot_knob_info(0, null_mut()), NULL, "out");
        assert_fails(earshot_knob_index(null(), &mut index), NULL, "name");
        assert_fails(
            earshot_knob_index(c"noise".as_ptr(), null_mut()),
            NULL,
            "index",
        );
        assert_fails(earshot_process(engine, null(), 2, 64), NULL, "out");
        assert_eq!(earshot_knob_info(0, info.as_mut_ptr()), OK);
    }
    assert_eq!(earshot_start(engine), OK);
    // One NULL channel: the other is filled with silence all the same.
    let mut left = vec![1.0f32; 64];
    let channels = [left.as_mut_ptr(), null_mut()];
    // SAFETY: one valid buffer of 64 floats and one NULL.
    let status = unsafe { earshot_process(engine, channels.as_ptr(), 2, 64) };
    assert_fails(status, NULL, "channel");
    assert!(left.iter().all(|&v| v == 0.0));
    assert_eq!(stats(engine).playhead, 0, "nothing played");
    assert_eq!(earshot_destroy(engine), OK);
}

#[test]
fn process_before_start_is_silence_with_its_own_code() {
    let engine = create(&config());
    let (mut left, mut right) = (vec![1.0f32; 256], vec![1.0f32; 256]);
    assert_fails(
        process(engine, &mut [&mut left, &mut right], 256),
        EarshotStatus::EarshotErrNotStarted,
        "not been started",
    );
    assert!(left.iter().chain(&right).all(|&v| v == 0.0), "silence");
    assert_fails(
        earshot_knob_rt(engine, 0, 0, 0.5),
        EarshotStatus::EarshotErrNotStarted,
        "not been started",
    );
    assert_eq!(stats(engine), EarshotStats::default(), "nothing ran");
    assert_eq!(earshot_destroy(engine), OK);
}

#[test]
fn blocks_of_the_wrong_shape_are_refused_untouched() {
    let mut c = config();
    c.max_block = 256;
    let engine = create(&c);
    assert_eq!(earshot_start(engine), OK);
    let mut a = vec![1.0f32; 512];
    let mut b = vec![1.0f32; 512];
    let mut d = vec![1.0f32; 512];
    assert_fails(
        process(engine, &mut [&mut a], 128),
        EarshotStatus::EarshotErrChannels,
        "channels",
    );
    assert_fails(
        process(engine, &mut [&mut a, &mut b, &mut d], 128),
        EarshotStatus::EarshotErrChannels,
        "3 channels",
    );
    assert_fails(
        process(engine, &mut [&mut a, &mut b], 257),
        EarshotStatus::EarshotErrFrames,
        "257",
    );
    assert!(
        [&a, &b, &d].iter().all(|c| c.iter().all(|&v| v == 1.0)),
        "a block of the wrong shape is not written"
    );
    // A count far beyond the pointers given, or frames far beyond any
    // buffer: refused before `out` is read or written.
    let two = [a.as_mut_ptr(), b.as_mut_ptr()];
    // SAFETY: the call must not read past `two` nor write through it.
    let status = unsafe { earshot_process(engine, two.as_ptr(), 1 << 30, 64) };
    assert_fails(status, EarshotStatus::EarshotErrChannels, "channels");
    // SAFETY: as above.
    let status = unsafe { earshot_process(engine, two.as_ptr(), 2, 1 << 30) };
    assert_fails(status, EarshotStatus::EarshotErrFrames, "frames");
    assert!(a.iter().chain(&b).all(|&v| v == 1.0));
    // The same buffer twice: two `&mut` to one memory, refused.
    let p = a.as_mut_ptr();
    // SAFETY: `p + 64` is inside `a`; 128 floats from either are inside it.
    let overlapping = [p, unsafe { p.add(64) }];
    // SAFETY: both point into `a`, 128 floats each.
    let status = unsafe { earshot_process(engine, overlapping.as_ptr(), 2, 128) };
    assert_fails(status, EarshotStatus::EarshotErrInvalidArgument, "overlap");
    assert_eq!(stats(engine).playhead, 0, "no refused block played");
    assert_eq!(process(engine, &mut [&mut a, &mut b], 256), OK);
    assert_eq!(process(engine, &mut [&mut a, &mut b], 0), OK, "empty block");
    assert_eq!(stats(engine).playhead, 256);
    assert_eq!(earshot_destroy(engine), OK);
}

#[test]
fn bad_configs_are_refused_with_the_field_named() {
    type Change = fn(&mut EarshotConfig);
    let cases: [(Change, EarshotStatus, &str); 12] = [
        (
            |c| c.sample_rate = 1000,
            EarshotStatus::EarshotErrConfig,
            "sample rate",
        ),
        (
            |c| c.sample_rate = 400_000,
            EarshotStatus::EarshotErrConfig,
            "sample rate",
        ),
        (
            |c| c.channels = 3,
            EarshotStatus::EarshotErrConfig,
            "channels",
        ),
        (
            |c| c.max_block = 0,
            EarshotStatus::EarshotErrConfig,
            "max block",
        ),
        (|c| c.steps = 65, EarshotStatus::EarshotErrConfig, "steps"),
        (
            |c| c.size = c"huge".as_ptr(),
            EarshotStatus::EarshotErrConfig,
            "huge",
        ),
        (
            |c| c.backend = c"tpu".as_ptr(),
            EarshotStatus::EarshotErrConfig,
            "tpu",
        ),
        (
            |c| c.sampler = c"euler".as_ptr(),
            EarshotStatus::EarshotErrConfig,
            "euler",
        ),
        (
            |c| {
                c.sampler = c"sde".as_ptr();
                c.sde_churn = f32::NAN;
            },
            EarshotStatus::EarshotErrConfig,
            "churn",
        ),
        (
            |c| c.lead_floor_ms = 20_000,
            EarshotStatus::EarshotErrConfig,
            "lead floor",
        ),
        (
            |c| c.model_path = c"/nonexistent/earshot.safetensors".as_ptr(),
            EarshotStatus::EarshotErrModel,
            "nonexistent",
        ),
        (
            |c| c.backend = c"\xff\xfe".as_ptr(),
            EarshotStatus::EarshotErrInvalidArgument,
            "backend",
        ),
    ];
    for (change, code, word) in cases {
        let mut c = config();
        change(&mut c);
        let mut engine = EarshotEngine::default();
        // SAFETY: valid pointers; the strings are C literals.
        let status = unsafe { earshot_create(&c, &mut engine) };
        assert_fails(status, code, word);
        assert_eq!(engine, EarshotEngine::default(), "no handle on failure");
    }
}

#[test]
fn refused_knobs_and_curves_change_nothing() {
    let engine = create(&config());
    use EarshotStatus::EarshotErrKnob as KNOB;
    let set = |name: *const c_char, value: f32| {
        // SAFETY: `name` is a C literal.
        unsafe { earshot_set_knob(engine, name, value, null_mut()) }
    };
    assert_fails(set(c"loudness".as_ptr(), 0.5), KNOB, "loudness");
    assert_fails(set(c"noise".as_ptr(), f32::NAN), KNOB, "noise");
    assert_fails(set(c"noise".as_ptr(), f32::INFINITY), KNOB, "noise");
    assert_fails(set(c"noise".as_ptr(), 1.5), KNOB, "outside");
    assert_fails(
        set(c"\xc3\x28".as_ptr(), 0.5),
        EarshotStatus::EarshotErrInvalidArgument,
        "UTF-8",
    );
    let short = [0.5f32; 3];
    // SAFETY: three floats.
    let status =
        unsafe { earshot_set_curve(engine, c"noise".as_ptr(), short.as_ptr(), 3, null_mut()) };
    assert_fails(status, KNOB, "noise");
    let mut ack = std::mem::MaybeUninit::<EarshotAck>::uninit();
    // SAFETY: memory for one ack.
    let pending = unsafe { earshot_poll_ack(engine, ack.as_mut_ptr()) };
    assert_eq!(
        pending,
        EarshotStatus::EarshotNoAck,
        "refused changes are not acknowledged"
    );
    let mut epoch = 0u64;
    let curve = [0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    // SAFETY: eight floats (the default steps); a pointer to one u64.
    let status =
        unsafe { earshot_set_curve(engine, c"noise".as_ptr(), curve.as_ptr(), 8, &mut epoch) };
    assert_eq!(status, OK, "{}", last_error());
    assert_eq!(epoch, 1, "the refused calls bumped no epoch");

    assert_eq!(earshot_start(engine), OK);
    assert_fails(earshot_knob_rt(engine, 0, 99, 0.5), KNOB, "99");
    assert_fails(earshot_knob_rt(engine, 0, 0, f32::NAN), KNOB, "non-finite");
    assert_fails(earshot_knob_rt(engine, 0, 0, -1.0), KNOB, "outside");
    assert_eq!(earshot_knob_rt(engine, 0, 0, 0.25), OK);
    assert_eq!(earshot_destroy(engine), OK);
}

#[test]
fn bands_prompts_acks_and_lifecycle_misuse_get_their_codes() {
    let mut c = config();
    c.keep_acks = 0;
    let engine = create(&c);
    assert_fails(
        earshot_arm_band(engine, 4800, 4800),
        EarshotStatus::EarshotErrBand,
        "4800",
    );
    assert_fails(
        earshot_arm_band(engine, 9600, 4800),
        EarshotStatus::EarshotErrBand,
        "9600",
    );
    assert_eq!(earshot_arm_band(engine, 0, 48_000), OK);
    assert_eq!(earshot_disarm_band(engine), OK);
    assert_eq!(earshot_disarm_band(engine), OK, "disarming nothing is fine");
    let mut epoch = 7u64;
    // SAFETY: a C string and a pointer to one u64.
    let status = unsafe { earshot_set_prompt(engine, c"\xff rain".as_ptr(), &mut epoch) };
    assert_fails(status, EarshotStatus::EarshotErrInvalidArgument, "text");
    // SAFETY: as above.
    let status = unsafe { earshot_set_prompt(engine, c"warm rain".as_ptr(), &mut epoch) };
    // Whether the text encoder is installed is the machine's business:
    // either way the answer is clear.
    match status {
        EarshotStatus::EarshotOk => assert_eq!(epoch, 1, "the first conditioning epoch"),
        _ => {
            assert_fails(
                status,
                EarshotStatus::EarshotErrNoPrompts,
                "prompts are off",
            );
            assert_eq!(epoch, 7, "untouched on failure");
        }
    }
    let mut ack = std::mem::MaybeUninit::<EarshotAck>::uninit();
    // SAFETY: memory for one ack.
    let status = unsafe { earshot_poll_ack(engine, ack.as_mut_ptr()) };
    assert_fails(status, EarshotStatus::EarshotErrAcksOff, "keep_acks");
    assert_fails(
        earshot_stop(engine, 1000),
        EarshotStatus::EarshotErrNotRunning,
        "not running",
    );
    assert_eq!(earshot_start(engine), OK);
    assert_fails(
        earshot_start(engine),
        EarshotStatus::EarshotErrAlreadyRunning,
        "already",
    );
    assert_eq!(earshot_stop(engine, 2000), OK);
    assert_fails(
        earshot_stop(engine, 2000),
        EarshotStatus::EarshotErrNotRunning,
        "not running",
    );
    assert_eq!(earshot_destroy(engine), OK);
}
