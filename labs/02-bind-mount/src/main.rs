//! Lab 02 on its own; `lab run 02` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_02_bind_mount::LAB)
}
