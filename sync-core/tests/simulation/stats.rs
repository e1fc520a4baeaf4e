//! What a simulation run counts.

/// What a run exercised, so that a quiet run can be told from an idle one.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) commits: usize,
    pub(crate) conflicts: usize,
    pub(crate) rejected: usize,
    pub(crate) duplicates: usize,
    pub(crate) snapshots: usize,
    pub(crate) diverged: usize,
    pub(crate) lost: usize,
    pub(crate) restarts: usize,
    /// Refusals as a move into its own descendant that node identities confirm.
    pub(crate) cycles: usize,
    /// Refusals of that kind whose change had itself moved the node or the container first
    /// (see `cycles`).
    pub(crate) undetermined: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.commits += o.commits;
        self.conflicts += o.conflicts;
        self.rejected += o.rejected;
        self.duplicates += o.duplicates;
        self.snapshots += o.snapshots;
        self.diverged += o.diverged;
        self.lost += o.lost;
        self.restarts += o.restarts;
        self.cycles += o.cycles;
        self.undetermined += o.undetermined;
    }
}
