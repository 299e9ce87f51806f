//! Lab 05 on its own; `lab run 05` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_05_seccomp::LAB)
}
