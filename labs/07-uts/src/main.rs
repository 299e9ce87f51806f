//! Lab 07 on its own; `lab run 07` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_07_uts::LAB)
}
