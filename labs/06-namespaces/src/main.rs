//! Lab 06 on its own; `lab run 06` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_06_namespaces::LAB)
}
