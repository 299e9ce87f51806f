//! Lab 10 on its own; `lab run 10` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_10_overlay::LAB)
}
