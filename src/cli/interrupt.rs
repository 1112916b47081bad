//! Ctrl-C and SIGTERM: a flag that every run watches.
//!
//! The first signal sets the flag: runs stop at their next check (within a few thousand
//! events), nothing is put in place, staging directories are removed, and the command exits
//! with 130. A second signal exits at once (a staging directory may then stay behind; the next
//! command that writes the same directory removes it).

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code of an interrupted command (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

static FLAG: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once per process) and returns the flag it sets.
pub fn install() -> &'static AtomicBool {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another handler may already be installed (a program embedding the library): then
        // the flag simply never gets set, and Ctrl-C does what that handler does.
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    });
    &FLAG
}
