//! Whether a change refused as "a move into its own descendant" really became one, decided by
//! node identity rather than by the rebase's own arithmetic.
//!
//! Every node of the document at the change's base gets an identity. The changes logged since
//! are applied to a tree of identities (a move carries its node's, anything written anew gets
//! new ones), and so are the refused change's own operations before the move, in its author's
//! frame. After what was logged, the change's own earlier moves and removals are done again by
//! identity (the node with this identity into the container with that one). The move is a cycle
//! when the container it moves into is then the moved node or inside it. Where the change's own
//! earlier operations replaced either of the two (or made them), the answer would need the
//! change as rebased, which the relay does not say: undetermined.

use sync_core::pointer::Token;
use sync_core::{Operation, Pointer, Value};

/// What the identities say of a refused move.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// The container it moves into is the node or inside it: refusing it is the table's row.
    Cycle,
    /// It is not: the table keeps the move (or drops it with a record), never refuses it.
    NotACycle(String),
    /// The change's own earlier operations moved the node or the container.
    Undetermined,
}

/// A tree of node identities, shaped as the document.
#[derive(Debug, Clone)]
enum Ids {
    Leaf(u64),
    Object(u64, Vec<(String, Ids)>),
    Array(u64, Vec<Ids>),
}

/// Hands out identities.
struct Fresh(u64);

impl Fresh {
    fn tree(&mut self, value: &Value) -> Ids {
        self.0 += 1;
        let id = self.0;
        match value {
            Value::Object(members) => Ids::Object(
                id,
                members
                    .iter()
                    .map(|(k, v)| (k.to_owned(), self.tree(v)))
                    .collect(),
            ),
            Value::Array(items) => Ids::Array(id, items.iter().map(|v| self.tree(v)).collect()),
            _ => Ids::Leaf(id),
        }
    }

    /// A copy of `ids` with identities of its own.
    fn renew(&mut self, ids: &Ids) -> Ids {
        self.0 += 1;
        let id = self.0;
        match ids {
            Ids::Leaf(_) => Ids::Leaf(id),
            Ids::Object(_, members) => Ids::Object(
                id,
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), self.renew(v)))
                    .collect(),
            ),
            Ids::Array(_, items) => Ids::Array(id, items.iter().map(|v| self.renew(v)).collect()),
        }
    }
}

impl Ids {
    fn id(&self) -> u64 {
        match self {
            Ids::Leaf(id) | Ids::Object(id, _) | Ids::Array(id, _) => *id,
        }
    }

    fn child(&self, token: &str) -> Option<&Ids> {
        match self {
            Ids::Object(_, members) => members.iter().find(|(k, _)| k == token).map(|(_, v)| v),
            Ids::Array(_, items) => items.get(token.parse::<usize>().ok()?),
            Ids::Leaf(_) => None,
        }
    }

    fn child_mut(&mut self, token: &str) -> Option<&mut Ids> {
        match self {
            Ids::Object(_, members) => members.iter_mut().find(|(k, _)| k == token).map(|(_, v)| v),
            Ids::Array(_, items) => items.get_mut(token.parse::<usize>().ok()?),
            Ids::Leaf(_) => None,
        }
    }

    fn at(&self, path: &[Token]) -> Option<&Ids> {
        path.iter().try_fold(self, |node, t| node.child(t.as_str()))
    }

    fn at_mut(&mut self, path: &[Token]) -> Option<&mut Ids> {
        path.iter()
            .try_fold(self, |node, t| node.child_mut(t.as_str()))
    }

    /// Takes out the node at `path` (not the root).
    fn take(&mut self, path: &[Token]) -> Option<Ids> {
        let (last, parent) = path.split_last()?;
        match self.at_mut(parent)? {
            Ids::Object(_, members) => {
                let i = members.iter().position(|(k, _)| k == last.as_str())?;
                Some(members.remove(i).1)
            }
            Ids::Array(_, items) => {
                let i = last.as_str().parse::<usize>().ok()?;
                (i < items.len()).then(|| items.remove(i))
            }
            Ids::Leaf(_) => None,
        }
    }

    /// Puts `node` at `path`: a member set (or replaced), an item inserted (`-` at the end), or
    /// the root replaced.
    fn put(&mut self, path: &[Token], node: Ids) -> Option<()> {
        let Some((last, parent)) = path.split_last() else {
            *self = node;
            return Some(());
        };
        match self.at_mut(parent)? {
            Ids::Object(_, members) => {
                match members.iter_mut().find(|(k, _)| k == last.as_str()) {
                    Some((_, v)) => *v = node,
                    None => members.push((last.as_str().to_owned(), node)),
                }
                Some(())
            }
            Ids::Array(_, items) => {
                let i = match last.as_str() {
                    "-" => items.len(),
                    t => t.parse::<usize>().ok()?,
                };
                (i <= items.len()).then(|| items.insert(i, node))
            }
            Ids::Leaf(_) => None,
        }
    }

    /// Replaces the node at `path` (which must be there).
    fn replace(&mut self, path: &[Token], node: Ids) -> Option<()> {
        *self.at_mut(path)? = node;
        Some(())
    }

    /// The identities from the root down to the node `id`, if it is in the tree.
    fn chain(&self, id: u64) -> Option<Vec<u64>> {
        if self.id() == id {
            return Some(vec![id]);
        }
        let children: Vec<&Ids> = match self {
            Ids::Object(_, members) => members.iter().map(|(_, v)| v).collect(),
            Ids::Array(_, items) => items.iter().collect(),
            Ids::Leaf(_) => Vec::new(),
        };
        children.into_iter().find_map(|c| {
            let mut chain = c.chain(id)?;
            chain.insert(0, self.id());
            Some(chain)
        })
    }

    /// The path to the node `id`, if it is in the tree.
    fn path_to(&self, id: u64) -> Option<Vec<Token>> {
        if self.id() == id {
            return Some(Vec::new());
        }
        let children: Vec<(Token, &Ids)> = match self {
            Ids::Object(_, members) => members
                .iter()
                .map(|(k, v)| (Token::from(k.as_str()), v))
                .collect(),
            Ids::Array(_, items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Token::from(i.to_string()), v))
                .collect(),
            Ids::Leaf(_) => Vec::new(),
        };
        children.into_iter().find_map(|(t, c)| {
            let mut path = c.path_to(id)?;
            path.insert(0, t);
            Some(path)
        })
    }

    /// What `op` (about to apply to this tree) does to existing nodes, by identity.
    fn intent(&self, op: &Operation) -> Option<Intent> {
        match op {
            Operation::Move { from, path, .. } if from != path => {
                let node = self.at(from.tokens())?.id();
                let mut without = self.clone();
                without.take(from.tokens())?;
                let (last, parent) = path.tokens().split_last()?;
                let into = without.at(parent)?.id();
                Some(Intent::Move(node, into, last.as_str().to_owned()))
            }
            Operation::Remove { path } => Some(Intent::Remove(self.at(path.tokens())?.id())),
            _ => None,
        }
    }

    /// Does `intent` again here, by identity: where its nodes are gone (or the move would be a
    /// cycle), nothing happens.
    fn redo(&mut self, intent: &Intent) {
        match intent {
            Intent::Move(node, into, key) => {
                let (Some(from), Some(chain)) = (self.path_to(*node), self.chain(*into)) else {
                    return;
                };
                if chain.contains(node) {
                    return;
                }
                let Some(moved) = self.take(&from) else {
                    return;
                };
                let Some(to) = self.path_to(*into) else {
                    return;
                };
                let slot = match self.at(&to) {
                    // An item goes where it went, or at the end if the array is shorter now.
                    Some(Ids::Array(_, items)) => key
                        .parse::<usize>()
                        .map_or(items.len(), |i| i.min(items.len()))
                        .to_string(),
                    _ => key.clone(),
                };
                let mut path = to;
                path.push(Token::from(slot.as_str()));
                let _ = self.put(&path, moved);
            }
            Intent::Remove(node) => {
                if let Some(path) = self.path_to(*node) {
                    let _ = self.take(&path);
                }
            }
        }
    }

    /// Applies `op` (`None` if it does not apply, or is one these identities do not follow).
    fn apply(&mut self, op: &Operation, fresh: &mut Fresh) -> Option<()> {
        let path = op.path().tokens();
        match op {
            Operation::Add { value, .. } => self.put(path, fresh.tree(value)),
            Operation::Replace { value, .. } => self.replace(path, fresh.tree(value)),
            Operation::Remove { .. } => self.take(path).map(|_| ()),
            Operation::Move { from, .. } => {
                if from == op.path() {
                    return Some(());
                }
                let node = self.take(from.tokens())?;
                self.put(path, node)
            }
            Operation::Copy { from, .. } => {
                let copy = fresh.renew(self.at(from.tokens())?);
                self.put(path, copy)
            }
            Operation::Test { .. } | Operation::Splice { .. } | Operation::Incr { .. } => Some(()),
            Operation::Merge { .. } => None,
        }
    }
}

/// The verdict on a change made on `base` and refused as a move into its own descendant,
/// with `message` naming the operation ("operation N (…"), after `log`; `doc` is the document
/// at `base`, if the relay still has it.
pub(crate) fn refused(
    doc: Option<Value>,
    log: &[sync_core::protocol::Commit],
    base: sync_core::protocol::Revision,
    ops: &[Operation],
    message: &str,
) -> Verdict {
    let n = message
        .strip_prefix("operation ")
        .and_then(|m| m.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok());
    let logged: Vec<Operation> = log
        .iter()
        .filter(|c| c.rev > base)
        .flat_map(|c| c.ops.iter().cloned())
        .collect();
    match (doc, n) {
        (Some(doc), Some(n)) => refused_move(&doc, &logged, ops, n),
        _ => Verdict::Undetermined,
    }
}

/// An operation of the refused change, by identity.
#[derive(Debug)]
enum Intent {
    /// The node into the container, under this key (or at this index).
    Move(u64, u64, String),
    /// The node removed.
    Remove(u64),
}

/// Whether operation `n` of `ops` (a move, made on `base`) is a cycle after `logged`, the
/// operations applied since `base`.
fn refused_move(base: &Value, logged: &[Operation], ops: &[Operation], n: usize) -> Verdict {
    let mut fresh = Fresh(0);
    let tree = fresh.tree(base);
    let Some(Operation::Move { from, path, .. }) = ops.get(n) else {
        return Verdict::NotACycle(format!("operation {n} is not a move"));
    };
    // In its author's frame, after the change's own earlier operations.
    let mut mine = tree.clone();
    let mut intents = Vec::new();
    for op in ops.iter().take(n) {
        intents.extend(mine.intent(op));
        if mine.apply(op, &mut fresh).is_none() {
            return Verdict::Undetermined;
        }
    }
    if from.is_proper_prefix_of(path) {
        // Made so: invalid where it was made (no replica does that).
        return Verdict::Cycle;
    }
    let Some(node) = mine.at(from.tokens()).map(Ids::id) else {
        return Verdict::Undetermined;
    };
    let mut without = mine.clone();
    let _ = without.take(from.tokens());
    let parent = path.tokens().split_last().map_or(&[][..], |(_, p)| p);
    let Some(into) = without.at(parent).map(Ids::id) else {
        return Verdict::Undetermined;
    };
    // Both must be nodes of the base (not made or replaced by the change itself).
    if tree.chain(node).is_none() || tree.chain(into).is_none() {
        return Verdict::Undetermined;
    }
    let mut now = tree;
    for op in logged {
        if now.apply(op, &mut fresh).is_none() {
            return Verdict::Undetermined;
        }
    }
    for intent in &intents {
        now.redo(intent);
    }
    let at = |id| now.chain(id);
    match (at(node), at(into)) {
        (Some(_), Some(chain)) if chain.contains(&node) => Verdict::Cycle,
        (None, _) => Verdict::NotACycle("the moved node is gone: the move is dropped".to_owned()),
        (_, None) => Verdict::NotACycle("its destination is gone: the move is dropped".to_owned()),
        (Some(_), Some(_)) => Verdict::NotACycle(format!(
            "the container it moves into ({}) is not inside the node it moves ({from})",
            Pointer::from_tokens(parent.iter().cloned())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{Verdict, refused_move};
    use sync_core::{Change, Value};

    fn verdict(doc: &str, logged: &str, ops: &str) -> Verdict {
        let doc = Value::parse(doc).unwrap();
        let logged = Change::from_json(logged).unwrap().0;
        let ops = Change::from_json(ops).unwrap().0;
        refused_move(&doc, &logged, &ops, 0)
    }

    #[test]
    fn a_move_into_a_node_that_was_moved_inside_it_is_a_cycle() {
        let doc = r#"{"x": {}, "y": {}}"#;
        // Ann moved y into x; Bob moves x into y.
        let logged = r#"[{"op": "move", "from": "/y", "path": "/x/y"}]"#;
        let bob = r#"[{"op": "move", "from": "/x", "path": "/y/x"}]"#;
        assert_eq!(verdict(doc, logged, bob), Verdict::Cycle);
    }

    #[test]
    fn a_cycle_made_with_the_changes_own_earlier_move_is_one() {
        let doc = r#"{"tags": [], "meta": {"b": {"c": []}}, "items": []}"#;
        // Carl moved items into b; Bob moved b into tags, then tags into items.
        let logged = r#"[{"op": "move", "from": "/items", "path": "/meta/b/c/0"}]"#;
        let bob = Change::from_json(
            r#"[{"op": "move", "from": "/meta/b", "path": "/tags/0"}, {"op": "move", "from": "/tags", "path": "/items/0"}]"#,
        )
        .unwrap()
        .0;
        let doc = Value::parse(doc).unwrap();
        let logged = Change::from_json(logged).unwrap().0;
        assert_eq!(refused_move(&doc, &logged, &bob, 1), Verdict::Cycle);
    }

    #[test]
    fn a_move_into_the_item_put_after_the_node_is_not() {
        let doc = r#"{"tags": ["x"], "meta": {"b": {"c": [1]}}}"#;
        let logged = r#"[{"op": "move", "from": "/meta/b", "path": "/tags/1"}]"#;
        let bob = r#"[{"op": "move", "from": "/tags/0", "path": "/meta/b/c/0"}]"#;
        assert!(matches!(verdict(doc, logged, bob), Verdict::NotACycle(_)));
    }
}
