//! `diff(a, b)`: a small patch that turns `a` into `b`, deterministically.
//!
//! - Objects are compared member by member; a member removed and another added with an equal
//!   value becomes a `move` (a rename, which keeps the member's place).
//! - Arrays are aligned by a longest common subsequence (Myers' algorithm over element hashes),
//!   not position by position, so inserting one item costs one `add`. An item that left one
//!   place and appears at another becomes one `move`; an item removed and another added at the
//!   same place becomes whichever is smaller of one `replace` or a patch of its insides.
//! - Strings that differ become one `splice` (in extended mode, where that is smaller than a
//!   `replace`).
//!
//! Equal means equal as JSON (`1.0 == 1`, member order ignored), so `apply(a, diff(a, b)) == b`.
//! The alignment search is bounded: past a work budget (set by array length), arrays are
//! aligned by their common ends only, which stays correct but may yield a larger patch.

use foldhash::{HashMap, HashMapExt as _, HashSet};

use crate::op::{Change, Operation};
use crate::pointer::Pointer;
use crate::value::{Map, Value};

/// What the patch may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiffOptions {
    /// Allow Concord's extensions: `splice` for strings and member positions on `add`.
    pub extended: bool,
}

/// The smallest patch Concord can make from `a` to `b`, extensions included.
///
/// ```
/// use sync_core::{Value, diff};
///
/// let a = Value::parse(r#"{"items": ["a", "b", "c"], "title": "Hello world, and welcome"}"#)?;
/// let b = Value::parse(r#"{"items": ["c", "a", "b"], "title": "Hello, world, and welcome"}"#)?;
/// let patch = diff::diff(&a, &b);
/// assert_eq!(patch.to_json(), concat!(
///     r#"[{"op":"move","from":"/items/2","path":"/items/0"},"#,
///     r#"{"op":"splice","path":"/title","pos":5,"del":0,"ins":","}]"#,
/// ));
/// let mut doc = a.clone();
/// patch.apply(&mut doc)?;
/// assert_eq!(doc, b);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(a: &Value, b: &Value) -> Change {
    diff_with(a, b, DiffOptions { extended: true })
}

/// A patch from `a` to `b` with RFC 6902 operations only.
pub fn diff_rfc6902(a: &Value, b: &Value) -> Change {
    diff_with(a, b, DiffOptions { extended: false })
}

/// A patch from `a` to `b` with the given options.
pub fn diff_with(a: &Value, b: &Value, options: DiffOptions) -> Change {
    let mut differ = Differ {
        options,
        ops: Vec::new(),
    };
    differ.value(a, b, &mut Pointer::root());
    Change(differ.ops)
}

/// Upper bound on Myers steps (positions visited) per array, which bounds time and memory.
const WORK_BUDGET: usize = 50_000_000;
/// Upper bound on the edit distance searched, which bounds the trace kept for backtracking.
const MAX_EDIT_DISTANCE: usize = 4096;

struct Differ {
    options: DiffOptions,
    ops: Vec<Operation>,
}

impl Differ {
    fn value(&mut self, a: &Value, b: &Value, path: &mut Pointer) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => self.object(x, y, path),
            (Value::Array(x), Value::Array(y)) => self.array(x, y, path),
            (Value::String(x), Value::String(y)) if self.options.extended => {
                if x != y {
                    self.ops
                        .push(string_edit(&x.as_str(), &y.as_str(), path, b));
                }
            }
            _ => {
                if a != b {
                    self.ops.push(Operation::Replace {
                        path: path.clone(),
                        value: b.clone(),
                    });
                }
            }
        }
    }

    fn object(&mut self, a: &Map, b: &Map, path: &mut Pointer) {
        if a.same_keys_in_order(b) {
            // The same members in the same order: only values can differ.
            for ((key, old), new) in a.iter().zip(b.values()) {
                if old != new {
                    path.push(key);
                    self.value(old, new, path);
                    path.pop();
                }
            }
            return;
        }
        if a.len() == b.len() && a.keys().all(|k| b.contains_key(k)) {
            // The same members: only values can differ.
            for (key, old) in a.iter() {
                if let Some(new) = b.get(key) {
                    path.push(key);
                    self.value(old, new, path);
                    path.pop();
                }
            }
            return;
        }
        let removed: Vec<&str> = a.keys().filter(|k| !b.contains_key(k)).collect();
        let added: Vec<&str> = b.keys().filter(|k| !a.contains_key(k)).collect();

        // Renames: a removed member whose value reappears under an added key.
        let mut by_hash: HashMap<u64, Vec<&str>> = HashMap::new();
        for key in removed.iter().rev() {
            if let Some(v) = a.get(key) {
                by_hash.entry(hash_of(v)).or_default().push(key);
            }
        }
        let mut renamed_from: HashMap<&str, &str> = HashMap::new();
        for key in &added {
            let Some(value) = b.get(key) else { continue };
            let Some(candidates) = by_hash.get_mut(&hash_of(value)) else {
                continue;
            };
            if let Some(at) = candidates.iter().rposition(|old| a.get(old) == Some(value)) {
                renamed_from.insert(key, candidates.remove(at));
            }
        }
        let renamed: HashSet<&str> = renamed_from.values().copied().collect();

        for key in &removed {
            if !renamed.contains(key) {
                self.ops.push(Operation::Remove {
                    path: path.child(*key),
                });
            }
        }
        for key in &added {
            if let Some(old) = renamed_from.get(key) {
                self.ops.push(Operation::Move {
                    from: path.child(*old),
                    path: path.child(*key),
                    index: None,
                });
            }
        }
        for (key, old) in a.iter() {
            if let Some(new) = b.get(key) {
                path.push(key);
                self.value(old, new, path);
                path.pop();
            }
        }
        // New members in the target's order; in extended mode each goes to its target place.
        let mut len = a.len() - removed.len() + renamed.len();
        for key in &added {
            if renamed_from.contains_key(key) {
                continue;
            }
            let Some(value) = b.get(key) else { continue };
            let target = b.index_of(key).unwrap_or(usize::MAX);
            let index = (self.options.extended && target < len).then_some(target);
            self.ops.push(Operation::Add {
                path: path.child(*key),
                value: value.clone(),
                index,
            });
            len += 1;
        }
    }

    fn array(&mut self, a: &[Value], b: &[Value], path: &mut Pointer) {
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let (a_rest, b_rest) = (
            a.get(prefix..).unwrap_or_default(),
            b.get(prefix..).unwrap_or_default(),
        );
        let suffix = a_rest
            .iter()
            .rev()
            .zip(b_rest.iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let a_mid = a_rest.get(..a_rest.len() - suffix).unwrap_or_default();
        let b_mid = b_rest.get(..b_rest.len() - suffix).unwrap_or_default();
        if a_mid.is_empty() && b_mid.is_empty() {
            return;
        }
        let plan = Alignment::new(a_mid, b_mid);
        let at = |i: usize| {
            let mut p = path.clone();
            p.push((prefix + i).to_string());
            p
        };

        // Items as they stand while the patch is built: indexes into `a_mid`.
        let mut cur: Vec<usize> = (0..a_mid.len()).filter(|i| !plan.is_deleted(*i)).collect();
        for i in (0..a_mid.len()).rev().filter(|i| plan.is_deleted(*i)) {
            self.ops.push(Operation::Remove { path: at(i) });
        }

        // Each moved item goes right after its left neighbour in the target order, once.
        let kept: Vec<usize> = plan.source.iter().filter_map(|s| *s).collect();
        for (t, &item) in kept.iter().enumerate() {
            if !plan.is_moved(item) {
                continue;
            }
            let Some(p) = cur.iter().position(|x| *x == item) else {
                continue;
            };
            let q = match t.checked_sub(1).and_then(|t| kept.get(t)) {
                Some(left) => cur.iter().position(|x| x == left),
                None => None,
            };
            let dest = match q {
                Some(q) if q < p => q + 1,
                Some(q) => q,
                None => 0,
            };
            if dest == p {
                continue;
            }
            cur.remove(p);
            cur.insert(dest, item);
            self.ops.push(Operation::Move {
                from: at(p),
                path: at(dest),
                index: None,
            });
        }

        for (j, source) in plan.source.iter().enumerate() {
            if source.is_none()
                && let Some(value) = b_mid.get(j)
            {
                self.ops.push(Operation::Add {
                    path: at(j),
                    value: value.clone(),
                    index: None,
                });
            }
        }

        // Items kept in place but changed: patch their insides or replace them, whichever is
        // smaller. Paths are final positions, since the array now has its target shape.
        for (j, source) in plan.source.iter().enumerate() {
            let (Some(i), Some(new)) = (*source, b_mid.get(j)) else {
                continue;
            };
            let Some(old) = a_mid.get(i) else { continue };
            if plan.is_moved(i) || plan.is_matched(i) {
                continue;
            }
            let mut target = at(j);
            let mut inner = Differ {
                options: self.options,
                ops: Vec::new(),
            };
            inner.value(old, new, &mut target);
            let replace = Operation::Replace {
                path: target,
                value: new.clone(),
            };
            if inner.ops.len() == 1 || size(&inner.ops) < size(std::slice::from_ref(&replace)) {
                self.ops.extend(inner.ops);
            } else {
                self.ops.push(replace);
            }
        }
    }
}

/// How the items of `a` map onto those of `b`.
struct Alignment {
    /// `deleted[i]`: item `i` of `a` is removed.
    deleted: Vec<bool>,
    /// `moved[i]`: item `i` of `a` reappears elsewhere, unchanged.
    moved: Vec<bool>,
    /// `matched[i]`: item `i` of `a` is unchanged and stays in order.
    matched: Vec<bool>,
    /// `source[j]`: the item of `a` that becomes item `j` of `b`, or `None` if it is new.
    source: Vec<Option<usize>>,
}

impl Alignment {
    fn is_deleted(&self, i: usize) -> bool {
        self.deleted.get(i).copied().unwrap_or(false)
    }

    fn is_moved(&self, i: usize) -> bool {
        self.moved.get(i).copied().unwrap_or(false)
    }

    fn is_matched(&self, i: usize) -> bool {
        self.matched.get(i).copied().unwrap_or(false)
    }

    // Indexes come from ranges over the very vectors they index.
    #[allow(clippy::indexing_slicing)]
    fn new(a: &[Value], b: &[Value]) -> Alignment {
        let ha: Vec<u64> = a.iter().map(hash_of).collect();
        let hb: Vec<u64> = b.iter().map(hash_of).collect();
        let mut deleted = vec![true; a.len()];
        let mut matched = vec![false; a.len()];
        let mut moved = vec![false; a.len()];
        let mut source = vec![None; b.len()];

        // Anchors: a common subsequence, hashes confirmed by equality.
        let anchors = align(&ha, &hb);
        let mut anchored = Vec::with_capacity(anchors.len());
        for (i, j) in anchors {
            if a.get(i) == b.get(j) {
                deleted[i] = false;
                matched[i] = true;
                source[j] = Some(i);
                anchored.push((i, j));
            }
        }

        // Moves: an unanchored item of `b` equal to an unanchored item of `a`.
        let mut free: HashMap<u64, Vec<usize>> = HashMap::new();
        for i in (0..a.len()).rev().filter(|i| deleted[*i]) {
            free.entry(ha[i]).or_default().push(i);
        }
        for j in 0..b.len() {
            if source[j].is_some() {
                continue;
            }
            let Some(candidates) = free.get_mut(&hb[j]) else {
                continue;
            };
            if let Some(at) = candidates.iter().rposition(|i| a.get(*i) == b.get(j)) {
                let i = candidates.remove(at);
                deleted[i] = false;
                moved[i] = true;
                source[j] = Some(i);
            }
        }

        // Changes in place: between two anchors, pair what left with what arrived, in order.
        let mut bounds = vec![(0usize, 0usize)];
        bounds.extend(anchored.iter().map(|(i, j)| (i + 1, j + 1)));
        let mut ends: Vec<(usize, usize)> = anchored.clone();
        ends.push((a.len(), b.len()));
        for ((a_start, b_start), (a_end, b_end)) in bounds.into_iter().zip(ends) {
            let gone = (a_start..a_end).filter(|i| deleted[*i]);
            let came = (b_start..b_end).filter(|j| source[*j].is_none());
            for (i, j) in gone.zip(came).collect::<Vec<_>>() {
                deleted[i] = false;
                source[j] = Some(i);
            }
        }
        Alignment {
            deleted,
            moved,
            matched,
            source,
        }
    }
}

/// A long common subsequence of `a` and `b` as index pairs, in order.
///
/// Items that occur exactly once on each side anchor the alignment (their longest increasing
/// run, as in patience diff: O(k log k)); Myers' algorithm finds the longest common subsequence
/// in each gap between anchors. Arrays of distinct records, the common case, are aligned in
/// near-linear time; arrays of repeated scalars fall back to Myers alone. Gaps beyond the work
/// budget are left unaligned (still correct, only larger).
fn align(a: &[u64], b: &[u64]) -> Vec<(usize, usize)> {
    let anchors = unique_anchors(a, b);
    let mut pairs = Vec::with_capacity(anchors.len());
    let (mut a0, mut b0) = (0, 0);
    for (i, j) in anchors
        .into_iter()
        .chain(std::iter::once((a.len(), b.len())))
    {
        let (Some(ga), Some(gb)) = (a.get(a0..i), b.get(b0..j)) else {
            break;
        };
        let prefix = ga.iter().zip(gb).take_while(|(x, y)| x == y).count();
        pairs.extend((0..prefix).map(|k| (a0 + k, b0 + k)));
        let (ga, gb) = (
            ga.get(prefix..).unwrap_or_default(),
            gb.get(prefix..).unwrap_or_default(),
        );
        let gap = lcs(ga, gb).unwrap_or_default();
        pairs.extend(
            gap.into_iter()
                .map(|(x, y)| (a0 + prefix + x, b0 + prefix + y)),
        );
        if i < a.len() {
            pairs.push((i, j));
        }
        (a0, b0) = (i + 1, j + 1);
    }
    pairs
}

/// The longest increasing run of items unique to both `a` and `b`.
fn unique_anchors(a: &[u64], b: &[u64]) -> Vec<(usize, usize)> {
    // hash -> (count in a, index in a, count in b, index in b)
    let mut seen: HashMap<u64, (u32, usize, u32, usize)> = HashMap::with_capacity(a.len());
    for (i, h) in a.iter().enumerate() {
        let e = seen.entry(*h).or_insert((0, i, 0, 0));
        e.0 += 1;
    }
    for (j, h) in b.iter().enumerate() {
        if let Some(e) = seen.get_mut(h) {
            e.2 += 1;
            e.3 = j;
        }
    }
    let mut candidates: Vec<(usize, usize)> = seen
        .into_values()
        .filter(|e| e.0 == 1 && e.2 == 1)
        .map(|e| (e.1, e.3))
        .collect();
    candidates.sort_unstable();

    // Patience sorting: tails[len] = index (into candidates) of the smallest `j` ending an
    // increasing run of length len + 1; back links rebuild the run.
    let mut tails: Vec<usize> = Vec::new();
    let mut back: Vec<Option<usize>> = vec![None; candidates.len()];
    for (c, &(_, j)) in candidates.iter().enumerate() {
        let len = tails.partition_point(|t| candidates.get(*t).is_some_and(|&(_, tj)| tj < j));
        if let Some(slot) = back.get_mut(c) {
            *slot = len.checked_sub(1).and_then(|l| tails.get(l).copied());
        }
        if len == tails.len() {
            tails.push(c);
        } else if let Some(t) = tails.get_mut(len) {
            *t = c;
        }
    }
    let mut run = Vec::with_capacity(tails.len());
    let mut at = tails.last().copied();
    while let Some(c) = at {
        if let Some(pair) = candidates.get(c) {
            run.push(*pair);
        }
        at = back.get(c).copied().flatten();
    }
    run.reverse();
    run
}

/// The longest common subsequence of `a` and `b` as index pairs (Myers' O(ND) algorithm), or
/// `None` if it is beyond the work budget.
// Indexes stay within `v` (|k| <= d <= max_d) and within `a`/`b` (checked by the loop guard).
#[allow(
    clippy::indexing_slicing,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]
fn lcs(a: &[u64], b: &[u64]) -> Option<Vec<(usize, usize)>> {
    let (n, m) = (a.len(), b.len());
    let max_d = (n + m)
        .min(MAX_EDIT_DISTANCE)
        .min(WORK_BUDGET / (n + m).max(1));
    let offset = max_d as isize + 1;
    let mut v = vec![0usize; 2 * max_d + 3];
    let idx = |k: isize| (k + offset) as usize;
    // trace[d] holds v[-d..=d] after round d.
    let mut trace: Vec<Vec<usize>> = Vec::new();
    for d in 0..=max_d as isize {
        for k in (-d..=d).step_by(2) {
            let go_down = k == -d || (k != d && v[idx(k - 1)] < v[idx(k + 1)]);
            let mut x = if go_down {
                v[idx(k + 1)]
            } else {
                v[idx(k - 1)] + 1
            };
            let mut y = (x as isize - k) as usize;
            while x < n && y < m && a[x] == b[y] {
                x += 1;
                y += 1;
            }
            v[idx(k)] = x;
            if x >= n && y >= m {
                trace.push(v[idx(-d)..=idx(d)].to_vec());
                return Some(backtrack(&trace, n, m));
            }
        }
        trace.push(v[idx(-d)..=idx(d)].to_vec());
    }
    None
}

#[allow(
    clippy::indexing_slicing,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]
fn backtrack(trace: &[Vec<usize>], n: usize, m: usize) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let (mut x, mut y) = (n as isize, m as isize);
    for d in (1..trace.len() as isize).rev() {
        let prev = &trace[(d - 1) as usize];
        let at = |k: isize| prev[(k + d - 1) as usize] as isize;
        let k = x - y;
        let go_down = k == -d || (k != d && at(k - 1) < at(k + 1));
        let prev_k = if go_down { k + 1 } else { k - 1 };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            pairs.push((x as usize, y as usize));
        }
        x = prev_x;
        y = prev_y;
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        pairs.push((x as usize, y as usize));
    }
    pairs.reverse();
    pairs
}

/// One `splice` covering what lies between the common prefix and suffix, or a `replace` when
/// that is smaller.
fn string_edit(a: &str, b: &str, path: &Pointer, whole: &Value) -> Operation {
    let (mut pos, mut prefix_bytes) = (0, 0);
    for (x, y) in a.chars().zip(b.chars()) {
        if x != y {
            break;
        }
        pos += 1;
        prefix_bytes += x.len_utf8();
    }
    let a_rest = a.get(prefix_bytes..).unwrap_or_default();
    let b_rest = b.get(prefix_bytes..).unwrap_or_default();
    let mut suffix_bytes = 0;
    for (x, y) in a_rest.chars().rev().zip(b_rest.chars().rev()) {
        if x != y {
            break;
        }
        suffix_bytes += x.len_utf8();
    }
    let deleted = a_rest
        .get(..a_rest.len() - suffix_bytes)
        .unwrap_or_default();
    let inserted = b_rest
        .get(..b_rest.len() - suffix_bytes)
        .unwrap_or_default();
    let splice = Operation::Splice {
        path: path.clone(),
        pos,
        del: deleted.chars().count(),
        ins: inserted.to_owned(),
    };
    let replace = Operation::Replace {
        path: path.clone(),
        value: whole.clone(),
    };
    if size(std::slice::from_ref(&splice)) <= size(std::slice::from_ref(&replace)) {
        splice
    } else {
        replace
    }
}

/// A structural hash: equal values (as JSON) hash equally. Only compared within one diff, so a
/// fast hasher with a fixed seed serves.
fn hash_of(value: &Value) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x6469_6666).hash_one(value)
}

/// The operations' size as compact JSON (values written by the fast writer; the envelope of
/// each operation estimated).
fn size(ops: &[Operation]) -> usize {
    const ENVELOPE: usize = r#"{"op":"replace","path":"","value":}"#.len();
    ops.iter()
        .map(|op| {
            let pointers =
                op.path().to_string().len() + op.from().map_or(0, |f| f.to_string().len() + 9);
            let payload = match op {
                Operation::Add { value, .. }
                | Operation::Replace { value, .. }
                | Operation::Test { value, .. }
                | Operation::Merge { value, .. } => value.to_json().len(),
                Operation::Splice { ins, .. } => ins.len() + 24,
                Operation::Incr { by, .. } => by.to_string().len(),
                Operation::Remove { .. } | Operation::Move { .. } | Operation::Copy { .. } => 0,
            };
            ENVELOPE + pointers + payload
        })
        .sum()
}
