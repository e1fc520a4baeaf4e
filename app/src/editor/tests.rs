//! The editor's model, tested without a window.
#![allow(clippy::unwrap_used)]

use super::*;

fn editor() -> Editor {
    let doc = Value::parse(r#"{"title": "Draft", "n": 1, "list": [1, 2]}"#).unwrap();
    Editor::new(doc, None, Style::default())
}

fn at(path: &str) -> Pointer {
    Pointer::parse(path).unwrap()
}

#[test]
fn typing_is_one_splice_per_change() {
    assert_eq!(
        splice_between("Draft", "Drafts"),
        Some((5, 0, "s".to_owned()))
    );
    assert_eq!(
        splice_between("Draft", "Craft"),
        Some((0, 1, "C".to_owned()))
    );
    assert_eq!(splice_between("aaa", "aa"), Some((2, 1, String::new())));
    assert_eq!(
        splice_between("héllo", "hello"),
        Some((1, 1, "e".to_owned()))
    );
    assert_eq!(splice_between("same", "same"), None);
    let mut e = editor();
    e.set_string(&at("/title"), "Drafts").unwrap();
    assert_eq!(at("/title").resolve(e.doc()), Some(&Value::from("Drafts")));
    assert!(e.is_dirty());
}

#[test]
fn scalars_switch_type_and_bad_numbers_change_nothing() {
    let mut e = editor();
    e.set_scalar(&at("/n"), ValueKind::Number, "2.50").unwrap();
    assert_eq!(
        e.doc().to_json(),
        r#"{"title":"Draft","n":2.50,"list":[1,2]}"#
    );
    let before = e.doc().clone();
    assert!(e.set_scalar(&at("/n"), ValueKind::Number, "two").is_err());
    assert_eq!(e.doc(), &before);
    e.set_scalar(&at("/n"), ValueKind::String, "two").unwrap();
    e.set_scalar(&at("/list/0"), ValueKind::Bool, "true")
        .unwrap();
    e.set_scalar(&at("/list/1"), ValueKind::Null, "").unwrap();
    assert_eq!(
        e.doc().to_json(),
        r#"{"title":"Draft","n":"two","list":[true,null]}"#
    );
}

#[test]
fn replacing_the_document_is_one_undoable_edit() {
    let mut e = editor();
    let before = e.doc().clone();
    let new = Value::parse(r#"{"title": "Final", "n": 1, "list": [1, 2, 3]}"#).unwrap();
    assert_eq!(e.replace_with(&new).unwrap(), 2);
    assert_eq!(e.doc(), &new);
    e.undo().unwrap();
    assert_eq!(e.doc(), &before);
    assert_eq!(e.replace_with(&before).unwrap(), 0);
}

#[test]
fn delete_undo_redo() {
    let mut e = editor();
    let before = e.doc().clone();
    e.delete(&at("/list/0")).unwrap();
    assert_eq!(e.doc().to_json(), r#"{"title":"Draft","n":1,"list":[2]}"#);
    e.undo().unwrap();
    assert_eq!(e.doc(), &before);
    e.redo().unwrap();
    assert_eq!(e.doc().to_json(), r#"{"title":"Draft","n":1,"list":[2]}"#);
    assert!(e.delete(&Pointer::root()).is_err());
}

#[test]
fn saving_keeps_order_numbers_escaping_and_layout() {
    let dir = std::env::temp_dir().join(format!("concord-editor-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.json");
    std::fs::write(&file, "{\"z\": 1.10, \"a\": \"caf\\u00e9\"}\n").unwrap();
    let mut e = Editor::open(&file).unwrap();
    e.set_scalar(&at("/z"), ValueKind::Number, "1.20").unwrap();
    e.save().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    // On one line, spaced, as it was.
    assert_eq!(text, "{\"z\": 1.20, \"a\": \"caf\\u00e9\"}\n");
    assert!(!e.is_dirty());
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_as_gives_the_document_a_file() {
    let dir = std::env::temp_dir().join(format!("concord-editor-saveas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut e = editor();
    assert!(e.save().is_err(), "no file yet");
    let file = dir.join("new.json");
    e.save_as(&file).unwrap();
    assert_eq!(e.path(), Some(file.as_path()));
    let back = Value::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(&back, e.doc());
    // A place that cannot be written keeps the old file.
    assert!(e.save_as(&dir.join("missing-dir").join("x.json")).is_err());
    assert_eq!(e.path(), Some(file.as_path()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_messages_that_change_the_saved_state_count_as_changes() {
    use sync_core::protocol::{CatchUp, Commit, Revision, Role};
    let mut e = Editor::shared(Replica::new(ClientId::from("me"), "Me"));
    e.receive(ServerMessage::Welcome {
        protocol: 1,
        rev: Revision(1),
        role: Role::Write,
        client_seq: None,
        catch_up: CatchUp::Snapshot {
            doc: Value::parse(r#"{"list": [1]}"#).unwrap(),
            conflicts: Vec::new(),
        },
        peers: Vec::new(),
    });
    let welcomed = e.generation();
    assert!(welcomed > 0);
    e.receive(ServerMessage::Presence { peers: Vec::new() });
    e.receive(ServerMessage::History {
        changes: Vec::new(),
        next: None,
    });
    assert_eq!(e.generation(), welcomed, "nothing to save");
    e.select(Some(at("/list/0")));
    e.receive(ServerMessage::Applied {
        commit: Commit {
            rev: Revision(2),
            client: ClientId::from("other"),
            seq: 1,
            author: "Other".to_owned(),
            time: 0,
            ops: sync_core::Change::from_json(r#"[{"op": "add", "path": "/list/0", "value": 0}]"#)
                .unwrap()
                .0,
            conflicts: Vec::new(),
            group: None,
        },
        hash: None,
    });
    assert!(e.generation() > welcomed);
    // The selection followed its node.
    assert_eq!(e.selected(), Some(&at("/list/1")));
}

#[test]
fn rows_follow_edits_and_expansion() {
    let mut e = editor();
    assert_eq!(e.rows().len(), 4);
    e.set_expanded(&at("/list"), true);
    assert_eq!(e.rows().len(), 6);
    e.delete(&at("/list/1")).unwrap();
    assert_eq!(e.rows().len(), 5);
    assert_eq!(e.row_of(&at("/list/0")), Some(4));
    // Counted again as each frame does, before it is drawn (a small document at once).
    assert!(e.is_counting());
    assert!(e.tick(std::time::Duration::ZERO));
    assert_eq!(e.node_count(), 5);
    assert_eq!(e.size(), DocumentSize::Exact(e.doc().to_json().len()));
    assert_eq!(e.size().to_string(), "34 bytes"); // {"title":"Draft","n":1,"list":[1]}
}
