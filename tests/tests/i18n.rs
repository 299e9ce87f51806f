//! The Japanese catalogs are complete and current: every English text a
//! person can see has a Japanese counterpart, no counterpart is stale (its
//! English is no longer produced), and msgid and msgstr have the same
//! placeholders.
//!
//! The English, per catalog:
//! - `labs/NN-slug/ja.po`: the lab's declaration (title, step titles and
//!   whys), its notes and `CannotRun` reasons (string literals and format
//!   strings at `.note(`, `CannotRun::skip(` and `CannotRun::unsupported(`
//!   in its source), and the runtime texts of its snapshots (title, setup,
//!   step titles, reasons, observation and check names, as root and
//!   rootless) that no template of the kit or the runner produces;
//! - `labs/kit/ja.po`: the kit's marked texts (`tr!(`, `tr(`, `trf(`);
//! - `lab-runner/ja.po`: the runner's marked texts and its clap tree's help;
//! - `exercises/ja.po`: the exercises' marked texts (expected and actual
//!   prose, first hints) and the check names given to `.check(`, which the
//!   runner translates where it draws a verdict.
//!
//! `I18N_UPDATE=1 cargo test -p container-labs-tests --test i18n` merges new
//! English into the catalogs with an empty msgstr; an entry whose English
//! changed becomes `#, fuzzy` with its old English as `#| msgid` and its old
//! Japanese kept for the translator (fuzzy entries are not used and count
//! as untranslated); entries no longer produced are dropped.

#![allow(clippy::expect_used)] // a test that cannot set up must fail loudly

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use common::ROOT;
use lab_kit::i18n::{Catalog, is_template, match_template, pieces, placeholders};
use lab_runner::registry::LABS;

fn update_mode() -> bool {
    std::env::var_os("I18N_UPDATE").is_some_and(|v| v == "1")
}

/// A Rust string literal at the start of `s` (normal or raw), unescaped.
fn literal(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('r') {
        let hashes = raw.chars().take_while(|&c| c == '#').count();
        let body = raw[hashes..].strip_prefix('"')?;
        let end = body.find(&format!("\"{}", "#".repeat(hashes)))?;
        return Some(body[..end].to_string());
    }
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\n' => {
                    // A continued line: the next line's indentation is dropped.
                    let rest: String = chars.clone().collect();
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..rest[..skip].chars().count() {
                        chars.next();
                    }
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A format string as a catalog template: `{:?}` → `{}`, `{name:>8}` → `{name}`, `{{` → `{`.
fn template(fmt: &str) -> String {
    let mut out = String::new();
    let mut rest = fmt;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let at = &rest[i..];
        if at.starts_with("{{") || at.starts_with("}}") {
            out.push_str(&at[..1]);
            rest = &at[2..];
        } else if at.starts_with('{') {
            let end = at.find('}').unwrap_or(at.len() - 1);
            let inner = &at[1..end];
            let name = inner.split(':').next().unwrap_or("");
            out.push('{');
            out.push_str(name);
            out.push('}');
            rest = &at[end + 1..];
        } else {
            out.push('}');
            rest = &at[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The strings after each marker in `src` (code before `#[cfg(test)]`).
fn marked(src: &str, markers: &[&str]) -> Vec<String> {
    let src = src.split("#[cfg(test)]").next().unwrap_or(src);
    let mut out = Vec::new();
    for m in markers {
        for (i, _) in src.match_indices(m) {
            let before = src[..i].chars().next_back();
            let first = m.chars().next().unwrap_or(' ');
            if (first.is_alphanumeric() || first == '_') && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut rest = src[i + m.len()..].trim_start();
            for wrapper in ["&", "crate::tr!(", "lab_kit::tr!(", "tr!(", "format!(", "&format!("] {
                if let Some(r) = rest.strip_prefix(wrapper) {
                    rest = r.trim_start();
                }
            }
            if let Some(lit) = literal(rest).filter(|l| !l.trim().is_empty()) {
                out.push(template(&lit));
            }
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("source dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn scan(dir: &str, markers: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in rust_files(&Path::new(ROOT).join(dir)) {
        let src = std::fs::read_to_string(&f).expect("read source");
        let rel = f.strip_prefix(ROOT).unwrap_or(&f).display().to_string();
        let rel = rel.trim_start_matches("/").to_string();
        out.extend(marked(&src, markers).into_iter().map(|s| (s, rel.clone())));
    }
    out
}

/// Runtime texts of a snapshot: title, setup lines that are no call, step
/// titles, reasons, observation and check names.
fn snapshot_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read snapshot");
    let body = text.splitn(3, "---\n").nth(2).unwrap_or(&text);
    let v: serde_norway::Value = serde_norway::from_str(body).expect("snapshot is YAML");
    let s = |v: &serde_norway::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let mut out = Vec::new();
    out.extend(s(&v, "title"));
    out.extend(s(&v, "reason"));
    let is_call = |l: &str| l.contains(") = ") && l.split('(').next().is_some_and(|n| !n.contains(' '));
    for line in v.get("setup").and_then(|x| x.as_sequence()).into_iter().flatten() {
        if let Some(l) = line.as_str().filter(|l| !is_call(l)) {
            out.push(l.to_string());
        }
    }
    for step in v.get("steps").and_then(|x| x.as_sequence()).into_iter().flatten() {
        out.extend(s(step, "title"));
        out.extend(s(step, "reason"));
        for key in ["observations", "checks"] {
            for o in step.get(key).and_then(|x| x.as_sequence()).into_iter().flatten() {
                out.extend(s(o, "name"));
            }
        }
    }
    out
}

/// What one catalog must hold.
#[derive(Debug, Default)]
struct Wanted {
    /// msgids, each with where it comes from, in source order.
    msgids: Vec<(String, String)>,
    /// Runtime texts an entry (exact or template) must cover; one no
    /// entry covers is wanted as an exact msgid.
    instances: Vec<(String, String)>,
}

/// A problem with one catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    Missing(String),
    Untranslated(String),
    Stale(String),
    Placeholders(String, String),
}

fn covers(msgid: &str, text: &str) -> bool {
    msgid == text || (is_template(msgid) && match_template(&pieces(msgid), text).is_some())
}

/// The msgids a catalog needs: the wanted ones, and instances no entry covers.
fn needed(w: &Wanted, catalog: &Catalog) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    let ids: Vec<&str> = catalog.entries().iter().map(|e| e.msgid.as_str()).collect();
    let wanted_ids: Vec<&str> = w.msgids.iter().map(|(m, _)| m.as_str()).collect();
    for (m, src) in &w.msgids {
        if seen.insert(m.clone()) {
            out.push((m.clone(), src.clone()));
        }
    }
    for (t, src) in &w.instances {
        let covered = ids.iter().chain(&wanted_ids).any(|m| covers(m, t));
        if !covered && seen.insert(t.clone()) {
            out.push((t.clone(), src.clone()));
        }
    }
    out
}

fn same_placeholders(a: &str, b: &str) -> bool {
    let count = |s: &str| {
        let mut p = placeholders(s);
        p.sort();
        p
    };
    count(a) == count(b)
}

/// Everything wrong with `catalog` for `w`.
fn problems(w: &Wanted, catalog: &Catalog) -> Vec<Problem> {
    let need = needed(w, catalog);
    let need_ids: BTreeSet<&str> = need.iter().map(|(m, _)| m.as_str()).collect();
    let mut out = Vec::new();
    let have: BTreeMap<&str, &str> = catalog
        .entries()
        .iter()
        .map(|e| (e.msgid.as_str(), e.msgstr.as_str()))
        .collect();
    for (m, _) in &need {
        if !have.contains_key(m.as_str()) {
            out.push(Problem::Missing(m.clone()));
        }
    }
    for e in catalog.entries() {
        let produced = need_ids.contains(e.msgid.as_str()) || w.instances.iter().any(|(t, _)| covers(&e.msgid, t));
        if !produced {
            out.push(Problem::Stale(e.msgid.clone()));
        } else if e.msgstr.is_empty() || e.fuzzy {
            out.push(Problem::Untranslated(e.msgid.clone()));
        }
        if !e.msgstr.is_empty() && !same_placeholders(&e.msgid, &e.msgstr) {
            out.push(Problem::Placeholders(e.msgid.clone(), e.msgstr.clone()));
        }
    }
    out
}

fn quote(s: &str) -> String {
    let esc = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    format!("\"{esc}\"")
}

/// The `#| msgid` of each fuzzy entry in a PO file's text (polib does not keep them).
fn previous_ids(po: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for block in po.split("\n\n") {
        let grab = |prefix: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|q| literal(q.trim()))
        };
        if let (Some(prev), Some(id)) = (grab("#| msgid "), grab("msgid ")) {
            out.insert(id, prev);
        }
    }
    out
}

fn words(s: &str) -> BTreeSet<&str> {
    s.split_whitespace().collect()
}

/// The catalog's new text: kept entries in their order, then new English
/// (fuzzy with the old English and Japanese where a dropped entry resembles it).
fn updated(po: &str, w: &Wanted, catalog: &Catalog) -> String {
    let header: String = po.split("\n\n").next().unwrap_or("").trim_end().to_string();
    let need = needed(w, catalog);
    let need_ids: BTreeSet<&str> = need.iter().map(|(m, _)| m.as_str()).collect();
    let previous = previous_ids(po);
    let fuzzy: BTreeSet<String> = po
        .split("\n\n")
        .filter(|b| b.lines().any(|l| l.starts_with("#,") && l.contains("fuzzy")))
        .filter_map(|b| {
            b.lines()
                .find_map(|l| l.strip_prefix("msgid "))
                .and_then(|q| literal(q.trim()))
        })
        .collect();
    let kept: Vec<&lab_kit::i18n::Entry> = catalog
        .entries()
        .iter()
        .filter(|e| need_ids.contains(e.msgid.as_str()) || w.instances.iter().any(|(t, _)| covers(&e.msgid, t)))
        .collect();
    let mut dropped: Vec<&lab_kit::i18n::Entry> = catalog
        .entries()
        .iter()
        .filter(|e| !kept.iter().any(|k| k.msgid == e.msgid) && !e.msgstr.is_empty())
        .collect();
    let mut out = header;
    out.push_str("\n\n");
    let entry = |out: &mut String, id: &str, s: &str, src: Option<&str>, prev: Option<&str>| {
        if let Some(src) = src {
            out.push_str(&format!("#: {src}\n"));
        }
        if let Some(p) = prev {
            out.push_str(&format!("#, fuzzy\n#| msgid {}\n", quote(p)));
        }
        out.push_str(&format!("msgid {}\nmsgstr {}\n\n", quote(id), quote(s)));
    };
    for e in &kept {
        let prev = fuzzy
            .contains(&e.msgid)
            .then(|| previous.get(&e.msgid).map_or("", String::as_str));
        entry(&mut out, &e.msgid, &e.msgstr, None, prev);
    }
    for (m, src) in &need {
        if kept.iter().any(|k| k.msgid == *m) {
            continue;
        }
        // The dropped entry most like this English, sharing at least half its words.
        let best = dropped
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (a, b) = (words(&d.msgid), words(m));
                let share = a.intersection(&b).count() as f64 / a.union(&b).count().max(1) as f64;
                (i, share)
            })
            .filter(|&(_, share)| share >= 0.5)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        match best {
            Some((i, _)) => {
                let d = dropped.remove(i);
                entry(&mut out, m, &d.msgstr, Some(src), Some(&d.msgid));
            }
            None => entry(&mut out, m, "", Some(src), None),
        }
    }
    let mut out = out.trim_end().to_string();
    out.push('\n');
    out
}

/// Every catalog and what it must hold.
fn catalogs() -> Vec<(PathBuf, Wanted)> {
    let kit_marks = scan("labs/kit/src", &["tr!(", "tr(", "trf(", ".note("]);
    let runner_marks = scan("lab-runner/src", &["tr!(", "tr(", "trf("]);
    let mark_patterns: Vec<String> = kit_marks.iter().chain(&runner_marks).map(|(m, _)| m.clone()).collect();
    // As at run time, a kit template with little text of its own is glue
    // (`{hierarchy} at {mount}`): it does not translate a lab's English
    // prose that happens to contain it, so such a text is the lab's to
    // translate.
    let glue = |m: &str| {
        lab_kit::i18n::pieces(m)
            .iter()
            .map(|p| match p {
                lab_kit::i18n::Piece::Text(l) => l.chars().count(),
                lab_kit::i18n::Piece::Hole(_) => 0,
            })
            .sum::<usize>()
            < 12
    };
    let by_kit = |t: &str| {
        mark_patterns
            .iter()
            .any(|m| !(is_template(m) && glue(m)) && covers(m, t))
    };

    let mut out = Vec::new();
    let snapshots = Path::new(ROOT).join("tests/tests/snapshots");
    for lab in LABS {
        let mut w = Wanted::default();
        let decl = format!("labs/{}/src/lib.rs", lab.full_id());
        w.msgids.push((lab.title.to_string(), decl.clone()));
        for s in lab.steps {
            w.msgids.push((s.title.to_string(), decl.clone()));
            w.msgids.push((s.why.to_string(), decl.clone()));
        }
        w.msgids.extend(scan(
            &format!("labs/{}/src", lab.full_id()),
            &[".note(", "CannotRun::skip(", "CannotRun::unsupported("],
        ));
        // Every snapshot of the lab: each privilege mode, and for a lab that
        // makes cgroups each cgroup layout (`@root-hybrid`, `@root-v2`).
        let prefix = format!("snapshots__lab-{}@", lab.full_id());
        let mut snaps: Vec<PathBuf> = std::fs::read_dir(&snapshots)
            .expect("snapshots")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".snap"))
            })
            .collect();
        snaps.sort();
        assert!(snaps.len() >= 2, "{}: a root and a rootless snapshot", lab.full_id());
        for snap in snaps {
            let mode = snap
                .file_stem()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split_once('@'))
                .map_or(String::new(), |(_, m)| m.to_string());
            let src = format!("snapshot {mode}");
            for t in snapshot_texts(&snap) {
                if !by_kit(&t) {
                    w.instances.push((t, src.clone()));
                }
            }
        }
        out.push((Path::new(ROOT).join(format!("labs/{}/ja.po", lab.full_id())), w));
    }
    out.push((
        Path::new(ROOT).join("labs/kit/ja.po"),
        Wanted {
            msgids: kit_marks,
            instances: Vec::new(),
        },
    ));
    let mut runner = Wanted {
        msgids: runner_marks,
        instances: Vec::new(),
    };
    for h in lab_runner::i18n::help_texts(&lab_runner::cli::Cli::command()) {
        runner.msgids.push((h, "lab-runner/src/cli.rs (--help)".into()));
    }
    out.push((Path::new(ROOT).join("lab-runner/ja.po"), runner));
    out.push((
        Path::new(ROOT).join("exercises/ja.po"),
        Wanted {
            msgids: scan("exercises/src", &["tr!(", ".check("]),
            instances: Vec::new(),
        },
    ));
    out
}

#[test]
fn every_text_has_a_current_japanese_counterpart() {
    let mut report = String::new();
    let mut total = 0;
    for (path, wanted) in catalogs() {
        let po = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let catalog = Catalog::parse(&po).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if update_mode() {
            let new = updated(&po, &wanted, &catalog);
            if new != po {
                std::fs::write(&path, &new).expect("write catalog");
            }
            continue;
        }
        let mut found = problems(&wanted, &catalog);
        found.sort();
        if found.is_empty() {
            continue;
        }
        total += found.len();
        let rel = path.strip_prefix(ROOT).unwrap_or(&path).display().to_string();
        let count = |f: fn(&Problem) -> bool| found.iter().filter(|p| f(p)).count();
        report.push_str(&format!(
            "\n{rel}: {} missing, {} untranslated, {} stale, {} with other placeholders\n",
            count(|p| matches!(p, Problem::Missing(_))),
            count(|p| matches!(p, Problem::Untranslated(_))),
            count(|p| matches!(p, Problem::Stale(_))),
            count(|p| matches!(p, Problem::Placeholders(..))),
        ));
        for p in found.iter().take(400) {
            report.push_str(&format!("  {p:?}\n"));
        }
    }
    assert!(
        total == 0,
        "{total} problems in the Japanese catalogs (new English: `I18N_UPDATE=1 cargo test -p container-labs-tests --test i18n`, then translate the empty msgstr and the fuzzy entries):{report}"
    );
}

/// The labs whose lesson has no Japanese translation yet; every
/// translated lesson is the file its declaration embeds.
fn labs_without_a_japanese_lesson() -> Vec<String> {
    let mut missing = Vec::new();
    for lab in LABS {
        let path = Path::new(ROOT).join(format!("labs/{}/explain.ja.md", lab.full_id()));
        match (path.exists(), lab.i18n.ja_explanation) {
            (true, Some(text)) => assert_eq!(
                text,
                std::fs::read_to_string(&path).expect("read lesson"),
                "{}: the declared Japanese lesson is another file",
                lab.full_id()
            ),
            (true, None) => panic!(
                "{} has explain.ja.md but its LabDecl says ja_explanation: None \
                 (set it to Some(include_str!(\"../explain.ja.md\")))",
                lab.full_id()
            ),
            (false, Some(_)) => unreachable!("include_str! of a missing file does not compile"),
            (false, None) => missing.push(lab.full_id()),
        }
    }
    missing
}

/// Every lab has its Japanese lesson, and it is the one its declaration embeds.
#[test]
fn every_lab_has_a_japanese_lesson() {
    let missing = labs_without_a_japanese_lesson();
    assert!(
        missing.is_empty(),
        "labs without a Japanese lesson (explain.ja.md): {missing:?}"
    );
}

/// The test itself on a fixture: a complete catalog passes, and removing
/// one entry, changing an English text or a placeholder makes it fail.
#[test]
fn the_check_fails_on_a_missing_stale_or_mismatched_entry() {
    let fixture = std::fs::read_to_string(Path::new(ROOT).join("tests/tests/fixtures/i18n/ja.po")).expect("fixture");
    let wanted = || Wanted {
        msgids: vec![
            ("Where the lab starts".into(), "decl".into()),
            ("needs step {} ({}), which did not run".into(), "mark".into()),
        ],
        instances: vec![
            ("the child is in a new UTS namespace".into(), "snapshot".into()),
            ("pid 7 of 9".into(), "snapshot".into()),
        ],
    };
    let parse = |po: &str| Catalog::parse(po).expect("fixture parses");
    assert_eq!(problems(&wanted(), &parse(&fixture)), [], "the complete fixture passes");

    // One entry removed: its English is missing.
    let removed = fixture.replace("msgid \"Where the lab starts\"\nmsgstr \"ラボの出発点\"\n", "");
    assert_ne!(removed, fixture);
    assert_eq!(
        problems(&wanted(), &parse(&removed)),
        [Problem::Missing("Where the lab starts".into())]
    );

    // The English changed: the old entry is stale and the new one missing.
    let mut changed = wanted();
    changed.msgids[0].0 = "Where this lab starts".into();
    let p = problems(&changed, &parse(&fixture));
    assert!(p.contains(&Problem::Missing("Where this lab starts".into())), "{p:?}");
    assert!(p.contains(&Problem::Stale("Where the lab starts".into())), "{p:?}");
    // ... and the update mode keeps the old English and Japanese beside it.
    let new = updated(&fixture, &changed, &parse(&fixture));
    assert!(
        new.contains(
            "#, fuzzy\n#| msgid \"Where the lab starts\"\nmsgid \"Where this lab starts\"\nmsgstr \"ラボの出発点\""
        ),
        "{new}"
    );
    assert_eq!(
        problems(&changed, &parse(&new)),
        [Problem::Untranslated("Where this lab starts".into())],
        "a fuzzy entry is not a translation"
    );

    // A placeholder lost in the Japanese.
    let lost = fixture.replace("pid {} / {}", "pid {}");
    assert!(matches!(
        problems(&wanted(), &parse(&lost))[..],
        [Problem::Placeholders(..)]
    ));

    // A runtime text nothing covers is wanted exactly.
    let mut more = wanted();
    more.instances.push(("a new check".into(), "snapshot".into()));
    assert_eq!(
        problems(&more, &parse(&fixture)),
        [Problem::Missing("a new check".into())]
    );
}

#[test]
fn source_strings_are_read_as_rust_spells_them() {
    assert_eq!(literal(r#""a \"b\" c" rest"#).as_deref(), Some("a \"b\" c"));
    assert_eq!(literal("\"one \\\n        two\"").as_deref(), Some("one two"));
    assert_eq!(literal("r#\"x\"y\"#").as_deref(), Some("x\"y"));
    assert_eq!(template("{a:?} and {} {:>8} {{x}}"), "{a} and {} {} {x}");
    assert_eq!(
        marked(
            "s.note(format!(\"pid {} here\", p)); ctr(\"no\"); tr(\"yes\"); s.note(\"plain\");",
            &[".note(", "tr("]
        ),
        ["pid {} here", "plain", "yes"]
    );
}

fn lab_output(args: &[&str], lang: Option<&str>) -> String {
    let mut cmd = common::command(&[common::LAB.to_string()]);
    cmd.args(args);
    if let Some(l) = lang {
        cmd.env("LANG", l);
    }
    let out = cmd.output().expect("run lab");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Reports never depend on the locale: `--format json` is the same with
/// LANG=ja_JP.UTF-8 (durations aside); `--lang ja` asks for Japanese.
#[test]
fn machine_formats_ignore_the_locale() {
    assert_eq!(
        lab_output(&["list", "--format", "json"], None),
        lab_output(&["list", "--format", "json"], Some("ja_JP.UTF-8"))
    );
    let report = |args: &[&str], lang| {
        let mut v: serde_json::Value = serde_json::from_str(&lab_output(args, lang)).expect("a JSON report");
        for lab in v["labs"].as_array_mut().expect("labs") {
            lab["duration_ms"] = 0.into();
        }
        serde_json::to_string_pretty(&v).expect("serialize")
    };
    let run = ["run", "uts", "--format", "json"];
    let en = report(&run, None);
    assert_eq!(en, report(&run, Some("ja_JP.UTF-8")));
    assert!(en.contains("UTS namespace: a hostname of one's own"), "{en}");
    let ja = report(&["run", "uts", "--format", "json", "--lang", "ja"], None);
    assert!(ja.contains("UTS namespace: 自分だけのホスト名"), "{ja}");
    // For people, the locale decides.
    let human = lab_output(&["run", "uts"], Some("ja_JP.UTF-8"));
    assert!(human.contains("ラボ 07") && human.contains("まとめ"), "{human}");
    assert!(lab_output(&["--help"], Some("ja")).contains("使い方:"));
    assert!(lab_output(&["--help", "--lang", "en"], Some("ja")).contains("Usage:"));
}
