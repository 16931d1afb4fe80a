//! Shared by every target binary.

/// Silences the panic hook, for targets whose code deliberately catches panics from the mail
/// parser: a caught panic is handled behaviour, an uncaught one still aborts the run.
pub fn quiet_caught_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
}
