//! The tools around the labs speak Japanese to people too: `lab inspect`,
//! `lab diff`, `lab bench`, and the tables and lines of `lab matrix` and
//! `lab vm` (drawn here from constructed runs: no VM boots). Their machine
//! formats stay English under a Japanese locale.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::process::{Command, Output};

use common::{LAB, ROOT};

/// `lab ARGS` with `LANG` set to `lang` (none: no locale at all).
fn lab(args: &[&str], lang: Option<&str>) -> Output {
    let mut cmd = Command::new(LAB);
    cmd.args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANG")
        .env("NO_COLOR", "1");
    if let Some(l) = lang {
        cmd.env("LANG", l);
    }
    cmd.output().expect("the runner starts")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `s` holds kana or kanji (Japanese, not just full-width punctuation).
fn has_japanese(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'))
}

fn fixture(name: &str) -> String {
    format!("{ROOT}/lab-runner/tests/fixtures/reports/{name}")
}

#[test]
fn inspect_labels_a_process_in_japanese_and_its_json_stays_english() {
    let me = std::process::id().to_string();
    let en = text(&lab(&["inspect", &me], None));
    assert!(en.contains("namespaces (compared with PID 1's):"), "{en}");
    assert!(!has_japanese(&en), "{en}");
    for ja in [
        text(&lab(&["--lang", "ja", "inspect", &me], None)),
        text(&lab(&["inspect", &me], Some("ja_JP.UTF-8"))),
    ] {
        for label in ["namespace（PID 1 との比較）:", "ユーザー", "コマンド", "ルート:"] {
            assert!(ja.contains(label), "no {label}:\n{ja}");
        }
        // The kernel's words stay as read: fields, namespace kinds, set names.
        for kept in ["uid_map:", "  uts ", "  permitted ", "seccomp:"] {
            assert!(ja.contains(kept), "no {kept}:\n{ja}");
        }
        assert!(!ja.contains("compared with"), "{ja}");
    }
    let listing = text(&lab(&["--lang", "ja", "inspect"], None));
    assert!(
        listing.lines().next().is_some_and(|h| h.contains("コマンド")),
        "{listing}"
    );
    let json = |lang| {
        let out = lab(&["inspect", &me, "--format", "json"], lang);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("inspect --format json is JSON")
    };
    let (en, ja) = (json(None), json(Some("ja_JP.UTF-8")));
    assert_eq!(en, ja, "the locale changed the JSON");
    assert!(!has_japanese(&ja.to_string()), "{ja}");
    let err = lab(&["--lang", "ja", "inspect", "4194305"], None);
    let err = String::from_utf8_lossy(&err.stderr);
    assert!(err.contains("PID 4194305 のプロセスはありません"), "{err}");
}

#[test]
fn diff_speaks_japanese_to_people_and_english_in_json_and_markdown() {
    let (a, b) = (fixture("base.json"), fixture("changed.json"));
    let en = lab(&["diff", &a, &b], None);
    assert_eq!(en.status.code(), Some(1));
    let en = text(&en);
    assert!(en.contains("regression") && en.contains("difference(s)"), "{en}");
    let ja = lab(&["--lang", "ja", "diff", &a, &b], None);
    assert_eq!(ja.status.code(), Some(1), "the language changes no exit code");
    let ja = text(&ja);
    for word in [
        "カーネル 6.12.95",
        "退行",
        "修正",
        "チェック: ",
        "（期待値 ",
        "差分 19 件",
    ] {
        assert!(ja.contains(word), "no {word}:\n{ja}");
    }
    // A step title in the lab's own Japanese, the check's values as reported.
    assert!(ja.contains("› 2 つの namespace をつなぐ veth ペア"), "{ja}");
    assert!(ja.contains("16 → 15"), "{ja}");
    assert!(!ja.contains("regression") && !ja.contains("difference(s)"), "{ja}");
    // The class column is aligned in display columns.
    let column = |line: &str| {
        let (class, _) = line.split_at(line.find(|c: char| c.is_ascii_digit()).expect("a lab id"));
        lab_kit::i18n::width(class)
    };
    let widths: Vec<usize> = ja
        .lines()
        .filter(|l| l.contains(" › ") || l.contains(": pass"))
        .map(column)
        .collect();
    assert!(
        widths.len() > 10 && widths.iter().all(|w| *w == widths[0]),
        "{widths:?}\n{ja}"
    );
    let same = text(&lab(&["diff", &a, &a], Some("ja_JP.UTF-8")));
    assert!(same.contains("差分はありません"), "{same}");

    for format in ["json", "markdown"] {
        let args = ["diff", &a, &b, "--format", format];
        let (en, ja) = (text(&lab(&args, None)), text(&lab(&args, Some("ja_JP.UTF-8"))));
        assert_eq!(en, ja, "the locale changed --format {format}");
        assert!(!has_japanese(&ja), "{ja}");
    }
}

#[test]
fn bench_draws_japanese_tables_and_its_json_stays_english() {
    require_root!();
    let out = lab(&["bench", "--runs", "5", "--warmup", "0", "--lang", "ja"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ja = text(&out);
    let head = ja.lines().next().unwrap_or_default();
    for word in ["操作", "中央値", "10–90 パーセンタイル", "回数"] {
        assert!(head.contains(word), "no {word} in the header: {head}");
    }
    for row in [
        "fork + wait",
        "clone(CLONE_NEWUSER) + wait",
        "clone(すべて) + wait",
        "pivot_root + 古いルートの切り離し",
        "lab container -- /bin/true",
        "が時間を使う場所",
        "呼び出しの前",
        "開始、コマンドの execve、終了と回収（残り）",
    ] {
        assert!(ja.contains(row), "no {row}:\n{ja}");
    }
    assert!(!ja.contains("median") && !ja.contains("all of them"), "{ja}");
    // Numbers right-aligned under the header, counted in display columns.
    let width = |l: &str| lab_kit::i18n::width(l.trim_end());
    let rows: Vec<&str> = ja.lines().take_while(|l| !l.is_empty()).collect();
    assert!(
        rows.len() > 10 && rows.iter().all(|r| width(r) == width(rows[0])),
        "{ja}"
    );

    let out = lab(
        &["bench", "--runs", "5", "--warmup", "0", "--format", "json"],
        Some("ja_JP.UTF-8"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --format json is JSON");
    let names = common::bench_names(&v);
    assert!(names.contains(&"clone(all of them) + wait"), "{names:?}");
    assert!(names.contains(&"pivot_root + detach the old root"), "{names:?}");
    assert!(!has_japanese(&v.to_string()), "{v}");
}

/// `lab matrix`'s table and `lab vm`'s lines, drawn in each language from
/// constructed runs. One test: the language is the process's.
#[test]
fn matrix_and_vm_are_drawn_in_the_language_chosen() {
    use lab_kit::i18n::Lang;
    use lab_runner::i18n::{Choice, init};
    use lab_runner::matrix::{Cell, Column, Matrix};
    use lab_runner::vm::{CgroupLayout, VmEnvironment, VmRun};

    let column = |release: &str, problem: Option<&str>| Column {
        kernel: format!("linux-image-{release}.deb"),
        release: release.into(),
        cgroup: CgroupLayout::V2,
        user: "root".into(),
        outcome: if problem.is_some() { "boot-timeout" } else { "completed" }.into(),
        accelerator: "tcg".into(),
        boot_ms: 5000,
        total_ms: 42_000,
        exit_code: if problem.is_some() { 4 } else { 0 },
        problem: problem.map(String::from),
        labs: vec![(
            "07-uts".into(),
            Cell {
                status: "pass".into(),
                passed: 3,
                steps: 3,
            },
        )],
    };
    let matrix = Matrix {
        columns: vec![
            column("6.12.9", None),
            column("5.10.1", Some("KVM did not reach /init within 10 s")),
        ],
        wall_ms: 84_000,
        jobs: 2,
    };
    let env: VmEnvironment = serde_json::from_value(serde_json::json!({
        "outcome": "completed",
        "accelerator": "tcg",
        "kvm_fallback": "KVM did not reach /init within 10 s",
        "kernel_release": "6.12.9",
        "kernel_source": "linux-image-6.12.9.deb",
        "cgroup": "v2",
        "user": "root",
        "modules_loaded": [],
        "modules_builtin": [],
        "modules_failed": ["veth: no such module"],
        "root": "tmpfs",
        "cgroup_mounts": [],
        "suite_cgroup": "/",
        "tainted": 0,
        "boot_ms": 5000,
        "total_ms": 42000,
        "notes": ["interrupted"],
        "console_excerpt": ["[    1.0] Linux version 6.12.9"]
    }))
    .expect("a VM environment");
    let run = VmRun {
        vm: env,
        report: serde_json::json!({}),
    };
    let draw = |lang| {
        init(Choice { lang, explicit: true });
        let mut table = Vec::new();
        matrix.human(&mut table).expect("draw the table");
        let mut vm = Vec::new();
        lab_runner::vm::command::print(&run, lab_runner::cli::RunFormat::Human, &mut vm).expect("draw the run");
        (
            String::from_utf8(table).expect("utf-8"),
            String::from_utf8(vm).expect("utf-8"),
            matrix.markdown(),
        )
    };
    let (en_table, en_vm, en_md) = draw(Lang::En);
    assert!(en_table.contains("2 configuration(s), 2 at once, 84 s"), "{en_table}");
    assert!(
        en_vm.contains("modules loaded: none") && en_vm.contains("console:"),
        "{en_vm}"
    );
    let (ja_table, ja_vm, ja_md) = draw(Lang::Ja);
    lab_kit::i18n::set(Lang::En);
    assert!(ja_table.starts_with("ラボ "), "{ja_table}");
    assert!(ja_table.contains("構成 2 個、同時に 2 個、84 s"), "{ja_table}");
    assert!(
        ja_table.contains("boot-timeout: KVM は 10 s 以内に /init に到達しませんでした"),
        "{ja_table}"
    );
    assert!(
        ja_table.contains("pass (3/3)"),
        "statuses stay the report's: {ja_table}"
    );
    // The header and the rows line up in display columns.
    let at = |line: &str, cell: &str| line.find(cell).map(|i| lab_kit::i18n::width(&line[..i]));
    let lines: Vec<&str> = ja_table.lines().collect();
    assert_eq!(at(lines[0], "6.12.9"), at(lines[1], "pass (3/3)"), "{ja_table}");
    assert!(at(lines[0], "6.12.9").is_some(), "{ja_table}");
    for line in [
        "（起動 5.0 s、合計 42.0 s）",
        "  KVM ではありません: KVM は 10 s 以内に /init に到達しませんでした",
        "  読み込んだモジュール: なし",
        "  読み込めなかったモジュール: veth: no such module",
        "  注: 中断されました",
        "  コンソール:",
        "    [    1.0] Linux version 6.12.9",
    ] {
        assert!(ja_vm.contains(line), "no {line}:\n{ja_vm}");
    }
    assert_eq!(en_md, ja_md, "the README's table is English");
}
