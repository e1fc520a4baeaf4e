//! The `concord` binary end to end: arguments, standard streams and exit codes.

// clippy.toml allows these in `#[test]` functions only; the helpers below are test code too, and a
// panic in them is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory of input files for one test, removed when dropped (also when it fails).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("concord-cli-{test}-"))
            .tempdir()
            .unwrap();
        Scratch { dir }
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn concord_with_stdin<I, S>(args: I, stdin: &str) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_concord"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The child may exit without reading; a write error then is expected.
    let _ = pipe.write_all(stdin.as_bytes());
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().expect("exited by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    run
}

fn concord<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    concord_with_stdin(args, "")
}

/// Asserts a successful run and returns its standard output.
fn ok(run: Run) -> String {
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "", "{run:?}");
    run.stdout
}

fn s(path: &Path) -> &OsStr {
    path.as_os_str()
}

#[test]
fn patch_applies_standard_and_extension_operations() {
    let t = Scratch::new("patch_ext");
    let doc = t.file(
        "doc.json",
        r#"{"title": "Draft", "n": 1.5, "o": {"a": 1}, "tags": ["x"]}"#,
    );
    let patch = t.file(
        "patch.json",
        r#"[
            {"op": "add", "path": "/tags/-", "value": "y"},
            {"op": "splice", "path": "/title", "pos": 0, "del": 5, "ins": "Final"},
            {"op": "incr", "path": "/n", "by": 2},
            {"op": "merge", "path": "/o", "value": {"a": null, "b": [true]}},
            {"op": "test", "path": "/title", "value": "Final"}
        ]"#,
    );
    let out = ok(concord([
        OsStr::new("--compact"),
        OsStr::new("patch"),
        s(&doc),
        s(&patch),
    ]));
    assert_eq!(
        out,
        "{\"title\":\"Final\",\"n\":3.5,\"o\":{\"b\":[true]},\"tags\":[\"x\",\"y\"]}\n"
    );
}

#[test]
fn patch_keeps_numbers_and_member_order_exactly() {
    let t = Scratch::new("lossless");
    let doc = t.file(
        "doc.json",
        r#"{"z": 1.10, "huge": 1e400, "big": 12345678901234567890123, "m": [-0.0, 1E5, 2.50e-3],
            "a": {"y": 1, "b": 2}}"#,
    );
    let patch = t.file(
        "patch.json",
        r#"[{"op": "add", "path": "/a/c", "value": 3}]"#,
    );
    let out = ok(concord([
        OsStr::new("patch"),
        OsStr::new("--compact"),
        s(&doc),
        s(&patch),
    ]));
    assert_eq!(
        out,
        concat!(
            r#"{"z":1.10,"huge":1e400,"big":12345678901234567890123,"m":[-0.0,1E5,2.50e-3],"#,
            r#""a":{"y":1,"b":2,"c":3}}"#,
            "\n"
        )
    );
}

#[test]
fn patch_writes_strings_back_escaped_as_the_document_had_them() {
    let t = Scratch::new("escapes");
    // As Python's json.dumps and PHP's json_encode write: escaped non-ASCII and slashes.
    let doc = t.file(
        "doc.json",
        r#"{"caf\u00e9": "https:\/\/example.org\/na\u00efve", "n": 1}"#,
    );
    let patch = t.file(
        "patch.json",
        r#"[{"op": "replace", "path": "/n", "value": "\u00e0 b/c"}]"#,
    );
    let out = ok(concord([
        OsStr::new("patch"),
        OsStr::new("--compact"),
        s(&doc),
        s(&patch),
    ]));
    assert_eq!(
        out,
        concat!(
            r#"{"caf\u00e9":"https:\/\/example.org\/na\u00efve","n":"\u00e0 b\/c"}"#,
            "\n"
        )
    );
}

#[test]
fn output_is_indented_by_default_and_one_line_with_compact() {
    let t = Scratch::new("pretty");
    let doc = t.file("doc.json", r#"{"a": [1, {"b": null}], "c": {}}"#);
    let patch = t.file("patch.json", "[]");
    let pretty = ok(concord([OsStr::new("patch"), s(&doc), s(&patch)]));
    assert_eq!(
        pretty,
        "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}\n"
    );
    let compact = ok(concord([
        OsStr::new("--compact"),
        OsStr::new("patch"),
        s(&doc),
        s(&patch),
    ]));
    assert_eq!(compact, "{\"a\":[1,{\"b\":null}],\"c\":{}}\n");
}

#[test]
fn dash_reads_the_document_or_the_patch_from_stdin() {
    let t = Scratch::new("stdin");
    let doc = t.file("doc.json", r#"{"a": 1}"#);
    let patch = t.file(
        "patch.json",
        r#"[{"op": "replace", "path": "/a", "value": 2}]"#,
    );
    let out = ok(concord_with_stdin(
        ["--compact", "patch", "-", patch.to_str().unwrap()],
        r#"{"a": 1}"#,
    ));
    assert_eq!(out, "{\"a\":2}\n");
    let stdin_patch = r#"[{"op": "remove", "path": "/a"}]"#;
    let out = ok(concord_with_stdin(
        [
            OsStr::new("--compact"),
            OsStr::new("patch"),
            s(&doc),
            OsStr::new("-"),
        ],
        stdin_patch,
    ));
    assert_eq!(out, "{}\n");
}

#[test]
fn only_one_input_may_be_stdin() {
    let run = concord_with_stdin(["diff", "-", "-"], "{}");
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("concord: A and B cannot both be '-'"),
        "{run:?}"
    );
}

#[test]
fn merge_patch_sets_and_removes_members() {
    let t = Scratch::new("merge_patch");
    let doc = t.file(
        "doc.json",
        r#"{"title": "Hi", "author": {"name": "Ann", "email": "a@x"}, "n": 1.10}"#,
    );
    let merge = t.file(
        "merge.json",
        r#"{"title": "Hello", "author": {"email": null}, "tags": [1]}"#,
    );
    let out = ok(concord([
        OsStr::new("merge-patch"),
        OsStr::new("--compact"),
        s(&doc),
        s(&merge),
    ]));
    assert_eq!(
        out,
        "{\"title\":\"Hello\",\"author\":{\"name\":\"Ann\"},\"n\":1.10,\"tags\":[1]}\n"
    );
}

#[test]
fn diff_output_applies_back_to_the_target() {
    let t = Scratch::new("diff_round_trip");
    let a = t.file(
        "a.json",
        r#"{"name": "x", "items": [1, 2, 3, 4], "nested": {"k": [true, {"v": 1}]}, "gone": 0}"#,
    );
    let b = t.file(
        "b.json",
        r#"{"name": "y", "items": [4, 1, 3, 5], "nested": {"k": [true, {"v": 2}]}, "new": null}"#,
    );
    let patch = ok(concord([OsStr::new("diff"), s(&a), s(&b)]));
    assert!(patch.starts_with("[\n  {\n"), "{patch}");
    for op in ["splice", "merge", "incr", "index"] {
        assert!(!patch.contains(op), "plain RFC 6902 expected: {patch}");
    }
    let patch_file = t.file("patch.json", &patch);
    let applied = ok(concord([OsStr::new("patch"), s(&a), s(&patch_file)]));
    // `patch B []` prints B as concord writes it.
    let empty = t.file("empty.json", "[]");
    let expected = ok(concord([OsStr::new("patch"), s(&b), s(&empty)]));
    assert_eq!(applied, expected);
}

#[test]
fn diff_of_equal_documents_is_empty() {
    let t = Scratch::new("diff_equal");
    let a = t.file("a.json", r#"{"a": 1.0, "b": [1]}"#);
    let b = t.file("b.json", r#"{"b": [1], "a": 1}"#);
    assert_eq!(ok(concord([OsStr::new("diff"), s(&a), s(&b)])), "[]\n");
    assert_eq!(
        ok(concord([
            OsStr::new("diff"),
            OsStr::new("--merge"),
            s(&a),
            s(&b)
        ])),
        "{}\n"
    );
}

#[test]
fn diff_merge_prints_a_merge_patch_that_applies_back() {
    let t = Scratch::new("diff_merge");
    let a = t.file("a.json", r#"{"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}"#);
    let b = t.file("b.json", r#"{"a": 1, "b": {"c": 5}, "e": [1, 2]}"#);
    let patch = ok(concord([
        OsStr::new("diff"),
        OsStr::new("--merge"),
        OsStr::new("--compact"),
        s(&a),
        s(&b),
    ]));
    assert_eq!(patch, "{\"b\":{\"d\":null,\"c\":5},\"e\":[1,2]}\n");
    let patch_file = t.file("merge.json", &patch);
    let applied = ok(concord([
        OsStr::new("merge-patch"),
        OsStr::new("--compact"),
        s(&a),
        s(&patch_file),
    ]));
    assert_eq!(applied, "{\"a\":1,\"b\":{\"c\":5},\"e\":[1,2]}\n");
}

#[test]
fn diff_extended_edits_a_long_string_with_a_splice() {
    let t = Scratch::new("diff_extended");
    let a = t.file(
        "a.json",
        r#"{"text": "The quick brown fox jumps over the lazy dog"}"#,
    );
    let b = t.file(
        "b.json",
        r#"{"text": "The quick red fox jumps over the lazy dog"}"#,
    );
    let extended = ok(concord([
        OsStr::new("diff"),
        OsStr::new("--extended"),
        OsStr::new("--compact"),
        s(&a),
        s(&b),
    ]));
    assert_eq!(
        extended,
        "[{\"op\":\"splice\",\"path\":\"/text\",\"pos\":10,\"del\":5,\"ins\":\"red\"}]\n"
    );
    let plain = ok(concord([
        OsStr::new("diff"),
        OsStr::new("--compact"),
        s(&a),
        s(&b),
    ]));
    assert_eq!(
        plain,
        "[{\"op\":\"replace\",\"path\":\"/text\",\"value\":\"The quick red fox jumps over the lazy dog\"}]\n"
    );
    let patch_file = t.file("patch.json", &extended);
    let applied = ok(concord([
        OsStr::new("patch"),
        OsStr::new("--compact"),
        s(&a),
        s(&patch_file),
    ]));
    assert_eq!(
        applied,
        "{\"text\":\"The quick red fox jumps over the lazy dog\"}\n"
    );
}

#[test]
fn diff_merge_fails_with_exit_1_when_the_target_sets_a_member_to_null() {
    let t = Scratch::new("diff_merge_null");
    let a = t.file("a.json", r#"{"a": 1, "b": 2}"#);
    let b = t.file("b.json", r#"{"a": null, "b": 2}"#);
    let run = concord([OsStr::new("diff"), OsStr::new("--merge"), s(&a), s(&b)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("concord: a merge patch cannot set a member to null"),
        "{run:?}"
    );
    assert!(run.stderr.contains("/a"), "{run:?}");
    // A JSON Patch can.
    let patch = ok(concord([
        OsStr::new("diff"),
        OsStr::new("--compact"),
        s(&a),
        s(&b),
    ]));
    assert_eq!(
        patch,
        "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":null}]\n"
    );
}

#[test]
fn merge_and_extended_conflict() {
    let t = Scratch::new("conflict");
    let a = t.file("a.json", "{}");
    let run = concord([
        OsStr::new("diff"),
        OsStr::new("--merge"),
        OsStr::new("--extended"),
        s(&a),
        s(&a),
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("cannot be used with"), "{run:?}");
}

#[test]
fn failing_patch_exits_1_prints_nothing_and_names_the_operation() {
    let t = Scratch::new("patch_fails");
    let doc = t.file("doc.json", r#"{"name": "Concord", "tags": ["a"]}"#);
    let patch = t.file(
        "patch.json",
        r#"[{"op": "remove", "path": "/tags/0"}, {"op": "test", "path": "/name", "value": "Discord"}]"#,
    );
    let run = concord([OsStr::new("patch"), s(&doc), s(&patch)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with("concord: operation 1 (test /name) failed: test failed"),
        "{run:?}"
    );

    let missing = t.file(
        "missing.json",
        r#"[{"op": "replace", "path": "/nope/x", "value": 1}]"#,
    );
    let run = concord([OsStr::new("patch"), s(&doc), s(&missing)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("operation 0 (replace /nope/x)"),
        "{run:?}"
    );
}

#[test]
fn malformed_json_exits_2_with_file_line_and_column() {
    let t = Scratch::new("malformed");
    let bad = t.file("bad.json", "{\"a\": 1,\n  \"b\": }");
    let good = t.file("good.json", "[]");
    let run = concord([OsStr::new("patch"), s(&bad), s(&good)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "concord: {}:2:8: expected a value, found '}}'\n",
            bad.display()
        )
    );

    let dup = t.file("dup.json", "{\"a\": 1, \"a\": 2}");
    let run = concord([OsStr::new("merge-patch"), s(&good), s(&dup)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(&format!("{}:1:", dup.display())),
        "{run:?}"
    );
    assert!(run.stderr.contains("duplicate key \"a\""), "{run:?}");

    let run = concord_with_stdin(["diff", "-", good.to_str().unwrap()], "[1,\n2,,]");
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("concord: <stdin>:2:3: "), "{run:?}");
}

#[test]
fn missing_file_exits_2_naming_the_file() {
    let t = Scratch::new("missing_file");
    let doc = t.file("doc.json", "{}");
    let nowhere = t.path("nowhere.json");
    let run = concord([OsStr::new("patch"), s(&doc), s(&nowhere)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with(&format!("concord: cannot read {}: ", nowhere.display())),
        "{run:?}"
    );
    assert!(run.stderr.contains("os error"), "{run:?}");
}

#[test]
fn invalid_patch_documents_exit_2_with_position() {
    let t = Scratch::new("invalid_patch");
    let doc = t.file("doc.json", r#"{"a": 1}"#);
    let cases = [
        (
            "spam.json",
            "[\n  {\"op\": \"spam\", \"path\": \"/a\"}\n]",
            "unknown variant `spam`",
        ),
        (
            "pointer.json",
            "[{\"op\": \"remove\", \"path\": \"foo\"}]",
            "JSON Pointer \"foo\"",
        ),
        (
            "object.json",
            "{\"op\": \"remove\", \"path\": \"/a\"}",
            "expected a sequence",
        ),
        (
            "field.json",
            "[{\"op\": \"add\", \"path\": \"/b\"}]",
            "missing field `value`",
        ),
        (
            "syntax.json",
            "[{\"op\": \"remove\",\n \"path\": \"/a\"",
            "EOF",
        ),
    ];
    for (name, text, expected) in cases {
        let patch = t.file(name, text);
        let run = concord([OsStr::new("patch"), s(&doc), s(&patch)]);
        assert_eq!(run.code, 2, "{name}: {run:?}");
        assert_eq!(run.stdout, "", "{name}");
        let prefix = format!("concord: {}:", patch.display());
        let rest = run
            .stderr
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{name}: {run:?}"));
        // LINE:COLUMN: message
        let mut parts = rest.splitn(3, ':');
        let line = parts.next().unwrap();
        let column = parts.next().unwrap();
        assert!(
            line.parse::<usize>().is_ok_and(|l| l > 0),
            "{name}: {run:?}"
        );
        assert!(
            column.parse::<usize>().is_ok_and(|c| c > 0),
            "{name}: {run:?}"
        );
        assert!(parts.next().unwrap().contains(expected), "{name}: {run:?}");
    }
}

#[test]
fn a_file_that_cannot_be_opened_is_reported_before_any_window() {
    // `concord FILE` opens the editor; a file it cannot read stops it first, with status 2.
    let run = concord(["no-such-file.json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("cannot read no-such-file.json"),
        "{run:?}"
    );
}

#[test]
fn unknown_flags_and_missing_arguments_exit_2() {
    for args in [
        &["--bogus"][..],
        &["patch", "--nope", "a", "b"],
        &["diff", "a"],
        &["patch", "a", "b", "c"],
    ] {
        let run = concord(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(run.stderr.contains("Usage:"), "{args:?}: {run:?}");
    }
}

#[test]
fn help_explains_stdin_extensions_and_exit_codes() {
    let top = ok(concord(["--help"]));
    for needle in [
        "'-'",
        "Exit status",
        "patch",
        "merge-patch",
        "diff",
        "--compact",
    ] {
        assert!(top.contains(needle), "{needle}: {top}");
    }
    let patch = ok(concord(["patch", "--help"]));
    for needle in ["'-'", "splice", "incr", "merge", "Exit status", "  1  "] {
        assert!(patch.contains(needle), "{needle}: {patch}");
    }
    let diff = ok(concord(["help", "diff"]));
    for needle in ["--merge", "--extended", "splice", "Exit status"] {
        assert!(diff.contains(needle), "{needle}: {diff}");
    }
    let merge = ok(concord(["merge-patch", "-h"]));
    assert!(
        merge.contains("'-'") && merge.contains("Exit status"),
        "{merge}"
    );
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let t = Scratch::new("broken_pipe");
    let items: Vec<String> = (0..200_000).map(|i| format!("{{\"item\": {i}}}")).collect();
    let doc = t.file("doc.json", &format!("[{}]", items.join(",")));
    let patch = t.file("patch.json", "[]");
    let mut child = Command::new(env!("CARGO_BIN_EXE_concord"))
        .args([OsStr::new("patch"), s(&doc), s(&patch)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the output (megabytes, more than a pipe holds) is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
