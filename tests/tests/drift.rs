//! The checker: lab folders, declarations, explanations, snapshots and the
//! runner's registry must agree. Adding a lab means adding its folder, its
//! line in the runner, and its snapshots; this fails until all are there.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::ROOT;
use lab_runner::registry::LABS;

fn lab_folders() -> BTreeSet<String> {
    std::fs::read_dir(Path::new(ROOT).join("labs"))
        .expect("labs/ exists")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "kit")
        .collect()
}

#[test]
fn every_folder_is_registered_and_every_lab_has_a_folder() {
    let folders = lab_folders();
    let declared: BTreeSet<String> = LABS.iter().map(|l| l.full_id()).collect();
    assert_eq!(folders, declared, "labs/ folders and the runner's registry differ");
}

#[test]
fn declarations_are_complete_and_in_order() {
    let mut last = 0;
    let mut slugs = BTreeSet::new();
    for lab in LABS {
        let n: u32 = lab
            .id
            .parse()
            .unwrap_or_else(|_| panic!("id {:?} is not a number", lab.id));
        assert_eq!(lab.id.len(), 2, "id {:?} is not two digits", lab.id);
        assert!(n > last, "lab {} is out of order", lab.id);
        last = n;
        assert!(slugs.insert(lab.slug), "slug {} is used twice", lab.slug);
        assert!(
            !lab.title.is_empty() && !lab.mechanisms.is_empty() && !lab.steps.is_empty(),
            "lab {} is incomplete",
            lab.id
        );
        let mut titles = BTreeSet::new();
        for step in lab.steps {
            assert!(
                titles.insert(step.title),
                "lab {}: step title {:?} twice",
                lab.id,
                step.title
            );
            assert!(!step.why.is_empty(), "lab {}: step {:?} has no why", lab.id, step.title);
        }
    }
}

#[test]
fn crates_are_named_after_their_folders() {
    for lab in LABS {
        let dir = Path::new(ROOT).join("labs").join(lab.full_id());
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let want = format!("name = \"lab-{}\"", lab.full_id());
        assert!(
            manifest.contains(&want),
            "labs/{}/Cargo.toml should say {want}",
            lab.full_id()
        );
        let main = std::fs::read_to_string(dir.join("src/main.rs")).expect("src/main.rs");
        let call = format!("lab_kit::main(&lab_{}_{}::LAB)", lab.id, lab.slug.replace('-', "_"));
        assert!(
            main.contains(&call),
            "labs/{}/src/main.rs should be `{call}`",
            lab.full_id()
        );
    }
}

#[test]
fn explanation_is_the_markdown_beside_the_lab() {
    for lab in LABS {
        let path = Path::new(ROOT).join("labs").join(lab.full_id()).join("explain.md");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text, lab.explanation,
            "lab {}: the embedded explanation is stale",
            lab.id
        );
        assert!(
            text.starts_with("# "),
            "lab {}: explain.md starts with a heading",
            lab.id
        );
    }
}

#[test]
fn every_lab_has_root_and_rootless_snapshots_and_no_orphans() {
    let dir = Path::new(ROOT).join("tests/tests/snapshots");
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("snapshots/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".snap") && n.starts_with("snapshots__lab-"))
        .collect();
    // A lab that makes cgroups has one per layout pinned: hybrid here, pure
    // v2 by the VM test (a user with and without a delegated subtree).
    let modes = [
        ("root", "hybrid"),
        ("root", "v2"),
        ("rootless", "hybrid"),
        ("rootless", "v2"),
        ("rootless", "v2-delegated"),
    ];
    let wanted: BTreeSet<String> = LABS
        .iter()
        .flat_map(|l| {
            modes.map(|(mode, layout)| {
                format!(
                    "snapshots__lab-{}@{}.snap",
                    l.full_id(),
                    common::snapshot_suffix(l, mode, layout)
                )
            })
        })
        .collect();
    assert_eq!(
        present, wanted,
        "lab snapshots and labs differ (run `cargo insta review`)"
    );
}

#[test]
fn unsafe_is_allowed_in_the_kit_syscall_module_only() {
    let mut offenders = Vec::new();
    let mut stack = vec![Path::new(ROOT).to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("readable").flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !name.starts_with('.') && name != "target" && name != "book" {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") && !p.ends_with("labs/kit/src/sys.rs") {
                let text = std::fs::read_to_string(&p).expect("utf-8 source");
                if text.contains(concat!("allow(", "unsafe_code)")) {
                    offenders.push(p.display().to_string());
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe allowed outside labs/kit/src/sys.rs: {offenders:?}"
    );
}

/// Each lab's Japanese catalog sits in its folder and is the one its
/// declaration embeds (its lesson in Japanese: `tests/tests/i18n.rs`).
#[test]
fn every_lab_declares_its_japanese_catalog() {
    for lab in LABS {
        let path = Path::new(ROOT).join(format!("labs/{}/ja.po", lab.full_id()));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            lab.i18n.ja_po,
            text,
            "{}: LabDecl.i18n.ja_po is not its ja.po",
            lab.full_id()
        );
    }
}
