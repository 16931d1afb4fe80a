//! Running the real `mailproof` binary from tests, and finding the shared corpus.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// One finished run of the command.
pub struct Mailproof {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Mailproof {
    /// Runs `mailproof ARGS` with a clean environment for Mailproof's own variables.
    pub fn run(args: &[&str]) -> Self {
        Self::run_with_env(args, &[])
    }

    /// Runs `mailproof ARGS` with extra environment variables.
    pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let out = command(args, env).output().expect("mailproof runs");
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `mailproof ARGS` and measures its peak resident memory, in bytes. The figure is
    /// that one process's own (`wait4` on its pid), whatever else the tests run at the same
    /// time.
    #[cfg(unix)]
    #[expect(
        clippy::zombie_processes,
        reason = "the child is reaped by wait4, which also reports its memory"
    )]
    pub fn run_measured(args: &[&str]) -> (Self, u64) {
        use std::io::Read;
        use std::process::Stdio;
        let mut child = command(args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mailproof runs");
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                String::from_utf8_lossy(&bytes).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let pid = child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it in for the child just reaped.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child, with valid pointers to locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        // ru_maxrss is in kilobytes, except on macOS.
        let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
        let peak = usage.ru_maxrss as u64 * unit;
        let run = Self {
            code,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        (run, peak)
    }
}

/// The command line for `mailproof ARGS`, without Mailproof's own variables from this
/// environment, plus `env`.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("MAILPROOF_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

impl fmt::Display for Mailproof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The `mailproof` binary of this build: next to the test executable's `deps/` folder. It is
/// built on first use if `cargo test` was run for this crate alone.
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>/deps");
        let bin = profile_dir.join(format!("mailproof{}", std::env::consts::EXE_SUFFIX));
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "mailproof-cli"]);
        if release {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building mailproof failed");
        assert!(bin.exists(), "no binary at {}", bin.display());
        bin
    })
    .clone()
}

/// The public test corpus, when `MAILPROOF_CORPUS` names it; otherwise prints why a test is
/// skipped and returns `None`.
pub fn corpus() -> Option<PathBuf> {
    match std::env::var_os("MAILPROOF_CORPUS") {
        Some(dir) if PathBuf::from(&dir).is_dir() => Some(PathBuf::from(dir)),
        Some(dir) => panic!(
            "MAILPROOF_CORPUS={} is not a folder",
            PathBuf::from(dir).display()
        ),
        None => {
            eprintln!("skipped: set MAILPROOF_CORPUS to the corpus folder to run this test");
            None
        }
    }
}
