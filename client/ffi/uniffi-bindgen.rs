//! The UniFFI binding generator, at exactly this crate's UniFFI version.
fn main() {
    uniffi::uniffi_bindgen_main();
}
