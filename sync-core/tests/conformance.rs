//! The public conformance suites in `../shared/conformance`: every enabled case of
//! json-patch-tests (`tests.json`, `spec_tests.json`) and RFC 7396 Appendix A.
//!
//! Each test skips, saying so, when `../shared` is absent; it never passes silently.

// Test code: a panic is a failing test, with its message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::value::RawValue;
use sync_core::{Change, Operation, Pointer, Value, merge};

fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found (the suites live in ../shared)",
            path.display()
        );
        None
    }
}

#[derive(Deserialize)]
struct Record {
    doc: Option<Box<RawValue>>,
    patch: Option<Box<RawValue>>,
    expected: Option<Box<RawValue>>,
    error: Option<String>,
    comment: Option<String>,
    #[serde(default)]
    disabled: bool,
}

#[derive(Default, Debug)]
struct Tally {
    passed: usize,
    disabled: usize,
    failures: Vec<String>,
}

fn run_json_patch_suite(file: &str) -> Option<Tally> {
    let path = shared(&format!("conformance/json-patch-tests/{file}"))?;
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<Record> = serde_json::from_str(&text).unwrap();
    let mut tally = Tally::default();
    for (n, record) in records.iter().enumerate() {
        let (Some(doc), Some(patch)) = (&record.doc, &record.patch) else {
            continue;
        };
        if record.disabled {
            tally.disabled += 1;
            continue;
        }
        let name = format!(
            "{file} #{n} ({})",
            record.comment.as_deref().unwrap_or("no comment")
        );
        let mut document = Value::parse(doc.get()).unwrap();
        let before = document.clone();
        let outcome = Change::from_json(patch.get())
            .map_err(|e| e.to_string())
            .and_then(|change| change.apply(&mut document).map_err(|e| e.to_string()));
        match (&record.expected, &record.error, outcome) {
            (Some(expected), _, Ok(_)) => {
                let expected = Value::parse(expected.get()).unwrap();
                if document == expected {
                    tally.passed += 1;
                } else {
                    tally
                        .failures
                        .push(format!("{name}: got {document}, expected {expected}"));
                }
            }
            (_, Some(_), Err(_)) => {
                // The suite's error texts are free-form: only the failure itself is checked,
                // and that it left the document alone.
                if document.to_json() == before.to_json() {
                    tally.passed += 1;
                } else {
                    tally
                        .failures
                        .push(format!("{name}: failed but changed the document"));
                }
            }
            (None, None, Ok(_)) => tally.passed += 1,
            (_, Some(error), Ok(_)) => {
                tally
                    .failures
                    .push(format!("{name}: applied, but should fail ({error})"));
            }
            (_, None, Err(e)) => tally.failures.push(format!("{name}: failed: {e}")),
        }
    }
    Some(tally)
}

fn assert_suite(file: &str) {
    let Some(tally) = run_json_patch_suite(file) else {
        return;
    };
    eprintln!(
        "{file}: {} passed, {} disabled",
        tally.passed, tally.disabled
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(tally.passed > 0, "no case ran");
}

#[test]
fn json_patch_tests_suite() {
    assert_suite("tests.json");
}

#[test]
fn json_patch_spec_tests_suite() {
    assert_suite("spec_tests.json");
}

/// The suite disables its two duplicate-`op` cases because many parsers cannot see duplicates;
/// Concord's can, so it refuses them.
#[test]
fn disabled_duplicate_op_cases_are_refused_too() {
    for (file, needle) in [("tests.json", "duplicate ops"), ("spec_tests.json", "A.13")] {
        let Some(path) = shared(&format!("conformance/json-patch-tests/{file}")) else {
            return;
        };
        let records: Vec<Record> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let record = records
            .iter()
            .find(|r| r.comment.as_deref().is_some_and(|c| c.contains(needle)))
            .unwrap();
        let patch = record.patch.as_ref().unwrap().get();
        let err = Change::from_json(patch).unwrap_err();
        assert!(
            err.to_string().contains("duplicate field `op`"),
            "{file}: {err}"
        );
    }
}

#[derive(Deserialize)]
struct MergeGroup {
    given: Box<RawValue>,
    cases: Vec<MergeCase>,
}

#[derive(Deserialize)]
struct MergeCase {
    patch: Box<RawValue>,
    result: Box<RawValue>,
}

#[test]
fn rfc7396_appendix_a() {
    let Some(path) = shared("conformance/merge-patch/rfc7396-appendix-a.json") else {
        return;
    };
    let groups: Vec<MergeGroup> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut passed = 0;
    for group in &groups {
        let given = Value::parse(group.given.get()).unwrap();
        for case in &group.cases {
            let patch = Value::parse(case.patch.get()).unwrap();
            let result = Value::parse(case.result.get()).unwrap();
            let context = format!("given {given}, patch {patch}");

            assert_eq!(merge::merged(given.clone(), &patch), result, "{context}");

            // The same patch as a `merge` operation on the whole document, and its inverse.
            let mut doc = given.clone();
            let op = Operation::Merge {
                path: Pointer::root(),
                value: patch.clone(),
            };
            let inverse = Change(vec![op]).apply(&mut doc).unwrap();
            assert_eq!(doc, result, "{context} (as an operation)");
            inverse.apply(&mut doc).unwrap();
            assert_eq!(doc.to_json(), given.to_json(), "{context} (inverse)");

            // Generating a patch from the two documents gets there too, where expressible.
            match merge::diff(&given, &result) {
                Ok(generated) => assert_eq!(merge::merged(given.clone(), &generated), result),
                Err(e) => assert!(
                    e.paths
                        .iter()
                        .all(|p| p.resolve(&result) == Some(&Value::Null))
                ),
            }
            passed += 1;
        }
    }
    eprintln!("rfc7396 appendix A: {passed} passed");
    assert_eq!(passed, 15, "Appendix A has 15 cases");
}
