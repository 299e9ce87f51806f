//! Pacing for `lab run --step`: an instructor demonstrates a lab live, one
//! step at a time. The runner gives the lab process one end of a socket
//! pair and names it in `CONTAINER_LABS_PACE_FD`; before each step's body
//! (after its start was reported) the lab writes the step's index there and
//! waits for one byte back. The runner prompts, and answers (Enter) or
//! stops the lab (`q`). Without the variable nothing waits.
//!
//! The descriptor is made close-on-exec at the first use, so no program a
//! lab executes inherits it.

use nix::fcntl::{FcntlArg, FdFlag, fcntl};

/// The variable that names the descriptor.
pub const ENV: &str = "CONTAINER_LABS_PACE_FD";

/// Before step `index`: tell the runner and wait for its go-ahead. A closed
/// or broken channel means go on (the runner decides when to stop a lab).
pub fn before_step(index: usize) {
    let Some(fd) = std::env::var(ENV).ok().and_then(|v| v.parse::<i32>().ok()) else {
        return;
    };
    crate::sys::inherited_fd(fd, |fd| {
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        if nix::unistd::write(fd, format!("{index}\n").as_bytes()).is_ok() {
            let mut go = [0u8; 1];
            while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(fd, &mut go) {}
        }
    });
}
