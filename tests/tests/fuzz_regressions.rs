//! Replays saved fuzz inputs through the same code the fuzz targets run (`bench/fuzz`): every
//! input that once broke a target (`regressions/<target>/`, none so far), and a sample of each
//! target's coverage-guided corpus (`seeds/<target>/`), so that what the fuzzers explored stays
//! explored on every test run.

#[path = "../../bench/fuzz/src/lib.rs"]
mod targets;

use std::path::Path;

#[test]
fn saved_fuzz_inputs_break_nothing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/fuzz");
    for (name, target) in targets::TARGETS {
        let mut replayed = 0;
        for kind in ["regressions", "seeds"] {
            let Ok(entries) = std::fs::read_dir(root.join(kind).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                eprintln!("replaying {}", path.display());
                target(&data);
                replayed += 1;
            }
        }
        assert!(replayed > 0, "no saved inputs for the `{name}` target");
    }
}
