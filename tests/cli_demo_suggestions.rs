//! The demo's closing "Next, try" commands all run, on the directory the demo left.

mod cli_support;

use std::process::Command;

use cli_support::ok;

#[test]
fn every_suggested_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let out = ok(&d, &["demo"]);
    let suggestions: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("== done. Next, try"))
        .skip(1)
        .map(str::trim)
        .collect();
    assert!(suggestions.len() >= 5, "{out}");
    for line in suggestions {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "kafkalite", "{line}");
        let run = Command::new(env!("CARGO_BIN_EXE_kafkalite"))
            .args(&words[1..])
            .output()
            .unwrap();
        assert!(
            run.status.success() && !run.stdout.is_empty(),
            "{line}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
