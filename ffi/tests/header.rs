//! The checked-in C header is what cbindgen makes of the source today.

use std::path::Path;

#[test]
fn the_checked_in_header_is_what_cbindgen_makes_of_the_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen reads the source");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let header = dir.join("include/earshot.h");
    // Regenerating is a deliberate act, never a side effect of a build.
    if std::env::var_os("EARSHOT_BLESS").is_some() {
        std::fs::write(&header, &fresh).unwrap();
    }
    let checked_in = std::fs::read(&header).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "ffi/include/earshot.h is stale: regenerate it with \
         `EARSHOT_BLESS=1 cargo test -p earshot-ffi --test header` and commit it"
    );
}
