//! The checked-in C header is exactly what cbindgen makes of `src/c_api.rs`.

#[test]
fn the_c_header_is_current() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(format!("{dir}/src/c_api.rs"))
        .generate()
        .unwrap()
        .write(&mut fresh);
    let path = format!("{dir}/include/ldp_telemetry.h");
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "include/ldp_telemetry.h is stale: UPDATE_HEADER=1 cargo test -p ldp-ffi --test header"
    );
}
