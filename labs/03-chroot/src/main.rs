//! Lab 03 on its own; `lab run 03` runs the same code.
fn main() -> std::process::ExitCode {
    lab_kit::main(&lab_03_chroot::LAB)
}
