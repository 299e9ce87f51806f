//! A child that finds its step cannot run here makes the parent's step
//! unsupported (or skipped), not failed: `CannotRun` crosses the channel as
//! itself. (One test in this file: it forks.)

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

use lab_kit::error::KitError;
use lab_kit::event::Event;
use lab_kit::lab::CannotRun;
use lab_kit::narrate::Narrate;

struct Sink(Vec<Event>);

impl Narrate for Sink {
    fn emit(&mut self, event: Event) {
        self.0.push(event);
    }
}

// The kit forks only a single-threaded process, so this runs without the
// test harness's threads (`harness = false`).
fn main() {
    cannot_run_in_a_child_reaches_the_parent_as_itself();
    println!("test cannot_run_in_a_child_reaches_the_parent_as_itself ... ok");
}

fn cannot_run_in_a_child_reaches_the_parent_as_itself() {
    let mut sink = Sink(Vec::new());
    let mut child = lab_kit::child::spawn(&mut lab_kit::narrate::Quiet, |c| {
        c.note("about to find the driver missing");
        Err(anyhow::Error::from(lab_kit::net::NetError::DriverMissing(
            CannotRun::unsupported("the kernel has no veth driver"),
        )))
    })
    .expect("spawn");
    let err = child.recv::<()>(&mut sink).expect_err("the child failed");
    match &err {
        KitError::CannotRun(c) => {
            assert_eq!(c.status, lab_kit::event::Status::Unsupported);
            assert_eq!(c.reason, "the kernel has no veth driver");
        }
        other => panic!("expected CannotRun, got {other:?}"),
    }
    // What a step body does with it: `?` into anyhow, where the kit finds it.
    let e = anyhow::Error::from(err);
    assert!(e.chain().any(|c| c.downcast_ref::<CannotRun>().is_some()));
    assert_eq!(sink.0.len(), 1, "the child's narration came first");

    let mut plain =
        lab_kit::child::spawn(&mut lab_kit::narrate::Quiet, |_| anyhow::bail!("an ordinary failure")).expect("spawn");
    match plain.recv::<()>(&mut sink) {
        Err(KitError::Child(text)) => assert_eq!(text, "an ordinary failure"),
        other => panic!("expected Child, got {other:?}"),
    }
}
