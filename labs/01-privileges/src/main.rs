//! Lab 01 on its own; `lab run 01` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_01_privileges::LAB)
}
