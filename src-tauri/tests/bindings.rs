//! The committed TypeScript bindings must be what the IPC types generate; regenerate them with
//! `MAILPROOF_UPDATE_BINDINGS=1 cargo test -p mailproof-app --features custom-protocol --test bindings`.

use std::path::Path;

#[test]
fn bindings_match_the_ipc_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/bindings.ts");
    let generated = mailproof_app::ipc::typescript();
    if std::env::var_os("MAILPROOF_UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write bindings.ts");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/ipc/bindings.ts is out of date with src-tauri/src/ipc.rs; regenerate it with \
         MAILPROOF_UPDATE_BINDINGS=1 cargo test -p mailproof-app --features custom-protocol --test bindings"
    );
}
