//! Lab 17 on its own; `lab run 17` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_17_container::LAB)
}
