//! Lab 04 on its own; `lab run 04` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_04_capabilities::LAB)
}
