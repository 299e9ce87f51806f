//! Lab 09 on its own; `lab run 09` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_09_mount::LAB)
}
